#include "server/core/event_broker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/core/core_metrics.h"
#include "server/store/session_names.h"

namespace goodbuy::core {

bool IsTerminalEvent(const v1::SessionEvent& event) {
  return store::IsTerminal(event.status());
}

bool IsProgressOnly(const v1::SessionEvent& event) {
  return event.payload_case() == v1::SessionEvent::PAYLOAD_NOT_SET &&
         !IsTerminalEvent(event);
}

struct EventBroker::Channel {
  Channel(std::string session_id, std::string owner_id)
      : id(std::move(session_id)), owner(std::move(owner_id)) {}
  const std::string id;
  const std::string owner;  // "" when unknown
  std::mutex mu;
  std::vector<EventPtr> events ABSL_GUARDED_BY(mu);
  // non_progress_before[i]: events among events[0..i) that are not
  // progress-only (partial results, terminal); one more entry than events.
  std::vector<int64_t> non_progress_before ABSL_GUARDED_BY(mu) = {0};
  std::vector<std::weak_ptr<Subscription>> subscriptions ABSL_GUARDED_BY(mu);
  absl::Time ended ABSL_GUARDED_BY(mu) = absl::InfiniteFuture();
  // When the last watcher left (InfiniteFuture while watched).
  absl::Time unwatched_since ABSL_GUARDED_BY(mu) = absl::Now();

  int64_t last_sequence() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return events.empty() ? 0 : events.back()->sequence();
  }
  void Append(EventPtr event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    non_progress_before.push_back(non_progress_before.back() +
                                  (IsProgressOnly(*event) ? 0 : 1));
    if (IsTerminalEvent(*event)) ended = absl::Now();
    events.push_back(std::move(event));
  }
  // Drops subscriptions whose watcher went away; true if any remain.
  bool Watched() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto& subs = subscriptions;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [](const std::weak_ptr<Subscription>& s) {
                                return s.expired();
                              }),
               subs.end());
    if (!subs.empty()) {
      unwatched_since = absl::InfiniteFuture();
    } else if (unwatched_since == absl::InfiniteFuture()) {
      unwatched_since = absl::Now();
    }
    return !subs.empty();
  }
};

EventBroker::EventBroker(BrokerOptions options) : options_(options) {}

std::shared_ptr<EventBroker::Channel> EventBroker::Find(
    const std::string& session_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = channels_.find(session_id);
  return it == channels_.end() ? nullptr : it->second;
}

std::optional<std::string> EventBroker::Owner(
    const std::string& session_id) const {
  auto channel = Find(session_id);
  if (!channel || channel->owner.empty()) return std::nullopt;
  return channel->owner;
}

void EventBroker::Open(const std::string& session_id,
                       const std::vector<v1::SessionEvent>& history,
                       const std::string& owner) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = channels_[session_id];
  if (slot) return;
  slot = std::make_shared<Channel>(session_id, owner);
  // Seeded under the map lock so no subscriber sees a half-seeded channel.
  std::lock_guard<std::mutex> channel_lock(slot->mu);
  for (const auto& event : history) {
    if (slot->ended == absl::InfiniteFuture() &&
        event.sequence() > slot->last_sequence()) {
      slot->Append(std::make_shared<const v1::SessionEvent>(event));
    }
  }
}

