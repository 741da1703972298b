#include "server/core/event_broker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "tests/unit/core_test_util.h"

namespace goodbuy::core {
namespace {

using core_testing::Partial;
using core_testing::Progress;
using core_testing::RecordingSink;
using core_testing::Terminal;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kId[] = "sess-1";

std::vector<v1::SessionEvent> History(int n) {
  std::vector<v1::SessionEvent> events;
  for (int i = 1; i <= n; ++i) events.push_back(Progress(kId, i, i * 10));
  return events;
}

TEST(EventBrokerTest, SubscribeWithoutChannelReturnsFalse) {
  EventBroker broker(absl::Minutes(1));
  auto sink = std::make_shared<RecordingSink>();
  EXPECT_FALSE(broker.Subscribe("nope", 0, sink));
  EXPECT_THAT(sink->events(), IsEmpty());
}

TEST(EventBrokerTest, LateSubscribeReplaysEventsAfterCursorInOrder) {
  EventBroker broker(absl::Minutes(1));
  broker.Open(kId, History(2));
  broker.Publish(Partial(kId, 3, 30, "a"));
  broker.Publish(Progress(kId, 4, 40));

  auto from_start = std::make_shared<RecordingSink>();
  auto from_two = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 0, from_start));
  ASSERT_TRUE(broker.Subscribe(kId, 2, from_two));
  EXPECT_THAT(from_start->sequences(), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(from_two->sequences(), ElementsAre(3, 4));
  EXPECT_EQ(from_two->events()[0].partial_result().key(), "a");

  // Both stay subscribed for what follows.
  broker.Publish(Progress(kId, 5, 50));
  EXPECT_THAT(from_start->sequences(), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(from_two->sequences(), ElementsAre(3, 4, 5));
}

TEST(EventBrokerTest, OpenSeedsOnlyAscendingHistoryAndIsIdempotent) {
  EventBroker broker(absl::Minutes(1));
  std::vector<v1::SessionEvent> history = {
      Progress(kId, 1, 0), Progress(kId, 3, 30), Progress(kId, 2, 20)};
  broker.Open(kId, history);
  broker.Open(kId, History(5));  // no-op: the channel exists
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 0, sink));
  EXPECT_THAT(sink->sequences(), ElementsAre(1, 3));
  EXPECT_EQ(broker.ChannelCount(), 1u);
}

TEST(EventBrokerTest, LiveEventsFanOutToEverySink) {
  EventBroker broker(absl::Minutes(1));
  broker.Open(kId, History(1));
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (int i = 0; i < 3; ++i) {
    sinks.push_back(std::make_shared<RecordingSink>());
    ASSERT_TRUE(broker.Subscribe(kId, 1, sinks.back()));
  }
  broker.Publish(Progress(kId, 2, 20));
  broker.Publish(Partial(kId, 3, 30, "x"));
  for (const auto& sink : sinks) {
    EXPECT_THAT(sink->sequences(), ElementsAre(2, 3));
  }
}

TEST(EventBrokerTest, PublishIgnoresDuplicatesAndOlderSequences) {
  EventBroker broker(absl::Minutes(1));
  broker.Open(kId, History(1));
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 0, sink));
  broker.Publish(Progress(kId, 3, 30));
  broker.Publish(Progress(kId, 3, 31));
  broker.Publish(Progress(kId, 2, 20));
  EXPECT_THAT(sink->sequences(), ElementsAre(1, 3));
  EXPECT_EQ(sink->events().back().progress_percentage(), 30);
}

TEST(EventBrokerTest, PublishWithoutChannelIsDropped) {
  EventBroker broker(absl::Minutes(1));
  broker.Publish(Progress("other", 1, 10));
  EXPECT_EQ(broker.ChannelCount(), 0u);
}

TEST(EventBrokerTest, NothingIsDeliveredAfterATerminalEvent) {
  EventBroker broker(absl::Minutes(1));
  broker.Open(kId, History(1));
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 0, sink));
  broker.Publish(Terminal(kId, 2, v1::SESSION_STATUS_COMPLETED));
  broker.Publish(Progress(kId, 3, 99));  // must not reach anyone
  EXPECT_THAT(sink->sequences(), ElementsAre(1, 2));
  // The broker let go of the sink at the terminal event.
  EXPECT_EQ(sink.use_count(), 1);

  // A watcher joining after the end gets the replay and is not kept.
  auto late = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 1, late));
  ASSERT_FALSE(late->events().empty());
  EXPECT_EQ(late->events().front().sequence(), 2);
  EXPECT_EQ(late.use_count(), 1);
  EXPECT_TRUE(late->errors().empty());

  // A watcher whose cursor is already at the terminal event is ended with
  // OK at once, not left open.
  auto done = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 2, done));
  EXPECT_TRUE(done->events().empty());
  ASSERT_EQ(done->errors().size(), 1u);
  EXPECT_TRUE(done->errors().front().ok());
}

