#include "server/rpc/status_mapping.h"

#include <string>

#include "server/common/errors.h"

namespace goodbuy::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  google::rpc::Status details = ToRpcStatus(status);
  std::string message(status.message().substr(0, kMaxMessageBytes));
  details.set_message(message);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message,
                      details.SerializeAsString());
}

}  // namespace goodbuy::rpc
