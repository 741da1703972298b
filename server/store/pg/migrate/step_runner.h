// Runs a parsed SQL file step by step without stalling application traffic:
// each transactional step runs in one transaction under a short
// lock_timeout, and is retried as a whole (capped exponential backoff with
// jitter) when it could not get its locks in time or hit a deadlock, so DDL
// never queues in front of application queries for longer than the timeout.
// A CREATE INDEX CONCURRENTLY step first drops an INVALID index of the same
// name (left by an interrupted build), and after a failed build drops the
// INVALID index it left, so a retry can rebuild it.
#ifndef GOODBUY_SERVER_STORE_PG_MIGRATE_STEP_RUNNER_H_
#define GOODBUY_SERVER_STORE_PG_MIGRATE_STEP_RUNNER_H_

#include <functional>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/store/pg/migrate/catalog.h"

namespace goodbuy::store::pg::migrate {

using LogFn = std::function<void(const std::string&)>;

struct StepOptions {
  absl::Duration lock_timeout = absl::Milliseconds(500);
  int lock_retries = 20;  // attempts after the first, per step
  absl::Duration max_backoff = absl::Seconds(5);
};

struct ScriptStats {
  int steps = 0;
  int retries = 0;
};

// FAILED_PRECONDITION naming the step, its statement's line and summary, and
// PostgreSQL's message when a statement fails or a step runs out of retries.
// UNAVAILABLE when the connection is lost. Steps before the failing one
// stay committed (the caller rolls back with the down file).
absl::Status RunScript(pqxx::connection& conn, const Script& script,
                       const StepOptions& options, const LogFn& log,
                       ScriptStats* stats = nullptr);

}  // namespace goodbuy::store::pg::migrate

#endif  // GOODBUY_SERVER_STORE_PG_MIGRATE_STEP_RUNNER_H_
