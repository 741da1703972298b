// What a log line is about, beyond its message: the session and attempt a
// job thread works on, and the trace id of the call a gRPC thread serves.
// Held per thread for a scope; the JSON log format (json_formatter.h) writes
// it as fields. Cheap: a thread_local struct, no locks.
#ifndef GOODBUY_SERVER_LOGGING_LOG_CONTEXT_H_
#define GOODBUY_SERVER_LOGGING_LOG_CONTEXT_H_

#include <string>

namespace goodbuy::logging {

struct LogContext {
  std::string session_id;
  int attempt = 0;  // 0: none
  std::string trace_id;
};

const LogContext& CurrentLogContext();

// Sets the fields given (non-empty, non-zero) for its lifetime, on this
// thread; restores the previous context after.
class ScopedLogContext {
 public:
  ScopedLogContext(std::string session_id, int attempt,
                   std::string trace_id = "");
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

 private:
  LogContext saved_;
};

// The trace id of a W3C `traceparent` header value
// ("00-<32 hex trace id>-<16 hex span id>-<2 hex flags>"), or "" when the
// value is not one.
std::string TraceIdFromTraceparent(const std::string& traceparent);

}  // namespace goodbuy::logging

#endif  // GOODBUY_SERVER_LOGGING_LOG_CONTEXT_H_
