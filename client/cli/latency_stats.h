// Latency percentiles for analysisctl bench: LatencyRecorder collects the
// event delivery latencies that many watch reactors measure and summarises
// them as count, p50, p99 and max. Reactors keep their own samples and hand
// them over once, when their stream ends, so the hot path (OnReadDone) takes
// no lock; Merge() and Summarize() are thread-safe. Percentiles use the
// nearest-rank definition, so every reported figure is a latency that was
// actually measured (no interpolation between two samples). No errors.
#ifndef GOODBUY_CLIENT_CLI_LATENCY_STATS_H_
#define GOODBUY_CLIENT_CLI_LATENCY_STATS_H_

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace goodbuy::client::cli {

struct LatencySummary {
  int64_t count = 0;
  // Zero when count is 0.
  absl::Duration p50;
  absl::Duration p99;
  absl::Duration max;
};

// The nearest-rank `percentile` (0 < percentile <= 100) of `sorted`, which
// must be in ascending order: the smallest sample with at least percentile%
// of the samples at or below it. Zero for an empty vector; percentile is
// clamped to (0, 100].
absl::Duration NearestRankPercentile(const std::vector<absl::Duration>& sorted,
                                     double percentile);

// Sorts `samples` and summarises them.
LatencySummary Summarize(std::vector<absl::Duration> samples);

// Thread-safe collection of latency samples.
class LatencyRecorder {
 public:
  void Merge(const std::vector<absl::Duration>& samples);
  LatencySummary Summarize() const;
  int64_t count() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<absl::Duration> samples_ ABSL_GUARDED_BY(mu_);
};

}  // namespace goodbuy::client::cli

#endif  // GOODBUY_CLIENT_CLI_LATENCY_STATS_H_
