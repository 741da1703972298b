#include "server/metrics/http_exporter.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace goodbuy::metrics {

absl::StatusOr<std::unique_ptr<HttpExporter>> HttpExporter::Start(
    const std::string& address, const Registry* registry) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics_listen must be host:port (e.g. 127.0.0.1:9464), not '",
        address, "'"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::unique_ptr<HttpExporter> exporter(new HttpExporter());
  exporter->server_ = std::make_unique<httplib::Server>();
  exporter->server_->Get(
      "/metrics", [registry](const httplib::Request&, httplib::Response& res) {
        res.set_content(registry->Render(),
                        "text/plain; version=0.0.4; charset=utf-8");
      });
  exporter->server_->Get("/", [](const httplib::Request&,
                                 httplib::Response& res) {
    res.set_content("analysis-server metrics: GET /metrics\n", "text/plain");
  });
  if (port == 0) {
    exporter->port_ = exporter->server_->bind_to_any_port(host);
  } else if (exporter->server_->bind_to_port(host, port)) {
    exporter->port_ = port;
  }
  if (exporter->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, " for metrics"));
  }
  httplib::Server* server = exporter->server_.get();
  exporter->thread_ = std::thread([server] { server->listen_after_bind(); });
  return exporter;
}

HttpExporter::~HttpExporter() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace goodbuy::metrics
