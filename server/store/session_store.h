// Persistence of analysis sessions and their events: the interface the core
// layer depends on. The PostgreSQL implementation lives in store/pg; tests may
// substitute a mock.
//
// Every method is synchronous and may block on the database, so callers run
// them on the DB executor or a job thread, never on a gRPC thread.
// Implementations are thread-safe. Errors are canonical absl::Status codes:
// NOT_FOUND (no such row), ALREADY_EXISTS (request_id reused for a different
// request), FAILED_PRECONDITION (state does not allow it), ABORTED (lost a
// race or the lease; safe to re-read), UNAVAILABLE (database unreachable;
// retryable), INTERNAL. Messages never contain SQL.
#ifndef GOODBUY_SERVER_STORE_SESSION_STORE_H_
#define GOODBUY_SERVER_STORE_SESSION_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "goodbuy/analysis/v1/analysis_service.pb.h"

namespace goodbuy::store {

namespace v1 = ::goodbuy::analysis::v1;

// What CreateSession writes: a pending row plus its first event.
struct NewSession {
  std::string request_id;  // empty: no idempotency key
  std::string user_id;
  std::string business_id;
  v1::SessionType session_type = v1::SESSION_TYPE_UNSPECIFIED;
  v1::AnalysisOptions options;
  std::optional<v1::FinancialHistory> inline_history;
  v1::SessionEvent created_event;  // sequence 1, status PENDING
  // Check the billed user's plan in the same transaction: the session type
  // must be among the plan's features (PERMISSION_DENIED naming the plan)
  // and the period's count below its limit (RESOURCE_EXHAUSTED with a
  // QuotaFailure naming the limit and the period end). Exact across
  // replicas: creates for one user serialise on a transaction lock.
  bool enforce_plan = false;
};

// A user's plan and what it has used this period (GetUsage).
struct PlanUsage {
  std::string user_id;
  std::string plan_name;
  absl::Time period_start;
  absl::Time period_end;
  int analyses_used = 0;     // counted against the limit
  int analyses_metered = 0;  // usage_metrics rows (completed sessions)
  std::optional<int> limit;  // nullopt: unlimited
  std::vector<std::string> session_types;  // empty: every type
  bool analyses_enabled = true;            // features.ai_analysis
};

// Result of CreateSession: the row, and whether this call inserted it (false
// when an earlier call with the same request_id did).
struct CreatedSession {
  v1::Session session;
  bool inserted = false;
};

// A session a worker owns, with what it needs to run.
struct ClaimedSession {
  v1::Session session;  // status RUNNING, attempt incremented
  int attempt = 0;      // fencing token for the writes that follow
  std::optional<v1::FinancialHistory> inline_history;
  // The business's stored periods, read by the claim (so the job does not
  // read them back); absent with inline history or when the store does not
  // read them (the job then loads them).
  std::optional<v1::FinancialHistory> stored_history;
  // The claim's RUNNING event (sequence = session.last_sequence), not yet
  // in the events table: the job persists it with its first write, like
  // its progress (see kMaxUnpersistedEvents).
  v1::SessionEvent claim_event;
};

// The queue as QueueStats reads it.
struct QueueStats {
  int64_t pending = 0;
  absl::Duration oldest_pending_age;  // zero when nothing is pending
};

// Result of RequestCancel.
struct CancelOutcome {
  v1::Session session;  // the row after the change
  // Set when the session was pending and is now CANCELLED: the terminal
  // event that was appended. Absent when a running job must still stop.
  std::optional<v1::SessionEvent> cancelled_event;
};

struct SessionFilter {
  v1::SessionStatus status = v1::SESSION_STATUS_UNSPECIFIED;
  v1::SessionType session_type = v1::SESSION_TYPE_UNSPECIFIED;
  std::string business_id;
  std::string user_id;
  // Only sessions of businesses this user owns (a user caller's own).
  std::string owner_id;
};

// Keyset position for newest-first listing.
struct ListCursor {
  absl::Time create_time;
  std::string session_id;
};

struct SessionPage {
  std::vector<v1::Session> sessions;
  std::optional<ListCursor> next;  // absent on the last page
};

// The terminal write of a job: row, final event and write-back in one
// transaction.
struct Completion {
  std::string session_id;
  int attempt = 0;
  v1::AnalysisResult result;
  int64_t processing_time_ms = 0;
  v1::SessionEvent final_event;  // status COMPLETED, progress 100
  std::string streaming_data_json;
  // Earlier events not yet persisted (ascending), appended before it.
  std::vector<v1::SessionEvent> events;
};

struct Failure {
  std::string session_id;
  int attempt = 0;  // 0: the session was never claimed (pending cancel)
  v1::SessionStatus status = v1::SESSION_STATUS_FAILED;  // or CANCELLED
  absl::Status error;
  int64_t processing_time_ms = 0;
  v1::SessionEvent final_event;
  // Earlier events not yet persisted (ascending), appended before it.
  std::vector<v1::SessionEvent> events;
};

// A batch of non-terminal events of one running session, with the progress
// columns they imply.
struct ProgressUpdate {
  std::string session_id;
  int attempt = 0;
  std::vector<v1::SessionEvent> events;  // ascending sequence
  int progress_percentage = 0;
  std::string stage;
  int64_t last_sequence = 0;
  std::optional<std::string> streaming_data_json;  // set when partials changed
};

// A worker publishes a session's events to its watchers before it writes
// them (in batches), but never more than this many beyond what the table
// holds. Whoever numbers the session's next event after that worker may
// have died (the reaper, the next attempt's claim) skips this many
// sequences, so no sequence ever names two different events.
inline constexpr int kMaxUnpersistedEvents = 256;

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  virtual absl::StatusOr<CreatedSession> CreateSession(
      const NewSession& session) = 0;
  // Group commit: creates many sessions, each with the outcome
  // CreateSession would give it (one bad request does not fail the others;
  // a request id used before, even earlier in the same list, returns that
  // session), in as few statements as the store can. This default creates
  // them one by one.
  virtual std::vector<absl::StatusOr<CreatedSession>> CreateSessions(
      const std::vector<NewSession>& sessions) {
    std::vector<absl::StatusOr<CreatedSession>> out;
    out.reserve(sessions.size());
    for (const NewSession& session : sessions) {
      out.push_back(CreateSession(session));
    }
    return out;
  }
  virtual absl::StatusOr<v1::Session> GetSession(
      const std::string& session_id) = 0;
  // The plan in force for `user_id` (its newest active or trialing
  // subscription, else the Free plan), the current period (the
  // subscription's, else the calendar month in UTC) and the usage in it.
  virtual absl::StatusOr<PlanUsage> GetPlanUsage(
      const std::string& user_id) = 0;
  virtual absl::StatusOr<SessionPage> ListSessions(
      const SessionFilter& filter, int page_size,
      const std::optional<ListCursor>& after) = 0;

