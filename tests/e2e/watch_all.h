// Shared by the end-to-end suites: collect a session's whole event stream
// through the real client library.
#ifndef GOODBUY_TESTS_E2E_WATCH_ALL_H_
#define GOODBUY_TESTS_E2E_WATCH_ALL_H_

#include <string>
#include <vector>

#include "client/analysis_client.h"
#include "gtest/gtest.h"

namespace goodbuy::e2e {

// Every event after `after` until the stream ends; the watch must end OK.
inline std::vector<analysis::v1::SessionEvent> WatchAll(
    client::AnalysisClient& c, const std::string& id, int64_t after = 0) {
  std::vector<analysis::v1::SessionEvent> events;
  auto status = c.Watch(id, after, [&](const analysis::v1::SessionEvent& e) {
    events.push_back(e);
    return true;
  });
  EXPECT_TRUE(status.ok()) << status;
  return events;
}

}  // namespace goodbuy::e2e

#endif  // GOODBUY_TESTS_E2E_WATCH_ALL_H_
