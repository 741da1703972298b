// The one conversion of absl::Status into grpc::Status: code cast, message
// truncated, and a google.rpc.Status (with BadRequest details when present)
// in the grpc-status-details-bin trailer.
#ifndef GOODBUY_SERVER_RPC_STATUS_MAPPING_H_
#define GOODBUY_SERVER_RPC_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace goodbuy::rpc {

inline constexpr size_t kMaxMessageBytes = 1024;

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace goodbuy::rpc

#endif  // GOODBUY_SERVER_RPC_STATUS_MAPPING_H_
