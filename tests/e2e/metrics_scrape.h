// Shared by the end-to-end suites that read a server's --metrics_listen
// endpoint: where it listens, what it serves, and one sample's value.
#ifndef GOODBUY_TESTS_E2E_METRICS_SCRAPE_H_
#define GOODBUY_TESTS_E2E_METRICS_SCRAPE_H_

#include <httplib.h>

#include <regex>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "tests/testing/test_env.h"

namespace goodbuy::e2e {

// The metrics port a server logged ("metrics on http://host:PORT/metrics").
inline int MetricsPort(const testing::ServerProcess& server) {
  std::smatch m;
  const std::string log = server.Log();
  static const std::regex kLine(R"(metrics on http://[^:]+:(\d+)/metrics)");
  return std::regex_search(log, m, kLine) ? std::stoi(m[1]) : 0;
}

// GET /metrics on loopback; "" when it does not answer 200.
inline std::string Scrape(int port, std::string* content_type = nullptr) {
  httplib::Client http("127.0.0.1", port);
  auto res = http.Get("/metrics");
  if (!res || res->status != 200) return "";
  if (content_type) *content_type = res->get_header_value("Content-Type");
  return res->body;
}

// The value of the sample written exactly as `series` (name and labels,
// e.g. `x_total{a="b"}`), or 0 when it is absent.
inline double SampleValue(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.size() > series.size() &&
        line.substr(0, series.size()) == series && line[series.size()] == ' ') {
      double v = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
    }
  }
  return 0;
}

}  // namespace goodbuy::e2e

#endif  // GOODBUY_TESTS_E2E_METRICS_SCRAPE_H_
