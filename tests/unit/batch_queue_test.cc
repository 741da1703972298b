// BatchQueue: what arrives while a batch is handled forms the next batch, in
// order, never more than the maximum; nothing is lost when posting fails.
#include "server/core/batch_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <vector>

namespace goodbuy::core {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A pool whose tasks run when the test says so.
struct ManualPool {
  bool accept = true;
  std::deque<std::function<void()>> tasks;
  bool Post(std::function<void()> task) {
    if (!accept) return false;
    tasks.push_back(std::move(task));
    return true;
  }
  void RunOne() {
    auto task = std::move(tasks.front());
    tasks.pop_front();
    task();
  }
};

struct Fixture {
  explicit Fixture(size_t max_batch)
      : queue(
            max_batch, [this](std::function<void()> t) { return pool.Post(t); },
            [this](std::vector<int> b) { batches.push_back(b); },
            [this](std::vector<int> b) { rejected.push_back(b); }) {}
  ManualPool pool;
  std::vector<std::vector<int>> batches;
  std::vector<std::vector<int>> rejected;
  BatchQueue<int> queue;
};

TEST(BatchQueueTest, ItemsArrivingDuringABatchFormTheNextOne) {
  Fixture f(/*max_batch=*/64);
  f.queue.Push(1);  // posts a batch
  EXPECT_EQ(f.pool.tasks.size(), 1u);
  f.queue.Push(2);  // joins the batch posted
  f.queue.Push(3);
  EXPECT_EQ(f.pool.tasks.size(), 1u);
  f.pool.RunOne();
  EXPECT_THAT(f.batches, ElementsAre(ElementsAre(1, 2, 3)));
  EXPECT_TRUE(f.pool.tasks.empty());  // nothing left: no batch posted

  f.queue.Push(4);  // quiet again: handled alone
  f.pool.RunOne();
  EXPECT_THAT(f.batches.back(), ElementsAre(4));
  EXPECT_THAT(f.rejected, IsEmpty());
}

TEST(BatchQueueTest, BatchesAreCappedAndTheRestIsPostedAgain) {
  Fixture f(/*max_batch=*/2);
  for (int i = 1; i <= 5; ++i) f.queue.Push(i);
  EXPECT_EQ(f.pool.tasks.size(), 1u);
  while (!f.pool.tasks.empty()) f.pool.RunOne();
  EXPECT_THAT(f.batches, ElementsAre(ElementsAre(1, 2), ElementsAre(3, 4),
                                     ElementsAre(5)));
}

TEST(BatchQueueTest, PushedDuringHandlingGoesIntoTheNextPost) {
  ManualPool pool;
  std::vector<std::vector<int>> batches;
  BatchQueue<int>* self = nullptr;
  BatchQueue<int> queue(
      8, [&](std::function<void()> t) { return pool.Post(t); },
      [&](std::vector<int> b) {
        if (b.front() == 1) self->Push(10);  // arrives while 1 is handled
        batches.push_back(b);
      },
      [](std::vector<int>) { FAIL() << "nothing is rejected"; });
  self = &queue;
  queue.Push(1);
  pool.RunOne();
  ASSERT_EQ(pool.tasks.size(), 1u);  // 10's batch was posted after 1's
  pool.RunOne();
  EXPECT_THAT(batches, ElementsAre(ElementsAre(1), ElementsAre(10)));
}

TEST(BatchQueueTest, AFailedPostRejectsEverythingQueued) {
  Fixture f(/*max_batch=*/64);
  f.pool.accept = false;
  f.queue.Push(1);
  EXPECT_THAT(f.rejected, ElementsAre(ElementsAre(1)));
  EXPECT_THAT(f.batches, IsEmpty());

  // The queue works again once the pool does.
  f.pool.accept = true;
  f.queue.Push(2);
  f.queue.Push(3);
  // The batch in flight cannot post the next one: 4 is rejected with it.
  f.pool.accept = false;
  f.queue.Push(4);
  f.pool.RunOne();  // handles 2, 3, 4 (all queued), nothing left to post
  EXPECT_THAT(f.batches, ElementsAre(ElementsAre(2, 3, 4)));

  f.pool.accept = true;
  Fixture g(/*max_batch=*/1);
  g.queue.Push(1);
  g.queue.Push(2);
  g.pool.accept = false;
  g.pool.RunOne();  // handles 1; 2 needs a post, which fails
  EXPECT_THAT(g.batches, ElementsAre(ElementsAre(1)));
  EXPECT_THAT(g.rejected, ElementsAre(ElementsAre(2)));
}

}  // namespace
}  // namespace goodbuy::core
