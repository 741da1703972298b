// The outbox of one watcher: events waiting for a slow stream.
//
// Partial results, terminal events and errors are never dropped. Once the
// watcher has fallen `coalesce_after` events behind, a run of progress-only
// events it has not yet taken is coalesced to the latest (the design's
// "latest wins" for slow consumers), so a stalled client costs memory
// proportional to the partial results, not to progress ticks. A watcher that
// keeps up (or replays a short back-log) sees every event, so two watchers
// of one session see identical streams. Not thread-safe: the owner (a stream
// reactor) guards it.
#ifndef GOODBUY_SERVER_CORE_WATCH_QUEUE_H_
#define GOODBUY_SERVER_CORE_WATCH_QUEUE_H_

#include <cstdint>
#include <deque>
#include <optional>

#include "goodbuy/analysis/v1/analysis_service.pb.h"

namespace goodbuy::core {

class WatchQueue {
 public:
  static constexpr size_t kDefaultCoalesceAfter = 64;
  explicit WatchQueue(size_t coalesce_after = kDefaultCoalesceAfter)
      : coalesce_after_(coalesce_after) {}

  // Adds an event unless its sequence was already queued or taken.
  void Push(const analysis::v1::SessionEvent& event);
  std::optional<analysis::v1::SessionEvent> Pop();
  bool empty() const { return queue_.empty(); }
  size_t size() const { return queue_.size(); }
  int64_t last_sequence() const { return last_sequence_; }

 private:
  const size_t coalesce_after_;
  std::deque<analysis::v1::SessionEvent> queue_;
  int64_t last_sequence_ = 0;
};

// True when the event carries nothing but progress (safe to coalesce).
bool IsProgressOnly(const analysis::v1::SessionEvent& event);

}  // namespace goodbuy::core

#endif  // GOODBUY_SERVER_CORE_WATCH_QUEUE_H_
