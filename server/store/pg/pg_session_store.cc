#include "server/store/pg/pg_session_store.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/errors.h"
#include "server/common/time_util.h"
#include "server/store/event_notifications.h"
#include "server/store/pg/history_text.h"
#include "server/store/plan_rules.h"
#include "server/store/session_names.h"
#include "server/store/tenant_scope.h"

namespace goodbuy::store::pg {
namespace {

// Columns every session read selects, in the order RowToSession expects.
constexpr char kColumns[] =
    "id, user_id, business_id, session_type, status, progress_percentage, "
    "results::text AS results, confidence_score, processing_time_ms, "
    "(extract(epoch FROM created_at) * 1000000)::bigint AS created_us, "
    "(extract(epoch FROM completed_at) * 1000000)::bigint AS completed_us, "
    "request_id, last_sequence, options::text AS options, stage, error_code, "
    "error_message, attempt, inline_history::text AS inline_history";

// Claim statements end with these: the claimed rows (`claimed`) open their
// attempt rows in the same statement, and are returned.
constexpr char kOpenAttempts[] =
    ", opened AS (INSERT INTO session_attempts (session_id, attempt, "
    "lease_owner) SELECT id, attempt, ";
// With a session's stored financial history (history_text.h), so its job
// need not read it back.
const std::string kFromClaimed = absl::StrCat(
    "FROM claimed ON CONFLICT DO NOTHING) SELECT claimed.*, CASE WHEN "
    "claimed.inline_history IS NULL THEN ",
    HistoryTextSql("claimed.business_id"),
    " END AS stored_history FROM claimed");

// A claim's event follows the last one; a later attempt's skips the window
// a previous worker may have published without writing (see
// kMaxUnpersistedEvents). In SET, `attempt` is still the previous value.
const std::string kNextAttemptSequence = absl::StrCat(
    "CASE WHEN attempt > 0 THEN ", kMaxUnpersistedEvents + 1, " ELSE 1 END");

const char* NullIfEmpty(const std::string& s) {
  return s.empty() ? nullptr : s.c_str();
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json);
  return status.ok() ? json : "{}";
}

template <typename T>
bool FromJson(const pqxx::field& field, T* out) {
  if (field.is_null()) return false;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(field.c_str(), out,
                                                     options)
      .ok();
}

google::protobuf::Timestamp MicrosToTimestamp(int64_t micros) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(micros / 1000000);
  ts.set_nanos(static_cast<int32_t>((micros % 1000000) * 1000));
  return ts;
}

v1::Session RowToSession(const pqxx::row& row) {
  v1::Session s;
  s.set_session_id(row["id"].c_str());
  s.set_user_id(row["user_id"].c_str());
  s.set_business_id(row["business_id"].c_str());
  s.set_session_type(ParseSessionType(row["session_type"].c_str())
                         .value_or(v1::SESSION_TYPE_UNSPECIFIED));
  s.set_status(ParseSessionStatus(row["status"].c_str())
                   .value_or(v1::SESSION_STATUS_UNSPECIFIED));
  s.set_progress_percentage(row["progress_percentage"].as<int>(0));
  FromJson(row["results"], s.mutable_result());
  s.set_confidence_score(row["confidence_score"].as<int>(0));
  s.set_processing_time_ms(row["processing_time_ms"].as<int64_t>(0));
  *s.mutable_create_time() =
      MicrosToTimestamp(row["created_us"].as<int64_t>(0));
  if (!row["completed_us"].is_null()) {
    *s.mutable_complete_time() =
        MicrosToTimestamp(row["completed_us"].as<int64_t>());
  }
  if (!row["request_id"].is_null()) s.set_request_id(row["request_id"].c_str());
  s.set_last_sequence(row["last_sequence"].as<int64_t>(0));
  FromJson(row["options"], s.mutable_options());
  if (!row["stage"].is_null()) s.set_stage(row["stage"].c_str());
  if (!row["error_code"].is_null()) {
    s.mutable_error()->set_code(row["error_code"].as<int>());
    s.mutable_error()->set_message(row["error_message"].as<std::string>(""));
  }
  return s;
}

std::string EventKind(const v1::SessionEvent& event) {
  switch (event.status()) {
    case v1::SESSION_STATUS_COMPLETED:
    case v1::SESSION_STATUS_FAILED:
    case v1::SESSION_STATUS_CANCELLED:
      return std::string(SessionStatusName(event.status()));
    default:
      break;
  }
  if (event.has_partial_result()) return "partial";
  if (event.has_heartbeat()) return "heartbeat";
  return "progress";
}

// A batch of one session's events (ascending) as the delimited lists the
// statements of kEventRows read: base64 and the fixed words have no commas;
// stages are joined with the unit separator and prefixed with one character
// so an empty stage survives string_to_array.
struct EventColumns {
  // `separator` separates the entries of every list but the stages, which
  // are always separated by chr(31).
  explicit EventColumns(const std::vector<const v1::SessionEvent*>& events,
                        const char* separator = ",") {
    for (const v1::SessionEvent* e : events) {
      const bool first = sequences.empty();
      const char* sep = first ? "" : separator;
      absl::StrAppend(&sequences, sep, e->sequence());
      absl::StrAppend(&kinds, sep, EventKind(*e));
      absl::StrAppend(&statuses, sep, SessionStatusName(e->status()));
      absl::StrAppend(&progress, sep, e->progress_percentage());
      absl::StrAppend(&stages, first ? "" : "\x1f", "s", e->stage());
      absl::StrAppend(&bytes, sep, absl::Base64Escape(e->SerializeAsString()));
    }
  }
  std::string sequences, kinds, statuses, progress, stages, bytes;
};

// The INSERT of EventColumns into session_events for session $1, the lists
// being parameters $first .. $first+5.
std::string EventRowsInsert(int first) {
  auto p = [first](int i) { return absl::StrCat("$", first + i); };
  return absl::StrCat(
      "INSERT INTO session_events (session_id, sequence, kind, status, "
      "progress_percentage, stage, event, created_at) SELECT $1, t.seq, "
      "t.kind, t.status, t.progress, substr(t.stage, 2), decode(t.ev, "
      "'base64'), now() FROM unnest(string_to_array(",
      p(0), ", ',')::bigint[], string_to_array(", p(1),
      ", ','), string_to_array(", p(2), ", ','), string_to_array(", p(3),
      ", ',')::int[], string_to_array(", p(4), ", chr(31)), string_to_array(",
      p(5), ", ',')) AS t (seq, kind, status, progress, stage, ev)");
}

// Appends a batch of one session's events in one statement, which also
// notifies watchers on other replicas (at commit) unless `notify` is false.
void InsertEvents(pqxx::work& tx,
                  const std::vector<const v1::SessionEvent*>& events,
                  bool notify = true) {
  if (events.empty()) return;
  const EventColumns c(events);
  tx.exec_prepared("insert_events", events.front()->session_id(), c.sequences,
                   c.kinds, c.statuses, c.progress, c.stages, c.bytes, notify);
}

void InsertEvent(pqxx::work& tx, const v1::SessionEvent& event,
                 bool notify = true) {
  InsertEvents(tx, {&event}, notify);
}

