#include "server/store/session_names.h"

namespace goodbuy::store {

const char* SessionTypeName(v1::SessionType type) {
  switch (type) {
    case v1::SESSION_TYPE_HEALTH_ANALYSIS:
      return "health_analysis";
    case v1::SESSION_TYPE_VALUATION:
      return "valuation";
    case v1::SESSION_TYPE_FORECAST:
      return "forecast";
    default:
      return "";
  }
}

std::optional<v1::SessionType> ParseSessionType(std::string_view name) {
  for (auto type : {v1::SESSION_TYPE_HEALTH_ANALYSIS,
                    v1::SESSION_TYPE_VALUATION, v1::SESSION_TYPE_FORECAST}) {
    if (name == SessionTypeName(type)) return type;
  }
  return std::nullopt;
}

const char* SessionStatusName(v1::SessionStatus status) {
  switch (status) {
    case v1::SESSION_STATUS_PENDING:
      return "pending";
    case v1::SESSION_STATUS_RUNNING:
      return "running";
    case v1::SESSION_STATUS_COMPLETED:
      return "completed";
    case v1::SESSION_STATUS_FAILED:
      return "failed";
    case v1::SESSION_STATUS_CANCELLED:
      return "cancelled";
    default:
      return "";
  }
}

std::optional<v1::SessionStatus> ParseSessionStatus(std::string_view name) {
  for (auto status : {v1::SESSION_STATUS_PENDING, v1::SESSION_STATUS_RUNNING,
                      v1::SESSION_STATUS_COMPLETED, v1::SESSION_STATUS_FAILED,
                      v1::SESSION_STATUS_CANCELLED}) {
    if (name == SessionStatusName(status)) return status;
  }
  return std::nullopt;
}

bool IsTerminal(v1::SessionStatus status) {
  return status == v1::SESSION_STATUS_COMPLETED ||
         status == v1::SESSION_STATUS_FAILED ||
         status == v1::SESSION_STATUS_CANCELLED;
}

}  // namespace goodbuy::store
