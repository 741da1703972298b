#include "tests/testing/test_env.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <random>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "server/auth/token_signer.h"

namespace goodbuy::testing {
namespace {

// Adds the bearer token to every call's initial metadata.
class BearerInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(std::string header) : header_(std::move(header)) {}
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    }
    methods->Proceed();
  }

 private:
  const std::string header_;
};

class BearerInterceptorFactory
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerInterceptorFactory(std::string header)
      : header_(std::move(header)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new BearerInterceptor(header_);
  }

 private:
  const std::string header_;
};

constexpr char kTestSecret[] = "goodbuy-tests-hs256-secret-0123456789abcdef";

// The test process's children authenticate as an admin unless a test says
// otherwise.
const bool kAdminTokenExported = [] {
  setenv("ANALYSIS_TOKEN", AdminToken().c_str(), /*overwrite=*/0);
  return true;
}();

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string RandomSuffix() {
  static std::mt19937_64 rng(std::random_device{}() ^
                             static_cast<uint64_t>(getpid()));
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (int i = 0; i < 10; ++i) s += kChars[rng() % 36];
  return s;
}

// postgresql://u@h:p/db?x -> same URL naming `database`.
std::string WithDatabase(const std::string& url, const std::string& database) {
  const auto scheme = url.find("://");
  const auto slash =
      url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const auto query = url.find('?');
  std::string base = slash == std::string::npos ? url : url.substr(0, slash);
  std::string params = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + database + params;
}

// Children inherit LSAN_OPTIONS; when a test binary runs outside
// tests/run.sh, point them at the project's suppressions (libpq's leak on a
// broken connection, see tests/lsan.supp).
void SuppressLibpqLeaks() {
  setenv(
      "LSAN_OPTIONS",
      ("suppressions=" + std::string(GOODBUY_SOURCE_DIR) + "/tests/lsan.supp")
          .c_str(),
      /*overwrite=*/0);
}

std::string MakeTempDir() {
  char tmpl[] = "/tmp/goodbuy-test-XXXXXX";
  char* dir = mkdtemp(tmpl);
  if (dir == nullptr) {
    std::cerr << "mkdtemp failed\n";
    std::abort();
  }
  return dir;
}

}  // namespace

std::string AdminDatabaseUrl() {
  const char* url = std::getenv("TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    std::cerr << "TEST_DATABASE_URL is not set: run the suites through "
                 "./tests/run.sh, which starts a throwaway PostgreSQL\n";
    std::abort();
  }
  return url;
}

std::string SourceDir() { return GOODBUY_SOURCE_DIR; }
std::string SqlDir() { return SourceDir() + "/sql"; }

void ExecSql(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

void ExecSqlFile(const std::string& url, const std::string& path) {
  ExecSql(url, ReadFile(path));
}

std::string QueryValue(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  pqxx::result r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].c_str();
}

ScratchDatabase::ScratchDatabase() : name_("t_" + RandomSuffix()) {
  const std::string admin = AdminDatabaseUrl();
  pqxx::connection conn(admin);
  pqxx::nontransaction tx(conn);
  tx.exec("CREATE DATABASE " + tx.quote_name(name_));
  url_ = WithDatabase(admin, name_);
}

ScratchDatabase::~ScratchDatabase() { Drop(); }

void ScratchDatabase::Drop() {
  if (dropped_) return;
  dropped_ = true;
  try {
    pqxx::connection conn(AdminDatabaseUrl());
    pqxx::nontransaction tx(conn);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) +
            " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::cerr << "dropping " << name_ << ": " << e.what() << "\n";
  }
}

void ScratchDatabase::MigrateAndLoadDemo() {
  std::string output;
  const int rc = RunCommand({GOODBUY_SERVER_BIN, "migrate", "up",
                             "--database_url=" + url_, "--sql_dir=" + SqlDir()},
                            &output);
  ASSERT_EQ(rc, 0) << output;
  ExecSqlFile(url_, SqlDir() + "/demo/demo_data.sql");
  ExecSql(url_,
          "UPDATE user_subscriptions SET plan_id = 'plan_enterprise' "
          "WHERE id LIKE 'sub_demo_%'");
}