absl::Status StaleAttempt(const std::string& id) {
  return absl::AbortedError(absl::StrCat(
      "session ", id, " is no longer held by this worker (lease lost)"));
}

// A row the claim statement returned: the job's view of it and its RUNNING
// event. The event is not written here: like the job's progress, it is
// published first and persisted with the job's first write (its sequence is
// inside the unpersisted window a later attempt skips), so a claim is one
// statement with no transaction around it.
ClaimedSession Claimed(const pqxx::row& row,
                       const v1::SessionEvent& running_event) {
  ClaimedSession claimed;
  claimed.session = RowToSession(row);
  claimed.attempt = row["attempt"].as<int>();
  v1::FinancialHistory history;
  if (FromJson(row["inline_history"], &history)) {
    claimed.inline_history = std::move(history);
  } else if (!row["stored_history"].is_null()) {
    // Unreadable (it cannot be, short of a bug): the job reads it again
    // and reports what it finds.
    auto stored = ParseHistoryText(row["stored_history"].c_str());
    if (stored.ok()) claimed.stored_history = *std::move(stored);
  }
  claimed.claim_event = running_event;
  claimed.claim_event.set_session_id(claimed.session.session_id());
  claimed.claim_event.set_sequence(claimed.session.last_sequence());
  claimed.claim_event.set_progress_percentage(
      claimed.session.progress_percentage());
  return claimed;
}

// A float8 literal with every digit (NaN and the infinities spelled as
// PostgreSQL reads them).
std::string Float8(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return absl::StrFormat("%.17g", value);
}

// The write-back of a completion to the application's tables, as the
// complete_session statement's parameters: a health_metrics row (JSON) or
// the forecast_results rows (delimited lists); unused ones are NULL.
struct WriteBackColumns {
  explicit WriteBackColumns(const Completion& completion) {
    const v1::AnalysisResult& result = completion.result;
    if (result.has_health()) {
      const auto& h = result.health();
      std::string trajectory = v1::Trajectory_Name(h.trajectory());
      trajectory = trajectory.substr(std::string("TRAJECTORY_").size());
      if (trajectory == "UNSPECIFIED") trajectory = "STABLE";
      health = absl::StrCat(
          "{\"o\":", h.overall_score(), ",\"g\":", h.growth_score(),
          ",\"op\":", h.operational_score(), ",\"f\":", h.financial_score(),
          ",\"r\":", h.sale_readiness_score(), ",\"c\":", h.confidence_level(),
          ",\"t\":\"", trajectory, "\",\"m\":", ToJson(h), "}");
    } else if (result.has_forecast()) {
      const auto& f = result.forecast();
      std::string v, lo, hi;
      for (const auto& point : f.points()) {
        const char* sep = v.empty() ? "" : ",";
        absl::StrAppend(&v, sep, Float8(point.value()));
        absl::StrAppend(&lo, sep, Float8(point.lower_95()));
        absl::StrAppend(&hi, sep, Float8(point.upper_95()));
      }
      if (!v.empty()) {
        forecast_values = std::move(v);
        forecast_lower = std::move(lo);
        forecast_upper = std::move(hi);
      }
      model_used = f.model_used().substr(0, 50);
    }
  }
  std::optional<std::string> health, forecast_values, forecast_lower,
      forecast_upper;
  std::string model_used;
};

absl::Status NoPlan(const std::string& user_id) {
  return absl::FailedPreconditionError(
      absl::StrCat("user '", user_id,
                   "' has no active subscription and there is no Free plan"));
}

// A row of "user_plan" or "user_plans" (see SessionStore::GetPlanUsage).
absl::StatusOr<PlanUsage> PlanFromRow(const pqxx::row& row,
                                      const std::string& user_id) {
  PlanUsage usage;
  usage.user_id = user_id;
  usage.plan_name = row["name"].c_str();
  if (!row["ai_analysis_limit"].is_null()) {
    usage.limit = row["ai_analysis_limit"].as<int>();
  }
  usage.period_start = absl::FromUnixMicros(row["start_us"].as<int64_t>());
  usage.period_end = absl::FromUnixMicros(row["end_us"].as<int64_t>());
  if (auto status = ParsePlanFeatures(row["features"].c_str(), &usage);
      !status.ok()) {
    return status;
  }
  return usage;
}

// The plan of one user and its period.
absl::StatusOr<PlanUsage> ReadPlan(pqxx::transaction_base& tx,
                                   const std::string& user_id) {
  pqxx::result r = tx.exec_prepared("user_plan", user_id);
  if (r.empty()) return NoPlan(user_id);
  return PlanFromRow(r[0], user_id);
}

// Runs a count of `usage`'s period (statement parameters: user, period
// start and end in Unix microseconds, then `extra`).
template <typename... Extra>
int CountInPeriod(pqxx::transaction_base& tx, const char* statement,
                  const PlanUsage& usage, Extra... extra) {
  const pqxx::row row = tx.exec_prepared1(
      statement, usage.user_id, absl::ToUnixMicros(usage.period_start),
      absl::ToUnixMicros(usage.period_end), extra...);
  return row[0].as<int>();
}

// An earlier CreateSession with the same (user, request_id), if it asked for
// the same thing; ALREADY_EXISTS if it asked for something else.
absl::StatusOr<std::optional<v1::Session>> EarlierRequest(
    pqxx::transaction_base& tx, const NewSession& session) {
  if (session.request_id.empty()) return std::optional<v1::Session>();
  pqxx::result existing = tx.exec_prepared("session_by_request_id",
                                           session.user_id, session.request_id);
  if (existing.empty()) return std::optional<v1::Session>();
  v1::Session earlier = RowToSession(existing[0]);
  if (earlier.business_id() != session.business_id ||
      earlier.session_type() != session.session_type) {
    return absl::AlreadyExistsError(
        absl::StrCat("request_id '", session.request_id,
                     "' was already used for a different session (",
                     earlier.session_id(), ")"));
  }
  return std::optional<v1::Session>(std::move(earlier));
}

// A random (version 4) UUID: the id of a new session, chosen here so its
// first event can be encoded before the row exists and both are written by
// one statement.
std::string NewSessionId() {
  thread_local std::mt19937_64 random(std::random_device{}());
  uint64_t hi = random(), lo = random();
  hi = (hi & ~uint64_t{0xF000}) | uint64_t{0x4000};            // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);  // variant 1
  const std::string hex = absl::StrFormat("%016x%016x", hi, lo);
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-",
                      hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20));
}

