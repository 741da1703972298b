#include "server/core/event_broker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <vector>

#include "absl/time/clock.h"
#include "server/common/errors.h"
#include "tests/unit/core_test_util.h"

namespace goodbuy::core {
namespace {

using core_testing::Partial;
using core_testing::Progress;
using core_testing::RecordingSink;
using core_testing::Terminal;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kId[] = "sess-1";

BrokerOptions Retention(absl::Duration retention) {
  BrokerOptions options;
  options.retention = retention;
  return options;
}

std::vector<v1::SessionEvent> History(int n) {
  std::vector<v1::SessionEvent> events;
  for (int i = 1; i <= n; ++i) events.push_back(Progress(kId, i, i * 10));
  return events;
}

TEST(EventBrokerTest, SubscribeWithoutChannelReturnsFalse) {
  EventBroker broker(Retention(absl::Minutes(1)));
  auto sink = std::make_shared<RecordingSink>();
  EXPECT_FALSE(broker.Subscribe("nope", 0, sink));
  EXPECT_THAT(sink->events(), IsEmpty());
}

TEST(EventBrokerTest, LateSubscribeReplaysEventsAfterCursorInOrder) {
  EventBroker broker(Retention(absl::Minutes(1)));
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
  EventBroker broker(Retention(absl::Minutes(1)));
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
  EventBroker broker(Retention(absl::Minutes(1)));
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
  EventBroker broker(Retention(absl::Minutes(1)));
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
  EventBroker broker(Retention(absl::Minutes(1)));
  broker.Publish(Progress("other", 1, 10));
  EXPECT_EQ(broker.ChannelCount(), 0u);
}

TEST(EventBrokerTest, NothingIsDeliveredAfterATerminalEvent) {
  EventBroker broker(Retention(absl::Minutes(1)));
  broker.Open(kId, History(1));
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 0, sink));
  broker.Publish(Terminal(kId, 2, v1::SESSION_STATUS_COMPLETED));
  broker.Publish(Progress(kId, 3, 99));  // must not reach anyone
  EXPECT_THAT(sink->sequences(), ElementsAre(1, 2));

  // A watcher joining after the end gets the replay.
  auto late = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 1, late));
  EXPECT_THAT(late->sequences(), ElementsAre(2));
  EXPECT_TRUE(late->errors().empty());

  // A watcher whose cursor is already at the terminal event is ended with
  // OK at once, not left open.
  auto done = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 2, done));
  EXPECT_TRUE(done->events().empty());
  ASSERT_EQ(done->errors().size(), 1u);
  EXPECT_TRUE(done->errors().front().ok());
}

TEST(EventBrokerTest, CursorBeyondTheTerminalEventIsOutOfRange) {
  EventBroker broker(Retention(absl::Minutes(1)));
  std::vector<v1::SessionEvent> history = History(2);
  history.push_back(Terminal(kId, 3, v1::SESSION_STATUS_COMPLETED));
  broker.Open(kId, history);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 7, sink));
  const std::vector<absl::Status> errors = sink->errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(errors[0].message()),
              HasSubstr("beyond the session's last event (3)"));
}

TEST(EventBrokerTest,
     CursorOlderThanTheKeptEventsIsOutOfRangeNamingTheEarliest) {
  EventBroker broker(Retention(absl::Minutes(1)));
  // The table kept only the terminal event of an old session.
  broker.Open(kId, {Terminal(kId, 9, v1::SESSION_STATUS_COMPLETED)});
  auto old = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 3, old));
  ASSERT_EQ(old->errors().size(), 1u);
  const absl::Status status = old->errors()[0];
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("the earliest kept is 9"));
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(GetBadRequest(status, &bad_request));
  EXPECT_EQ(bad_request.field_violations(0).field(), "after_sequence");
  EXPECT_TRUE(old->events().empty());

  // From the earliest kept on, it is served.
  auto fresh = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 8, fresh));
  EXPECT_THAT(fresh->sequences(), ElementsAre(9));
}

TEST(EventBrokerTest, UnsubscribeStopsDelivery) {
  EventBroker broker(Retention(absl::Minutes(1)));
  broker.Open(kId, History(1));
  auto stays = std::make_shared<RecordingSink>();
  auto leaves = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 1, stays));
  ASSERT_TRUE(broker.Subscribe(kId, 1, leaves));
  EXPECT_EQ(broker.WatcherCount(), 2u);
  broker.Publish(Progress(kId, 2, 20));
  broker.Unsubscribe(kId, leaves.get());
  EXPECT_EQ(broker.WatcherCount(), 1u);
  broker.Publish(Progress(kId, 3, 30));
  EXPECT_THAT(leaves->sequences(), ElementsAre(2));
  EXPECT_THAT(stays->sequences(), ElementsAre(2, 3));
}

