// The deadline of the request a thread is working for, so the store can
// hand it on to the database as statement_timeout: a query for a client
// that has given up is cancelled instead of holding a connection.
//
// The service sets it with ScopedRequestDeadline around the store calls it
// makes for one request (on the DB executor thread); background work (job
// threads, claims, heartbeats) runs without one and keeps the pool's
// default timeout. Thread-local; header-only.
#ifndef GOODBUY_SERVER_STORE_REQUEST_DEADLINE_H_
#define GOODBUY_SERVER_STORE_REQUEST_DEADLINE_H_

#include "absl/time/time.h"

namespace goodbuy::store {

inline thread_local absl::Time current_request_deadline =
    absl::InfiniteFuture();

// InfiniteFuture() when the thread serves no request with a deadline.
inline absl::Time CurrentRequestDeadline() { return current_request_deadline; }

class ScopedRequestDeadline {
 public:
  explicit ScopedRequestDeadline(absl::Time deadline)
      : previous_(current_request_deadline) {
    current_request_deadline = deadline;
  }
  ~ScopedRequestDeadline() { current_request_deadline = previous_; }
  ScopedRequestDeadline(const ScopedRequestDeadline&) = delete;
  ScopedRequestDeadline& operator=(const ScopedRequestDeadline&) = delete;

 private:
  const absl::Time previous_;
};

}  // namespace goodbuy::store

#endif  // GOODBUY_SERVER_STORE_REQUEST_DEADLINE_H_
