// Helpers for the core unit tests: event builders and a thread-safe
// recording EventSink that tests can wait on.
#ifndef GOODBUY_TESTS_UNIT_CORE_TEST_UTIL_H_
#define GOODBUY_TESTS_UNIT_CORE_TEST_UTIL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "goodbuy/analysis/v1/analysis_service.pb.h"
#include "server/core/event_broker.h"

namespace goodbuy::core::core_testing {

namespace v1 = ::goodbuy::analysis::v1;

inline v1::SessionEvent Progress(const std::string& id, int64_t seq,
                                 int percent) {
  v1::SessionEvent e;
  e.set_session_id(id);
  e.set_sequence(seq);
  e.set_status(v1::SESSION_STATUS_RUNNING);
  e.set_progress_percentage(percent);
  e.set_stage("stage");
  return e;
}

inline v1::SessionEvent Partial(const std::string& id, int64_t seq, int percent,
                                const std::string& key) {
  v1::SessionEvent e = Progress(id, seq, percent);
  e.mutable_partial_result()->set_key(key);
  return e;
}

inline v1::SessionEvent Terminal(const std::string& id, int64_t seq,
                                 v1::SessionStatus status) {
  v1::SessionEvent e;
  e.set_session_id(id);
  e.set_sequence(seq);
  e.set_status(status);
  e.set_progress_percentage(status == v1::SESSION_STATUS_COMPLETED ? 100 : 0);
  return e;
}

// Records events and errors; Wait* block (with a timeout) until a condition
// holds. Pulls every available event at once (a watcher that keeps up) unless
// paused, when it pulls nothing until Resume() (a stalled client).
class RecordingSink : public EventSink {
 public:
  void OnSubscribed(std::shared_ptr<Subscription> subscription) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      subscription_ = std::move(subscription);
    }
    Drain();
  }
  void OnEventsAvailable() override { Drain(); }
  void OnEnd(const absl::Status& status) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      errors_.push_back(status);
    }
    cv_.notify_all();
  }
  bool Closed() const override { return closed_.load(); }
  void Close() { closed_.store(true); }
  void Pause() { paused_.store(true); }
  void Resume() {
    paused_.store(false);
    Drain();
  }
  // Pulls one event if one is available (while paused, to step slowly).
  bool PullOne() {
    std::shared_ptr<Subscription> sub;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sub = subscription_;
    }
    if (!sub) return false;
    Subscription::Pull pull = sub->Next();
    if (pull.event) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(*pull.event);
      }
      cv_.notify_all();
      return true;
    }
    if (pull.ended && !pull.status.ok()) OnEnd(pull.status);
    return false;
  }

  std::vector<v1::SessionEvent> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::vector<absl::Status> errors() const {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }
  std::vector<int64_t> sequences() const {
    std::vector<int64_t> out;
    for (const auto& e : events()) out.push_back(e.sequence());
    return out;
  }

  // True once an event with a terminal status (or an error) arrived.
  bool WaitForEnd(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] {
      if (!errors_.empty()) return true;
      for (const auto& e : events_) {
        if (IsTerminalEvent(e)) return true;
      }
      return false;
    });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::SessionEvent> events_;
  std::vector<absl::Status> errors_;
  std::shared_ptr<Subscription> subscription_;
  std::atomic<bool> closed_{false};
  std::atomic<bool> paused_{false};
  std::mutex drain_mu_;  // one drain at a time keeps events in order

  void Drain() {
    std::lock_guard<std::mutex> drain(drain_mu_);
    while (!paused_.load() && PullOne()) {
    }
  }
};

// Waits for a value handed to a callback on another thread.
template <typename T>
class Promise {
 public:
  void Set(T value) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      value_.emplace(std::move(value));
    }
    cv_.notify_all();
  }
  std::optional<T> Wait(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                 [this] { return value_.has_value(); });
    return value_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<T> value_;
};

}  // namespace goodbuy::core::core_testing

#endif  // GOODBUY_TESTS_UNIT_CORE_TEST_UTIL_H_
