// --log_format=json against a real server: every line it writes is one JSON
// object, and a job's lines carry its session id, attempt and replica.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/strings/str_split.h"
#include "client/analysis_client.h"
#include "gtest/gtest.h"
#include "tests/e2e/watch_all.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

namespace v1 = ::goodbuy::analysis::v1;

TEST(JsonLogsTest, EveryLineIsJsonAndJobLinesNameTheirSession) {
  testing::ScratchDatabase db;
  db.MigrateAndLoadDemo();
  std::string session_id;
  std::string log;
  {
    testing::ServerProcess server(
        db.url(), {"--log_format=json", "--replica_id=json-replica"});
    client::AnalysisClient c(server.target(), testing::ClientOptions());
    v1::CreateSessionRequest request;
    request.set_business_id("biz_demo_cafe");
    request.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
    auto session = c.CreateSession(request);
    ASSERT_TRUE(session.ok()) << session.status();
    session_id = session->session_id();
    auto events = e2e::WatchAll(c, session_id);
    ASSERT_FALSE(events.empty());
    ASSERT_EQ(events.back().status(), v1::SESSION_STATUS_COMPLETED);
    EXPECT_EQ(server.Stop(), 0);
    log = server.Log();
  }
  int lines = 0;
  bool completed_line = false;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (line.empty()) continue;
    ++lines;
    google::protobuf::Struct s;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(std::string(line), &s).ok())
        << line;
    const auto& f = s.fields();
    ASSERT_TRUE(f.count("time") && f.count("level") && f.count("msg")) << line;
    EXPECT_EQ(f.at("replica").string_value(), "json-replica") << line;
    if (f.at("msg").string_value().find("completed in") != std::string::npos) {
      completed_line = true;
      EXPECT_EQ(f.at("session_id").string_value(), session_id) << line;
      EXPECT_EQ(f.at("attempt").number_value(), 1) << line;
    }
  }
  EXPECT_GE(lines, 3) << log;
  EXPECT_TRUE(completed_line) << log;
}

}  // namespace
}  // namespace goodbuy
