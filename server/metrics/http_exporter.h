// Serves a Registry's metrics over HTTP (GET /metrics, the Prometheus text
// format) on its own thread, apart from the gRPC port, so scrapers need no
// token and the API port exposes nothing extra (--metrics_listen; see
// docs/operations.md). Uses cpp-httplib (Debian's libcpp-httplib-dev).
#ifndef GOODBUY_SERVER_METRICS_HTTP_EXPORTER_H_
#define GOODBUY_SERVER_METRICS_HTTP_EXPORTER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "server/metrics/metrics.h"

namespace httplib {
class Server;
}

namespace goodbuy::metrics {

class HttpExporter {
 public:
  // Listens on `address` ("host:port"; port 0 picks one). Returns the
  // exporter serving, or INVALID_ARGUMENT / UNAVAILABLE with the reason.
  static absl::StatusOr<std::unique_ptr<HttpExporter>> Start(
      const std::string& address, const Registry* registry);
  ~HttpExporter();  // stops serving and joins
  int port() const { return port_; }

 private:
  HttpExporter() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace goodbuy::metrics

#endif  // GOODBUY_SERVER_METRICS_HTTP_EXPORTER_H_
