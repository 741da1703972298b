#include "server/core/watch_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/core_test_util.h"

namespace goodbuy::core {
namespace {

using core_testing::Partial;
using core_testing::Progress;
using core_testing::Terminal;
using ::testing::ElementsAre;

std::vector<int64_t> Drain(WatchQueue& queue) {
  std::vector<int64_t> out;
  while (auto e = queue.Pop()) out.push_back(e->sequence());
  return out;
}

TEST(WatchQueueTest, PopOnEmptyReturnsNothing) {
  WatchQueue queue(/*coalesce_after=*/0);
  EXPECT_TRUE(queue.empty());
  EXPECT_FALSE(queue.Pop().has_value());
}

TEST(WatchQueueTest, AWatcherThatKeepsUpSeesEveryProgressEvent) {
  WatchQueue queue(/*coalesce_after=*/3);
  queue.Push(Progress("s", 1, 10));
  queue.Push(Progress("s", 2, 20));
  queue.Push(Progress("s", 3, 30));
  EXPECT_EQ(queue.size(), 3u);  // below the threshold: nothing merged
  queue.Push(Progress("s", 4, 40));
  queue.Push(Progress("s", 5, 50));
  ASSERT_EQ(queue.size(), 3u);  // behind: the newest progress wins
  std::vector<int64_t> seen;
  while (auto e = queue.Pop()) seen.push_back(e->sequence());
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 5}));
}

TEST(WatchQueueTest, ConsecutiveProgressCoalescesToLatest) {
  WatchQueue queue(/*coalesce_after=*/0);
  queue.Push(Progress("s", 1, 10));
  queue.Push(Progress("s", 2, 20));
  queue.Push(Progress("s", 3, 30));
  ASSERT_EQ(queue.size(), 1u);
  auto e = queue.Pop();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->sequence(), 3);
  EXPECT_EQ(e->progress_percentage(), 30);
  EXPECT_EQ(queue.last_sequence(), 3);
}

TEST(WatchQueueTest, PartialResultsAreNeverDroppedOrMerged) {
  WatchQueue queue(/*coalesce_after=*/0);
  queue.Push(Partial("s", 1, 10, "a"));
  queue.Push(Partial("s", 2, 20, "b"));
  queue.Push(Partial("s", 3, 30, "c"));
  ASSERT_EQ(queue.size(), 3u);
  std::vector<std::string> keys;
  while (auto e = queue.Pop()) keys.push_back(e->partial_result().key());
  EXPECT_THAT(keys, ElementsAre("a", "b", "c"));
}

TEST(WatchQueueTest, ProgressAfterPartialIsNotMergedIntoThePartial) {
  WatchQueue queue(/*coalesce_after=*/0);
  queue.Push(Progress("s", 1, 5));
  queue.Push(Partial("s", 2, 10, "a"));
  queue.Push(Progress("s", 3, 15));
  queue.Push(Progress("s", 4, 20));
  queue.Push(Partial("s", 5, 30, "b"));
  queue.Push(Progress("s", 6, 40));
  EXPECT_THAT(Drain(queue), ElementsAre(1, 2, 4, 5, 6));
}

TEST(WatchQueueTest, TerminalEventIsKeptAfterProgress) {
  WatchQueue queue(/*coalesce_after=*/0);
  queue.Push(Progress("s", 1, 10));
  queue.Push(Progress("s", 2, 50));
  queue.Push(Terminal("s", 3, v1::SESSION_STATUS_COMPLETED));
  auto first = queue.Pop();
  auto last = queue.Pop();
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(first->sequence(), 2);
  EXPECT_EQ(last->sequence(), 3);
  EXPECT_EQ(last->status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_TRUE(queue.empty());
}

TEST(WatchQueueTest, ProgressDoesNotOverwriteAQueuedTerminalEvent) {
  // A terminal event with no payload must not count as "progress only".
  WatchQueue queue(/*coalesce_after=*/0);
  queue.Push(Terminal("s", 1, v1::SESSION_STATUS_CANCELLED));
  queue.Push(Progress("s", 2, 10));
  EXPECT_THAT(Drain(queue), ElementsAre(1, 2));
}

TEST(WatchQueueTest, ErrorPayloadIsNotCoalesced) {
  WatchQueue queue(/*coalesce_after=*/0);
  queue.Push(Progress("s", 1, 10));
  v1::SessionEvent failed = Terminal("s", 2, v1::SESSION_STATUS_FAILED);
  failed.mutable_error()->set_code(13);
  queue.Push(failed);
  auto a = queue.Pop();
  auto b = queue.Pop();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(a->sequence(), 1);
  EXPECT_EQ(b->error().code(), 13);
}

TEST(WatchQueueTest, DuplicateAndOlderSequencesAreIgnored) {
  WatchQueue queue(/*coalesce_after=*/0);
  queue.Push(Partial("s", 5, 10, "five"));
  queue.Push(Partial("s", 5, 10, "five-again"));
  queue.Push(Partial("s", 3, 10, "three"));
  queue.Push(Progress("s", 4, 90));
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue.last_sequence(), 5);
  auto e = queue.Pop();
  EXPECT_EQ(e->partial_result().key(), "five");
}

TEST(WatchQueueTest, SequencesAlreadyTakenStayIgnored) {
  WatchQueue queue(/*coalesce_after=*/0);
  queue.Push(Progress("s", 1, 10));
  queue.Push(Progress("s", 2, 20));
  EXPECT_THAT(Drain(queue), ElementsAre(2));
  queue.Push(Progress("s", 1, 10));  // a back-fill replaying old events
  queue.Push(Progress("s", 2, 20));
  EXPECT_TRUE(queue.empty());
  queue.Push(Progress("s", 3, 30));
  EXPECT_THAT(Drain(queue), ElementsAre(3));
}

TEST(WatchQueueTest, IsProgressOnlyClassifiesPayloads) {
  EXPECT_TRUE(IsProgressOnly(Progress("s", 1, 1)));
  EXPECT_FALSE(IsProgressOnly(Partial("s", 1, 1, "k")));
  EXPECT_FALSE(IsProgressOnly(Terminal("s", 1, v1::SESSION_STATUS_COMPLETED)));
  EXPECT_FALSE(IsProgressOnly(Terminal("s", 1, v1::SESSION_STATUS_FAILED)));
  v1::SessionEvent heartbeat = Progress("s", 1, 1);
  heartbeat.mutable_heartbeat();
  EXPECT_FALSE(IsProgressOnly(heartbeat));
}

}  // namespace
}  // namespace goodbuy::core
