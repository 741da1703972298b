#include "server/core/rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"

namespace goodbuy::core {

absl::Status RateLimiter::Acquire(const std::string& caller, absl::Time now) {
  if (options_.rate_per_second <= 0) return absl::OkStatus();
  const double burst = std::max(1.0, options_.burst);
  double wait_seconds = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now >= next_sweep_) DropFullBuckets(now);
    auto [it, inserted] = buckets_.try_emplace(caller, Bucket{burst, now});
    Bucket& bucket = it->second;
    if (!inserted) {
      const double elapsed =
          std::max(0.0, absl::ToDoubleSeconds(now - bucket.updated));
      bucket.tokens =
          std::min(burst, bucket.tokens + elapsed * options_.rate_per_second);
      bucket.updated = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return absl::OkStatus();
    }
    wait_seconds = (1 - bucket.tokens) / options_.rate_per_second;
  }
  google::rpc::RetryInfo retry;
  const auto delay = absl::Seconds(wait_seconds);
  retry.mutable_retry_delay()->set_seconds(absl::ToInt64Seconds(delay));
  retry.mutable_retry_delay()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(
          delay - absl::Seconds(absl::ToInt64Seconds(delay)))));
  return WithDetail(
      absl::ResourceExhaustedError(absl::StrCat(
          "too many requests: at most ", options_.rate_per_second,
          " per second (bursts of ", burst, "); retry in ",
          std::max<int64_t>(1, std::llround(wait_seconds * 1000)), " ms")),
      retry);
}

size_t RateLimiter::TrackedCallers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

void RateLimiter::DropFullBuckets(absl::Time now) {
  const double burst = std::max(1.0, options_.burst);
  const absl::Duration refill = absl::Seconds(burst / options_.rate_per_second);
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (now - it->second.updated >= refill) {
      it = buckets_.erase(it);  // it would be full again: same as absent
    } else {
      ++it;
    }
  }
  next_sweep_ = now + std::max(refill, absl::Seconds(1));
}

}  // namespace goodbuy::core