// Inserts the session with its first event; when an earlier request with
// the same request_id won, returns that session (if it asked for the same
// thing). One statement for scopes that see every row. A user's row-level
// security check on the event cannot see a session inserted by the same
// statement, so for a user it is two statements in `tx`, which must then be
// a transaction.
absl::StatusOr<CreatedSession> InsertSession(pqxx::transaction_base& tx,
                                             const NewSession& session) {
  const std::string history_json =
      session.inline_history ? ToJson(*session.inline_history) : "";
  v1::SessionEvent event = session.created_event;
  event.set_session_id(NewSessionId());
  const bool one_statement = CurrentTenantScope().SeesAll();
  const EventColumns e({&event});
  auto insert = [&](const char* statement, auto... event_columns) {
    return tx.exec_prepared(
        statement, event.session_id(), session.user_id, session.business_id,
        std::string(SessionTypeName(session.session_type)),
        NullIfEmpty(session.request_id), ToJson(session.options),
        session.inline_history ? "inline" : "stored", NullIfEmpty(history_json),
        event_columns...);
  };
  pqxx::result r =
      one_statement ? insert("insert_session_with_event", e.sequences, e.kinds,
                             e.statuses, e.progress, e.stages, e.bytes)
                    : insert("insert_session");
  // No NOTIFY: nobody can be watching a session before it exists.
  if (!one_statement && !r.empty()) {
    tx.exec_prepared("insert_events", event.session_id(), e.sequences, e.kinds,
                     e.statuses, e.progress, e.stages, e.bytes, false);
  }
  CreatedSession out;
  if (r.empty()) {
    auto earlier = EarlierRequest(tx, session);
    if (!earlier.ok()) return earlier.status();
    if (!earlier->has_value()) {
      return absl::AbortedError("create session: concurrent conflict");
    }
    out.session = std::move(**earlier);
    return out;
  }
  out.session = RowToSession(r[0]);
  out.inserted = true;
  return out;
}

// The newest active (or trialing) subscription's plan of `user` (an SQL
// expression), else Free; its period, else the calendar month.
std::string UserPlanSql(const std::string& user) {
  return absl::StrCat(
      "WITH sub AS (SELECT plan_id, current_period_start AS ps, "
      "current_period_end AS pe FROM user_subscriptions WHERE user_id = ",
      user,
      " AND status IN ('active', 'trialing') ORDER BY created_at "
      "DESC NULLS LAST LIMIT 1), plan AS (SELECT p.name, "
      "p.ai_analysis_limit, p.features::text AS features, CASE WHEN s.ps <= "
      "now() AND now() < s.pe THEN s.ps ELSE date_trunc('month', now()) END "
      "AS period_start, CASE WHEN s.ps <= now() AND now() < s.pe THEN s.pe "
      "ELSE date_trunc('month', now()) + interval '1 month' END AS "
      "period_end FROM (SELECT 1) AS one LEFT JOIN sub s ON true JOIN "
      "subscription_plans p ON p.id = coalesce(s.plan_id, (SELECT id FROM "
      "subscription_plans WHERE name = 'Free'))) SELECT name, "
      "ai_analysis_limit, features, (extract(epoch FROM period_start) * "
      "1000000)::bigint AS start_us, (extract(epoch FROM period_end) * "
      "1000000)::bigint AS end_us FROM plan");
}

}  // namespace

