// End to end: the Node.js dashboard example (client/node/watch-session.mjs)
// against a real analysis-server process and a scratch database with the demo
// data. Needs node on PATH and client/node/node_modules (npm ci, done by
// tests/run.sh); without them the tests fail, they do not skip.
#include <google/protobuf/util/json_util.h>
#include <sys/stat.h>

#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "goodbuy/analysis/v1/analysis_service.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

namespace v1 = ::goodbuy::analysis::v1;
using ::testing::HasSubstr;

std::string Script() {
  return testing::SourceDir() + "/client/node/watch-session.mjs";
}

// node on PATH and the example's dependencies installed.
::testing::AssertionResult NodeClientReady() {
  std::string output;
  if (testing::RunCommand({"node", "--version"}, &output) != 0) {
    return ::testing::AssertionFailure()
           << "node is not on PATH (install Node.js >= 18): " << output;
  }
  const std::string deps =
      testing::SourceDir() + "/client/node/node_modules/@grpc/grpc-js";
  struct stat st {};
  if (stat(deps.c_str(), &st) != 0) {
    return ::testing::AssertionFailure()
           << deps << " is missing: run `npm ci --prefix "
           << testing::SourceDir() << "/client/node` (tests/run.sh does)";
  }
  return ::testing::AssertionSuccess();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// Parses the client's --json output: every line must be one SessionEvent.
// proto-loader's oneof helpers ("payload", "detail") are unknown fields.
::testing::AssertionResult ParseEvents(const std::string& output,
                                       std::vector<v1::SessionEvent>* events) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  for (const std::string& line : Lines(output)) {
    v1::SessionEvent event;
    const auto status =
        google::protobuf::util::JsonStringToMessage(line, &event, options);
    if (!status.ok()) {
      return ::testing::AssertionFailure()
             << "not a SessionEvent JSON object (" << status << "): " << line;
    }
    events->push_back(std::move(event));
  }
  return ::testing::AssertionSuccess();
}

class NodeClientTest : public testing::DemoServerTest {
 protected:
  void SetUp() override { ASSERT_TRUE(NodeClientReady()); }

  static int Run(std::vector<std::string> args, std::string* output) {
    std::vector<std::string> argv = {"node", Script(), "--server",
                                     server_->target()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, output);
  }
};

TEST_F(NodeClientTest, RunSessionStreamsJsonEventsToCompletion) {
  std::string output;
  ASSERT_EQ(Run({"--json", "--business", "biz_demo_cafe", "--type", "health"},
                &output),
            0)
      << output;

  std::vector<v1::SessionEvent> events;
  ASSERT_TRUE(ParseEvents(output, &events));
  ASSERT_FALSE(events.empty()) << output;
  int64_t last_sequence = 0;
  int partials = 0;
  for (const auto& e : events) {
    EXPECT_GT(e.sequence(), last_sequence) << output;
    EXPECT_EQ(e.session_id(), events.front().session_id());
    EXPECT_TRUE(e.has_event_time()) << output;
    last_sequence = e.sequence();
    if (e.has_partial_result()) {
      ++partials;
      EXPECT_FALSE(e.partial_result().key().empty());
    }
  }
  EXPECT_GE(partials, 1) << output;
  EXPECT_EQ(events.back().status(), v1::SESSION_STATUS_COMPLETED) << output;
  EXPECT_TRUE(events.back().has_result()) << output;
  EXPECT_EQ(events.back().progress_percentage(), 100);
}

TEST_F(NodeClientTest, WatchSessionResumesAfterASequence) {
  std::string output;
  ASSERT_EQ(
      Run({"--json", "--business", "biz_demo_retail", "--type", "valuation"},
          &output),
      0)
      << output;
  std::vector<v1::SessionEvent> run;
  ASSERT_TRUE(ParseEvents(output, &run));
  ASSERT_GE(run.size(), 3u) << output;

  // A dashboard that saw the first two events picks up from there.
  ASSERT_EQ(Run({"--session", run.front().session_id(), "--after",
                 std::to_string(run[1].sequence())},
                &output),
            0)
      << output;
  const std::vector<std::string> lines = Lines(output);
  ASSERT_EQ(lines.size(), run.size() - 2) << output;
  EXPECT_THAT(lines.front(),
              ::testing::StartsWith(std::to_string(run[2].sequence()) + " "));
  EXPECT_THAT(lines.back(), HasSubstr(" COMPLETED 100% "));
}

TEST_F(NodeClientTest, BadRequestExitsThreeWithFieldViolations) {
  std::string output;
  EXPECT_EQ(Run({"--business", "bad id!", "--type", "health"}, &output), 3)
      << output;
  EXPECT_THAT(output, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(output, HasSubstr("business_id"));
}

TEST_F(NodeClientTest, UnknownSessionIsAnRpcError) {
  std::string output;
  EXPECT_EQ(Run({"--session", "00000000-0000-4000-8000-000000000000"}, &output),
            3)
      << output;
  EXPECT_THAT(output, HasSubstr("NOT_FOUND"));
}

TEST_F(NodeClientTest, BadUsageExitsTwo) {
  std::string output;
  EXPECT_EQ(Run({"--business", "biz_demo_cafe", "--type", "weather"}, &output),
            2)
      << output;
  EXPECT_THAT(output, HasSubstr("usage:"));
}

}  // namespace
}  // namespace goodbuy
