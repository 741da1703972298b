// A fixed set of PostgreSQL connections, one in use per thread at a time.
//
// A libpqxx connection is not thread-safe, so With() lends one connection
// exclusively to the calling thread for the duration of `fn` (waiting if all
// are lent — size the pool to the DB executor's threads and it never waits).
// Connections are opened lazily, set to UTC, a statement timeout and an
// application name, switched to `role` (SET ROLE, so row-level security
// applies even when the login user owns the tables), have the registered
// statements prepared, and are reopened after they break.
//
// Tenant scope: before `fn` runs, the connection's `goodbuy.scope` and
// `goodbuy.user_id` settings are made those of the thread's TenantScope
// (tenant_scope.h), which the row-level security policies read. A
// connection remembers what it was last set to, so work for the same
// tenant (all background work, a run of one caller's requests) costs no
// extra round trip. Exceptions thrown by `fn` become absl::Status
// through CurrentExceptionToStatus; a broken connection is UNAVAILABLE.
#ifndef GOODBUY_SERVER_STORE_PG_PG_POOL_H_
#define GOODBUY_SERVER_STORE_PG_PG_POOL_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/pg/pg_errors.h"
#include "server/store/tenant_scope.h"

namespace goodbuy::store::pg {

struct PgPoolOptions {
  std::string url;
  int size = 4;
  absl::Duration statement_timeout = absl::Seconds(30);
  std::string application_name = "analysis-server";
  // SET ROLE on every connection; empty: stay the login user (migrations,
  // tools, and tests of the store alone).
  std::string role;
};

class PgPool {
 public:
  explicit PgPool(PgPoolOptions options);
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Registers a statement prepared on every connection (call before use).
  void Prepare(std::string name, std::string sql);
  // Opens one connection now: a clear error at start-up beats one per call.
  // UNAVAILABLE carries libpq's reason (for the operator's terminal only).
  absl::Status CheckConnection();

  // How many more connections PostgreSQL accepts now: max_connections, less
  // the superuser reserve, less those open (every client's).
  struct ConnectionBudget {
    int max_connections = 0;
    int reserved = 0;
    int in_use = 0;
    int available() const { return max_connections - reserved - in_use; }
  };
  absl::StatusOr<ConnectionBudget> ReadConnectionBudget();

  // Runs fn(pqxx::connection&) -> absl::Status or absl::StatusOr<T>.
  // Under a request deadline (request_deadline.h) the connection's
  // statement_timeout is lowered to the time left for the duration of `fn`,
  // and a deadline already passed is DEADLINE_EXCEEDED without a query.
  template <typename Fn>
  auto With(const char* what, Fn&& fn)
      -> decltype(fn(std::declval<pqxx::connection&>())) {
    const std::optional<absl::Duration> timeout = RequestTimeout();
    if (timeout.has_value() && *timeout <= absl::ZeroDuration()) {
      return DeadlinePassed(what);
    }
    auto lease = Acquire(what);
    if (!lease.ok()) return lease.status();
    try {
      ApplyScope(*lease);
      if (timeout.has_value()) SetTimeout(*lease->conn, *timeout);
      auto result = fn(*lease->conn);
      if (timeout.has_value()) SetTimeout(*lease->conn, Default());
      Release(std::move(*lease), /*broken=*/false);
      return result;
    } catch (...) {
      bool broken = !lease->conn->is_open();
      if (timeout.has_value() && !broken) {
        try {
          SetTimeout(*lease->conn, Default());
        } catch (...) {
          broken = true;
        }
      }
      Release(std::move(*lease), broken);
      return CurrentExceptionToStatus(what);
    }
  }

  const PgPoolOptions& options() const { return options_; }

 private:
  struct Lease {
    std::unique_ptr<pqxx::connection> conn;
    // What goodbuy.scope / goodbuy.user_id were last set to on it.
    std::optional<TenantScope> scope;
  };
  // Sets the connection's tenant settings to the thread's scope.
  static void ApplyScope(Lease& lease);
  absl::StatusOr<Lease> Acquire(const char* what);
  // Time left before the thread's request deadline, if it has one shorter
  // than the default statement timeout.
  std::optional<absl::Duration> RequestTimeout() const;
  absl::Duration Default() const { return options_.statement_timeout; }
  static void SetTimeout(pqxx::connection& conn, absl::Duration timeout);
  static absl::Status DeadlinePassed(const char* what);
  void Release(Lease lease, bool broken);
  void Setup(pqxx::connection& conn);

  const PgPoolOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Lease> idle_ ABSL_GUARDED_BY(mu_);
  int lent_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::string> statements_ ABSL_GUARDED_BY(mu_);
};

}  // namespace goodbuy::store::pg

#endif  // GOODBUY_SERVER_STORE_PG_PG_POOL_H_