PgSessionStore::PgSessionStore(PgPool* pool) : pool_(pool) {
  // Creates for one user serialise on this lock until they commit, so the
  // plan's count is exact across replicas (two racing for the last
  // analysis: one wins). It locks no row the web app uses.
  pool_->Prepare("usage_lock",
                 "SELECT pg_advisory_xact_lock(hashtextextended("
                 "'goodbuy.usage:' || $1::text, 0))");
  pool_->Prepare("user_plan", UserPlanSql("$1::varchar"));
  // The same for many users ($1: ids separated by chr(31)), one row each
  // (none for a user without a plan).
  pool_->Prepare(
      "user_plans",
      absl::StrCat("SELECT u.uid, plan.* FROM unnest(string_to_array($1, "
                   "chr(31))) AS u (uid) CROSS JOIN LATERAL (",
                   UserPlanSql("u.uid"), ") AS plan"));
  // The analyses of a period counted against the limit (failed ones, and
  // ones cancelled before they started, are given back), at most $4 of them.
  constexpr const char* kPeriod =
      "created_at >= 'epoch'::timestamp + $2::bigint * interval '1 "
      "microsecond' AND created_at < 'epoch'::timestamp + $3::bigint * "
      "interval '1 microsecond'";
  pool_->Prepare(
      "analyses_used",
      absl::StrCat("SELECT count(*) FROM (SELECT 1 FROM ai_analysis_sessions "
                   "WHERE user_id = $1::varchar AND ",
                   kPeriod,
                   " AND status <> 'failed' AND NOT (status = 'cancelled' AND "
                   "started_at IS NULL) LIMIT $4::bigint) AS counted"));
  // The completed analyses of a period metered in usage_metrics.
  pool_->Prepare("analyses_metered",
                 absl::StrCat("SELECT coalesce(sum(count), 0) FROM "
                              "usage_metrics WHERE user_id = $1::varchar AND "
                              "metric_type = 'ai_analysis' AND ",
                              kPeriod));
  // The session, or nothing when the request_id was used; with its first
  // event (no NOTIFY: nobody can be watching a session before it exists).
  const std::string insert_session = absl::StrCat(
      "INSERT INTO ai_analysis_sessions (id, user_id, business_id, "
      "session_type, status, progress_percentage, request_id, options, stage, "
      "last_sequence, history_source, inline_history, created_at, "
      "updated_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6::jsonb, "
      "'queued', 1, $7, $8::jsonb, now(), now()) ON CONFLICT (user_id, "
      "request_id) WHERE request_id IS NOT NULL DO NOTHING RETURNING ",
      kColumns);
  pool_->Prepare("insert_session", insert_session);
  pool_->Prepare("insert_session_with_event",
                 absl::StrCat("WITH s AS (", insert_session, "), e AS (",
                              EventRowsInsert(9),
                              " WHERE EXISTS (SELECT 1 FROM s)) SELECT * FROM "
                              "s"));
  // Many sessions with their first events ($1..$14: lists separated by
  // chr(31), one entry per session; absent request ids and inline histories
  // are empty, stages carry a one-letter prefix). The sessions it inserted:
  // a request id used before (or twice in the list) inserts nothing.
  pool_->Prepare(
      "insert_sessions_with_events",
      absl::StrCat(
          "WITH t AS (SELECT * FROM unnest(",
          [] {
            std::string lists;
            for (int i = 1; i <= 14; ++i) {
              absl::StrAppend(&lists, i == 1 ? "" : ", ", "string_to_array($",
                              i, ", chr(31))");
            }
            return lists;
          }(),
          ") AS t (id, user_id, business_id, session_type, request_id, "
          "options, history_source, inline_history, seq, kind, status, "
          "progress, stage, ev)), s AS (INSERT INTO ai_analysis_sessions (id, "
          "user_id, business_id, session_type, status, progress_percentage, "
          "request_id, options, stage, last_sequence, history_source, "
          "inline_history, created_at, updated_at) SELECT id, user_id, "
          "business_id, session_type, 'pending', 0, nullif(request_id, ''), "
          "options::jsonb, 'queued', 1, history_source, "
          "nullif(inline_history, '')::jsonb, now(), now() FROM t ON CONFLICT "
          "(user_id, request_id) WHERE request_id IS NOT NULL DO NOTHING "
          "RETURNING ",
          kColumns,
          "), e AS (INSERT INTO session_events (session_id, sequence, kind, "
          "status, progress_percentage, stage, event, created_at) SELECT t.id, "
          "t.seq::bigint, t.kind, t.status, t.progress::int, substr(t.stage, "
          "2), decode(t.ev, 'base64'), now() FROM t JOIN s ON s.id = t.id) "
          "SELECT * FROM s"));
  pool_->Prepare(
      "session_by_request_id",
      absl::StrCat("SELECT ", kColumns,
                   " FROM ai_analysis_sessions WHERE user_id = $1 AND "
                   "request_id = $2"));
  pool_->Prepare("session_by_id",
                 absl::StrCat("SELECT ", kColumns,
                              " FROM ai_analysis_sessions WHERE id = $1"));
  pool_->Prepare("session_for_update",
                 absl::StrCat("SELECT ", kColumns,
                              " FROM ai_analysis_sessions WHERE id = $1 "
                              "FOR UPDATE"));
  pool_->Prepare(
      "list_sessions",
      absl::StrCat(
          "SELECT ", kColumns,
          " FROM ai_analysis_sessions WHERE ($1 = '' OR status = $1) "
          "AND ($2 = '' OR session_type = $2) "
          "AND ($3 = '' OR business_id = $3) AND ($4 = '' OR user_id = $4) "
          "AND ($9 = '' OR business_id IN (SELECT id FROM businesses WHERE "
          "owner_id = $9)) "
          "AND (NOT $5 OR (created_at, id) < ('epoch'::timestamp + $6::bigint "
          "* interval '1 microsecond', $7)) "
          "ORDER BY created_at DESC, id DESC LIMIT $8"));
  pool_->Prepare(
      "insert_events",
      absl::StrCat("WITH inserted AS (", EventRowsInsert(2),
                   " RETURNING 1) SELECT pg_notify('", kSessionEventsChannel,
                   "', $1) FROM (SELECT count(*) FROM inserted) AS n WHERE "
                   "$8::bool"));
  pool_->Prepare(
      "prune_events",
      "DELETE FROM session_events WHERE ctid IN (SELECT e.ctid FROM "
      "ai_analysis_sessions s JOIN session_events e ON e.session_id = s.id "
      "WHERE s.status IN ('completed', 'failed', 'cancelled') AND "
      "s.completed_at < now() - $1::bigint * interval '1 millisecond' AND "
      "e.sequence < s.last_sequence LIMIT $2)");
  pool_->Prepare(
      "list_events_after",
      "SELECT translate(encode(e.event, 'base64'), E'\\n', '') AS event "
      "FROM unnest(string_to_array($1, ','), "
      "string_to_array($2, ',')::bigint[]) AS c (session_id, after) "
      "JOIN session_events e ON e.session_id = c.session_id "
      "AND e.sequence > c.after ORDER BY e.session_id, e.sequence");
  pool_->Prepare(
      "claim_session",
      absl::StrCat(
          "WITH claimed AS (UPDATE ai_analysis_sessions SET status = "
          "'running', attempt = attempt + 1, lease_owner = $2, "
          "lease_expires_at = now() + "
          "$3::bigint * interval '1 millisecond', started_at = "
          "coalesce(started_at, now()), updated_at = now(), stage = 'started', "
          "last_sequence = last_sequence + ",
          kNextAttemptSequence,
          ", run_after = NULL WHERE id = "
          "(SELECT id FROM "
          "ai_analysis_sessions WHERE id = $1 AND status = 'pending' FOR "
          "UPDATE "
          "SKIP LOCKED) RETURNING ",
          kColumns, ")", kOpenAttempts, "$2 ", kFromClaimed));
  // Fair batch claim: each user's due pending sessions oldest first, no
  // user past their cap, the first of every user before the second of any,
  // only rows nobody else holds. `users` skips from one user with pending
  // sessions to the next (a loose index scan of
  // idx_ai_sessions_pending_user, sql/010_claim_queue.sql) and `ranked`
  // locks at most each user's free slots there, so a claim costs what the
  // number of users waiting costs, not what the queue's depth does, and
  // needs no statistics to find its plan (a queue's are always stale).
  // Rows ranked but not taken are unlocked when the statement ends.
  pool_->Prepare(
      "claim_pending",
      absl::StrCat(
          "WITH RECURSIVE users AS ((SELECT user_id FROM ai_analysis_sessions "
          "WHERE status = 'pending' ORDER BY user_id LIMIT 1) UNION ALL "
          "SELECT (SELECT s.user_id FROM ai_analysis_sessions s WHERE "
          "s.status = 'pending' AND s.user_id > users.user_id ORDER BY "
          "s.user_id LIMIT 1) FROM users WHERE users.user_id IS NOT NULL), "
          "running AS (SELECT user_id, count(*) AS n FROM "
          "ai_analysis_sessions WHERE status = 'running' GROUP BY user_id), "
          "ranked AS (SELECT c.id AS ranked_id, c.created_at AS ranked_at, "
          "row_number() OVER (PARTITION BY u.user_id ORDER BY c.created_at, "
          "c.id) AS rn FROM users u LEFT JOIN running r ON r.user_id = "
          "u.user_id CROSS JOIN LATERAL (SELECT s.id, s.created_at FROM "
          "ai_analysis_sessions s WHERE s.status = 'pending' AND s.user_id = "
          "u.user_id AND (s.run_after IS NULL OR s.run_after <= now()) ORDER "
          "BY s.created_at, s.id LIMIT greatest($3 - coalesce(r.n, 0), 0) FOR "
          "UPDATE SKIP LOCKED) AS c WHERE u.user_id IS NOT NULL), "
          "eligible AS (SELECT ranked_id FROM ranked ORDER BY rn, ranked_at, "
          "ranked_id LIMIT $2), "
          "claimed AS (UPDATE ai_analysis_sessions SET status = 'running', "
          "attempt = attempt + 1, lease_owner = $1, lease_expires_at = now() + "
          "$4::bigint * interval '1 millisecond', started_at = "
          "coalesce(started_at, now()), updated_at = now(), stage = "
          "'started', last_sequence = last_sequence + ",
          kNextAttemptSequence,
          ", run_after = NULL "
          "FROM eligible WHERE id = eligible.ranked_id RETURNING ",
          kColumns, ")", kOpenAttempts, "$1 ", kFromClaimed));
  // On idx_ai_sessions_pending_user: reads the pending entries only.
  pool_->Prepare("queue_stats",
                 "SELECT count(*), coalesce((extract(epoch FROM now() - "
                 "min(created_at)) * 1000000)::bigint, 0) FROM "
                 "ai_analysis_sessions WHERE status = 'pending'");
  pool_->Prepare("close_attempt",
                 "UPDATE session_attempts SET ended_at = clock_timestamp(), "
                 "outcome = $3 WHERE session_id = $1 AND attempt = $2 AND "
                 "ended_at IS NULL");
  pool_->Prepare(
      "heartbeat",
      "UPDATE ai_analysis_sessions s SET lease_expires_at = now() + "
      "$4::bigint * interval '1 millisecond' FROM unnest("
      "string_to_array($2, ','), string_to_array($3, ',')::int[]) AS h "
      "(held_id, held_attempt) WHERE s.id = h.held_id AND s.attempt = "
      "h.held_attempt AND s.status = 'running' AND s.lease_owner = $1 "
      "RETURNING s.id");
  pool_->Prepare(
      "expired_leases",
      "SELECT id, attempt, last_sequence, progress_percentage, "
      "cancel_requested, lease_owner FROM ai_analysis_sessions WHERE status "
      "= 'running' AND lease_expires_at < now() ORDER BY lease_expires_at "
      "LIMIT $1 FOR UPDATE SKIP LOCKED");
  pool_->Prepare(
      "requeue_expired",
      "UPDATE ai_analysis_sessions SET status = 'pending', lease_owner = "
      "NULL, lease_expires_at = NULL, stage = 'requeued', run_after = now() "
      "+ $3::bigint * interval '1 millisecond', last_sequence = "
      "last_sequence + 1 + $4, updated_at = now() WHERE id = $1 AND attempt "
      "= $2 AND status = 'running' RETURNING last_sequence");
  pool_->Prepare(
      "end_expired",
      "UPDATE ai_analysis_sessions SET status = $3, stage = $3, error_code = "
      "$4, error_message = $5, completed_at = now(), lease_owner = NULL, "
      "lease_expires_at = NULL, last_sequence = last_sequence + 1 + $6, "
      "updated_at = now() WHERE id = $1 AND attempt = $2 AND status = "
      "'running' RETURNING last_sequence");
  pool_->Prepare(
      "cancel_pending",
      "UPDATE ai_analysis_sessions SET status = 'cancelled', "
      "cancel_requested = true, completed_at = now(), updated_at = now(), "
      "error_code = 1, error_message = $2, stage = 'cancelled', "
      "last_sequence = last_sequence + 1 WHERE id = $1 RETURNING "
      "last_sequence");
  pool_->Prepare("cancel_running",
                 "UPDATE ai_analysis_sessions SET cancel_requested = true, "
                 "updated_at = now() WHERE id = $1");
  pool_->Prepare("release_session",
                 "UPDATE ai_analysis_sessions SET status = 'pending', "
                 "lease_owner = NULL, lease_expires_at = NULL, updated_at = "
                 "now(), run_after = now() + $3::bigint * interval '1 "
                 "millisecond' WHERE id = $1 AND attempt = $2 AND status = "
                 "'running'");
  pool_->Prepare(
      "record_progress",
      "UPDATE ai_analysis_sessions SET progress_percentage = "
      "greatest(progress_percentage, $3), stage = $4, last_sequence = "
      "greatest(last_sequence, $5), streaming_data = coalesce($6::json, "
      "streaming_data), updated_at = now() WHERE id = $1 AND attempt = $2 AND "
      "status = 'running' RETURNING cancel_requested");
  // The whole completion in one statement: the terminal row, the attempt's
  // close, the events, the write-back (health_metrics or forecast_results),
  // usage_metrics and the NOTIFY. Everything after `done` depends on it, so
  // a stale attempt (no `done` row) writes nothing at all.
  pool_->Prepare(
      "complete_session",
      absl::StrCat(
          "WITH done AS (UPDATE ai_analysis_sessions SET status = "
          "'completed', progress_percentage = 100, stage = 'completed', "
          "results = $3::json, confidence_score = $4, processing_time_ms = "
          "$5, completed_at = now(), updated_at = now(), last_sequence = $6, "
          "streaming_data = $7::json, lease_owner = NULL, lease_expires_at = "
          "NULL WHERE id = $1 AND attempt = $2 AND status = 'running' "
          "RETURNING user_id, business_id, session_type), "
          "closed AS (UPDATE session_attempts SET ended_at = "
          "clock_timestamp(), outcome = 'completed' WHERE session_id = $1 AND "
          "attempt = $2 AND ended_at IS NULL AND EXISTS (SELECT 1 FROM "
          "done)), events AS (",
          EventRowsInsert(8),
          " WHERE EXISTS (SELECT 1 FROM done)), "
          "health AS (INSERT INTO health_metrics (id, business_id, "
          "overall_score, growth_score, operational_score, financial_score, "
          "sale_readiness_score, confidence_level, trajectory, calculated_at, "
          "data_sources, calculation_metadata, created_at, updated_at) SELECT "
          "gen_random_uuid()::text, done.business_id, h.o, h.g, h.op, h.f, "
          "h.r, h.c, h.t::\"HealthTrajectory\", now(), "
          "jsonb_build_object('source', 'ai_analysis_sessions', "
          "'session_id', $1::text), h.m::jsonb, now(), now() FROM done, "
          "json_to_record($14::json) AS h (o int, g int, op int, f int, r "
          "int, c int, t text, m json) WHERE $14 IS NOT NULL), "
          "forecast AS (INSERT INTO forecast_results (id, business_id, "
          "forecast_type, forecast_period, predicted_value, "
          "confidence_interval_lower, confidence_interval_upper, "
          "confidence_score, model_used, created_at, updated_at) SELECT "
          "gen_random_uuid()::text, done.business_id, 'REVENUE', f.n, "
          "round(f.v::numeric, 2), round(f.lo::numeric, 2), "
          "round(f.hi::numeric, 2), $4, $18, now(), now() FROM done, unnest("
          "string_to_array($15, ',')::float8[], string_to_array($16, "
          "',')::float8[], string_to_array($17, ',')::float8[]) WITH "
          "ORDINALITY AS f (v, lo, hi, n) WHERE $15 IS NOT NULL), "
          "usage AS (INSERT INTO usage_metrics (user_id, subscription_id, "
          "metric_type, count, metadata, created_at, date) SELECT "
          "done.user_id, (SELECT id FROM user_subscriptions WHERE user_id = "
          "done.user_id AND status = 'active' ORDER BY created_at DESC LIMIT "
          "1), 'ai_analysis', 1, json_build_object('session_id', $1::text, "
          "'session_type', done.session_type), now(), CURRENT_DATE FROM done) "
          "SELECT pg_notify('",
          kSessionEventsChannel, "', $1) FROM done"));
  pool_->Prepare(
      "finish_session",
      // The attempt row (if the session was ever claimed) is closed in the
      // same statement.
      "WITH done AS (UPDATE ai_analysis_sessions SET status = $3, stage = $3, "
      "error_code = $4, error_message = $5, processing_time_ms = $6, "
      "completed_at = now(), updated_at = now(), last_sequence = $7, "
      "lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND attempt "
      "= $2 AND status IN ('pending', 'running') RETURNING id), closed AS "
      "(UPDATE session_attempts SET ended_at = clock_timestamp(), outcome = "
      "$3 WHERE session_id = $1 AND attempt = $2 AND ended_at IS NULL AND "
      "EXISTS (SELECT 1 FROM done)) SELECT id FROM done");
}

