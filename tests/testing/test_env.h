// Fixtures for tests that need real parts: a scratch PostgreSQL database
// (created on the server named by TEST_DATABASE_URL, dropped afterwards),
// migrated and loaded with the demo data, and a real analysis-server process
// on a free loopback port.
#ifndef GOODBUY_TESTS_TESTING_TEST_ENV_H_
#define GOODBUY_TESTS_TESTING_TEST_ENV_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/analysis_client.h"
#include "gtest/gtest.h"

namespace goodbuy::testing {

// TEST_DATABASE_URL, a superuser URL on a throwaway server; aborts the test
// binary with a clear message when it is not set.
std::string AdminDatabaseUrl();

// The repository's folders.
std::string SourceDir();
std::string SqlDir();

// Runs a SQL script (many statements) against `url`.
void ExecSqlFile(const std::string& url, const std::string& path);
// Runs SQL text (one or many statements) against `url`.
void ExecSql(const std::string& url, const std::string& sql);
// Runs one statement and returns the first column of the first row ("" if
// there is none).
std::string QueryValue(const std::string& url, const std::string& sql);

// Identity. Every ServerProcess verifies HS256 tokens signed with the test
// secret (a file written once per test process), and the test process's
// ANALYSIS_TOKEN (inherited by analysisctl and the Node client) is an admin
// token, so suites that are not about identity act as an operator would.
std::string TestSecretFile();
std::string TestSecret();  // the file's contents
// A token for `subject` in `role` ("user", "service", "admin"; "" omits
// the claim), valid for `lifetime` from `issued_at`.
std::string TestToken(const std::string& subject,
                      const std::string& role = "user",
                      absl::Duration lifetime = absl::Hours(1),
                      absl::Time issued_at = absl::Now());
std::string AdminToken();
// AnalysisClient options that send `token` (default: AdminToken()).
client::AnalysisClientOptions ClientOptions(const std::string& token = "");
// A channel to `target` whose every call carries "authorization: Bearer
// <token>" (default: AdminToken()), for tests that use raw stubs.
std::shared_ptr<grpc::Channel> TestChannel(
    const std::string& target, const grpc::ChannelArguments& args = {},
    const std::string& token = "");

// A fresh database, dropped (with its connections) on destruction.
class ScratchDatabase {
 public:
  ScratchDatabase();
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Applies every migration and loads sql/demo/demo_data.sql, then puts
  // every demo user on the Enterprise plan (unlimited), so suites that are
  // not about plans never reach a limit; plan tests set their own.
  void MigrateAndLoadDemo();
  void Drop();

 private:
  std::string name_;
  std::string url_;
  bool dropped_ = false;
};

// analysis-server serve on 127.0.0.1:0, killed on destruction.
class ServerProcess {
 public:
  ServerProcess(const std::string& database_url,
                std::vector<std::string> extra_flags = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits; returns the exit status (as from waitpid).
  int Stop();
  // Sends SIGKILL (a crash: no shutdown, no lease released) and reaps the
  // process; returns the exit status (as from waitpid).
  int Kill();
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

// Base for suites that share one scratch database (migrated, demo data
// loaded) and one analysis-server on it for all their tests. A suite that
// needs server flags defines `static void SetUpTestSuite() {
// StartSuite({"--flag=..."}); }`.
class DemoServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { StartSuite({}); }
  static void TearDownTestSuite();
  static void StartSuite(std::vector<std::string> server_flags);

  static ScratchDatabase* db_;
  static ServerProcess* server_;
};

// Runs a command to completion; returns its exit code and captures stdout
// and stderr together.
int RunCommand(const std::vector<std::string>& argv, std::string* output,
               int timeout_seconds = 60);

}  // namespace goodbuy::testing

#endif  // GOODBUY_TESTS_TESTING_TEST_ENV_H_
