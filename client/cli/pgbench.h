// The `analysisctl bench --vs_pgbench` baseline: pgbench running the naive
// SQL of one session lifecycle (insert pending, claim with FOR UPDATE SKIP
// LOCKED, one progress update, complete; each statement autocommit) on the
// same database, so the orchestrator's sessions/s can be read against what
// PostgreSQL alone does with the same row writes. The rows pgbench writes
// have run_after = 'infinity' and lease_expires_at = 'infinity', so that a
// running server neither claims them nor reaps them, and a request_id
// "pgbench-RUNTAG-..." by which the claim picks them and the clean-up
// deletes them.
//
// The script, argv and output parsing are pure functions (unit-tested);
// RunPgbenchComparison() writes the script to a temporary file, runs pgbench
// and then psql for the clean-up as child processes, and blocks until both
// exit. Errors: NOT_FOUND when pgbench or psql is not installed (the message
// names the Debian package), INTERNAL when pgbench fails or prints no tps
// (the message carries its output), FAILED_PRECONDITION when the clean-up
// fails.
#ifndef GOODBUY_CLIENT_CLI_PGBENCH_H_
#define GOODBUY_CLIENT_CLI_PGBENCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "goodbuy/analysis/v1/analysis_service.pb.h"

namespace goodbuy::client::cli {

// pgbench's own location on Debian when no pgbench is on PATH.
inline constexpr char kPostgresBinDir[] = "/usr/lib/postgresql/15/bin";

struct PgbenchParams {
  std::string pgbench;  // path of the pgbench binary
  std::string psql;     // path of psql, for the clean-up
  std::string database_url;
  // As stored in ai_analysis_sessions: the owner the server billed our
  // sessions to, the business, and the type's stored name
  // ("health_analysis", "valuation", "forecast").
  std::string user_id;
  std::string business_id;
  std::string session_type;
  int clients = 1;
  int threads = 2;
  int transactions_per_client = 1;
  // Hex only (it is spliced into the clean-up SQL); marks this run's rows.
  std::string run_tag;
  std::string script_path;
};

// The session_type column's spelling of `type`: "health_analysis",
// "valuation", "forecast"; "" for UNSPECIFIED.
std::string StoredSessionTypeName(analysis::v1::SessionType type);

// The pgbench custom script: one transaction = one session lifecycle. It
// reads the variables user_id, business_id, session_type and run_tag (-D).
std::string PgbenchScript();

// argv of the pgbench run: -n -M prepared -c -j -t -f, the -D variables and
// the database URL last.
std::vector<std::string> PgbenchArgv(const PgbenchParams& params);

// Claim attempts per transaction before the script gives the session up.
inline constexpr int kClaimAttempts = 3;

// The DELETE that removes this run's rows (and, by ON DELETE CASCADE, any
// event or attempt rows, though the script writes none); it answers
// "deleted|not_completed" (psql -A -t).
std::string PgbenchCleanupSql(absl::string_view run_tag);

struct PgbenchCleanup {
  int64_t deleted = 0;
  // Rows whose every claim attempt came back empty: still pending.
  int64_t not_completed = 0;
};

// Parses psql's "deleted|not_completed". INVALID_ARGUMENT otherwise.
absl::StatusOr<PgbenchCleanup> ParseCleanupOutput(absl::string_view output);

struct PgbenchOutput {
  double tps = 0;         // "tps = X (without initial connection time)"
  int64_t processed = 0;  // "... actually processed: P/T"
  int64_t planned = 0;    // T
  int64_t failed = 0;     // "number of failed transactions: F"
};

// Parses pgbench 15's report. INVALID_ARGUMENT when it has no tps line or
// no "actually processed" line.
absl::StatusOr<PgbenchOutput> ParsePgbenchOutput(absl::string_view output);

// `name` on PATH, else in kPostgresBinDir. NOT_FOUND (naming the package to
// install) otherwise.
absl::StatusOr<std::string> FindPostgresTool(absl::string_view name);

// The Debian bookworm package that installs PostgreSQL tool `name`.
std::string PostgresToolPackage(absl::string_view name);

// argv as a shell command line, each argument quoted when needed, with the
// password of a postgresql:// URL or a password=... keyword replaced by ***.
std::string CommandLineForDisplay(const std::vector<std::string>& argv);

// A connection URL or keyword/value string with its password as ***.
std::string RedactPassword(absl::string_view database_url);

struct ProcessOutput {
  int exit_code = 0;   // -1 when killed by a signal
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (a path) with the rest as arguments, no shell, and collects
// its output. INTERNAL when it cannot be started.
absl::StatusOr<ProcessOutput> RunProcess(const std::vector<std::string>& argv);

struct PgbenchReport {
  std::string command_line;  // for display (password redacted)
  PgbenchOutput output;
  std::string raw_output;
  PgbenchCleanup cleanup;
};

// Writes the script (params.script_path is ignored and chosen here), runs
// pgbench, then deletes the run's rows whatever pgbench did.
absl::StatusOr<PgbenchReport> RunPgbenchComparison(PgbenchParams params);

}  // namespace goodbuy::client::cli

#endif  // GOODBUY_CLIENT_CLI_PGBENCH_H_
