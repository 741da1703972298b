#include "server/logging/json_formatter.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "server/logging/log_context.h"

namespace goodbuy::logging {

void AppendJsonString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          *out += absl::StrFormat("\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void JsonFormatter::format(const spdlog::details::log_msg& msg,
                           spdlog::memory_buf_t& dest) {
  const absl::Time time = absl::FromChrono(msg.time);
  std::string line = "{\"time\":\"";
  line += absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
  line += "\",\"level\":";
  const auto level = spdlog::level::to_string_view(msg.level);
  AppendJsonString(std::string(level.data(), level.size()), &line);
  line += ",\"msg\":";
  AppendJsonString(std::string(msg.payload.data(), msg.payload.size()), &line);
  line += ",\"replica\":";
  AppendJsonString(replica_, &line);
  const LogContext& context = CurrentLogContext();
  if (!context.session_id.empty()) {
    line += ",\"session_id\":";
    AppendJsonString(context.session_id, &line);
  }
  if (context.attempt != 0) {
    absl::StrAppend(&line, ",\"attempt\":", context.attempt);
  }
  if (!context.trace_id.empty()) {
    line += ",\"trace_id\":";
    AppendJsonString(context.trace_id, &line);
  }
  line += "}\n";
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> JsonFormatter::clone() const {
  return std::make_unique<JsonFormatter>(replica_);
}

}  // namespace goodbuy::logging
