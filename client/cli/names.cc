#include "client/cli/names.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace goodbuy::client::cli {
namespace v1 = ::goodbuy::analysis::v1;

absl::StatusOr<v1::SessionType> ParseSessionType(absl::string_view text) {
  std::string name = absl::AsciiStrToLower(text);
  if (absl::StartsWith(name, "session_type_")) name = name.substr(13);
  if (name == "health" || name == "health_analysis") {
    return v1::SESSION_TYPE_HEALTH_ANALYSIS;
  }
  if (name == "valuation") return v1::SESSION_TYPE_VALUATION;
  if (name == "forecast") return v1::SESSION_TYPE_FORECAST;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown session type \"", text,
                   "\"; expected health, valuation or forecast"));
}

absl::StatusOr<v1::SessionStatus> ParseSessionStatus(absl::string_view text) {
  std::string name = absl::AsciiStrToLower(text);
  if (absl::StartsWith(name, "session_status_")) name = name.substr(15);
  if (name == "pending") return v1::SESSION_STATUS_PENDING;
  if (name == "running") return v1::SESSION_STATUS_RUNNING;
  if (name == "completed") return v1::SESSION_STATUS_COMPLETED;
  if (name == "failed") return v1::SESSION_STATUS_FAILED;
  if (name == "cancelled" || name == "canceled") {
    return v1::SESSION_STATUS_CANCELLED;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown session status \"", text,
      "\"; expected pending, running, completed, failed or cancelled"));
}

std::string SessionTypeName(v1::SessionType type) {
  switch (type) {
    case v1::SESSION_TYPE_HEALTH_ANALYSIS:
      return "health";
    case v1::SESSION_TYPE_VALUATION:
      return "valuation";
    case v1::SESSION_TYPE_FORECAST:
      return "forecast";
    default:
      return "unspecified";
  }
}

std::string SessionStatusName(v1::SessionStatus status) {
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
      return "unspecified";
  }
}

std::string TrajectoryName(v1::Trajectory trajectory) {
  switch (trajectory) {
    case v1::TRAJECTORY_IMPROVING:
      return "improving";
    case v1::TRAJECTORY_STABLE:
      return "stable";
    case v1::TRAJECTORY_DECLINING:
      return "declining";
    case v1::TRAJECTORY_VOLATILE:
      return "volatile";
    default:
      return "unknown";
  }
}

}  // namespace goodbuy::client::cli
