// Runs one claimed session to its end on the calling (job) thread: loads the
// history, runs the analysis, streams every progress change and partial
// result to the broker at once, persists them coalesced (progress at most
// every `progress_flush`, partial results as they happen), and writes the
// terminal state — results, event and write-back in one transaction — before
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

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "server/core/event_broker.h"
#include "server/store/business_store.h"
#include "server/store/session_store.h"

namespace goodbuy::core {

struct JobOptions {
  // Persist progress-only changes at most this often per session.
  absl::Duration progress_flush = absl::Milliseconds(250);
  // Minimum wall time per stage; 0 in production. Demos and tests raise it
  // so a person (or a late watcher) can see a job in flight.
  absl::Duration min_stage = absl::ZeroDuration();
  // Retries of a terminal write that failed with UNAVAILABLE.
  int terminal_write_attempts = 5;
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
  int Running() const;

 private:
  std::shared_ptr<std::atomic<int>> Register(const std::string& session_id);
  void Unregister(const std::string& session_id);
  void PublishPersisted(const std::string& session_id, int64_t after_sequence);

  const JobOptions options_;
  store::SessionStore* const sessions_;
  store::BusinessStore* const businesses_;
  EventBroker* const broker_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<std::atomic<int>>> stops_
      ABSL_GUARDED_BY(mu_);
  bool releasing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace goodbuy::core

#endif  // GOODBUY_SERVER_CORE_JOB_RUNNER_H_
