#include "server/store/pg/pg_pool.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/metrics/metrics.h"
#include "server/store/request_deadline.h"

namespace goodbuy::store::pg {

PgPool::PgPool(PgPoolOptions options) : options_(std::move(options)) {}

void PgPool::Prepare(std::string name, std::string sql) {
  std::lock_guard<std::mutex> lock(mu_);
  statements_[std::move(name)] = std::move(sql);
  idle_.clear();  // reopened with every statement prepared
}

absl::Status PgPool::CheckConnection() {
  // Start-up only: the operator sees libpq's reason (first line), e.g.
  // "Connection refused"; API callers never get this text.
  try {
    pqxx::connection conn(options_.url);
    Setup(conn);
    return absl::OkStatus();
  } catch (const pqxx::broken_connection& e) {
    std::string reason = e.what();
    reason = reason.substr(0, reason.find('\n'));
    if (auto colon = reason.rfind(": "); colon != std::string::npos) {
      reason = reason.substr(colon + 2);
    }
    return absl::UnavailableError(reason);
  } catch (...) {
    return CurrentExceptionToStatus("connect to the database");
  }
}

absl::StatusOr<PgPool::ConnectionBudget> PgPool::ReadConnectionBudget() {
  return With("read the connection limit",
              [](pqxx::connection& conn) -> absl::StatusOr<ConnectionBudget> {
                pqxx::nontransaction tx(conn);
                const pqxx::row row = tx.exec1(
                    "SELECT current_setting('max_connections')::int, "
                    "current_setting('superuser_reserved_connections')::int, "
                    "(SELECT count(*) FROM pg_stat_activity WHERE "
                    "backend_type = 'client backend')::int");
                ConnectionBudget budget;
                budget.max_connections = row[0].as<int>();
                budget.reserved = row[1].as<int>();
                // This pool's own connection is one of them, and is reused.
                budget.in_use = row[2].as<int>() - 1;
                return budget;
              });
}

void PgPool::Setup(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  // No bitmap scans: the claim's scans of the queue (pending and running
  // sessions) must be plain index scans, which mark the entries of row
  // versions dead to everyone as killed so the next claim skips them. A
  // bitmap scan cannot, and visits every version the sessions since the
  // last vacuum left behind: at 250 sessions/s a claim then took 6.7 ms
  // instead of 0.8 (docs/benchmarks.md). Every statement here is an
  // indexed lookup, for which a bitmap scan is no better.
  tx.exec(absl::StrCat(
      "SET TIME ZONE 'UTC'; SET enable_bitmapscan = off; "
      "SET statement_timeout = ",
      absl::ToInt64Milliseconds(options_.statement_timeout),
      "; SET application_name = ", tx.quote(options_.application_name),
      options_.role.empty() ? "" : "; SET ROLE ",
      options_.role.empty() ? "" : tx.quote_name(options_.role)));
  tx.commit();
  std::map<std::string, std::string> statements;
  {
    std::lock_guard<std::mutex> lock(mu_);
    statements = statements_;
  }
  for (const auto& [name, sql] : statements) conn.prepare(name, sql);
  // Session-level (not SET LOCAL): it holds for every statement of the unit
  // of work the connection is lent for, and ApplyScope replaces it before
  // the next one.
  conn.prepare("goodbuy_set_scope",
               "SELECT set_config('goodbuy.scope', $1, false), "
               "set_config('goodbuy.user_id', $2, false)");
}

absl::StatusOr<PgPool::Lease> PgPool::Acquire(const char* what) {
  static metrics::Histogram& waits =
      metrics::Default()
          .AddHistogram("goodbuy_db_pool_wait_seconds",
                        "Time a database call waited for a pooled connection.",
                        {}, metrics::LatencyBuckets())
          .With({});
  Lease lease;
  {
    const absl::Time start = absl::Now();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !idle_.empty() || lent_ < options_.size; });
    waits.Observe(absl::Now() - start);
    if (!idle_.empty()) {
      lease = std::move(idle_.back());
      idle_.pop_back();
    }
    ++lent_;
  }
  if (lease.conn && lease.conn->is_open()) return lease;
  try {
    lease.scope.reset();
    lease.conn = std::make_unique<pqxx::connection>(options_.url);
    Setup(*lease.conn);
    return lease;
  } catch (...) {
    Release(Lease{}, /*broken=*/true);
    return CurrentExceptionToStatus(what);
  }
}

void PgPool::Release(Lease lease, bool broken) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --lent_;
    if (!broken && lease.conn) idle_.push_back(std::move(lease));
  }
  cv_.notify_one();
}

std::optional<absl::Duration> PgPool::RequestTimeout() const {
  const absl::Time deadline = CurrentRequestDeadline();
  if (deadline == absl::InfiniteFuture()) return std::nullopt;
  const absl::Duration left = deadline - absl::Now();
  if (left >= options_.statement_timeout) return std::nullopt;
  // At least 1 ms: 0 would mean "no timeout" to PostgreSQL.
  return left <= absl::ZeroDuration() ? left
                                      : std::max(left, absl::Milliseconds(1));
}

void PgPool::ApplyScope(Lease& lease) {
  const TenantScope& scope = CurrentTenantScope();
  // No round trip when the connection already sees the right rows (jobs as
  // `system` and calls by an admin or a service share connections as is).
  if (lease.scope.has_value() && lease.scope->SeesSameRowsAs(scope)) return;
  lease.scope.reset();  // unknown until the statement succeeds
  pqxx::nontransaction tx(*lease.conn);
  tx.exec_prepared("goodbuy_set_scope", std::string(scope.Name()),
                   scope.user_id);
  lease.scope = scope;
}

void PgPool::SetTimeout(pqxx::connection& conn, absl::Duration timeout) {
  pqxx::nontransaction tx(conn);
  tx.exec(absl::StrCat("SET statement_timeout = ",
                       absl::ToInt64Milliseconds(timeout)));
}

absl::Status PgPool::DeadlinePassed(const char* what) {
  return absl::DeadlineExceededError(
      absl::StrCat(what, ": the request's deadline passed"));
}

}  // namespace goodbuy::store::pg
