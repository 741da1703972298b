// Checks of API requests that need no database: required fields, formats,
// enum values, inline histories. Every violation is reported at once as
// INVALID_ARGUMENT with google.rpc.BadRequest details (field paths as in the
// request, e.g. "history.periods[2].month"). Pure functions, thread-safe.
#ifndef GOODBUY_SERVER_CORE_REQUEST_VALIDATION_H_
#define GOODBUY_SERVER_CORE_REQUEST_VALIDATION_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "goodbuy/analysis/v1/analysis_service.pb.h"

namespace goodbuy::core {

namespace v1 = ::goodbuy::analysis::v1;

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;
inline constexpr size_t kMaxIdLength = 128;

// True for 1..128 characters of [A-Za-z0-9_-] (UUIDs, cuids, demo ids).
bool IsWellFormedId(std::string_view id);

// Months of history an analysis of this type needs at least.
int MinimumMonths(v1::SessionType type);

absl::Status ValidateCreate(const v1::CreateSessionRequest& request);
absl::Status ValidateSessionId(std::string_view session_id);
absl::Status ValidateList(const v1::ListSessionsRequest& request);
absl::Status ValidateWatch(const v1::WatchSessionRequest& request);
absl::Status ValidateGetUsage(const v1::GetUsageRequest& request);

}  // namespace goodbuy::core

#endif  // GOODBUY_SERVER_CORE_REQUEST_VALIDATION_H_
