// Cross-replica wake-ups for watchers: every transaction that appends a
// session's events also sends a notification naming the session (delivered
// at commit; PostgreSQL folds duplicates within a transaction, so a batch of
// progress events is one notification). A replica whose watcher reads a
// session running elsewhere polls the events table when told, instead of
// waiting for its next poll; polling stays as the fallback.
#ifndef GOODBUY_SERVER_STORE_EVENT_NOTIFICATIONS_H_
#define GOODBUY_SERVER_STORE_EVENT_NOTIFICATIONS_H_

#include <functional>
#include <string>

namespace goodbuy::store {

// The channel the store notifies on; the payload is the session id.
inline constexpr char kSessionEventsChannel[] = "goodbuy_session_events";

class EventNotifications {
 public:
  virtual ~EventNotifications() = default;
  // Starts listening; `on_session` runs on the listener's thread for every
  // notification, with the session id. Call once.
  virtual void Start(std::function<void(const std::string&)> on_session) = 0;
  virtual void Stop() = 0;
  // True while the listener is connected (watchers may then poll less).
  virtual bool Healthy() const = 0;
};

}  // namespace goodbuy::store

#endif  // GOODBUY_SERVER_STORE_EVENT_NOTIFICATIONS_H_
