// Per-caller request rate limits: one token bucket per caller (`rate` tokens
// a second, at most `burst` saved up), so one tenant's burst cannot starve
// the others. A request that finds its bucket empty is refused with
// RESOURCE_EXHAUSTED and a RetryInfo saying when a token will be there.
//
// Per replica: with N replicas behind a balancer a caller gets up to N times
// the rate, which is what a per-replica guard against floods needs (the
// plan's analysis limit is the exact, database-wide one). Buckets that have
// refilled are dropped, so memory follows the callers active in the last
// burst/rate seconds. Thread-safe; the clock is injected for tests.
#ifndef GOODBUY_SERVER_CORE_RATE_LIMITER_H_
#define GOODBUY_SERVER_CORE_RATE_LIMITER_H_

#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace goodbuy::core {

struct RateLimitOptions {
  double rate_per_second = 50;  // 0: no limit
  double burst = 100;
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimitOptions options) : options_(options) {}

  // Takes one token of `caller`'s bucket, or says when to retry.
  absl::Status Acquire(const std::string& caller, absl::Time now = absl::Now());
  size_t TrackedCallers() const;

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  void DropFullBuckets(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RateLimitOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  absl::Time next_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace goodbuy::core

#endif  // GOODBUY_SERVER_CORE_RATE_LIMITER_H_
