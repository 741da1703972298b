// The strings ai_analysis_sessions stores for session types and statuses
// (the seed's contract), and their API enums. One mapping, used by the
// store, the request validator and the CLI's flags alike.
#ifndef GOODBUY_SERVER_STORE_SESSION_NAMES_H_
#define GOODBUY_SERVER_STORE_SESSION_NAMES_H_

#include <optional>
#include <string_view>

#include "goodbuy/analysis/v1/analysis_service.pb.h"

namespace goodbuy::store {

namespace v1 = ::goodbuy::analysis::v1;

// "health_analysis", "valuation", "forecast"; empty for UNSPECIFIED.
const char* SessionTypeName(v1::SessionType type);
std::optional<v1::SessionType> ParseSessionType(std::string_view name);

// "pending", "running", "completed", "failed", "cancelled".
const char* SessionStatusName(v1::SessionStatus status);
std::optional<v1::SessionStatus> ParseSessionStatus(std::string_view name);

bool IsTerminal(v1::SessionStatus status);

}  // namespace goodbuy::store

#endif  // GOODBUY_SERVER_STORE_SESSION_NAMES_H_
