// Feeds the broker's channels that no job in this process publishes to:
// sessions still queued, running on another replica, or given back to the
// queue. One statement per round reads the new events of all of them from
// the events table, so ten thousand watchers of a hundred queued sessions
// cost one query per round, not ten thousand. Rounds run every `poll`
// (every `poll_notified` while the NOTIFY listener is healthy) and at once
// for the sessions a notification names.
//
// Thread-safe. Rounds run on the DB pool, never two at once.
#ifndef GOODBUY_SERVER_CORE_EVENT_FOLLOWER_H_
#define GOODBUY_SERVER_CORE_EVENT_FOLLOWER_H_

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "server/core/event_broker.h"
#include "server/core/executor.h"
#include "server/store/event_notifications.h"
#include "server/store/session_store.h"

namespace goodbuy::core {

struct FollowerOptions {
  absl::Duration poll = absl::Milliseconds(250);
  absl::Duration poll_notified = absl::Seconds(1);
};

class EventFollower {
 public:
  // `fed_here(id)`: a local job publishes the session's events itself.
  // `on_db(task)`: runs the task on the DB pool (false when it cannot).
  EventFollower(FollowerOptions options, EventBroker* broker,
                store::SessionStore* sessions,
                std::function<bool(const std::string&)> fed_here,
                std::function<bool(std::function<void()>)> on_db, Timer* timer);

  // Optional: notifications wake rounds early and slow the polling.
  void UseNotifications(store::EventNotifications* notifications);
  // Starts the polling rounds.
  void Start();
  // A notification named the session: read it now.
  void OnNotified(const std::string& session_id);

 private:
  void Loop();
  // Reads and publishes the new events of every unfed channel (or only of
  // `only` when given).
  void Round(const std::set<std::string>* only);

  const FollowerOptions options_;
  EventBroker* const broker_;
  store::SessionStore* const sessions_;
  const std::function<bool(const std::string&)> fed_here_;
  const std::function<bool(std::function<void()>)> on_db_;
  Timer* const timer_;
  store::EventNotifications* notifications_ = nullptr;
  std::mutex round_mu_;  // one round at a time
  std::mutex mu_;
  std::set<std::string> notified_ ABSL_GUARDED_BY(mu_);
  bool notified_round_posted_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace goodbuy::core

#endif  // GOODBUY_SERVER_CORE_EVENT_FOLLOWER_H_