TEST(EventBrokerTest, UnsubscribeStopsDelivery) {
  EventBroker broker(absl::Minutes(1));
  broker.Open(kId, History(1));
  auto stays = std::make_shared<RecordingSink>();
  auto leaves = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 1, stays));
  ASSERT_TRUE(broker.Subscribe(kId, 1, leaves));
  broker.Publish(Progress(kId, 2, 20));
  broker.Unsubscribe(kId, leaves.get());
  broker.Publish(Progress(kId, 3, 30));
  EXPECT_THAT(leaves->sequences(), ElementsAre(2));
  EXPECT_THAT(stays->sequences(), ElementsAre(2, 3));
  EXPECT_EQ(leaves.use_count(), 1);
}

TEST(EventBrokerTest, ClosedSinkIsDroppedWithoutDelivery) {
  EventBroker broker(absl::Minutes(1));
  broker.Open(kId, History(1));
  auto open = std::make_shared<RecordingSink>();
  auto closed = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 1, open));
  ASSERT_TRUE(broker.Subscribe(kId, 1, closed));
  closed->Close();
  broker.Publish(Progress(kId, 2, 20));
  EXPECT_THAT(closed->sequences(), IsEmpty());
  EXPECT_THAT(open->sequences(), ElementsAre(2));
  EXPECT_EQ(closed.use_count(), 1);  // the broker no longer holds it
}

TEST(EventBrokerTest, SweepDropsEndedChannelsOnlyAfterRetention) {
  EventBroker broker(absl::Minutes(5));
  broker.Open("live", History(1));
  broker.Open("ended", History(1));
  broker.Publish(Terminal("ended", 2, v1::SESSION_STATUS_FAILED));
  ASSERT_EQ(broker.ChannelCount(), 2u);

  broker.Sweep(absl::Now());
  EXPECT_EQ(broker.ChannelCount(), 2u);
  broker.Sweep(absl::Now() + absl::Minutes(4));
  EXPECT_EQ(broker.ChannelCount(), 2u);

  broker.Sweep(absl::Now() + absl::Minutes(6));
  EXPECT_EQ(broker.ChannelCount(), 1u);
  auto sink = std::make_shared<RecordingSink>();
  EXPECT_FALSE(broker.Subscribe("ended", 0, sink));
  EXPECT_TRUE(broker.Subscribe("live", 0, sink));

  // A channel that never ended survives any amount of time.
  broker.Sweep(absl::Now() + absl::Hours(24 * 365));
  EXPECT_EQ(broker.ChannelCount(), 1u);
}

TEST(EventBrokerTest, ChannelSeededWithTerminalHistoryIsSweptAndNotJoined) {
  EventBroker broker(absl::Seconds(1));
  std::vector<v1::SessionEvent> history = History(2);
  history.push_back(Terminal(kId, 3, v1::SESSION_STATUS_CANCELLED));
  broker.Open(kId, history);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 0, sink));
  EXPECT_THAT(sink->sequences(), ElementsAre(1, 2, 3));
  EXPECT_EQ(sink.use_count(), 1);
  broker.Sweep(absl::Now() + absl::Seconds(2));
  EXPECT_EQ(broker.ChannelCount(), 0u);
}

TEST(EventBrokerTest, IsTerminalEvent) {
  EXPECT_TRUE(IsTerminalEvent(Terminal(kId, 1, v1::SESSION_STATUS_COMPLETED)));
  EXPECT_TRUE(IsTerminalEvent(Terminal(kId, 1, v1::SESSION_STATUS_FAILED)));
  EXPECT_TRUE(IsTerminalEvent(Terminal(kId, 1, v1::SESSION_STATUS_CANCELLED)));
  EXPECT_FALSE(IsTerminalEvent(Progress(kId, 1, 1)));
  EXPECT_FALSE(IsTerminalEvent(Terminal(kId, 1, v1::SESSION_STATUS_PENDING)));
}

}  // namespace
}  // namespace goodbuy::core
