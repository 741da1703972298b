// SessionStore on PostgreSQL: ai_analysis_sessions rows, the append-only
// session_events table, and the write-back of completed results into the
// existing application's tables (health_metrics, forecast_results) and
// usage_metrics — all in the transaction that completes the session.
// Thread-safe (connections come from the pool). See session_store.h for the
// error codes.
#ifndef GOODBUY_SERVER_STORE_PG_PG_SESSION_STORE_H_
#define GOODBUY_SERVER_STORE_PG_PG_SESSION_STORE_H_

#include "server/store/pg/pg_pool.h"
#include "server/store/session_store.h"

namespace goodbuy::store::pg {

class PgSessionStore final : public SessionStore {
 public:
  // Registers its prepared statements on `pool`.
  explicit PgSessionStore(PgPool* pool);

  absl::StatusOr<CreatedSession> CreateSession(
      const NewSession& session) override;
  // One statement for the plans and one for every create whose plan is
  // not counted (the rest: CreateSession each), when the scope sees every
  // row; otherwise CreateSession each.
  std::vector<absl::StatusOr<CreatedSession>> CreateSessions(
      const std::vector<NewSession>& sessions) override;
  absl::StatusOr<v1::Session> GetSession(
      const std::string& session_id) override;
  absl::StatusOr<PlanUsage> GetPlanUsage(const std::string& user_id) override;
  absl::StatusOr<SessionPage> ListSessions(
      const SessionFilter& filter, int page_size,
      const std::optional<ListCursor>& after) override;
  absl::StatusOr<ClaimedSession> ClaimSession(
      const std::string& session_id, const std::string& owner,
      absl::Duration lease, const v1::SessionEvent& running_event) override;
  absl::StatusOr<std::vector<ClaimedSession>> ClaimPending(
      const std::string& owner, int limit, int per_user_cap,
      absl::Duration lease, const v1::SessionEvent& running_event) override;
  absl::StatusOr<std::vector<std::string>> Heartbeat(
      const std::string& owner,
      const std::vector<std::pair<std::string, int>>& held,
      absl::Duration lease) override;
  absl::StatusOr<std::vector<v1::SessionEvent>> ReapExpired(
      const ReapPolicy& policy) override;
  absl::StatusOr<CancelOutcome> RequestCancel(
      const std::string& session_id, const std::string& reason,
      const v1::SessionEvent& cancelled_event) override;
  absl::Status ReleaseSession(
      const std::string& session_id, int attempt,
      absl::Duration retry_after = absl::ZeroDuration()) override;
  absl::StatusOr<bool> RecordProgress(const ProgressUpdate& update) override;
  absl::StatusOr<QueueStats> ReadQueueStats() override;
  absl::Status CompleteSession(const Completion& completion) override;
  absl::Status FinishUnsuccessfully(const Failure& failure) override;
  absl::StatusOr<int64_t> PruneEvents(absl::Duration older_than,
                                      int limit) override;
  absl::StatusOr<std::vector<v1::SessionEvent>> ListEvents(
      const std::string& session_id, int64_t after_sequence) override;
  absl::StatusOr<std::vector<v1::SessionEvent>> ListEventsAfter(
      const std::vector<std::pair<std::string, int64_t>>& cursors) override;

 private:
  PgPool* const pool_;
};

}  // namespace goodbuy::store::pg

#endif  // GOODBUY_SERVER_STORE_PG_PG_SESSION_STORE_H_
