#include "server/logging/log_context.h"

#include <utility>

#include "absl/strings/ascii.h"

namespace goodbuy::logging {
namespace {

thread_local LogContext current;

bool IsLowerHex(const std::string& s, size_t from, size_t n) {
  if (from + n > s.size()) return false;
  bool any_nonzero = false;
  for (size_t i = from; i < from + n; ++i) {
    const char c = s[i];
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
    any_nonzero = any_nonzero || c != '0';
  }
  return any_nonzero;  // all zeros is invalid
}

}  // namespace

const LogContext& CurrentLogContext() { return current; }

ScopedLogContext::ScopedLogContext(std::string session_id, int attempt,
                                   std::string trace_id)
    : saved_(current) {
  if (!session_id.empty()) current.session_id = std::move(session_id);
  if (attempt != 0) current.attempt = attempt;
  if (!trace_id.empty()) current.trace_id = std::move(trace_id);
}

ScopedLogContext::~ScopedLogContext() { current = std::move(saved_); }

std::string TraceIdFromTraceparent(const std::string& v) {
  // version "00": exactly 55 characters with dashes at 2, 35 and 52.
  if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' ||
      !IsLowerHex(v, 3, 32) || !IsLowerHex(v, 36, 16) ||
      v.substr(0, 2) == "ff") {
    return "";
  }
  return v.substr(3, 32);
}

}  // namespace goodbuy::logging
