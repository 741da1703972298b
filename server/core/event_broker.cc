#include "server/core/event_broker.h"

#include <algorithm>

#include "server/store/session_names.h"

namespace goodbuy::core {

bool IsTerminalEvent(const v1::SessionEvent& event) {
  return store::IsTerminal(event.status());
}

EventBroker::EventBroker(absl::Duration retention) : retention_(retention) {}

std::shared_ptr<EventBroker::Channel> EventBroker::Find(
    const std::string& session_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = channels_.find(session_id);
  return it == channels_.end() ? nullptr : it->second;
}

void EventBroker::Open(const std::string& session_id,
                       const std::vector<v1::SessionEvent>& history) {
  std::shared_ptr<Channel> channel;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = channels_[session_id];
    if (slot) return;
    slot = std::make_shared<Channel>();
    channel = slot;
    // Seed under the map lock so no subscriber sees a half-seeded channel.
    std::lock_guard<std::mutex> channel_lock(channel->mu);
    for (const auto& event : history) {
      if (channel->events.empty() ||
          event.sequence() > channel->events.back().sequence()) {
        channel->events.push_back(event);
      }
    }
    if (!channel->events.empty() && IsTerminalEvent(channel->events.back())) {
      channel->ended = absl::Now();
    }
  }
}

void EventBroker::Publish(const v1::SessionEvent& event) {
  auto channel = Find(event.session_id());
  if (!channel) return;
  std::lock_guard<std::mutex> lock(channel->mu);
  if (channel->ended != absl::InfiniteFuture() ||
      (!channel->events.empty() &&
       event.sequence() <= channel->events.back().sequence())) {
    return;  // nothing follows a terminal event; no duplicates
  }
  channel->events.push_back(event);
  // Drop sinks that went away while delivering to the rest.
  auto& sinks = channel->sinks;
  sinks.erase(std::remove_if(sinks.begin(), sinks.end(),
                             [&](const std::shared_ptr<EventSink>& sink) {
                               if (sink->Closed()) return true;
                               sink->OnEvent(event);
                               return false;
                             }),
              sinks.end());
  if (IsTerminalEvent(event)) {
    channel->ended = absl::Now();
    sinks.clear();  // nothing follows a terminal event
  }
}

bool EventBroker::Subscribe(const std::string& session_id,
                            int64_t after_sequence,
                            const std::shared_ptr<EventSink>& sink) {
  auto channel = Find(session_id);
  if (!channel) return false;
  std::lock_guard<std::mutex> lock(channel->mu);
  bool replayed = false;
  for (const auto& event : channel->events) {
    if (event.sequence() > after_sequence) {
      sink->OnEvent(event);
      replayed = true;
    }
  }
  if (channel->ended == absl::InfiniteFuture()) {
    channel->sinks.push_back(sink);
  } else if (!replayed) {
    sink->OnEnd(absl::OkStatus());  // already past the terminal event
  }
  return true;
}

void EventBroker::Unsubscribe(const std::string& session_id,
                              const EventSink* sink) {
  auto channel = Find(session_id);
  if (!channel) return;
  std::lock_guard<std::mutex> lock(channel->mu);
  auto& sinks = channel->sinks;
  sinks.erase(std::remove_if(sinks.begin(), sinks.end(),
                             [&](const std::shared_ptr<EventSink>& s) {
                               return s.get() == sink;
                             }),
              sinks.end());
}

void EventBroker::Sweep(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = channels_.begin(); it != channels_.end();) {
    bool expired;
    {
      std::lock_guard<std::mutex> channel_lock(it->second->mu);
      expired = it->second->ended != absl::InfiniteFuture() &&
                now - it->second->ended > retention_;
    }
    it = expired ? channels_.erase(it) : std::next(it);
  }
}

size_t EventBroker::ChannelCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return channels_.size();
}

}  // namespace goodbuy::core
