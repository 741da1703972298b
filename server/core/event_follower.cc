#include "server/core/event_follower.h"

#include <utility>
#include <vector>

#include "spdlog/spdlog.h"

namespace goodbuy::core {

EventFollower::EventFollower(FollowerOptions options, EventBroker* broker,
                             store::SessionStore* sessions,
                             std::function<bool(const std::string&)> fed_here,
                             std::function<bool(std::function<void()>)> on_db,
                             Timer* timer)
    : options_(options),
      broker_(broker),
      sessions_(sessions),
      fed_here_(std::move(fed_here)),
      on_db_(std::move(on_db)),
      timer_(timer) {}

void EventFollower::UseNotifications(store::EventNotifications* notifications) {
  notifications_ = notifications;
}

void EventFollower::Start() {
  timer_->RunAfter(options_.poll, [this] { Loop(); });
}

void EventFollower::Loop() {
  on_db_([this] { Round(nullptr); });
  const bool notified = notifications_ != nullptr && notifications_->Healthy();
  timer_->RunAfter(notified ? options_.poll_notified : options_.poll,
                   [this] { Loop(); });
}

void EventFollower::OnNotified(const std::string& session_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    notified_.insert(session_id);
    if (notified_round_posted_) return;  // the posted round takes it too
    notified_round_posted_ = true;
  }
  const bool posted = on_db_([this] {
    std::set<std::string> only;
    {
      std::lock_guard<std::mutex> lock(mu_);
      only.swap(notified_);
      notified_round_posted_ = false;
    }
    Round(&only);
  });
  if (!posted) {
    std::lock_guard<std::mutex> lock(mu_);
    notified_round_posted_ = false;  // the next timed round covers it
  }
}

void EventFollower::Round(const std::set<std::string>* only) {
  std::lock_guard<std::mutex> round(round_mu_);
  auto cursors = broker_->Unfed(fed_here_, only);
  if (cursors.empty()) return;
  auto events = sessions_->ListEventsAfter(cursors);
  if (!events.ok()) {
    spdlog::warn("reading events for {} watched sessions failed: {}",
                 cursors.size(), events.status().ToString());
    return;  // the next round tries again
  }
  for (const auto& event : *events) broker_->Publish(event);
}

}  // namespace goodbuy::core