  // Claims one pending session for `owner` (the creating replica claiming its
  // own new row). NOT_FOUND if it is no longer pending. `running_event` is a
  // template: the store sets its session id, sequence and progress.
  virtual absl::StatusOr<ClaimedSession> ClaimSession(
      const std::string& session_id, const std::string& owner,
      absl::Duration lease, const v1::SessionEvent& running_event) = 0;
  // Claims up to `limit` pending sessions whose run_after has passed, in one
  // statement: fairly across users (every user's oldest first, round robin),
  // never taking a user past `per_user_cap` running sessions, and with FOR
  // UPDATE SKIP LOCKED, so claimers on any replica never take the same row.
  // Each claim opens a session_attempts row and numbers its RUNNING event
  // (from the `running_event` template; see ClaimedSession::claim_event).
  virtual absl::StatusOr<std::vector<ClaimedSession>> ClaimPending(
      const std::string& owner, int limit, int per_user_cap,
      absl::Duration lease, const v1::SessionEvent& running_event) = 0;

  // Extends, in one statement, the leases `owner` holds on `held` (session
  // id and attempt). Returns the ids it no longer holds (reaped, finished,
  // claimed again elsewhere): their jobs must stop without writing.
  virtual absl::StatusOr<std::vector<std::string>> Heartbeat(
      const std::string& owner,
      const std::vector<std::pair<std::string, int>>& held,
      absl::Duration lease) = 0;

  // Ends the attempts of running sessions whose lease expired (their worker
  // died or hung), each with a compare-and-set on its attempt: back to
  // PENDING after a capped exponential backoff with jitter, or FAILED once
  // `max_attempts` attempts expired (CANCELLED if a cancel was requested).
  // Returns the events it appended.
  struct ReapPolicy {
    int max_attempts = 3;
    absl::Duration backoff_base = absl::Seconds(1);
    absl::Duration backoff_cap = absl::Seconds(30);
    int limit = 100;
  };
  virtual absl::StatusOr<std::vector<v1::SessionEvent>> ReapExpired(
      const ReapPolicy& policy) = 0;

  // Cancels a pending session directly (terminal), or marks a running one
  // cancel_requested. Returns the row after the change. FAILED_PRECONDITION
  // when the session already finished.
  // `cancelled_event` is a template: the store sets its sequence and progress.
  virtual absl::StatusOr<CancelOutcome> RequestCancel(
      const std::string& session_id, const std::string& reason,
      const v1::SessionEvent& cancelled_event) = 0;

  // Gives a claimed session back (status PENDING, lease cleared) so another
  // worker can run it, not before `retry_after` from now; used at shutdown
  // and to retry after a retryable failure. ABORTED if the attempt is stale.
  virtual absl::Status ReleaseSession(
      const std::string& session_id, int attempt,
      absl::Duration retry_after = absl::ZeroDuration()) = 0;

  // Appends the events and moves the progress columns. Returns true when a
  // cancel was requested meanwhile (possibly through another replica): the
  // job should stop.
  virtual absl::StatusOr<bool> RecordProgress(const ProgressUpdate& update) = 0;
  virtual absl::Status CompleteSession(const Completion& completion) = 0;
  virtual absl::Status FinishUnsuccessfully(const Failure& failure) = 0;

  // Deletes the events of sessions that ended more than `older_than` ago,
  // keeping each session's terminal event (a late watcher still learns how
  // it ended; earlier cursors get OUT_OF_RANGE naming it), at most `limit`
  // rows per call. Returns how many it deleted.
  virtual absl::StatusOr<int64_t> PruneEvents(absl::Duration older_than,
                                              int limit) = 0;

  // Pending sessions in the database and the age of the oldest (metrics).
  virtual absl::StatusOr<QueueStats> ReadQueueStats() = 0;

  // Persisted events with sequence > after_sequence, ascending.
  virtual absl::StatusOr<std::vector<v1::SessionEvent>> ListEvents(
      const std::string& session_id, int64_t after_sequence) = 0;
  // The same for many sessions in one statement (session id, after
  // sequence): ascending by session id, then sequence.
  virtual absl::StatusOr<std::vector<v1::SessionEvent>> ListEventsAfter(
      const std::vector<std::pair<std::string, int64_t>>& cursors) = 0;
};

}  // namespace goodbuy::store

#endif  // GOODBUY_SERVER_STORE_SESSION_STORE_H_
