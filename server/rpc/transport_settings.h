// The server's HTTP/2 transport policy: keepalive, message size limits and
// gRPC's memory quota. The client library's defaults
// (client/analysis_client.h, AnalysisClientOptions) are chosen to fit it;
// docs/streaming.md explains both sides.
#ifndef GOODBUY_SERVER_RPC_TRANSPORT_SETTINGS_H_
#define GOODBUY_SERVER_RPC_TRANSPORT_SETTINGS_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>

#include "absl/time/time.h"

namespace goodbuy::rpc {

struct TransportOptions {
  // The server pings a connection idle this long, and drops it when the
  // ping is not answered within keepalive_timeout (a vanished client frees
  // its streams).
  absl::Duration keepalive_time = absl::Seconds(60);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Clients may ping this often, even without calls; more often earns a
  // GOAWAY ("too_many_pings"). The client library pings every 30 s.
  absl::Duration min_client_ping_interval = absl::Seconds(20);
  // Largest request accepted (larger: RESOURCE_EXHAUSTED from gRPC) and
  // largest message sent.
  int max_message_bytes = 4 << 20;
  // Memory gRPC may use for its buffers across all connections (0: no cap);
  // under pressure it shrinks windows and refuses new streams.
  size_t memory_quota_bytes = size_t{1} << 30;
};

void ApplyTransportOptions(const TransportOptions& options,
                           grpc::ServerBuilder* builder);

}  // namespace goodbuy::rpc

#endif  // GOODBUY_SERVER_RPC_TRANSPORT_SETTINGS_H_
