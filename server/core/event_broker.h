// In-memory fan-out of session events to watchers in this process.
//
// A channel per session holds the session's events in sequence order, shared
// by all its watchers: each watcher is a cursor into that log and pulls the
// next event when its previous write is done, so a watcher costs a few words
// however far behind it is, and the job publishing never waits for anyone.
// A channel is opened where the session is claimed (seeded with the events
// already persisted) or, for a watcher of a session running elsewhere, from
// the events table (fed afterwards by the EventFollower); it is dropped
// `retention` after its terminal event, or after as long without watchers
// while nothing here runs its job.
//
// Delivery rules (DESIGN.md "Session lifecycle"):
//  * every partial result and the terminal event reach every watcher, in
//    sequence order, each at most once;
//  * a watcher more than `coalesce_after` events behind skips progress-only
//    events that a later event supersedes (latest wins), so a slow dashboard
//    catches up in few writes; one that keeps up sees every event;
//  * a watcher more than `max_lag_partials` partial results behind is ended
//    with RESOURCE_EXHAUSTED naming the sequence to resume after;
//  * a cursor older than the channel's first event is OUT_OF_RANGE naming the
//    earliest kept sequence; beyond the terminal event, OUT_OF_RANGE too.
//
// Thread-safe. The broker never calls a sink while holding a lock, so sinks
// may call back (Next(), Unsubscribe) from their callbacks.
#ifndef GOODBUY_SERVER_CORE_EVENT_BROKER_H_
#define GOODBUY_SERVER_CORE_EVENT_BROKER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "goodbuy/analysis/v1/analysis_service.pb.h"

namespace goodbuy::core {

namespace v1 = ::goodbuy::analysis::v1;

// Events are immutable once published and shared by every watcher.
using EventPtr = std::shared_ptr<const v1::SessionEvent>;

class Subscription;

// A watcher: pulls events from its Subscription.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // The watch is connected: pull with subscription->Next() until it returns
  // no event, then wait for OnEventsAvailable(). Called once.
  virtual void OnSubscribed(std::shared_ptr<Subscription> subscription) = 0;
  // Events arrived after a Next() that returned none.
  virtual void OnEventsAvailable() = 0;
  // The watch ended without (another) event: OK when there is nothing more
  // to send (the cursor is already at the terminal event), or why it failed
  // (NOT_FOUND, OUT_OF_RANGE, RESOURCE_EXHAUSTED, UNAVAILABLE, ...). No more
  // calls follow.
  virtual void OnEnd(const absl::Status& status) = 0;
  // True once the watcher has gone (client cancelled, stream finished).
  virtual bool Closed() const = 0;
};

struct BrokerOptions {
  // How long a channel stays after its terminal event (late watchers read
  // it from memory) or without watchers while no local job feeds it.
  absl::Duration retention = absl::Seconds(30);
  // A watcher further behind than this many events gets progress coalesced.
  size_t coalesce_after = 64;
  // A watcher further behind than this many partial results is ended.
  int64_t max_lag_partials = 256;
};

class EventBroker {
 public:
  explicit EventBroker(BrokerOptions options);

  // Creates the channel (no-op if it exists), seeded with events already
  // persisted (ascending; may be empty; a terminal last event ends it).
  // `owner` is the user who owns the session's business, when known, so a
  // watcher's access can be checked without the database.
  void Open(const std::string& session_id,
            const std::vector<v1::SessionEvent>& history,
            const std::string& owner = "");
  // The owner the channel was opened with; nullopt without a channel or
  // when it was opened without one.
  std::optional<std::string> Owner(const std::string& session_id) const;
  // Appends and wakes idle watchers. Ignores events not newer than the
  // channel's last, and events of sessions without a channel here.
  void Publish(const v1::SessionEvent& event);
  // Connects `sink` to the channel, after `after_sequence`: OnSubscribed, or
  // OnEnd (OK past the terminal event; OUT_OF_RANGE for a bad cursor). False
  // (and no call) when there is no channel.
  bool Subscribe(const std::string& session_id, int64_t after_sequence,
                 const std::shared_ptr<EventSink>& sink);
  void Unsubscribe(const std::string& session_id, const EventSink* sink);

  // Channels that need feeding from the table: not ended, watched, and
  // `fed_here` false (no local job publishes to them), among `only` when
  // given, else among all. Id and last sequence.
  std::vector<std::pair<std::string, int64_t>> Unfed(
      const std::function<bool(const std::string&)>& fed_here,
      const std::set<std::string>* only = nullptr) const;
  // Drops channels ended more than the retention ago, and unwatched ones no
  // local job feeds that have been so for the retention.
  void Sweep(absl::Time now,
             const std::function<bool(const std::string&)>& fed_here);
  // The channel's last sequence (0 when empty), or -1 without a channel.
  int64_t LastSequence(const std::string& session_id) const;
  size_t ChannelCount() const;
  size_t WatcherCount() const;

 private:
  friend class Subscription;
  struct Channel;
  std::shared_ptr<Channel> Find(const std::string& session_id) const;
  // The channels, copied under the map lock so scans do not hold it (a
  // Publish only ever waits for one channel's lock).
  std::vector<std::shared_ptr<Channel>> Snapshot() const;

  const BrokerOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Channel>> channels_
      ABSL_GUARDED_BY(mu_);
};

// One watcher's cursor in a channel. Thread-safe.
class Subscription {
 public:
  struct Pull {
    EventPtr event;      // the next event to send, or null
    bool ended = false;  // no more events: finish with `status`
    absl::Status status;
  };
  // The next event after the cursor (advancing it), or none yet (the sink's
  // OnEventsAvailable() follows when one arrives), or the end.
  Pull Next();
  // The sequence of the last event pulled (the resume cursor).
  int64_t cursor() const;

 private:
  friend class EventBroker;
  Subscription(std::shared_ptr<EventBroker::Channel> channel,
               std::weak_ptr<EventSink> sink, size_t next_index,
               const BrokerOptions* options);

  const std::shared_ptr<EventBroker::Channel> channel_;
  const std::weak_ptr<EventSink> sink_;
  const BrokerOptions* const options_;
  // Guarded by the channel's mutex.
  size_t next_index_;     // index in the channel's log of the next event
  int64_t cursor_ = 0;    // sequence of the last event pulled
  bool waiting_ = false;  // Next() found nothing; wake on Publish
  bool ended_ = false;
  absl::Status end_status_;
};

// True for COMPLETED, FAILED and CANCELLED events.
bool IsTerminalEvent(const v1::SessionEvent& event);
// True when the event carries nothing but progress (safe to coalesce).
bool IsProgressOnly(const v1::SessionEvent& event);

}  // namespace goodbuy::core

#endif  // GOODBUY_SERVER_CORE_EVENT_BROKER_H_
