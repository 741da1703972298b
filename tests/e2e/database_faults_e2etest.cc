// Database faults with a real server process: no database at start is one
// clear line and a non-zero exit; a database that disappears later turns
// calls into UNAVAILABLE while the server keeps running and answering.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <string>

#include "client/analysis_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

namespace v1 = ::goodbuy::analysis::v1;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(DatabaseFaultsTest, DatabaseDownAtStartIsOneClearLineAndExitOne) {
  std::string output;
  // Port 1 on loopback: nothing listens there.
  const int rc = testing::RunCommand(
      {GOODBUY_SERVER_BIN, "serve", "--listen=127.0.0.1:0",
       "--database_url=postgresql://postgres@127.0.0.1:1/goodbuy",
       "--jwt_hs256_secret_file=" + testing::TestSecretFile()},
      &output, 30);
  EXPECT_EQ(rc, 1) << output;
  EXPECT_THAT(output, HasSubstr("cannot reach the database at 127.0.0.1:1"));
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
}

TEST(DatabaseFaultsTest, MissingDatabaseUrlIsAClearError) {
  std::string output;
  const int rc = testing::RunCommand(
      {"env", "-u", "DATABASE_URL", GOODBUY_SERVER_BIN, "migrate", "up"},
      &output, 30);
  EXPECT_EQ(rc, 1) << output;
  EXPECT_THAT(output, HasSubstr("no database"));
}

TEST(DatabaseFaultsTest, DatabaseLostLaterGivesUnavailableAndServerLives) {
  testing::ScratchDatabase db;
  db.MigrateAndLoadDemo();
  testing::ServerProcess server(db.url());
  client::AnalysisClientOptions options = testing::ClientOptions();
  options.retry.max_attempts = 1;
  options.deadline = absl::Seconds(10);
  client::AnalysisClient c(server.target(), options);
  v1::CreateSessionRequest request;
  request.set_business_id("biz_demo_cafe");
  request.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
  auto created = c.CreateSession(request);
  ASSERT_TRUE(created.ok()) << created.status();

  // The fault: the database and every connection to it vanish.
  db.Drop();
  EXPECT_EQ(testing::QueryValue(testing::AdminDatabaseUrl(),
                                "SELECT count(*) FROM pg_database WHERE "
                                "datname = '" +
                                    db.name() + "'"),
            "0");

  auto get = c.GetSession(created->session_id());
  EXPECT_EQ(get.status().code(), absl::StatusCode::kUnavailable)
      << get.status();
  EXPECT_THAT(std::string(get.status().message()), Not(HasSubstr("SELECT")));
  auto create = c.CreateSession(request);
  EXPECT_EQ(create.status().code(), absl::StatusCode::kUnavailable)
      << create.status();

  // The process is alive and still answers health checks.
  EXPECT_EQ(waitpid(server.pid(), nullptr, WNOHANG), 0);
  auto channel =
      grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
  EXPECT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() +
                                        std::chrono::seconds(5)));
  const int status = server.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "server exit status " << status << "\n"
      << server.Log();
}

TEST(DatabaseFaultsTest, SigtermStopsTheServerCleanly) {
  testing::ScratchDatabase db;
  db.MigrateAndLoadDemo();
  testing::ServerProcess server(db.url());
  const int status = server.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << server.Log();
  EXPECT_THAT(server.Log(), HasSubstr("stopped"));
}

}  // namespace
}  // namespace goodbuy
