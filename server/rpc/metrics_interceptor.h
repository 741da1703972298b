// gRPC server metrics per method and status code, recorded by a server
// interceptor into metrics::Default():
//   goodbuy_grpc_server_handled_total{method, code}
//   goodbuy_grpc_server_handling_seconds{method} (histogram; for streams,
//   the stream's whole life)
// Methods are the service's own (a fixed set), plus health and reflection.
#ifndef GOODBUY_SERVER_RPC_METRICS_INTERCEPTOR_H_
#define GOODBUY_SERVER_RPC_METRICS_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

namespace goodbuy::rpc {

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace goodbuy::rpc

#endif  // GOODBUY_SERVER_RPC_METRICS_INTERCEPTOR_H_