void EventBroker::Publish(const v1::SessionEvent& event) {
  auto channel = Find(event.session_id());
  if (!channel) return;
  CoreMetrics::Get().events_published.Inc();
  std::vector<std::shared_ptr<EventSink>> wake;
  std::vector<std::pair<std::shared_ptr<EventSink>, absl::Status>> end;
  {
    std::lock_guard<std::mutex> lock(channel->mu);
    if (channel->ended != absl::InfiniteFuture() ||
        event.sequence() <= channel->last_sequence()) {
      return;  // nothing follows a terminal event; no duplicates
    }
    channel->Append(std::make_shared<const v1::SessionEvent>(event));
    const int64_t total = channel->non_progress_before.back();
    auto& subs = channel->subscriptions;
    for (auto it = subs.begin(); it != subs.end();) {
      // No sink call here: sinks lock themselves, then the channel (Next).
      std::shared_ptr<Subscription> sub = it->lock();
      std::shared_ptr<EventSink> sink = sub ? sub->sink_.lock() : nullptr;
      if (!sink) {
        it = subs.erase(it);
        continue;
      }
      const int64_t behind =
          total - channel->non_progress_before[sub->next_index_];
      if (behind > options_.max_lag_partials) {
        // Ends only this watcher; it resumes after what it received.
        CoreMetrics::Get().watchers_cut_off.Inc();
        sub->ended_ = true;
        sub->end_status_ = WithDetail(
            absl::ResourceExhaustedError(absl::StrCat(
                "this watcher fell more than ", options_.max_lag_partials,
                " results behind the session and was disconnected to bound "
                "the server's memory; watch again with after_sequence=",
                sub->cursor_, " to resume")),
            MakeErrorInfo("WATCHER_FELL_BEHIND",
                          {{"after_sequence", absl::StrCat(sub->cursor_)}}));
        end.emplace_back(std::move(sink), sub->end_status_);
        it = subs.erase(it);
        continue;
      }
      if (sub->waiting_) {
        sub->waiting_ = false;
        wake.push_back(std::move(sink));
      }
      ++it;
    }
    channel->Watched();
  }
  for (auto& [sink, status] : end) sink->OnEnd(status);
  for (auto& sink : wake) sink->OnEventsAvailable();
}

bool EventBroker::Subscribe(const std::string& session_id,
                            int64_t after_sequence,
                            const std::shared_ptr<EventSink>& sink) {
  auto channel = Find(session_id);
  if (!channel) return false;
  absl::Status refused;
  std::shared_ptr<Subscription> sub;
  {
    std::lock_guard<std::mutex> lock(channel->mu);
    const auto& events = channel->events;
    const int64_t last = channel->last_sequence();
    const bool ended = channel->ended != absl::InfiniteFuture();
    if (ended && after_sequence > last) {
      refused = absl::OutOfRangeError(
          absl::StrCat("after_sequence ", after_sequence,
                       " is beyond the session's last event (", last, ")"));
    } else if (ended && after_sequence == last) {
      refused = absl::OkStatus();  // already past the terminal event
    } else if (!events.empty() &&
               after_sequence < events.front()->sequence() - 1) {
      const int64_t earliest = events.front()->sequence();
      FieldViolations cursor;
      cursor.Add(
          "after_sequence",
          absl::StrCat(after_sequence,
                       " is older than the events kept for this "
                       "session; the earliest kept is ",
                       earliest, ": watch with after_sequence=", earliest - 1,
                       " or later, and GetSession for the state "
                       "before it"));
      refused = WithDetail(
          cursor.ToStatus(absl::StatusCode::kOutOfRange),
          MakeErrorInfo("CURSOR_TOO_OLD",
                        {{"earliest_sequence", absl::StrCat(earliest)}}));
    } else {
      const size_t next = static_cast<size_t>(
          std::upper_bound(events.begin(), events.end(), after_sequence,
                           [](int64_t seq, const EventPtr& e) {
                             return seq < e->sequence();
                           }) -
          events.begin());
      sub.reset(new Subscription(channel, sink, next, &options_));
      sub->cursor_ = after_sequence;
      channel->subscriptions.push_back(sub);
      channel->Watched();
    }
  }
  if (sub) {
    sink->OnSubscribed(std::move(sub));
  } else {
    sink->OnEnd(refused);
  }
  return true;
}

void EventBroker::Unsubscribe(const std::string& session_id,
                              const EventSink* sink) {
  auto channel = Find(session_id);
  if (!channel) return;
  std::lock_guard<std::mutex> lock(channel->mu);
  auto& subs = channel->subscriptions;
  subs.erase(std::remove_if(subs.begin(), subs.end(),
                            [&](const std::weak_ptr<Subscription>& weak) {
                              auto sub = weak.lock();
                              return !sub || sub->sink_.lock().get() == sink;
                            }),
             subs.end());
  channel->Watched();
}

std::vector<std::shared_ptr<EventBroker::Channel>> EventBroker::Snapshot()
    const {
  std::vector<std::shared_ptr<Channel>> channels;
  std::lock_guard<std::mutex> lock(mu_);
  channels.reserve(channels_.size());
  for (const auto& entry : channels_) channels.push_back(entry.second);
  return channels;
}