TEST(EventBrokerTest, AWatcherThatGoesAwayIsForgotten) {
  EventBroker broker(Retention(absl::Minutes(1)));
  broker.Open(kId, History(1));
  auto stays = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 1, stays));
  {
    auto gone = std::make_shared<RecordingSink>();
    ASSERT_TRUE(broker.Subscribe(kId, 1, gone));
  }
  broker.Publish(Progress(kId, 2, 20));
  EXPECT_EQ(broker.WatcherCount(), 1u);
  EXPECT_THAT(stays->sequences(), ElementsAre(2));
}

TEST(EventBrokerTest, AWatcherThatKeepsUpSeesEveryProgressEvent) {
  BrokerOptions options;
  options.coalesce_after = 3;
  EventBroker broker(options);
  broker.Open(kId, {});
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 0, sink));
  for (int i = 1; i <= 10; ++i) broker.Publish(Progress(kId, i, i));
  EXPECT_THAT(sink->sequences(), ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
}

TEST(EventBrokerTest, ASlowWatcherGetsProgressCoalescedButEveryResult) {
  BrokerOptions options;
  options.coalesce_after = 2;
  EventBroker broker(options);
  broker.Open(kId, {});
  auto slow = std::make_shared<RecordingSink>();
  auto fast = std::make_shared<RecordingSink>();
  slow->Pause();
  ASSERT_TRUE(broker.Subscribe(kId, 0, slow));
  ASSERT_TRUE(broker.Subscribe(kId, 0, fast));
  broker.Publish(Progress(kId, 1, 1));
  broker.Publish(Progress(kId, 2, 2));
  broker.Publish(Progress(kId, 3, 3));
  broker.Publish(Partial(kId, 4, 4, "a"));
  broker.Publish(Progress(kId, 5, 5));
  broker.Publish(Progress(kId, 6, 6));
  broker.Publish(Partial(kId, 7, 7, "b"));
  broker.Publish(Progress(kId, 8, 8));
  broker.Publish(Progress(kId, 9, 9));
  broker.Publish(Terminal(kId, 10, v1::SESSION_STATUS_COMPLETED));
  // The fast one saw everything; the slow one skips superseded progress
  // while more than two events behind (latest wins).
  EXPECT_THAT(fast->sequences(), ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
  slow->Resume();
  EXPECT_THAT(slow->sequences(), ElementsAre(4, 7, 10));
  EXPECT_EQ(slow->events()[0].partial_result().key(), "a");
  EXPECT_EQ(slow->events()[1].partial_result().key(), "b");
  EXPECT_TRUE(slow->errors().empty());
}

TEST(EventBrokerTest, AWatcherTooFarBehindOnResultsIsEndedWithItsResumeCursor) {
  BrokerOptions options;
  options.max_lag_partials = 3;
  EventBroker broker(options);
  broker.Open(kId, {});
  auto slow = std::make_shared<RecordingSink>();
  auto fast = std::make_shared<RecordingSink>();
  slow->Pause();
  ASSERT_TRUE(broker.Subscribe(kId, 0, slow));
  ASSERT_TRUE(broker.Subscribe(kId, 0, fast));
  broker.Publish(Partial(kId, 1, 1, "p1"));
  ASSERT_TRUE(slow->PullOne());  // it took sequence 1, then stalls
  // Progress alone never ends a watcher: it is coalesced.
  for (int i = 2; i <= 40; ++i) broker.Publish(Progress(kId, i, i));
  EXPECT_TRUE(slow->errors().empty());
  broker.Publish(Partial(kId, 41, 41, "p2"));
  broker.Publish(Partial(kId, 42, 42, "p3"));
  broker.Publish(Partial(kId, 43, 43, "p4"));
  EXPECT_TRUE(slow->errors().empty());  // 3 behind: at the bound
  broker.Publish(Partial(kId, 44, 44, "p5"));
  ASSERT_EQ(slow->errors().size(), 1u);
  const absl::Status status = slow->errors()[0];
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), HasSubstr("after_sequence=1"));
  EXPECT_EQ(broker.WatcherCount(), 1u);
  // The others are unaffected.
  EXPECT_EQ(fast->sequences().size(), 44u);
  EXPECT_TRUE(fast->errors().empty());
  // Resuming with the cursor picks up right after what it had.
  auto resumed = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 1, resumed));
  EXPECT_EQ(resumed->sequences().front(), 2);
  EXPECT_EQ(resumed->sequences().back(), 44);
  std::vector<std::string> keys;
  for (const auto& e : resumed->events()) {
    if (e.has_partial_result()) keys.push_back(e.partial_result().key());
  }
  EXPECT_THAT(keys, ElementsAre("p2", "p3", "p4", "p5"));
}

