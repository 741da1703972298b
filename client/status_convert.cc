#include "client/status_convert.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"

namespace goodbuy::client {
namespace {

// Parses the payload `type_url` of `status` into `message`; false if absent
// or malformed.
template <typename Message>
bool ReadPayload(const absl::Status& status, const char* type_url,
                 Message* message) {
  auto payload = status.GetPayload(type_url);  // absl::optional here.
  if (!payload.has_value()) return false;
  return message->ParseFromString(std::string(*payload));
}

}  // namespace

absl::Status FromRpcStatus(const google::rpc::Status& status) {
  if (status.code() == 0) return absl::OkStatus();
  const int code = status.code() > 0 && status.code() <= 16
                       ? status.code()
                       : static_cast<int>(absl::StatusCode::kUnknown);
  absl::Status result(static_cast<absl::StatusCode>(code), status.message());
  for (const auto& any : status.details()) {
    if (any.type_url().empty()) continue;
    // Two details of one type would share a key: concatenating their
    // serialized forms merges them (repeated fields append).
    absl::Cord value = result.GetPayload(any.type_url()).value_or(absl::Cord());
    value.Append(any.value());
    result.SetPayload(any.type_url(), std::move(value));
  }
  return result;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  // grpc::StatusCode and absl::StatusCode share the canonical numbering.
  google::rpc::Status rpc_status;
  const std::string details = status.error_details();
  if (details.empty() || !rpc_status.ParseFromString(details)) {
    rpc_status.Clear();
  }
  // The trailer's own code and message win over the copies in the details.
  rpc_status.set_code(static_cast<int>(status.error_code()));
  rpc_status.set_message(status.error_message());
  return FromRpcStatus(rpc_status);
}

std::vector<FieldViolation> FieldViolations(const absl::Status& status) {
  std::vector<FieldViolation> violations;
  google::rpc::BadRequest bad_request;
  if (!ReadPayload(status, kBadRequestTypeUrl, &bad_request)) {
    return violations;
  }
  violations.reserve(bad_request.field_violations_size());
  for (const auto& v : bad_request.field_violations()) {
    violations.push_back({v.field(), v.description()});
  }
  return violations;
}

std::optional<absl::Duration> RetryDelay(const absl::Status& status) {
  google::rpc::RetryInfo retry_info;
  if (!ReadPayload(status, kRetryInfoTypeUrl, &retry_info) ||
      !retry_info.has_retry_delay()) {
    return std::nullopt;
  }
  return absl::Seconds(retry_info.retry_delay().seconds()) +
         absl::Nanoseconds(retry_info.retry_delay().nanos());
}

std::string FormatStatus(const absl::Status& status) {
  if (status.ok()) return "OK";
  std::string out = absl::StrCat(absl::StatusCodeToString(status.code()), ": ",
                                 status.message());
  for (const FieldViolation& v : FieldViolations(status)) {
    absl::StrAppend(&out, "\n  ", v.field, ": ", v.description);
  }
  google::rpc::QuotaFailure quota;
  if (ReadPayload(status, kQuotaFailureTypeUrl, &quota)) {
    for (const auto& v : quota.violations()) {
      absl::StrAppend(&out, "\n  ", v.subject(), ": ", v.description());
    }
  }
  if (std::optional<absl::Duration> delay = RetryDelay(status)) {
    absl::StrAppend(&out, "\n  retry after ", absl::FormatDuration(*delay));
  }
  return out;
}

}  // namespace goodbuy::client