std::vector<std::pair<std::string, int64_t>> EventBroker::Unfed(
    const std::function<bool(const std::string&)>& fed_here,
    const std::set<std::string>* only) const {
  std::vector<std::shared_ptr<Channel>> channels;
  if (only != nullptr) {
    for (const auto& id : *only) {
      if (auto channel = Find(id)) channels.push_back(std::move(channel));
    }
  } else {
    channels = Snapshot();
  }
  std::vector<std::pair<std::string, int64_t>> unfed;
  for (const auto& channel : channels) {
    const std::string& id = channel->id;
    {
      std::lock_guard<std::mutex> lock(channel->mu);
      if (channel->ended != absl::InfiniteFuture() || !channel->Watched()) {
        continue;
      }
      unfed.emplace_back(id, channel->last_sequence());
    }
    // Asked outside the channel's lock: fed_here takes the job runner's.
    if (fed_here(id)) unfed.pop_back();
  }
  return unfed;
}

void EventBroker::Sweep(
    absl::Time now, const std::function<bool(const std::string&)>& fed_here) {
  std::vector<std::string> drop;
  for (const auto& channel : Snapshot()) {
    const std::string& id = channel->id;
    bool expired = false;
    bool idle = false;
    {
      std::lock_guard<std::mutex> lock(channel->mu);
      const bool watched = channel->Watched();
      if (channel->ended != absl::InfiniteFuture()) {
        expired = now - channel->ended > options_.retention;
      } else {
        idle = !watched && now - channel->unwatched_since > options_.retention;
      }
    }
    if (expired || (idle && !fed_here(id))) drop.push_back(id);
  }
  if (drop.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& id : drop) {
    auto it = channels_.find(id);
    if (it == channels_.end()) continue;
    std::lock_guard<std::mutex> channel_lock(it->second->mu);
    // Still to drop? A watcher may have come, or it may have ended since.
    const bool ended = it->second->ended != absl::InfiniteFuture();
    if ((ended && now - it->second->ended > options_.retention) ||
        (!ended && !it->second->Watched())) {
      channels_.erase(it);
    }
  }
}

int64_t EventBroker::LastSequence(const std::string& session_id) const {
  auto channel = Find(session_id);
  if (!channel) return -1;
  std::lock_guard<std::mutex> lock(channel->mu);
  return channel->last_sequence();
}

size_t EventBroker::ChannelCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return channels_.size();
}

size_t EventBroker::WatcherCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [id, channel] : channels_) {
    std::lock_guard<std::mutex> channel_lock(channel->mu);
    n += channel->subscriptions.size();
  }
  return n;
}

Subscription::Subscription(std::shared_ptr<EventBroker::Channel> channel,
                           std::weak_ptr<EventSink> sink, size_t next_index,
                           const BrokerOptions* options)
    : channel_(std::move(channel)),
      sink_(std::move(sink)),
      options_(options),
      next_index_(next_index) {}

Subscription::Pull Subscription::Next() {
  std::lock_guard<std::mutex> lock(channel_->mu);
  Pull pull;
  if (ended_) {
    pull.ended = true;
    pull.status = end_status_;
    return pull;
  }
  const auto& events = channel_->events;
  // A cursor ahead of the log (a client resuming here after another
  // replica streamed further than the table) skips what it already has.
  while (next_index_ < events.size() &&
         events[next_index_]->sequence() <= cursor_) {
    ++next_index_;
  }
  if (next_index_ >= events.size()) {
    if (channel_->ended == absl::InfiniteFuture()) {
      waiting_ = true;
    } else {
      pull.ended = true;  // the terminal event was the last one pulled
      if (cursor_ > channel_->last_sequence()) {
        pull.status = absl::OutOfRangeError(absl::StrCat(
            "after_sequence ", cursor_, " is beyond the session's last event (",
            channel_->last_sequence(), ")"));
      }
    }
    return pull;
  }
  if (events.size() - next_index_ > options_->coalesce_after) {
    // Far behind: a progress-only event superseded by a later one is skipped.
    while (next_index_ + 1 < events.size() &&
           IsProgressOnly(*events[next_index_])) {
      ++next_index_;
    }
  }
  pull.event = events[next_index_++];
  cursor_ = pull.event->sequence();
  return pull;
}

int64_t Subscription::cursor() const {
  std::lock_guard<std::mutex> lock(channel_->mu);
  return cursor_;
}

}  // namespace goodbuy::core
