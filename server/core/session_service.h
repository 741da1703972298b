// The orchestrator's domain service: creates sessions, claims and runs their
// jobs, answers reads, cancels, and connects watchers to event streams. It
// knows nothing of gRPC or SQL: the rpc layer adapts it, the store interfaces
// persist for it.
//
// Every request method takes the authenticated Caller and enforces tenant
// isolation (see server/common/caller.h): a user reaches only their own
// businesses and the sessions of those (or billed to them); anything else
// answers NOT_FOUND exactly as a session that does not exist would, and a
// user_id in a request may name only the caller (PERMISSION_DENIED). The
// database work for a call runs under the caller's TenantScope, so
// row-level security enforces the same rules a second time.
//
// Threads: request methods may be called on any thread (gRPC's); they only
// validate and queue work, never block. Database work runs on `db_pool`, jobs
// on the service's own job pool; callbacks (`done`, EventSink calls) come
// from those threads. Errors are canonical absl::Status codes with human
// messages; INVALID_ARGUMENT carries BadRequest details; UNAVAILABLE when
// the database is down or the server is shutting down.
#ifndef GOODBUY_SERVER_CORE_SESSION_SERVICE_H_
#define GOODBUY_SERVER_CORE_SESSION_SERVICE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/common/caller.h"
#include "server/core/batch_queue.h"
#include "server/core/event_broker.h"
#include "server/core/event_follower.h"
#include "server/core/executor.h"
#include "server/core/job_runner.h"
#include "server/store/business_store.h"
#include "server/store/event_notifications.h"
#include "server/store/session_store.h"
#include "server/store/tenant_scope.h"

namespace goodbuy::core {

struct ServiceOptions {
  // Names this process in lease_owner.
  std::string replica_id = "analysis-server";
  // Jobs that run at once (default: cores).
  int job_threads = 2;
  // How long a claim holds a session without a heartbeat before the reaper
  // may give it to another worker. Separate from a job's maximum run time.
  absl::Duration lease = absl::Seconds(30);
  // How often this replica renews the leases of all its jobs (one statement).
  absl::Duration heartbeat_interval = absl::Seconds(5);
  // How often this replica looks for expired leases (any replica may reap).
  absl::Duration reap_interval = absl::Seconds(5);
  // Running sessions one user may have at once, across all replicas (fair
  // scheduling; a soft cap: replicas claiming at the same instant may each
  // start one).
  int max_running_per_user = 4;
  // Attempts, retry backoff, progress pacing: see JobOptions.
  // How often idle capacity looks for pending sessions.
  absl::Duration claim_interval = absl::Milliseconds(500);
  // How often watched sessions not running here are read from the events
  // table (poll, or poll_notified while NOTIFY wakes them).
  FollowerOptions follower;
  // Events of sessions that ended longer ago than this are deleted (the
  // terminal event stays); zero keeps them forever. Checked every
  // prune_interval by every replica (the deletes are idempotent).
  absl::Duration event_retention = absl::Hours(24 * 30);
  absl::Duration prune_interval = absl::Minutes(10);
  // How often the queue's depth and oldest age are read for the metrics
  // (zero: never).
  absl::Duration queue_sample_interval = absl::Seconds(5);
  // Channel retention, coalescing and the slow-watcher bound.
  BrokerOptions broker;
  JobOptions job;
};

// Per-call settings from the transport.
struct CallOptions {
  // The client's deadline: the database statements made for the call are
  // cancelled when it passes (statement_timeout).
  absl::Time deadline = absl::InfiniteFuture();
};

class SessionService {
 public:
  template <typename T>
  using Callback = std::function<void(absl::StatusOr<T>)>;

  SessionService(ServiceOptions options, store::SessionStore* sessions,
                 store::BusinessStore* businesses, ThreadPool* db_pool);
  ~SessionService();

  // Watchers of sessions running elsewhere wake on these notifications
  // (and poll less while they flow). Optional; call before Start().
  void UseNotifications(store::EventNotifications* notifications);
  // Starts the claim loop. Call once before serving.
  void Start();
  // Stops claiming, lets running jobs finish for up to `grace`, then gives
  // the rest back to the queue. Idempotent.
  void Shutdown(absl::Duration grace);