absl::StatusOr<CreatedSession> PgSessionStore::CreateSession(
    const NewSession& session) {
  return pool_->With(
      "create session",
      [&](pqxx::connection& conn) -> absl::StatusOr<CreatedSession> {
        // Not counted: one statement where the scope allows it.
        auto insert = [&]() -> absl::StatusOr<CreatedSession> {
          if (CurrentTenantScope().SeesAll()) {
            pqxx::nontransaction tx(conn);
            return InsertSession(tx, session);
          }
          pqxx::work tx(conn);
          auto out = InsertSession(tx, session);
          if (out.ok()) tx.commit();
          return out;
        };
        if (!session.enforce_plan) return insert();
        absl::StatusOr<PlanUsage> plan;
        {
          pqxx::nontransaction read(conn);
          plan = ReadPlan(read, session.user_id);
        }
        if (!plan.ok()) return plan.status();
        if (!plan->limit.has_value()) {
          // Unlimited plans take no lock and count nothing: the plan read
          // and the insert; a repeated request is found by the insert's
          // conflict.
          if (auto status = CheckPlanAllows(*plan, session.session_type);
              !status.ok()) {
            return status;
          }
          return insert();
        }
        // Counted: creates for this user wait for each other here, so a
        // request repeated at the limit still finds its session and two
        // racing for the last analysis cannot both win.
        pqxx::work tx(conn);
        tx.exec_prepared("usage_lock", session.user_id);
        auto earlier = EarlierRequest(tx, session);
        if (!earlier.ok()) return earlier.status();
        if (earlier->has_value()) {
          CreatedSession out;
          out.session = std::move(**earlier);
          tx.commit();
          return out;
        }
        // At most `limit` rows: a create only needs to know whether the
        // limit is reached, so its cost does not grow with the history.
        plan->analyses_used =
            CountInPeriod(tx, "analyses_used", *plan, *plan->limit);
        if (auto status = CheckPlanAllows(*plan, session.session_type);
            !status.ok()) {
          return status;
        }
        auto out = InsertSession(tx, session);
        if (out.ok()) tx.commit();
        return out;
      });
}