std::string TestSecretFile() {
  static const std::string* path = [] {
    const std::string dir = MakeTempDir();
    auto* file = new std::string(dir + "/hs256.secret");
    std::ofstream(*file) << kTestSecret << "\n";
    return file;
  }();
  return *path;
}

std::string TestToken(const std::string& subject, const std::string& role,
                      absl::Duration lifetime, absl::Time issued_at) {
  auth::TokenClaims claims;
  claims.subject = subject;
  claims.role = role;
  claims.lifetime = lifetime;
  claims.issued_at = issued_at;
  auto token = auth::SignToken(claims, "HS256", kTestSecret);
  if (!token.ok()) {
    ADD_FAILURE() << token.status();
    return "";
  }
  return *token;
}

std::string TestSecret() { return kTestSecret; }

std::string AdminToken() {
  static const std::string* token =
      new std::string(TestToken("test-operator", "admin", absl::Hours(24)));
  return *token;
}

client::AnalysisClientOptions ClientOptions(const std::string& token) {
  client::AnalysisClientOptions options;
  options.metadata.emplace_back(
      "authorization", "Bearer " + (token.empty() ? AdminToken() : token));
  return options;
}

std::shared_ptr<grpc::Channel> TestChannel(const std::string& target,
                                           const grpc::ChannelArguments& args,
                                           const std::string& token) {
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      factories;
  factories.push_back(std::make_unique<BearerInterceptorFactory>(
      "Bearer " + (token.empty() ? AdminToken() : token)));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      target, grpc::InsecureChannelCredentials(), args, std::move(factories));
}

ServerProcess::ServerProcess(const std::string& database_url,
                             std::vector<std::string> extra_flags)
    : dir_(MakeTempDir()) {
  const std::string port_file = dir_ + "/port";
  std::vector<std::string> args = {
      GOODBUY_SERVER_BIN, "serve", "--listen=127.0.0.1:0",
      "--port_file=" + port_file, "--database_url=" + database_url,
      "--sql_dir=" + SqlDir(), "--workers=2", "--db_threads=4",
      "--shutdown_grace_s=2", "--jwt_hs256_secret_file=" + TestSecretFile(),
      // Load tests send far more than a
      // person would; the rate-limit test
      // sets its own.
      "--rate_limit_rps=0"};
  for (auto& f : extra_flags) args.push_back(std::move(f));
  pid_ = fork();
  if (pid_ == 0) {
    SuppressLibpqLeaks();
    const int log = open((dir_ + "/server.log").c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 1);
    dup2(log, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  for (int i = 0; i < 600; ++i) {  // up to 30 s (ASan start-up is slow)
    std::ifstream in(port_file);
    if (in >> port_ && port_ > 0) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "analysis-server exited during start-up:\n" << Log();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "analysis-server did not start in time:\n" << Log();
}

ServerProcess::~ServerProcess() { Stop(); }

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 300; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

int ServerProcess::Kill() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

std::string ServerProcess::Log() const {
  return ReadFile(dir_ + "/server.log");
}

ScratchDatabase* DemoServerTest::db_ = nullptr;
ServerProcess* DemoServerTest::server_ = nullptr;

void DemoServerTest::StartSuite(std::vector<std::string> server_flags) {
  db_ = new ScratchDatabase();
  db_->MigrateAndLoadDemo();
  server_ = new ServerProcess(db_->url(), std::move(server_flags));
}

void DemoServerTest::TearDownTestSuite() {
  delete server_;
  server_ = nullptr;
  delete db_;
  db_ = nullptr;
}

int RunCommand(const std::vector<std::string>& argv, std::string* output,
               int timeout_seconds) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    SuppressLibpqLeaks();
    close(pipefd[0]);
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    std::vector<char*> args;
    std::vector<std::string> copy = argv;
    for (auto& a : copy) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(pipefd[1]);
  fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
  output->clear();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  int status = 0;
  char buffer[4096];
  for (;;) {
    ssize_t n;
    while ((n = read(pipefd[0], buffer, sizeof(buffer))) > 0) {
      output->append(buffer, static_cast<size_t>(n));
    }
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      output->append("\n[timed out]\n");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ssize_t n;
  while ((n = read(pipefd[0], buffer, sizeof(buffer))) > 0) {
    output->append(buffer, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace goodbuy::testing
