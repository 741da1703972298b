#include "server/core/rate_limiter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"

namespace goodbuy::core {
namespace {

using ::testing::HasSubstr;

constexpr char kRetryInfoUrl[] = "type.googleapis.com/google.rpc.RetryInfo";
const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

// The RetryInfo delay of a refusal; fails the test when there is none.
absl::Duration RetryDelay(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryInfoUrl);
  if (!payload.has_value()) {
    ADD_FAILURE() << "no RetryInfo in " << status;
    return absl::InfiniteDuration();
  }
  google::rpc::RetryInfo retry;
  if (!retry.ParseFromString(std::string(*payload))) {
    ADD_FAILURE() << "RetryInfo does not parse";
    return absl::InfiniteDuration();
  }
  EXPECT_GE(retry.retry_delay().nanos(), 0);
  EXPECT_LT(retry.retry_delay().nanos(), 1'000'000'000);
  return absl::Seconds(retry.retry_delay().seconds()) +
         absl::Nanoseconds(retry.retry_delay().nanos());
}

void ExpectRefusedFor(const absl::Status& status, absl::Duration delay) {
  ASSERT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_NEAR(absl::ToDoubleSeconds(RetryDelay(status)),
              absl::ToDoubleSeconds(delay), 1e-6);
}

TEST(RateLimiterTest, BurstThenRefusalWithRetryInfo) {
  RateLimiter limiter({/*rate_per_second=*/10, /*burst=*/3});
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(limiter.Acquire("user:a", kT0).ok());
  }
  const absl::Status refused = limiter.Acquire("user:a", kT0);
  ExpectRefusedFor(refused, absl::Milliseconds(100));  // 1 / rate
  EXPECT_THAT(refused.message(), HasSubstr("too many requests"));
  EXPECT_THAT(refused.message(), HasSubstr("retry in 100 ms"));
  EXPECT_THAT(refused.message(), testing::Not(HasSubstr("user:a")));
  // Refusals take nothing: still one token a tenth of a second away.
  ExpectRefusedFor(limiter.Acquire("user:a", kT0), absl::Milliseconds(100));
}

TEST(RateLimiterTest, RetryDelayCountsDownAsTheBucketRefills) {
  RateLimiter limiter({/*rate_per_second=*/10, /*burst=*/1});
  ASSERT_TRUE(limiter.Acquire("a", kT0).ok());
  ExpectRefusedFor(limiter.Acquire("a", kT0 + absl::Milliseconds(40)),
                   absl::Milliseconds(60));
  ExpectRefusedFor(limiter.Acquire("a", kT0 + absl::Milliseconds(90)),
                   absl::Milliseconds(10));
  EXPECT_TRUE(limiter.Acquire("a", kT0 + absl::Milliseconds(100)).ok());
  ExpectRefusedFor(limiter.Acquire("a", kT0 + absl::Milliseconds(100)),
                   absl::Milliseconds(100));
}

TEST(RateLimiterTest, SlowRateGivesWholeSecondsOfDelay) {
  RateLimiter limiter({/*rate_per_second=*/0.4, /*burst=*/1});
  ASSERT_TRUE(limiter.Acquire("a", kT0).ok());
  const absl::Status refused = limiter.Acquire("a", kT0);
  ASSERT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  auto payload = refused.GetPayload(kRetryInfoUrl);
  ASSERT_TRUE(payload.has_value());
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(retry.ParseFromString(std::string(*payload)));
  EXPECT_EQ(retry.retry_delay().seconds(), 2);
  EXPECT_NEAR(retry.retry_delay().nanos(), 500'000'000, 1000);
  EXPECT_THAT(refused.message(), HasSubstr("retry in 2500 ms"));
}

TEST(RateLimiterTest, RefillsAfterTimePassesButNeverBeyondBurst) {
  RateLimiter limiter({/*rate_per_second=*/2, /*burst=*/4});
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(limiter.Acquire("a", kT0).ok());
  ASSERT_FALSE(limiter.Acquire("a", kT0).ok());
  // One second at 2/s: two tokens.
  const absl::Time t1 = kT0 + absl::Seconds(1);
  EXPECT_TRUE(limiter.Acquire("a", t1).ok());
  EXPECT_TRUE(limiter.Acquire("a", t1).ok());
  ExpectRefusedFor(limiter.Acquire("a", t1), absl::Milliseconds(500));
  // An hour idle saves up only `burst`.
  const absl::Time t2 = t1 + absl::Hours(1);
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(limiter.Acquire("a", t2).ok());
  }
  EXPECT_EQ(limiter.Acquire("a", t2).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(RateLimiterTest, CallersDoNotShareABucket) {
  RateLimiter limiter({/*rate_per_second=*/1, /*burst=*/2});
  ASSERT_TRUE(limiter.Acquire("user:a", kT0).ok());
  ASSERT_TRUE(limiter.Acquire("user:a", kT0).ok());
  ASSERT_EQ(limiter.Acquire("user:a", kT0).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(limiter.Acquire("user:b", kT0).ok());
  EXPECT_TRUE(limiter.Acquire("user:b", kT0).ok());
  EXPECT_EQ(limiter.Acquire("user:b", kT0).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(limiter.Acquire("user:a", kT0).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(limiter.TrackedCallers(), 2u);
}

TEST(RateLimiterTest, ZeroRateIsUnlimited) {
  RateLimiter limiter({/*rate_per_second=*/0, /*burst=*/1});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limiter.Acquire("a", kT0).ok()) << i;
  }
  EXPECT_EQ(limiter.TrackedCallers(), 0u);
}

TEST(RateLimiterTest, BurstBelowOneStillAdmitsOne) {
  RateLimiter limiter({/*rate_per_second=*/1, /*burst=*/0});
  EXPECT_TRUE(limiter.Acquire("a", kT0).ok());
  ExpectRefusedFor(limiter.Acquire("a", kT0), absl::Seconds(1));
}

TEST(RateLimiterTest, SweepDropsOnlyRefilledBuckets) {
  // rate 1/s, burst 3: a bucket is full again 3 s after its last use.
  RateLimiter limiter({/*rate_per_second=*/1, /*burst=*/3});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Acquire("a", kT0).ok());
  ASSERT_TRUE(limiter.Acquire("b", kT0).ok());
  ASSERT_TRUE(limiter.Acquire("c", kT0 + absl::Seconds(2)).ok());
  EXPECT_EQ(limiter.TrackedCallers(), 3u);
  // Past the next sweep: a and b are full again (dropped), c is not.
  ASSERT_TRUE(limiter.Acquire("d", kT0 + absl::Seconds(4)).ok());
  EXPECT_EQ(limiter.TrackedCallers(), 2u);  // c and d
  // A dropped bucket comes back full.
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(limiter.Acquire("a", kT0 + absl::Seconds(4)).ok());
  }
  EXPECT_FALSE(limiter.Acquire("a", kT0 + absl::Seconds(4)).ok());
  // c kept its state: 3 - 1 + 2 s of refill = 3 (capped) at t=4 s.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Acquire("c", kT0 + absl::Seconds(4)).ok());
  }
  EXPECT_FALSE(limiter.Acquire("c", kT0 + absl::Seconds(4)).ok());
  EXPECT_EQ(limiter.TrackedCallers(), 3u);
  // Much later, one call sweeps everyone else away.
  ASSERT_TRUE(limiter.Acquire("e", kT0 + absl::Minutes(5)).ok());
  EXPECT_EQ(limiter.TrackedCallers(), 1u);
}