std::vector<absl::StatusOr<CreatedSession>> PgSessionStore::CreateSessions(
    const std::vector<NewSession>& sessions) {
  // A user's row-level security needs a transaction per create (see
  // InsertSession): those go one by one, as do single creates.
  if (sessions.size() < 2 || !CurrentTenantScope().SeesAll()) {
    return SessionStore::CreateSessions(sessions);
  }
  std::vector<absl::StatusOr<CreatedSession>> out(
      sessions.size(), absl::InternalError("create session: not attempted"));
  // The plans of the users whose plan applies, in one statement.
  std::map<std::string, absl::StatusOr<PlanUsage>> plans;
  std::string users;
  for (const NewSession& session : sessions) {
    if (session.enforce_plan &&
        plans.emplace(session.user_id, NoPlan(session.user_id)).second) {
      absl::StrAppend(&users, users.empty() ? "" : "\x1f", session.user_id);
    }
  }
  if (!users.empty()) {
    auto read =
        pool_->With("read plans", [&](pqxx::connection& conn) -> absl::Status {
          pqxx::nontransaction tx(conn);
          for (const auto& row : tx.exec_prepared("user_plans", users)) {
            const std::string user = row["uid"].c_str();
            plans.insert_or_assign(user, PlanFromRow(row, user));
          }
          return absl::OkStatus();
        });
    if (!read.ok()) {
      std::fill(out.begin(), out.end(), read);
      return out;
    }
  }
  // Counted plans serialise per user (CreateSession); lists cannot carry a
  // separator; the rest goes into one statement.
  std::vector<size_t> batch;
  for (size_t i = 0; i < sessions.size(); ++i) {
    const NewSession& session = sessions[i];
    if (session.enforce_plan) {
      const auto& plan = plans.at(session.user_id);
      if (!plan.ok()) {
        out[i] = plan.status();
        continue;
      }
      if (plan->limit.has_value() ||
          absl::StrContains(session.request_id, '\x1f')) {
        out[i] = CreateSession(session);
        continue;
      }
      if (auto status = CheckPlanAllows(*plan, session.session_type);
          !status.ok()) {
        out[i] = status;
        continue;
      }
    } else if (absl::StrContains(session.request_id, '\x1f')) {
      out[i] = CreateSession(session);
      continue;
    }
    batch.push_back(i);
  }
  if (batch.empty()) return out;

  std::vector<v1::SessionEvent> events;
  events.reserve(batch.size());
  std::string ids, users_of, businesses, types, request_ids, options, sources,
      histories;
  for (size_t i : batch) {
    const NewSession& session = sessions[i];
    const bool first = events.empty();
    const char* sep = first ? "" : "\x1f";
    events.push_back(session.created_event);
    events.back().set_session_id(NewSessionId());
    absl::StrAppend(&ids, sep, events.back().session_id());
    absl::StrAppend(&users_of, sep, session.user_id);
    absl::StrAppend(&businesses, sep, session.business_id);
    absl::StrAppend(&types, sep, SessionTypeName(session.session_type));
    absl::StrAppend(&request_ids, sep, session.request_id);
    absl::StrAppend(&options, sep, ToJson(session.options));
    absl::StrAppend(&sources, sep,
                    session.inline_history ? "inline" : "stored");
    absl::StrAppend(
        &histories, sep,
        session.inline_history ? ToJson(*session.inline_history) : "");
  }
  std::vector<const v1::SessionEvent*> event_ptrs;
  for (const auto& event : events) event_ptrs.push_back(&event);
  const EventColumns e(event_ptrs, "\x1f");
  auto inserted = pool_->With(
      "create sessions",
      [&](pqxx::connection& conn)
          -> absl::StatusOr<std::map<std::string, v1::Session>> {
        pqxx::nontransaction tx(conn);
        std::map<std::string, v1::Session> rows;
        for (const auto& row : tx.exec_prepared(
                 "insert_sessions_with_events", ids, users_of, businesses,
                 types, request_ids, options, sources, histories, e.sequences,
                 e.kinds, e.statuses, e.progress, e.stages, e.bytes)) {
          v1::Session session = RowToSession(row);
          std::string id = session.session_id();
          rows.emplace(std::move(id), std::move(session));
        }
        return rows;
      });
  for (size_t k = 0; k < batch.size(); ++k) {
    const size_t i = batch[k];
    if (!inserted.ok()) {
      out[i] = inserted.status();
      continue;
    }
    auto row = inserted->find(events[k].session_id());
    if (row != inserted->end()) {
      out[i] = CreatedSession{std::move(row->second), /*inserted=*/true};
      continue;
    }
    // Its request id was used before: the earlier session, if it asked
    // for the same thing.
    out[i] = pool_->With(
        "create session",
        [&](pqxx::connection& conn) -> absl::StatusOr<CreatedSession> {
          pqxx::nontransaction tx(conn);
          auto earlier = EarlierRequest(tx, sessions[i]);
          if (!earlier.ok()) return earlier.status();
          if (!earlier->has_value()) {
            return absl::AbortedError("create session: concurrent conflict");
          }
          return CreatedSession{std::move(**earlier), /*inserted=*/false};
        });
  }
  return out;
}

absl::StatusOr<QueueStats> PgSessionStore::ReadQueueStats() {
  return pool_->With("read queue statistics",
                     [&](pqxx::connection& conn) -> absl::StatusOr<QueueStats> {
                       pqxx::nontransaction tx(conn);
                       const pqxx::row row = tx.exec_prepared1("queue_stats");
                       QueueStats stats;
                       stats.pending = row[0].as<int64_t>();
                       stats.oldest_pending_age = absl::Microseconds(
                           std::max<int64_t>(0, row[1].as<int64_t>()));
                       return stats;
                     });
}

