// The metrics registry's text exposition: names, labels (escaped), counter,
// gauge and cumulative histogram samples, as Prometheus reads them.
#include "server/metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace goodbuy::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, RendersCountersGaugesAndHistograms) {
  Registry r;
  auto& created = r.AddCounter("x_created_total", "Created.", {"type"});
  created.With({"health"}).Inc();
  created.With({"health"}).Inc(2);
  created.With({"fore\"cast\\\n"}).Inc();
  created.With({"health"}).Inc(-5);  // counters never go down
  r.AddGauge("x_depth", "Depth.").With({}).Set(7.5);
  r.AddCallbackGauge("x_running", "Running.", [] { return 3; });
  auto& h = r.AddHistogram("x_seconds", "Time.\nSecond line.", {"m"}, {0.1, 1});
  h.With({"a"}).Observe(0.05);
  h.With({"a"}).Observe(0.5);
  h.With({"a"}).Observe(absl::Seconds(2));
  // Registering again returns the same family.
  r.AddCounter("x_created_total", "ignored", {"type"}).With({"health"}).Inc();

  const std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("# HELP x_created_total Created.\n"
                              "# TYPE x_created_total counter\n"));
  EXPECT_THAT(text, HasSubstr("x_created_total{type=\"health\"} 4\n"));
  EXPECT_THAT(text,
              HasSubstr("x_created_total{type=\"fore\\\"cast\\\\\\n\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE x_depth gauge\nx_depth 7.5\n"));
  EXPECT_THAT(text, HasSubstr("x_running 3\n"));
  EXPECT_THAT(text, HasSubstr("# HELP x_seconds Time.\\nSecond line.\n"));
  EXPECT_THAT(text, HasSubstr("x_seconds_bucket{m=\"a\",le=\"0.1\"} 1\n"
                              "x_seconds_bucket{m=\"a\",le=\"1\"} 2\n"
                              "x_seconds_bucket{m=\"a\",le=\"+Inf\"} 3\n"
                              "x_seconds_sum{m=\"a\"} 2.55\n"
                              "x_seconds_count{m=\"a\"} 3\n"));
  // Families in name order.
  EXPECT_LT(text.find("x_created_total"), text.find("x_depth"));
  EXPECT_LT(text.find("x_running"), text.find("x_seconds"));
}

TEST(MetricsTest, ConcurrentIncrementsAreAllCounted) {
  Registry r;
  Counter& c = r.AddCounter("y_total", "Y.").With({});
  Histogram& h =
      r.AddHistogram("y_seconds", "Y.", {}, LatencyBuckets()).With({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Inc();
        h.Observe(0.002);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), 40000);
  EXPECT_EQ(h.Read().count, 40000u);
  EXPECT_THAT(r.Render(), HasSubstr("y_seconds_bucket{le=\"0.0025\"} 40000\n"));
}

}  // namespace
}  // namespace goodbuy::metrics
