#include "client/cli/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>

namespace goodbuy::client::cli {

absl::Duration NearestRankPercentile(const std::vector<absl::Duration>& sorted,
                                     double percentile) {
  if (sorted.empty()) return absl::ZeroDuration();
  const double p = std::clamp(percentile, 0.0, 100.0);
  // Rank 1..n; ceil(p/100 * n) is the nearest rank. The epsilon keeps
  // 99% of 100 samples at rank 99 despite 0.99 * 100 = 99.00000000000001.
  const double exact = p / 100.0 * static_cast<double>(sorted.size());
  auto rank = static_cast<size_t>(std::ceil(exact - 1e-9));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

LatencySummary Summarize(std::vector<absl::Duration> samples) {
  LatencySummary summary;
  if (samples.empty()) return summary;
  std::sort(samples.begin(), samples.end());
  summary.count = static_cast<int64_t>(samples.size());
  summary.p50 = NearestRankPercentile(samples, 50);
  summary.p99 = NearestRankPercentile(samples, 99);
  summary.max = samples.back();
  return summary;
}

void LatencyRecorder::Merge(const std::vector<absl::Duration>& samples) {
  if (samples.empty()) return;
  absl::MutexLock lock(&mu_);
  samples_.insert(samples_.end(), samples.begin(), samples.end());
}

LatencySummary LatencyRecorder::Summarize() const {
  std::vector<absl::Duration> copy;
  {
    absl::MutexLock lock(&mu_);
    copy = samples_;
  }
  return cli::Summarize(std::move(copy));
}

int64_t LatencyRecorder::count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(samples_.size());
}

}  // namespace goodbuy::client::cli