absl::StatusOr<v1::Session> PgSessionStore::GetSession(
    const std::string& session_id) {
  return pool_->With(
      "get session",
      [&](pqxx::connection& conn) -> absl::StatusOr<v1::Session> {
        // One statement: no BEGIN/COMMIT round trips.
        pqxx::nontransaction tx(conn);
        pqxx::result r = tx.exec_prepared("session_by_id", session_id);
        if (r.empty()) {
          return absl::NotFoundError(
              absl::StrCat("session '", session_id, "' does not exist"));
        }
        return RowToSession(r[0]);
      });
}

absl::StatusOr<PlanUsage> PgSessionStore::GetPlanUsage(
    const std::string& user_id) {
  return pool_->With(
      "read plan usage",
      [&](pqxx::connection& conn) -> absl::StatusOr<PlanUsage> {
        pqxx::nontransaction tx(conn);
        auto usage = ReadPlan(tx, user_id);
        if (!usage.ok()) return usage;
        usage->analyses_used = CountInPeriod(tx, "analyses_used", *usage,
                                             std::numeric_limits<int>::max());
        usage->analyses_metered = CountInPeriod(tx, "analyses_metered", *usage);
        return usage;
      });
}

absl::StatusOr<SessionPage> PgSessionStore::ListSessions(
    const SessionFilter& filter, int page_size,
    const std::optional<ListCursor>& after) {
  return pool_->With(
      "list sessions",
      [&](pqxx::connection& conn) -> absl::StatusOr<SessionPage> {
        // One statement: no BEGIN/COMMIT round trips.
        pqxx::nontransaction tx(conn);
        pqxx::result r = tx.exec_prepared(
            "list_sessions", std::string(SessionStatusName(filter.status)),
            std::string(SessionTypeName(filter.session_type)),
            filter.business_id, filter.user_id, after.has_value(),
            after ? absl::ToUnixMicros(after->create_time) : int64_t{0},
            after ? after->session_id : std::string(), page_size + 1,
            filter.owner_id);
        SessionPage page;
        for (int i = 0; i < static_cast<int>(r.size()) && i < page_size; ++i) {
          page.sessions.push_back(RowToSession(r[i]));
        }
        if (static_cast<int>(r.size()) > page_size && !page.sessions.empty()) {
          const auto& last = r[page_size - 1];
          page.next =
              ListCursor{absl::FromUnixMicros(last["created_us"].as<int64_t>()),
                         last["id"].c_str()};
        }
        return page;
      });
}

absl::StatusOr<ClaimedSession> PgSessionStore::ClaimSession(
    const std::string& session_id, const std::string& owner,
    absl::Duration lease, const v1::SessionEvent& running_event) {
  return pool_->With(
      "claim session",
      [&](pqxx::connection& conn) -> absl::StatusOr<ClaimedSession> {
        // One statement (it opens the attempt row too): no BEGIN/COMMIT.
        pqxx::nontransaction tx(conn);
        pqxx::result r = tx.exec_prepared("claim_session", session_id, owner,
                                          absl::ToInt64Milliseconds(lease));
        if (r.empty()) {
          return absl::NotFoundError(
              absl::StrCat("session '", session_id, "' is not pending"));
        }
        return Claimed(r[0], running_event);
      });
}

absl::StatusOr<std::vector<ClaimedSession>> PgSessionStore::ClaimPending(
    const std::string& owner, int limit, int per_user_cap, absl::Duration lease,
    const v1::SessionEvent& running_event) {
  return pool_->With("claim pending sessions",
                     [&](pqxx::connection& conn)
                         -> absl::StatusOr<std::vector<ClaimedSession>> {
                       pqxx::nontransaction tx(conn);
                       std::vector<ClaimedSession> claimed;
                       for (const auto& row : tx.exec_prepared(
                                "claim_pending", owner, limit, per_user_cap,
                                absl::ToInt64Milliseconds(lease))) {
                         claimed.push_back(Claimed(row, running_event));
                       }
                       return claimed;
                     });
}

absl::StatusOr<std::vector<std::string>> PgSessionStore::Heartbeat(
    const std::string& owner,
    const std::vector<std::pair<std::string, int>>& held,
    absl::Duration lease) {
  if (held.empty()) return std::vector<std::string>{};
  std::string ids, attempts;
  for (const auto& [id, attempt] : held) {
    absl::StrAppend(&ids, ids.empty() ? "" : ",", id);
    absl::StrAppend(&attempts, attempts.empty() ? "" : ",", attempt);
  }
  return pool_->With(
      "renew leases",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<std::string>> {
        pqxx::work tx(conn);
        std::set<std::string> renewed;
        for (const auto& row :
             tx.exec_prepared("heartbeat", owner, ids, attempts,
                              absl::ToInt64Milliseconds(lease))) {
          renewed.insert(row[0].c_str());
        }
        tx.commit();
        std::vector<std::string> lost;
        for (const auto& [id, attempt] : held) {
          if (!renewed.count(id)) lost.push_back(id);
        }
        return lost;
      });
}

absl::StatusOr<std::vector<v1::SessionEvent>> PgSessionStore::ReapExpired(
    const ReapPolicy& policy) {
  return pool_->With(
      "reap expired leases",
      [&](pqxx::connection& conn)
          -> absl::StatusOr<std::vector<v1::SessionEvent>> {
        thread_local std::mt19937_64 random(std::random_device{}());
        pqxx::work tx(conn);
        std::vector<v1::SessionEvent> events;
        for (const auto& row :
             tx.exec_prepared("expired_leases", policy.limit)) {
          const std::string id = row["id"].c_str();
          const int attempt = row["attempt"].as<int>();
          v1::SessionEvent event;
          event.set_session_id(id);
          event.set_progress_percentage(row["progress_percentage"].as<int>());
          *event.mutable_event_time() = ToProtoTime(absl::Now());
          const std::string owner = row["lease_owner"].c_str();
          pqxx::result updated;
          if (row["cancel_requested"].as<bool>() ||
              attempt >= policy.max_attempts) {
            const bool cancel = row["cancel_requested"].as<bool>();
            const absl::Status error =
                cancel
                    ? absl::CancelledError("session was cancelled")
                    : absl::UnavailableError(absl::StrCat(
                          "the session's worker stopped responding ", attempt,
                          " times (last: ", owner, "); gave up after ",
                          policy.max_attempts, " attempts"));
            const v1::SessionStatus status = cancel
                                                 ? v1::SESSION_STATUS_CANCELLED
                                                 : v1::SESSION_STATUS_FAILED;
            updated = tx.exec_prepared("end_expired", id, attempt,
                                       std::string(SessionStatusName(status)),
                                       static_cast<int>(error.code()),
                                       std::string(error.message()),
                                       kMaxUnpersistedEvents);
            event.set_status(status);
            event.set_stage(std::string(SessionStatusName(status)));
            *event.mutable_error() = ToRpcStatus(error);
          } else {
            // Capped exponential backoff with full jitter.
            const absl::Duration cap = std::min(
                policy.backoff_cap,
                policy.backoff_base * (1 << std::min(attempt - 1, 20)));
            std::uniform_int_distribution<int64_t> jitter(
                0, absl::ToInt64Milliseconds(cap));
            updated = tx.exec_prepared("requeue_expired", id, attempt,
                                       jitter(random), kMaxUnpersistedEvents);
            event.set_status(v1::SESSION_STATUS_PENDING);
            event.set_stage("requeued");
          }
          if (updated.empty()) continue;  // lost a race: someone finished it
          event.set_sequence(updated[0][0].as<int64_t>());
          InsertEvent(tx, event);
          tx.exec_prepared("close_attempt", id, attempt, "expired");
          events.push_back(std::move(event));
        }
        tx.commit();
        return events;
      });
}

