#include "server/store/pg/pg_event_listener.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <utility>

#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace goodbuy::store::pg {
namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn,
           const std::function<void(const std::string&)>& on_session)
      : pqxx::notification_receiver(conn, kSessionEventsChannel),
        on_session_(on_session) {}
  void operator()(const std::string& payload, int /*backend_pid*/) override {
    on_session_(payload);
  }

 private:
  const std::function<void(const std::string&)>& on_session_;
};

}  // namespace

PgEventListener::PgEventListener(std::string url) : url_(std::move(url)) {}

PgEventListener::~PgEventListener() { Stop(); }

void PgEventListener::Start(
    std::function<void(const std::string&)> on_session) {
  on_session_ = std::move(on_session);
  thread_ = std::thread([this] { Loop(); });
}

void PgEventListener::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void PgEventListener::Loop() {
  absl::Duration backoff = absl::Milliseconds(100);
  while (!stop_.load()) {
    try {
      pqxx::connection conn(url_);
      Receiver receiver(conn, on_session_);
      conn.get_notifs();  // issues the LISTEN
      healthy_ = true;
      backoff = absl::Milliseconds(100);
      spdlog::debug("listening for session events");
      while (!stop_.load()) {
        // Wakes for notifications, or every 200 ms to check stop_.
        conn.await_notification(0, 200000);
      }
    } catch (const std::exception& e) {
      if (healthy_.exchange(false)) {
        spdlog::warn(
            "event listener lost its connection ({}); watchers poll "
            "until it is back",
            e.what());
      }
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
  }
  healthy_ = false;
}

}  // namespace goodbuy::store::pg
