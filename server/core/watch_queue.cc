#include "server/core/watch_queue.h"

#include "server/core/event_broker.h"

namespace goodbuy::core {

bool IsProgressOnly(const analysis::v1::SessionEvent& event) {
  return event.payload_case() == analysis::v1::SessionEvent::PAYLOAD_NOT_SET &&
         !IsTerminalEvent(event);
}

void WatchQueue::Push(const analysis::v1::SessionEvent& event) {
  if (event.sequence() <= last_sequence_) return;
  last_sequence_ = event.sequence();
  if (queue_.size() >= coalesce_after_ && IsProgressOnly(event) &&
      !queue_.empty() && IsProgressOnly(queue_.back())) {
    queue_.back() = event;
    return;
  }
  queue_.push_back(event);
}

std::optional<analysis::v1::SessionEvent> WatchQueue::Pop() {
  if (queue_.empty()) return std::nullopt;
  auto event = std::move(queue_.front());
  queue_.pop_front();
  return event;
}

}  // namespace goodbuy::core