absl::StatusOr<CancelOutcome> PgSessionStore::RequestCancel(
    const std::string& session_id, const std::string& reason,
    const v1::SessionEvent& cancelled_event) {
  return pool_->With(
      "cancel session",
      [&](pqxx::connection& conn) -> absl::StatusOr<CancelOutcome> {
        pqxx::work tx(conn);
        pqxx::result r = tx.exec_prepared("session_for_update", session_id);
        if (r.empty()) {
          return absl::NotFoundError(
              absl::StrCat("session '", session_id, "' does not exist"));
        }
        v1::Session current = RowToSession(r[0]);
        CancelOutcome outcome;
        if (IsTerminal(current.status())) {
          return absl::FailedPreconditionError(
              absl::StrCat("session '", session_id, "' already finished (",
                           SessionStatusName(current.status()), ")"));
        }
        if (current.status() == v1::SESSION_STATUS_PENDING) {
          pqxx::row updated =
              tx.exec_prepared1("cancel_pending", session_id, reason);
          v1::SessionEvent event = cancelled_event;
          event.set_session_id(session_id);
          event.set_sequence(updated[0].as<int64_t>());
          event.set_progress_percentage(current.progress_percentage());
          InsertEvent(tx, event);
          outcome.cancelled_event = std::move(event);
        } else {
          tx.exec_prepared("cancel_running", session_id);
        }
        outcome.session =
            RowToSession(tx.exec_prepared1("session_by_id", session_id));
        tx.commit();
        return outcome;
      });
}

absl::Status PgSessionStore::ReleaseSession(const std::string& session_id,
                                            int attempt,
                                            absl::Duration retry_after) {
  return pool_->With("release session", [&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    auto r = tx.exec_prepared("release_session", session_id, attempt,
                              absl::ToInt64Milliseconds(retry_after));
    if (r.affected_rows() == 0) return StaleAttempt(session_id);
    tx.exec_prepared("close_attempt", session_id, attempt, "released");
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<bool> PgSessionStore::RecordProgress(
    const ProgressUpdate& update) {
  return pool_->With(
      "record progress", [&](pqxx::connection& conn) -> absl::StatusOr<bool> {
        pqxx::work tx(conn);
        const std::string streaming =
            update.streaming_data_json.value_or(std::string());
        auto r = tx.exec_prepared("record_progress", update.session_id,
                                  update.attempt, update.progress_percentage,
                                  update.stage, update.last_sequence,
                                  NullIfEmpty(streaming));
        if (r.empty()) return StaleAttempt(update.session_id);
        std::vector<const v1::SessionEvent*> events;
        for (const auto& event : update.events) events.push_back(&event);
        InsertEvents(tx, events);
        tx.commit();
        return r[0][0].as<bool>();
      });
}

absl::Status PgSessionStore::CompleteSession(const Completion& completion) {
  std::vector<const v1::SessionEvent*> events;
  for (const auto& event : completion.events) events.push_back(&event);
  events.push_back(&completion.final_event);
  const EventColumns e(events);
  const WriteBackColumns w(completion);
  return pool_->With("complete session", [&](pqxx::connection& conn) {
    // One statement: atomic without BEGIN/COMMIT round trips.
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared(
        "complete_session", completion.session_id, completion.attempt,
        ToJson(completion.result), completion.result.confidence_score(),
        completion.processing_time_ms, completion.final_event.sequence(),
        completion.streaming_data_json.empty() ? std::string("[]")
                                               : completion.streaming_data_json,
        e.sequences, e.kinds, e.statuses, e.progress, e.stages, e.bytes,
        w.health, w.forecast_values, w.forecast_lower, w.forecast_upper,
        w.model_used);
    if (r.empty()) return StaleAttempt(completion.session_id);
    return absl::OkStatus();
  });
}

absl::Status PgSessionStore::FinishUnsuccessfully(const Failure& failure) {
  return pool_->With("finish session", [&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    auto r = tx.exec_prepared(
        "finish_session", failure.session_id, failure.attempt,
        std::string(SessionStatusName(failure.status)),
        static_cast<int>(failure.error.code()),
        std::string(failure.error.message()), failure.processing_time_ms,
        failure.final_event.sequence());
    if (r.empty()) return StaleAttempt(failure.session_id);
    std::vector<const v1::SessionEvent*> events;
    for (const auto& event : failure.events) events.push_back(&event);
    events.push_back(&failure.final_event);
    InsertEvents(tx, events);
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> PgSessionStore::PruneEvents(absl::Duration older_than,
                                                    int limit) {
  return pool_->With("prune old session events",
                     [&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
                       pqxx::work tx(conn);
                       pqxx::result r = tx.exec_prepared(
                           "prune_events",
                           absl::ToInt64Milliseconds(older_than), limit);
                       tx.commit();
                       return static_cast<int64_t>(r.affected_rows());
                     });
}

absl::StatusOr<std::vector<v1::SessionEvent>> PgSessionStore::ListEvents(
    const std::string& session_id, int64_t after_sequence) {
  return ListEventsAfter({{session_id, after_sequence}});
}

absl::StatusOr<std::vector<v1::SessionEvent>> PgSessionStore::ListEventsAfter(
    const std::vector<std::pair<std::string, int64_t>>& cursors) {
  if (cursors.empty()) return std::vector<v1::SessionEvent>{};
  std::string ids, afters;
  for (const auto& [id, after] : cursors) {
    absl::StrAppend(&ids, ids.empty() ? "" : ",", id);
    absl::StrAppend(&afters, afters.empty() ? "" : ",", after);
  }
  return pool_->With(
      "list session events",
      [&](pqxx::connection& conn)
          -> absl::StatusOr<std::vector<v1::SessionEvent>> {
        // One statement: no BEGIN/COMMIT round trips.
        pqxx::nontransaction tx(conn);
        std::vector<v1::SessionEvent> events;
        for (const auto& row :
             tx.exec_prepared("list_events_after", ids, afters)) {
          std::string bytes;
          v1::SessionEvent event;
          if (!absl::Base64Unescape(row[0].c_str(), &bytes) ||
              !event.ParseFromString(bytes)) {
            return absl::DataLossError("a session has an unreadable event");
          }
          events.push_back(std::move(event));
        }
        return events;
      });
}

}  // namespace goodbuy::store::pg
