#include "server/rpc/transport_settings.h"

#include <grpcpp/resource_quota.h>

#include <algorithm>
#include <cstdint>

namespace goodbuy::rpc {
namespace {

int Millis(absl::Duration d) {
  return static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 1, INT32_MAX));
}

}  // namespace

void ApplyTransportOptions(const TransportOptions& options,
                           grpc::ServerBuilder* builder) {
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                              Millis(options.keepalive_time));
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                              Millis(options.keepalive_timeout));
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      Millis(options.min_client_ping_interval));
  // Our own pings go out on idle streams too (a watch that waits for a
  // queued session sends nothing between heartbeats).
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder->SetMaxReceiveMessageSize(options.max_message_bytes);
  builder->SetMaxSendMessageSize(options.max_message_bytes);
  if (options.memory_quota_bytes > 0) {
    grpc::ResourceQuota quota("analysis-server");
    quota.Resize(options.memory_quota_bytes);
    builder->SetResourceQuota(quota);
  }
}

}  // namespace goodbuy::rpc