TEST(EventBrokerTest, SweepDropsEndedChannelsOnlyAfterRetention) {
  EventBroker broker(Retention(absl::Minutes(5)));
  auto nothing_here = [](const std::string&) { return false; };
  auto runs_here = [](const std::string&) { return true; };
  broker.Open("live", History(1));
  broker.Open("ended", History(1));
  broker.Publish(Terminal("ended", 2, v1::SESSION_STATUS_FAILED));
  ASSERT_EQ(broker.ChannelCount(), 2u);

  broker.Sweep(absl::Now(), runs_here);
  EXPECT_EQ(broker.ChannelCount(), 2u);
  broker.Sweep(absl::Now() + absl::Minutes(4), runs_here);
  EXPECT_EQ(broker.ChannelCount(), 2u);

  broker.Sweep(absl::Now() + absl::Minutes(6), runs_here);
  EXPECT_EQ(broker.ChannelCount(), 1u);
  auto sink = std::make_shared<RecordingSink>();
  EXPECT_FALSE(broker.Subscribe("ended", 0, sink));
  EXPECT_TRUE(broker.Subscribe("live", 0, sink));

  // A channel a local job feeds survives any amount of time; a watched one
  // too; an unwatched one nothing here feeds goes after the retention.
  broker.Sweep(absl::Now() + absl::Hours(24 * 365), runs_here);
  EXPECT_EQ(broker.ChannelCount(), 1u);
  broker.Sweep(absl::Now() + absl::Hours(24 * 365), nothing_here);
  EXPECT_EQ(broker.ChannelCount(), 1u);
  broker.Unsubscribe("live", sink.get());
  broker.Sweep(absl::Now() + absl::Minutes(6), nothing_here);
  EXPECT_EQ(broker.ChannelCount(), 0u);
}

TEST(EventBrokerTest, UnfedListsWatchedLiveChannelsNoLocalJobFeeds) {
  EventBroker broker(Retention(absl::Minutes(5)));
  broker.Open("remote", History(2));
  broker.Open("local", History(1));
  broker.Open("unwatched", History(1));
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (const char* id : {"remote", "local"}) {
    sinks.push_back(std::make_shared<RecordingSink>());
    ASSERT_TRUE(broker.Subscribe(id, 0, sinks.back()));
  }
  auto unfed =
      broker.Unfed([](const std::string& id) { return id == "local"; });
  ASSERT_EQ(unfed.size(), 1u);
  EXPECT_EQ(unfed[0].first, "remote");
  EXPECT_EQ(unfed[0].second, 2);

  // Limited to the sessions a notification named.
  auto nothing_here = [](const std::string&) { return false; };
  const std::set<std::string> named = {"remote", "no-such-session"};
  auto named_unfed = broker.Unfed(nothing_here, &named);
  ASSERT_EQ(named_unfed.size(), 1u);
  EXPECT_EQ(named_unfed[0].first, "remote");
  const std::set<std::string> unwatched = {"unwatched"};
  EXPECT_THAT(broker.Unfed(nothing_here, &unwatched), IsEmpty());
}

TEST(EventBrokerTest, ChannelSeededWithTerminalHistoryIsSweptAndNotJoined) {
  EventBroker broker(Retention(absl::Seconds(1)));
  std::vector<v1::SessionEvent> history = History(2);
  history.push_back(Terminal(kId, 3, v1::SESSION_STATUS_CANCELLED));
  broker.Open(kId, history);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(broker.Subscribe(kId, 0, sink));
  EXPECT_THAT(sink->sequences(), ElementsAre(1, 2, 3));
  broker.Sweep(absl::Now() + absl::Seconds(2),
               [](const std::string&) { return false; });
  EXPECT_EQ(broker.ChannelCount(), 0u);
}

TEST(EventBrokerTest, IsTerminalEventAndIsProgressOnly) {
  EXPECT_TRUE(IsTerminalEvent(Terminal(kId, 1, v1::SESSION_STATUS_COMPLETED)));
  EXPECT_TRUE(IsTerminalEvent(Terminal(kId, 1, v1::SESSION_STATUS_FAILED)));
  EXPECT_TRUE(IsTerminalEvent(Terminal(kId, 1, v1::SESSION_STATUS_CANCELLED)));
  EXPECT_FALSE(IsTerminalEvent(Progress(kId, 1, 1)));
  EXPECT_FALSE(IsTerminalEvent(Terminal(kId, 1, v1::SESSION_STATUS_PENDING)));
  EXPECT_TRUE(IsProgressOnly(Progress(kId, 1, 1)));
  EXPECT_FALSE(IsProgressOnly(Partial(kId, 1, 1, "x")));
  EXPECT_FALSE(IsProgressOnly(Terminal(kId, 1, v1::SESSION_STATUS_FAILED)));
}

}  // namespace
}  // namespace goodbuy::core
