// --log_format=json: one JSON object per line, for log shippers. Fields:
// time (RFC 3339, UTC), level, msg, replica, and, when the thread has them
// (log_context.h), session_id, attempt and trace_id.
#ifndef GOODBUY_SERVER_LOGGING_JSON_FORMATTER_H_
#define GOODBUY_SERVER_LOGGING_JSON_FORMATTER_H_

#include <memory>
#include <string>

#include "spdlog/formatter.h"

namespace goodbuy::logging {

class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string replica) : replica_(std::move(replica)) {}
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;

 private:
  const std::string replica_;
};

// Appends `s` as a JSON string literal (quotes included).
void AppendJsonString(const std::string& s, std::string* out);

}  // namespace goodbuy::logging

#endif  // GOODBUY_SERVER_LOGGING_JSON_FORMATTER_H_
