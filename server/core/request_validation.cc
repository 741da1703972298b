#include "server/core/request_validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/analysis/history.h"
#include "server/common/errors.h"

namespace goodbuy::core {
namespace {

void CheckId(FieldViolations& violations, const std::string& field,
             std::string_view id, bool required) {
  if (id.empty()) {
    if (required) violations.Add(field, "is required");
    return;
  }
  if (!IsWellFormedId(id)) {
    violations.Add(field, absl::StrCat("must be 1 to ", kMaxIdLength,
                                       " letters, digits, '-' or '_'"));
  }
}

// Moves the violations of a BadRequest status into `violations`.
void Absorb(FieldViolations& violations, const absl::Status& status) {
  if (status.ok()) return;
  google::rpc::BadRequest bad_request;
  if (GetBadRequest(status, &bad_request)) {
    for (const auto& v : bad_request.field_violations()) {
      violations.Add(v.field(), v.description());
    }
  } else {
    violations.Add("history", std::string(status.message()));
  }
}

}  // namespace

bool IsWellFormedId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_') {
      return false;
    }
  }
  return true;
}

int MinimumMonths(v1::SessionType type) {
  switch (type) {
    case v1::SESSION_TYPE_VALUATION:
      return analysis::kMinValuationMonths;
    case v1::SESSION_TYPE_FORECAST:
      return analysis::kMinForecastMonths;
    default:
      return analysis::kMinHealthMonths;
  }
}

absl::Status ValidateCreate(const v1::CreateSessionRequest& request) {
  FieldViolations violations;
  if (request.request_id().size() > kMaxIdLength) {
    violations.Add("request_id", absl::StrCat("must be at most ", kMaxIdLength,
                                              " characters"));
  }
  CheckId(violations, "business_id", request.business_id(), true);
  CheckId(violations, "user_id", request.user_id(), false);
  const bool known_type =
      request.session_type() == v1::SESSION_TYPE_HEALTH_ANALYSIS ||
      request.session_type() == v1::SESSION_TYPE_VALUATION ||
      request.session_type() == v1::SESSION_TYPE_FORECAST;
  if (!known_type) {
    violations.Add("session_type",
                   "must be SESSION_TYPE_HEALTH_ANALYSIS, "
                   "SESSION_TYPE_VALUATION or SESSION_TYPE_FORECAST");
  }
  // PrepareHistory checks the options itself when a history is inline.
  if (request.history().periods_size() == 0) {
    Absorb(violations, analysis::ValidateOptions(request.options()));
  }
  if (request.history().periods_size() > 0) {
    auto input = analysis::PrepareHistory(request.history(), request.options());
    if (!input.ok()) {
      Absorb(violations, input.status());
    } else if (known_type && static_cast<int>(input->periods.size()) <
                                 MinimumMonths(request.session_type())) {
      violations.Add(
          "history.periods",
          absl::StrCat("this analysis needs at least ",
                       MinimumMonths(request.session_type()),
                       " months of history, got ", input->periods.size()));
    }
  }
  return violations.ToStatus();
}

absl::Status ValidateSessionId(std::string_view session_id) {
  FieldViolations violations;
  CheckId(violations, "session_id", session_id, true);
  return violations.ToStatus();
}

absl::Status ValidateList(const v1::ListSessionsRequest& request) {
  FieldViolations violations;
  if (request.page_size() < 0) {
    violations.Add("page_size", "must not be negative");
  }
  if (!v1::SessionStatus_IsValid(request.status())) {
    violations.Add("status", "is not a known session status");
  }
  if (!v1::SessionType_IsValid(request.session_type())) {
    violations.Add("session_type", "is not a known session type");
  }
  CheckId(violations, "business_id", request.business_id(), false);
  CheckId(violations, "user_id", request.user_id(), false);
  return violations.ToStatus();
}

absl::Status ValidateWatch(const v1::WatchSessionRequest& request) {
  FieldViolations violations;
  CheckId(violations, "session_id", request.session_id(), true);
  if (request.after_sequence() < 0) {
    violations.Add("after_sequence", "must not be negative");
  }
  return violations.ToStatus();
}

absl::Status ValidateGetUsage(const v1::GetUsageRequest& request) {
  FieldViolations violations;
  CheckId(violations, "user_id", request.user_id(), false);
  return violations.ToStatus();
}

}  // namespace goodbuy::core