TEST(RateLimiterTest, SweepKeepsAPartlyRefilledBucketsDebt) {
  RateLimiter limiter({/*rate_per_second=*/1, /*burst=*/3});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Acquire("a", kT0).ok());
  // One token refilled by t=1 s, and taken.
  ASSERT_TRUE(limiter.Acquire("a", kT0 + absl::Seconds(1)).ok());
  // A sweep at t=3.2 s (the next sweep was due at 3 s): a was last touched
  // at 1 s, so it holds 2.2 tokens, not 3, and must not be dropped.
  const absl::Time t = kT0 + absl::Milliseconds(3200);
  ASSERT_TRUE(limiter.Acquire("z", t).ok());
  EXPECT_EQ(limiter.TrackedCallers(), 2u);
  EXPECT_TRUE(limiter.Acquire("a", t).ok());
  EXPECT_TRUE(limiter.Acquire("a", t).ok());
  ExpectRefusedFor(limiter.Acquire("a", t), absl::Milliseconds(800));
}

TEST(RateLimiterTest, ConcurrentCallersGetExactlyTheBurst) {
  RateLimiter limiter({/*rate_per_second=*/0.001, /*burst=*/100});
  std::atomic<int> admitted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 60; ++i) {
        const absl::Status status = limiter.Acquire("shared", kT0);
        if (status.ok()) {
          ++admitted;
        } else if (status.code() == absl::StatusCode::kResourceExhausted) {
          ++refused;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 100);
  EXPECT_EQ(refused.load(), 140);
}

}  // namespace
}  // namespace goodbuy::core
