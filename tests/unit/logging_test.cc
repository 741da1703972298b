// The JSON log format and the per-thread log context.
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <thread>

#include "server/logging/json_formatter.h"
#include "server/logging/log_context.h"
#include "spdlog/details/log_msg.h"

namespace goodbuy::logging {
namespace {

google::protobuf::Struct Parse(const std::string& line) {
  google::protobuf::Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &s).ok())
      << line;
  return s;
}

std::string Format(const std::string& message) {
  JsonFormatter f("replica-a");
  spdlog::details::log_msg msg("", spdlog::level::warn, message);
  spdlog::memory_buf_t buf;
  f.format(msg, buf);
  return std::string(buf.data(), buf.size());
}

TEST(JsonLogTest, EveryLineIsOneJsonObjectWithTheContext) {
  std::string line = Format("plain");
  ASSERT_EQ(line.back(), '\n');
  auto s = Parse(line);
  EXPECT_EQ(s.fields().at("msg").string_value(), "plain");
  EXPECT_EQ(s.fields().at("level").string_value(), "warning");
  EXPECT_EQ(s.fields().at("replica").string_value(), "replica-a");
  EXPECT_EQ(s.fields().count("session_id"), 0u);
  EXPECT_THAT(s.fields().at("time").string_value(),
              ::testing::MatchesRegex("20[0-9-]+T[0-9:.]+Z"));
  {
    ScopedLogContext job("sess-1", 2);
    ScopedLogContext call("", 0, "4bf92f3577b34da6a3ce929d0e0e4736");
    s = Parse(Format("quote \" backslash \\ newline \n tab \t bell \a"));
    EXPECT_EQ(s.fields().at("msg").string_value(),
              "quote \" backslash \\ newline \n tab \t bell \a");
    EXPECT_EQ(s.fields().at("session_id").string_value(), "sess-1");
    EXPECT_EQ(s.fields().at("attempt").number_value(), 2);
    EXPECT_EQ(s.fields().at("trace_id").string_value(),
              "4bf92f3577b34da6a3ce929d0e0e4736");
    // Per thread: another thread has none of it.
    std::thread([] {
      EXPECT_TRUE(CurrentLogContext().session_id.empty());
    }).join();
  }
  EXPECT_TRUE(CurrentLogContext().session_id.empty());  // restored
  EXPECT_TRUE(CurrentLogContext().trace_id.empty());
}

TEST(JsonLogTest, TraceIdComesOnlyFromAWellFormedTraceparent) {
  EXPECT_EQ(TraceIdFromTraceparent(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  for (
      const char* bad : {
          "", "00-4bf92f3577b34da6a3ce929d0e0e4736",
          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero
          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper
          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version
          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // span
      }) {
    EXPECT_EQ(TraceIdFromTraceparent(bad), "") << bad;
  }
}

}  // namespace
}  // namespace goodbuy::logging
