// What a subscription plan allows: the rules CreateSession applies to the
// billed user's PlanUsage inside its transaction (so the count is exact),
// kept apart from SQL so they read and test as plain functions.
//
//   * features.ai_analysis false, or a features.session_types list without
//     the session's type: PERMISSION_DENIED naming the plan (ErrorInfo
//     PLAN_FEATURE_MISSING).
//   * analyses_used >= limit: RESOURCE_EXHAUSTED with a QuotaFailure naming
//     the limit and the period end (ErrorInfo ANALYSIS_LIMIT_REACHED).
#ifndef GOODBUY_SERVER_STORE_PLAN_RULES_H_
#define GOODBUY_SERVER_STORE_PLAN_RULES_H_

#include <string>

#include "absl/status/status.h"
#include "server/store/session_store.h"

namespace goodbuy::store {

absl::Status CheckPlanAllows(const PlanUsage& usage,
                             v1::SessionType session_type);

// Fills the plan's feature fields of `usage` from subscription_plans
// .features (JSON): ai_analysis (default true) and session_types (absent:
// every type). Unparseable JSON allows nothing (and says so).
absl::Status ParsePlanFeatures(const std::string& features_json,
                               PlanUsage* usage);

}  // namespace goodbuy::store

#endif  // GOODBUY_SERVER_STORE_PLAN_RULES_H_
