// EventNotifications on a dedicated PostgreSQL connection (LISTEN): a thread
// waits for notifications and hands each session id to the callback; when
// the connection breaks it reconnects with capped exponential backoff, and
// reports itself unhealthy meanwhile so watchers poll at full rate.
#ifndef GOODBUY_SERVER_STORE_PG_PG_EVENT_LISTENER_H_
#define GOODBUY_SERVER_STORE_PG_PG_EVENT_LISTENER_H_

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "server/store/event_notifications.h"

namespace goodbuy::store::pg {

class PgEventListener : public EventNotifications {
 public:
  explicit PgEventListener(std::string url);
  ~PgEventListener() override;

  void Start(std::function<void(const std::string&)> on_session) override;
  void Stop() override;
  bool Healthy() const override { return healthy_.load(); }

 private:
  void Loop();

  const std::string url_;
  std::function<void(const std::string&)> on_session_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> healthy_{false};
  std::thread thread_;
};

}  // namespace goodbuy::store::pg

#endif  // GOODBUY_SERVER_STORE_PG_PG_EVENT_LISTENER_H_