  void Create(const Caller& caller, const v1::CreateSessionRequest& request,
              Callback<v1::Session> done, CallOptions call = {});
  void Get(const Caller& caller, const v1::GetSessionRequest& request,
           Callback<v1::Session> done, CallOptions call = {});
  void List(const Caller& caller, const v1::ListSessionsRequest& request,
            Callback<v1::ListSessionsResponse> done, CallOptions call = {});
  void Cancel(const Caller& caller, const v1::CancelSessionRequest& request,
              Callback<v1::Session> done, CallOptions call = {});
  // The plan, period, analyses used and the limit of the caller (or, for a
  // service or admin, of request.user_id).
  void GetUsage(const Caller& caller, const v1::GetUsageRequest& request,
                Callback<v1::Usage> done, CallOptions call = {});
  // Delivers the session's events after request.after_sequence to `sink`,
  // then live events until the terminal one; or one OnEnd.
  void Watch(const Caller& caller, const v1::WatchSessionRequest& request,
             std::shared_ptr<EventSink> sink);
  void Unwatch(const std::string& session_id, const EventSink* sink);

  EventBroker& broker() { return broker_; }
  // Whether this process runs the session's job (and publishes its events).
  bool RunsHere(const std::string& session_id) const {
    return runner_.Has(session_id);
  }
  int RunningJobs() const { return runner_.Running(); }

 private:
  // A CreateSession call waiting for its batch.
  struct PendingCreate {
    Caller caller;
    v1::CreateSessionRequest request;
    Callback<v1::Session> done;
    absl::Time deadline;
  };
  // Creates a batch of sessions (one caller's, or callers that see every
  // tenant) in as few statements as the stores allow, answers each call
  // and claims what this replica can run. DB pool only.
  void CreateBatch(std::vector<PendingCreate> batch);
  // The outcomes of the batch's creates, in order; `inserted` is set when
  // any of them inserted a session.
  std::vector<absl::StatusOr<v1::Session>> CreateOnDb(
      const std::vector<PendingCreate>& batch, bool* inserted);
  // What `request` writes, given its business (NOT_FOUND when absent or
  // another tenant's).
  absl::StatusOr<store::NewSession> NewSessionFor(
      const Caller& caller, const v1::CreateSessionRequest& request,
      const store::BusinessInfo* business);
  // The session if `caller` may see it, else NOT_FOUND (as for a missing
  // one). DB pool only, under the caller's scope.
  absl::StatusOr<v1::Session> VisibleSession(const Caller& caller,
                                             const std::string& session_id);
  // True when `caller` may see a session of `user_id` (billed) whose
  // business `owner_id` owns.
  static bool MaySee(const Caller& caller, const std::string& user_id,
                     const std::string& owner_id);
  // Claims as many pending sessions as there are free job slots (fairly,
  // see SessionStore::ClaimPending) and starts their jobs. DB pool only.
  void ClaimBatch();
  void StartJob(store::ClaimedSession claimed);
  void ClaimLoop();
  void HeartbeatLoop();
  void ReapLoop();
  void PruneLoop();
  void QueueSampleLoop();
  // Opens the session's channel from the events table and subscribes
  // `sink` to it (a session not running here). DB pool only.
  void OpenFromDb(const Caller& caller, const std::string& session_id,
                  int64_t after, const std::shared_ptr<EventSink>& sink);
  // True when a job slot is free, counting `claiming` claims in progress.
  bool HasCapacity(int claiming) const;
  // Takes every free job slot for a claim in progress; returns how many.
  int ReserveSlots();
  // Runs `task` on the DB pool for `scope` (its store calls see that
  // tenant's rows only); false when the pool is full or stopping.
  bool OnDb(store::TenantScope scope, std::function<void()> task);

  const ServiceOptions options_;
  store::SessionStore* const sessions_;
  store::BusinessStore* const businesses_;
  ThreadPool* const db_pool_;
  EventBroker broker_;
  JobRunner runner_;
  ThreadPool jobs_;
  Timer timer_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> claiming_{0};
  // Jobs started and not yet finished (queued on or running in jobs_).
  std::atomic<int> active_jobs_{0};
  EventFollower follower_;
  store::EventNotifications* notifications_ = nullptr;
  // Creates by callers that see every tenant, written together (group
  // commit); a user's creates run alone under their row-level security.
  BatchQueue<PendingCreate> creates_;
};

}  // namespace goodbuy::core

#endif  // GOODBUY_SERVER_CORE_SESSION_SERVICE_H_
