// Runs one claimed session to its end on the calling (job) thread: loads the
// history, runs the analysis, streams every progress change and partial
// result to the broker at once, persists them in batches (at most every
// `progress_flush`; what is left goes into the terminal transaction), and
// writes the terminal state — results, events and write-back in one
// transaction — before
// publishing the terminal event, so a watcher that sees COMPLETED can read
// the row.
//
// Thread-safe: Run() may be called concurrently for different sessions.
// Cancel() may be called from any thread; the job stops at its next progress
// point.
#ifndef GOODBUY_SERVER_CORE_JOB_RUNNER_H_
#define GOODBUY_SERVER_CORE_JOB_RUNNER_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/core/event_broker.h"
#include "server/store/business_store.h"
#include "server/store/session_store.h"

namespace goodbuy::core {

struct JobOptions {
  // Persist a session's new events (progress and partial results) at most
  // this often; a job shorter than this persists them all with its result.
  absl::Duration progress_flush = absl::Milliseconds(250);
  // Minimum wall time per stage; 0 in production. Demos and tests raise it
  // so a person (or a late watcher) can see a job in flight.
  absl::Duration min_stage = absl::ZeroDuration();
  // Retries of a terminal write that failed with UNAVAILABLE.
  int terminal_write_attempts = 5;
  // Attempts a session gets. A run that fails for a retryable reason
  // (UNAVAILABLE: the database went away mid-job) goes back to the queue
  // after a capped exponential backoff with jitter until then; bad data
  // fails at once. The reaper uses the same numbers for expired leases.
  int max_attempts = 3;
  // Longest a job may run (per attempt) before it fails with
  // DEADLINE_EXCEEDED, checked at every progress point; separate from the
  // lease, which only says the worker is alive.
  absl::Duration max_run_health = absl::Minutes(2);
  absl::Duration max_run_valuation = absl::Minutes(2);
  absl::Duration max_run_forecast = absl::Minutes(5);
  absl::Duration MaxRunTime(v1::SessionType type) const {
    switch (type) {
      case v1::SESSION_TYPE_VALUATION:
        return max_run_valuation;
      case v1::SESSION_TYPE_FORECAST:
        return max_run_forecast;
      default:
        return max_run_health;
    }
  }
  absl::Duration retry_backoff_base = absl::Seconds(1);
  absl::Duration retry_backoff_cap = absl::Seconds(30);
};

class JobRunner {
 public:
  JobRunner(JobOptions options, store::SessionStore* sessions,
            store::BusinessStore* businesses, EventBroker* broker);

  void Run(const store::ClaimedSession& claimed);
  // Asks a job running here to stop. False if none runs for the id.
  bool Cancel(const std::string& session_id);
  // Stops every job and gives its session back to the queue (shutdown after
  // the grace period): the sessions stay PENDING for another worker.
  void ReleaseAll();
  // The sessions running here and their attempts, for the lease heartbeat.
  std::vector<std::pair<std::string, int>> Leases() const;
  // The lease of `session_id` is gone: its job stops without writing.
  void LoseLease(const std::string& session_id);
  int Running() const;
  // Whether a job for the session runs here.
  bool Has(const std::string& session_id) const;

 private:
  std::shared_ptr<std::atomic<int>> Register(const std::string& session_id,
                                             int attempt);
  void Unregister(const std::string& session_id);
  void PublishPersisted(const std::string& session_id, int64_t after_sequence);
  // Counts a terminal state this job wrote.
  static void Finished(const v1::Session& session, v1::SessionStatus status,
                       absl::Time start);
  // Gives the session back for another attempt after a retryable failure.
  void RetryLater(const std::string& session_id, int attempt,
                  const absl::Status& why);

  const JobOptions options_;
  store::SessionStore* const sessions_;
  store::BusinessStore* const businesses_;
  EventBroker* const broker_;
  mutable std::mutex mu_;
  struct Job {
    std::shared_ptr<std::atomic<int>> stop;
    int attempt = 0;
  };
  std::unordered_map<std::string, Job> jobs_ ABSL_GUARDED_BY(mu_);
  bool releasing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace goodbuy::core

#endif  // GOODBUY_SERVER_CORE_JOB_RUNNER_H_
