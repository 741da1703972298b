#include "server/rpc/metrics_interceptor.h"

#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "server/metrics/metrics.h"

namespace goodbuy::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

// The canonical name of a gRPC code ("NOT_FOUND"): gRPC's codes are
// abseil's, number for number.
std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

struct GrpcMetrics {
  metrics::Family<metrics::Counter>& handled;
  metrics::Family<metrics::Histogram>& seconds;
  static GrpcMetrics& Get() {
    static GrpcMetrics* m = new GrpcMetrics{
        metrics::Default().AddCounter(
            "goodbuy_grpc_server_handled_total",
            "gRPC calls this server finished, by method and status code.",
            {"method", "code"}),
        metrics::Default().AddHistogram(
            "goodbuy_grpc_server_handling_seconds",
            "How long gRPC calls took, from arrival to status (streams: "
            "their whole life).",
            {"method"}, metrics::LatencyBuckets()),
    };
    return *m;
  }
};

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit MetricsInterceptor(grpc::experimental::ServerRpcInfo* info)
      : method_(info->method() != nullptr ? info->method() : "unknown"),
        start_(absl::Now()) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      GrpcMetrics& m = GrpcMetrics::Get();
      m.handled.With({method_, CodeName(status.error_code())}).Inc();
      m.seconds.With({method_}).Observe(absl::Now() - start_);
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  const absl::Time start_;
};

}  // namespace

grpc::experimental::Interceptor*
MetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new MetricsInterceptor(info);
}

}  // namespace goodbuy::rpc
