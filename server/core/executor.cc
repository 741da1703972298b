#include "server/core/executor.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace goodbuy::core {

ThreadPool::ThreadPool(std::string name, int threads, size_t max_queue)
    : name_(std::move(name)),
      max_queue_(max_queue),
      threads_(std::max(threads, 1)) {
  workers_.reserve(threads_);
  for (int i = 0; i < threads_; ++i) {
    workers_.emplace_back([this, i] {
      std::string thread_name = name_.substr(0, 11) + "-" + std::to_string(i);
      pthread_setname_np(pthread_self(), thread_name.substr(0, 15).c_str());
      Loop();
    });
  }
}

ThreadPool::~ThreadPool() { Shutdown(); }

bool ThreadPool::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

size_t ThreadPool::Load() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size() + running_;
}

void ThreadPool::Shutdown() {
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    workers.swap(workers_);
  }
  cv_.notify_all();
  for (auto& t : workers) {
    // A task that shuts its own pool down cannot join itself.
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();
    } else if (t.joinable()) {
      t.join();
    }
  }
}

void ThreadPool::Loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    task();
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
  }
}

Timer::Timer()
    : thread_([this] {
        pthread_setname_np(pthread_self(), "timer");
        Loop();
      }) {}

Timer::~Timer() { Shutdown(); }

void Timer::RunAfter(absl::Duration delay, std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    queue_.push(Entry{absl::Now() + delay, next_order_++, std::move(task)});
  }
  cv_.notify_one();
}

void Timer::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    while (!queue_.empty()) queue_.pop();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Timer::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const absl::Time when = queue_.top().when;
    const absl::Time now = absl::Now();
    if (when > now) {
      cv_.wait_for(lock, absl::ToChronoNanoseconds(when - now));
      continue;
    }
    auto task = queue_.top().task;
    queue_.pop();
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace goodbuy::core
