// Fixed-size thread pools and a timer, the two ways work leaves the caller's
// thread.
//
// ThreadPool runs posted closures FIFO on N threads. Post() never blocks: it
// returns false when the queue is full or the pool is stopping, so a caller
// on a gRPC thread can answer RESOURCE_EXHAUSTED/UNAVAILABLE instead of
// waiting. Shutdown() stops accepting work, runs what is queued and joins.
//
// Timer runs closures at a time on its own thread; a closure should only hand
// work to a pool. All methods are thread-safe.
#ifndef GOODBUY_SERVER_CORE_EXECUTOR_H_
#define GOODBUY_SERVER_CORE_EXECUTOR_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace goodbuy::core {

class ThreadPool {
 public:
  ThreadPool(std::string name, int threads, size_t max_queue);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  bool Post(std::function<void()> task);
  // Tasks queued or running.
  size_t Load() const;
  int threads() const { return threads_; }
  void Shutdown();

 private:
  void Loop();

  const std::string name_;
  const size_t max_queue_;
  const int threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(mu_);
};

class Timer {
 public:
  Timer();
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void RunAfter(absl::Duration delay, std::function<void()> task);
  // Drops pending tasks and joins.
  void Shutdown();

 private:
  struct Entry {
    absl::Time when;
    uint64_t order;
    std::function<void()> task;
    bool operator>(const Entry& o) const {
      return when != o.when ? when > o.when : order > o.order;
    }
  };
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_order_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace goodbuy::core

#endif  // GOODBUY_SERVER_CORE_EXECUTOR_H_
