#include "server/core/executor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace goodbuy::core {
namespace {

using ::testing::ElementsAre;

TEST(ThreadPoolTest, RunsPostedTasks) {
  ThreadPool pool("test", 3, 100);
  EXPECT_EQ(pool.threads(), 3);
  std::atomic<int> ran{0};
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(pool.Post([&] { ++ran; }));
  }
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 50);
  EXPECT_EQ(pool.Load(), 0u);
}

TEST(ThreadPoolTest, PostReturnsFalseWhenTheQueueIsFull) {
  ThreadPool pool("test", 1, 2);
  absl::Notification started;
  absl::Notification release;
  ASSERT_TRUE(pool.Post([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();  // the worker is busy; the queue is empty
  std::atomic<int> ran{0};
  EXPECT_TRUE(pool.Post([&] { ++ran; }));
  EXPECT_TRUE(pool.Post([&] { ++ran; }));
  EXPECT_EQ(pool.Load(), 3u);
  EXPECT_FALSE(pool.Post([&] { ran += 100; }));
  EXPECT_EQ(pool.Load(), 3u);
  release.Notify();
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 2);
}

TEST(ThreadPoolTest, QueuedTasksRunBeforeShutdownReturns) {
  ThreadPool pool("test", 1, 100);
  absl::Notification release;
  std::vector<int> order;
  std::mutex mu;
  ASSERT_TRUE(pool.Post([&] { release.WaitForNotification(); }));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(pool.Post([&, i] {
      absl::SleepFor(absl::Milliseconds(2));
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(i);
    }));
  }
  release.Notify();
  pool.Shutdown();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));  // FIFO
}

TEST(ThreadPoolTest, PostAfterShutdownReturnsFalse) {
  ThreadPool pool("test", 2, 10);
  pool.Shutdown();
  std::atomic<bool> ran{false};
  EXPECT_FALSE(pool.Post([&] { ran = true; }));
  pool.Shutdown();  // idempotent
  EXPECT_FALSE(ran.load());
}

TEST(TimerTest, RunsTasksInTimeOrder) {
  Timer timer;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> order;
  auto record = [&](int i) {
    return [&, i] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(i);
      cv.notify_all();
    };
  };
  const absl::Time start = absl::Now();
  timer.RunAfter(absl::Milliseconds(120), record(3));
  timer.RunAfter(absl::Milliseconds(10), record(1));
  timer.RunAfter(absl::Milliseconds(60), record(2));
  timer.RunAfter(absl::Milliseconds(60), record(22));  // same time: FIFO
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5),
                          [&] { return order.size() == 4; }));
  EXPECT_THAT(order, ElementsAre(1, 2, 22, 3));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(120));
}

TEST(TimerTest, ShutdownDropsPendingTasks) {
  std::atomic<bool> ran{false};
  {
    Timer timer;
    timer.RunAfter(absl::Seconds(30), [&] { ran = true; });
    const absl::Time start = absl::Now();
    timer.Shutdown();
    EXPECT_LT(absl::Now() - start, absl::Seconds(5));
    timer.RunAfter(absl::ZeroDuration(), [&] { ran = true; });
  }
  EXPECT_FALSE(ran.load());
}

}  // namespace
}  // namespace goodbuy::core
