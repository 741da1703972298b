#include "server/core/core_metrics.h"

#include <string>

#include "server/store/session_names.h"

namespace goodbuy::core {

CoreMetrics& CoreMetrics::Get() {
  static CoreMetrics* m = [] {
    metrics::Registry& r = metrics::Default();
    return new CoreMetrics{
        r.AddCounter("goodbuy_sessions_created_total",
                     "Analysis sessions created through this replica.",
                     {"type"}),
        r.AddCounter("goodbuy_sessions_finished_total",
                     "Analysis sessions that reached a terminal status "
                     "through this replica.",
                     {"type", "status"}),
        r.AddHistogram("goodbuy_job_duration_seconds",
                       "How long a job ran on this replica, claim to "
                       "terminal write.",
                       {"type"}, metrics::LatencyBuckets()),
        r.AddHistogram("goodbuy_claim_duration_seconds",
                       "Time of one claim of pending sessions.", {},
                       metrics::LatencyBuckets())
            .With({}),
        r.AddCounter("goodbuy_sessions_claimed_total",
                     "Pending sessions this replica claimed.")
            .With({}),
        r.AddCounter("goodbuy_job_retries_total",
                     "Runs given back to the queue after a retryable "
                     "failure (database unavailable).")
            .With({}),
        r.AddCounter("goodbuy_lease_expiries_total",
                     "Expired leases the reaper on this replica ended.",
                     {"outcome"}),
        r.AddCounter("goodbuy_events_published_total",
                     "Session events published to this replica's watchers.")
            .With({}),
        r.AddCounter("goodbuy_watchers_cut_off_total",
                     "Watchers ended with RESOURCE_EXHAUSTED for falling too "
                     "far behind their session.")
            .With({}),
        r.AddGauge("goodbuy_queue_pending_sessions",
                   "Pending sessions in the database (all replicas).")
            .With({}),
        r.AddGauge("goodbuy_queue_oldest_pending_age_seconds",
                   "Age of the oldest pending session; 0 when none.")
            .With({}),
    };
  }();
  return *m;
}

void CoreMetrics::Finished(v1::SessionType type, v1::SessionStatus status) {
  sessions_finished
      .With({std::string(store::SessionTypeName(type)),
             std::string(store::SessionStatusName(status))})
      .Inc();
}

}  // namespace goodbuy::core
