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

// Status names are the API's enum names, lower-cased and without the
// SESSION_STATUS_ prefix ("completed"); "canceled" is accepted too.
absl::StatusOr<v1::SessionStatus> ParseSessionStatus(absl::string_view text) {
  std::string name = absl::AsciiStrToUpper(text);
  if (!absl::StartsWith(name, "SESSION_STATUS_")) {
    name = absl::StrCat("SESSION_STATUS_", name);
  }
  if (name == "SESSION_STATUS_CANCELED") name = "SESSION_STATUS_CANCELLED";
  v1::SessionStatus status;
  if (name != "SESSION_STATUS_UNSPECIFIED" &&
      v1::SessionStatus_Parse(name, &status)) {
    return status;
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
  if (status == v1::SESSION_STATUS_UNSPECIFIED ||
      !v1::SessionStatus_IsValid(status)) {
    return "unspecified";
  }
  return absl::AsciiStrToLower(
      v1::SessionStatus_Name(status).substr(sizeof("SESSION_STATUS_") - 1));
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
