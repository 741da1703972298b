// In-memory fan-out of session events to watchers in this process.
//
// A channel per session holds every event published for it, in sequence
// order, so a watcher that joins late replays the whole history before it
// gets live events. A channel exists from the moment this process creates or
// claims the session until `retention` after its terminal event; after that
// watchers read the events table instead.
//
// Thread-safe. EventSink callbacks run on the publishing thread while the
// channel's lock is held: they must be quick, must not block and must not
// call back into the broker.
#ifndef GOODBUY_SERVER_CORE_EVENT_BROKER_H_
#define GOODBUY_SERVER_CORE_EVENT_BROKER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "goodbuy/analysis/v1/analysis_service.pb.h"

namespace goodbuy::core {

namespace v1 = ::goodbuy::analysis::v1;

// A watcher. Events arrive in ascending sequence, each at most once.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnEvent(const v1::SessionEvent& event) = 0;
  // The watch ended without (another) terminal event: OK when there is
  // nothing more to send (the cursor is already at the end), or why it
  // failed (NOT_FOUND, UNAVAILABLE, ...). No more calls follow.
  virtual void OnEnd(const absl::Status& status) = 0;
  // True once the watcher has gone (client cancelled, stream finished).
  virtual bool Closed() const = 0;
};

class EventBroker {
 public:
  explicit EventBroker(absl::Duration retention);

  // Creates the channel (no-op if it exists), seeded with events already
  // persisted (ascending; may be empty).
  void Open(const std::string& session_id,
            const std::vector<v1::SessionEvent>& history);
  // Appends and fans out. Ignores events not newer than the channel's last.
  void Publish(const v1::SessionEvent& event);
  // Replays events after `after_sequence` to `sink` and, unless the session
  // already ended, keeps it subscribed; when it ended and nothing is left
  // after the cursor, ends the sink with OK. False when there is no channel.
  bool Subscribe(const std::string& session_id, int64_t after_sequence,
                 const std::shared_ptr<EventSink>& sink);
  void Unsubscribe(const std::string& session_id, const EventSink* sink);
  // Drops channels whose terminal event is older than the retention.
  void Sweep(absl::Time now);
  size_t ChannelCount() const;

 private:
  struct Channel {
    std::mutex mu;
    std::vector<v1::SessionEvent> events ABSL_GUARDED_BY(mu);
    std::vector<std::shared_ptr<EventSink>> sinks ABSL_GUARDED_BY(mu);
    absl::Time ended ABSL_GUARDED_BY(mu) = absl::InfiniteFuture();
  };
  std::shared_ptr<Channel> Find(const std::string& session_id) const;

  const absl::Duration retention_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Channel>> channels_
      ABSL_GUARDED_BY(mu_);
};

// True for COMPLETED, FAILED and CANCELLED events.
bool IsTerminalEvent(const v1::SessionEvent& event);

}  // namespace goodbuy::core

#endif  // GOODBUY_SERVER_CORE_EVENT_BROKER_H_
