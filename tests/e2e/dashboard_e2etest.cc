// The live dashboard against real parts: a real analysis-server, the real
// dashboard server (dashboard/server.mjs, Node with @grpc/grpc-js) acting for
// the demo user Dana, and headless Chromium driven by puppeteer-core
// (dashboard/test/dashboard_test.mjs): it starts a forecast, sees its
// progress change and its chart render, starts a health analysis and cancels
// it. The screenshot is kept in the build tree (docs/dashboard.png is one).
// Skipped, with the reason, only when Chromium or Node is missing.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <regex>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

bool Exists(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(DashboardTest, BrowserStartsWatchesAndCancelsAnalyses) {
  const std::string root = GOODBUY_SOURCE_DIR;
  const std::string chromium = "/usr/bin/chromium";
  std::string out;
  if (!Exists(chromium)) {
    GTEST_SKIP() << "Chromium is not installed (Debian package chromium): the "
                    "browser test cannot run";
  }
  if (testing::RunCommand({"sh", "-c", "command -v node"}, &out) != 0 ||
      !Exists(root + "/dashboard/node_modules/.bin")) {
    GTEST_SKIP() << "node or dashboard/node_modules missing (npm ci --prefix "
                    "dashboard)";
  }
  testing::ScratchDatabase db;
  db.MigrateAndLoadDemo();
  // Stages held 150 ms, so the page sees progress move.
  testing::ServerProcess server(db.url(), {"--min_stage_ms=150"});
  const std::string dir =
      ::testing::TempDir() + "/dashboard-" + std::to_string(getpid());
  ASSERT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  std::ofstream(dir + "/dana.jwt")
      << testing::TestToken("usr_demo_owner1", "user");

  const std::string log = dir + "/dashboard.log";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!freopen(log.c_str(), "w", stdout) ||
        !freopen(log.c_str(), "a", stderr)) {
      _exit(126);
    }
    setenv("ANALYSIS_SERVER", server.target().c_str(), 1);
    setenv("ANALYSIS_TOKEN_FILE", (dir + "/dana.jwt").c_str(), 1);
    setenv("DASHBOARD_LISTEN", "127.0.0.1:0", 1);
    execlp("node", "node", (root + "/dashboard/server.mjs").c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  std::smatch m;
  std::string url;
  static const std::regex kLine(R"(dashboard on (http://[0-9.]+:\d+/))");
  for (int i = 0; i < 200 && url.empty(); ++i) {
    const std::string text = ReadAll(log);
    if (std::regex_search(text, m, kLine)) url = m[1];
    if (url.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(url.empty()) << ReadAll(log);

  const std::string screenshot =
      std::string(GOODBUY_BUILD_DIR) + "/dashboard.png";
  std::remove(
      screenshot.c_str());  // an earlier run's must not pass for this one's
  const int rc = testing::RunCommand(
      {"node", root + "/dashboard/test/dashboard_test.mjs", url, screenshot},
      &out, /*timeout_seconds=*/180);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_EQ(rc, 0) << out << "\ndashboard log:\n" << ReadAll(log);
  std::cout << out;
  EXPECT_FALSE(ReadAll(screenshot).empty())
      << "no screenshot at " << screenshot;
}

}  // namespace
}  // namespace goodbuy
