// The one place where a grpc::Status from an AnalysisService call becomes an
// absl::Status. The code and message are kept as they are; every detail of
// the google.rpc.Status carried in the `grpc-status-details-bin` trailer
// (grpc::Status::error_details()) is kept as an absl::Status payload keyed by
// its type URL, the canonical mapping, so a google.rpc.BadRequest or
// google.rpc.RetryInfo survives the conversion. FieldViolations() and
// RetryDelay() read those payloads back; FormatStatus() renders a status for
// people. All functions are pure and thread-safe; none of them fails (a
// malformed details trailer is ignored and only code and message are kept).
#ifndef GOODBUY_CLIENT_STATUS_CONVERT_H_
#define GOODBUY_CLIENT_STATUS_CONVERT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"

namespace goodbuy::client {

// Type URLs of the details this client understands.
inline constexpr char kBadRequestTypeUrl[] =
    "type.googleapis.com/google.rpc.BadRequest";
inline constexpr char kRetryInfoTypeUrl[] =
    "type.googleapis.com/google.rpc.RetryInfo";
inline constexpr char kQuotaFailureTypeUrl[] =
    "type.googleapis.com/google.rpc.QuotaFailure";

// One invalid field of a request, from a google.rpc.BadRequest.
struct FieldViolation {
  std::string field;
  std::string description;

  bool operator==(const FieldViolation& other) const {
    return field == other.field && description == other.description;
  }
};

// Converts a gRPC status: same code, same message, details as payloads.
absl::Status FromGrpcStatus(const grpc::Status& status);

// Converts a google.rpc.Status (e.g. SessionEvent.error) the same way. An
// out-of-range code becomes UNKNOWN; code 0 becomes OK (message dropped).
absl::Status FromRpcStatus(const google::rpc::Status& status);

// The field violations of the google.rpc.BadRequest detail(s) of `status`, in
// order; empty when there is none.
std::vector<FieldViolation> FieldViolations(const absl::Status& status);

// The retry delay of a google.rpc.RetryInfo detail, if `status` has one.
std::optional<absl::Duration> RetryDelay(const absl::Status& status);

// "<CODE>: <message>", then one line "  field: description" per field
// violation and "  quota subject: description" per quota violation. No
// trailing newline. "OK" for an ok status.
std::string FormatStatus(const absl::Status& status);

}  // namespace goodbuy::client

#endif  // GOODBUY_CLIENT_STATUS_CONVERT_H_
