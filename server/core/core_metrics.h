// The orchestrator's own metrics, in metrics::Default() (rendered on
// --metrics_listen; the list is in docs/operations.md). Labels are bounded:
// session types and statuses, reaper outcomes.
#ifndef GOODBUY_SERVER_CORE_CORE_METRICS_H_
#define GOODBUY_SERVER_CORE_CORE_METRICS_H_

#include "goodbuy/analysis/v1/analysis_service.pb.h"
#include "server/metrics/metrics.h"

namespace goodbuy::core {

namespace v1 = ::goodbuy::analysis::v1;

struct CoreMetrics {
  static CoreMetrics& Get();

  // Sessions this replica inserted; {type}.
  metrics::Family<metrics::Counter>& sessions_created;
  // Sessions that reached a terminal state through this replica (its jobs
  // and the pending sessions it cancelled; the reaper's are in
  // lease_expiries); {type, status}.
  metrics::Family<metrics::Counter>& sessions_finished;
  // A job's run on this replica, claim to terminal write; {type}.
  metrics::Family<metrics::Histogram>& job_duration;
  // One claim statement (ClaimPending).
  metrics::Histogram& claim_duration;
  metrics::Counter& sessions_claimed;
  // Retryable failures given back to the queue (database unavailable).
  metrics::Counter& job_retries;
  // Expired leases the reaper ended; {outcome}: requeued, failed, cancelled.
  metrics::Family<metrics::Counter>& lease_expiries;
  // Events published to this replica's broker (each once, however many
  // watchers it has).
  metrics::Counter& events_published;
  // Watchers ended for falling behind (BrokerOptions::max_lag_partials).
  metrics::Counter& watchers_cut_off;
  // Pending sessions in the database and the age of the oldest, sampled
  // by every replica (see ServiceOptions::queue_sample_interval).
  metrics::Gauge& queue_pending;
  metrics::Gauge& queue_oldest_age;

  void Finished(v1::SessionType type, v1::SessionStatus status);
};

}  // namespace goodbuy::core

#endif  // GOODBUY_SERVER_CORE_CORE_METRICS_H_
