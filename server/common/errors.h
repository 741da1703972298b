// Builders for absl::Status values that carry google.rpc error details.
//
// Below the RPC layer errors are absl::Status with canonical codes. Field
// violations travel as a google.rpc.BadRequest payload under its type URL, so
// the one Status -> grpc::Status conversion in server/rpc can put them into
// the grpc-status-details-bin trailer. Messages are for humans: never SQL.
#ifndef GOODBUY_SERVER_COMMON_ERRORS_H_
#define GOODBUY_SERVER_COMMON_ERRORS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace goodbuy {

inline constexpr absl::string_view kBadRequestTypeUrl =
    "type.googleapis.com/google.rpc.BadRequest";
inline constexpr absl::string_view kErrorDomain = "analysis.goodbuy.com";

// Collects field violations; Status() is OK when there are none.
class FieldViolations {
 public:
  void Add(std::string field, std::string description);
  bool empty() const { return violations_.empty(); }
  size_t size() const { return violations_.size(); }
  // INVALID_ARGUMENT naming the first violation (and how many more), with a
  // BadRequest payload holding them all; OK when there are none.
  absl::Status ToStatus(
      absl::StatusCode code = absl::StatusCode::kInvalidArgument) const;

 private:
  std::vector<std::pair<std::string, std::string>> violations_;
};

// INVALID_ARGUMENT for one field, with BadRequest details.
absl::Status InvalidField(std::string field, std::string description);

// NOT_FOUND for a field that names something that does not exist, with
// BadRequest details.
absl::Status NotFoundField(std::string field, std::string description);

// The BadRequest payload of a status, if it has one.
bool GetBadRequest(const absl::Status& status, google::rpc::BadRequest* out);

// The same status with every BadRequest field path prefixed, e.g. "session."
// when a CreateSessionRequest is nested in a RunSessionRequest.
absl::Status PrefixFields(const absl::Status& status, absl::string_view prefix);

// The status with a google.rpc detail message (ErrorInfo, RetryInfo,
// QuotaFailure, ...) attached as a payload under its type URL.
absl::Status WithDetail(absl::Status status,
                        const google::protobuf::Message& detail);

// ErrorInfo for machine-readable reasons, in the service's domain.
google::rpc::ErrorInfo MakeErrorInfo(
    std::string reason,
    std::vector<std::pair<std::string, std::string>> metadata = {});

// The google.rpc.Status form of a status: code, message, and every google.rpc
// payload (BadRequest, ErrorInfo, ...) as a packed detail. The one place the
// two meet.
google::rpc::Status ToRpcStatus(const absl::Status& status);

}  // namespace goodbuy

#endif  // GOODBUY_SERVER_COMMON_ERRORS_H_
