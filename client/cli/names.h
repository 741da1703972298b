// Names of the v1 enums as the analysisctl command line and its output spell
// them ("health", "running", ...), and their parsers. Pure functions,
// thread-safe. Parsers return INVALID_ARGUMENT naming the accepted values.
#ifndef GOODBUY_CLIENT_CLI_NAMES_H_
#define GOODBUY_CLIENT_CLI_NAMES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "goodbuy/analysis/v1/analysis_service.pb.h"
#include "goodbuy/analysis/v1/results.pb.h"

namespace goodbuy::client::cli {

// "health" | "valuation" | "forecast" (also "health_analysis" and the enum
// names, e.g. "SESSION_TYPE_FORECAST"); case-insensitive.
absl::StatusOr<analysis::v1::SessionType> ParseSessionType(
    absl::string_view text);
// "pending" | "running" | "completed" | "failed" | "cancelled" (also the
// enum names); case-insensitive.
absl::StatusOr<analysis::v1::SessionStatus> ParseSessionStatus(
    absl::string_view text);

// "health", "valuation", "forecast"; "unspecified" otherwise.
std::string SessionTypeName(analysis::v1::SessionType type);
// "pending", "running", ...; "unspecified" otherwise.
std::string SessionStatusName(analysis::v1::SessionStatus status);
// "improving", "stable", "declining", "volatile"; "unknown" otherwise.
std::string TrajectoryName(analysis::v1::Trajectory trajectory);

}  // namespace goodbuy::client::cli

#endif  // GOODBUY_CLIENT_CLI_NAMES_H_
