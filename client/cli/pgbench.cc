#include "client/cli/pgbench.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace goodbuy::client::cli {
namespace {

// The value after `prefix` on the first line that starts with it.
std::optional<absl::string_view> LineValue(absl::string_view text,
                                           absl::string_view prefix) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, prefix)) {
      return absl::StripAsciiWhitespace(line);
    }
  }
  return std::nullopt;
}

// strerror() may share a buffer between threads; this does not.
std::string ErrorText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

bool IsExecutable(const std::string& path) {
  return access(path.c_str(), X_OK) == 0;
}

bool NeedsQuoting(absl::string_view arg) {
  if (arg.empty()) return true;
  for (char c : arg) {
    if (!absl::ascii_isalnum(c) && !absl::StrContains("-_./:=@,%+", c)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string StoredSessionTypeName(analysis::v1::SessionType type) {
  switch (type) {
    case analysis::v1::SESSION_TYPE_HEALTH_ANALYSIS:
      return "health_analysis";
    case analysis::v1::SESSION_TYPE_VALUATION:
      return "valuation";
    case analysis::v1::SESSION_TYPE_FORECAST:
      return "forecast";
    default:
      return "";
  }
}

std::string PgbenchScript() {
  // One transaction of the script = one session, statement by statement in
  // autocommit, the way a naive orchestrator without batching would write
  // them. The claim takes the oldest pending row of this run, not
  // necessarily the one this client inserted, exactly like a worker pool.
  // It can come back empty: its snapshot predates rows other clients
  // inserted since, while every row it does see is taken by a concurrent
  // claim. A worker would poll again; the script does too (up to
  // kClaimAttempts), since \gset would abort the client on zero rows and
  // \aset simply leaves :claimed at 0. Should every attempt come back empty,
  // :claimed_id is still the '' the INSERT set (not the previous
  // transaction's id), the updates touch nothing and the row stays pending,
  // which the clean-up counts.
  const std::string claim =
      R"(UPDATE ai_analysis_sessions SET status = 'running', attempt = attempt + 1,
    lease_owner = 'pgbench-' || :client_id::text, lease_expires_at = 'infinity',
    started_at = coalesce(started_at, now()), updated_at = now(),
    stage = 'started', last_sequence = last_sequence + 1
  WHERE id = (SELECT id FROM ai_analysis_sessions
              WHERE status = 'pending' AND run_after = 'infinity'
                AND request_id LIKE 'pgbench-' || :run_tag::text || '-%'
              ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id AS claimed_id, 1 AS claimed \aset
)";
  std::string script =
      R"(-- analysisctl bench --vs_pgbench: one session lifecycle per transaction.
\set rid random(1, 1000000000000000)
INSERT INTO ai_analysis_sessions (user_id, business_id, session_type, status,
    progress_percentage, request_id, options, stage, last_sequence,
    history_source, run_after, created_at, updated_at)
  VALUES (:user_id, :business_id, :session_type, 'pending', 0,
    'pgbench-' || :run_tag::text || '-' || :client_id::text || '-' || :rid::text,
    '{}', 'queued', 1, 'stored', 'infinity', now(), now())
  RETURNING ''::text AS claimed_id \gset
\set claimed 0
)";
  absl::StrAppend(&script, claim);
  for (int attempt = 1; attempt < kClaimAttempts; ++attempt) {
    absl::StrAppend(&script, "\\if :claimed = 0\n", claim, "\\endif\n");
  }
  absl::StrAppend(
      &script,
      R"(UPDATE ai_analysis_sessions SET progress_percentage = 50, stage = 'halfway',
    last_sequence = last_sequence + 1, updated_at = now()
  WHERE id = :claimed_id;
UPDATE ai_analysis_sessions SET status = 'completed', progress_percentage = 100,
    stage = 'completed', results = '{}', completed_at = now(), updated_at = now(),
    last_sequence = last_sequence + 1, lease_owner = NULL, lease_expires_at = NULL
  WHERE id = :claimed_id;
)");
  return script;
}

std::vector<std::string> PgbenchArgv(const PgbenchParams& params) {
  return {params.pgbench,
          "-n",
          "-M",
          "prepared",
          "-c",
          absl::StrCat(params.clients),
          "-j",
          absl::StrCat(params.threads),
          "-t",
          absl::StrCat(params.transactions_per_client),
          "-f",
          params.script_path,
          "-D",
          absl::StrCat("user_id=", params.user_id),
          "-D",
          absl::StrCat("business_id=", params.business_id),
          "-D",
          absl::StrCat("session_type=", params.session_type),
          "-D",
          absl::StrCat("run_tag=", params.run_tag),
          params.database_url};
}

std::string PgbenchCleanupSql(absl::string_view run_tag) {
  return absl::StrCat(
      "WITH deleted AS (DELETE FROM ai_analysis_sessions WHERE run_after = "
      "'infinity' AND request_id LIKE 'pgbench-",
      run_tag,
      "-%' RETURNING status) SELECT count(*), count(*) FILTER (WHERE status "
      "<> 'completed') FROM deleted");
}

absl::StatusOr<PgbenchCleanup> ParseCleanupOutput(absl::string_view output) {
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(output), '|');
  PgbenchCleanup cleanup;
  if (fields.size() != 2 || !absl::SimpleAtoi(fields[0], &cleanup.deleted) ||
      !absl::SimpleAtoi(fields[1], &cleanup.not_completed)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected clean-up answer: ", output));
  }
  return cleanup;
}

absl::StatusOr<PgbenchOutput> ParsePgbenchOutput(absl::string_view output) {
  PgbenchOutput parsed;
  std::optional<absl::string_view> tps = LineValue(output, "tps =");
  if (!tps ||
      !absl::ConsumeSuffix(&*tps, "(without initial connection time)")) {
    return absl::InvalidArgumentError(
        "pgbench printed no \"tps = X (without initial connection time)\"");
  }
  if (!absl::SimpleAtod(absl::StripAsciiWhitespace(*tps), &parsed.tps)) {
    return absl::InvalidArgumentError(
        absl::StrCat("pgbench tps is not a number: ", *tps));
  }
  std::optional<absl::string_view> processed =
      LineValue(output, "number of transactions actually processed:");
  std::vector<absl::string_view> counts;
  if (processed) counts = absl::StrSplit(*processed, '/');
  if (counts.size() != 2 || !absl::SimpleAtoi(counts[0], &parsed.processed) ||
      !absl::SimpleAtoi(counts[1], &parsed.planned)) {
    return absl::InvalidArgumentError(
        "pgbench printed no \"number of transactions actually processed: "
        "P/T\"");
  }
  // "number of failed transactions: 0 (0.000%)"; absent before pgbench 15.
  std::optional<absl::string_view> failed =
      LineValue(output, "number of failed transactions:");
  if (failed) {
    const absl::string_view count = failed->substr(0, failed->find(' '));
    if (!absl::SimpleAtoi(count, &parsed.failed)) parsed.failed = 0;
  }
  return parsed;
}

absl::StatusOr<std::string> FindPostgresTool(absl::string_view name) {
  const char* path = std::getenv("PATH");
  if (path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      std::string candidate = absl::StrCat(dir, "/", name);
      if (IsExecutable(candidate)) return candidate;
    }
  }
  std::string candidate = absl::StrCat(kPostgresBinDir, "/", name);
  if (IsExecutable(candidate)) return candidate;
  return absl::NotFoundError(absl::StrCat(
      name, " not found on PATH or in ", kPostgresBinDir,
      "; install it with: apt-get install ", PostgresToolPackage(name)));
}

std::string PostgresToolPackage(absl::string_view name) {
  // Debian bookworm ships pgbench with the server (postgresql-15), psql
  // with the client package that the server package pulls in.
  return name == "pgbench" ? "postgresql-15" : "postgresql-client-15";
}

std::string RedactPassword(absl::string_view database_url) {
  std::string url(database_url);
  // postgresql://user:secret@host/db
  const size_t scheme = url.find("://");
  if (scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t at = url.find('@', start);
    const size_t slash = url.find('/', start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const size_t colon = url.find(':', start);
      if (colon != std::string::npos && colon < at) {
        url.replace(colon + 1, at - colon - 1, "***");
      }
    }
  }
  // host=... password=secret dbname=...; also ?password=secret in a URL.
  constexpr char kKey[] = "password=";
  size_t pos = 0;
  while ((pos = url.find(kKey, pos)) != std::string::npos) {
    const size_t value = pos + sizeof(kKey) - 1;
    size_t end = url.find_first_of(" &", value);
    if (end == std::string::npos) end = url.size();
    url.replace(value, end - value, "***");
    pos = value + 3;
  }
  return url;
}

std::string CommandLineForDisplay(const std::vector<std::string>& argv) {
  std::vector<std::string> words;
  words.reserve(argv.size());
  for (const std::string& arg : argv) {
    std::string shown =
        absl::StrContains(arg, "://") || absl::StrContains(arg, "password=")
            ? RedactPassword(arg)
            : arg;
    if (NeedsQuoting(shown)) {
      std::string quoted = "'";
      for (char c : shown) {
        if (c == '\'') {
          quoted += "'\\''";
        } else {
          quoted += c;
        }
      }
      quoted += "'";
      shown = std::move(quoted);
    }
    words.push_back(std::move(shown));
  }
  return absl::StrJoin(words, " ");
}

absl::StatusOr<ProcessOutput> RunProcess(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", ErrorText(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  // analysisctl blocks SIGINT in every thread for its signal thread; the
  // child gets a clean mask so that Ctrl-C reaches it too.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) {
    // posix_spawn's argv is char* const[] for C's sake; it does not write.
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    return absl::InternalError(
        absl::StrCat("cannot run ", argv[0], ": ", ErrorText(spawned)));
  }
  ProcessOutput result;
  char buffer[4096];
  while (true) {
    const ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n > 0) {
      result.output.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

absl::StatusOr<PgbenchReport> RunPgbenchComparison(PgbenchParams params) {
  char script_path[] = "/tmp/analysisctl-pgbench-XXXXXX";
  const int fd = mkstemp(script_path);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create the pgbench script: ", ErrorText(errno)));
  }
  const std::string script = PgbenchScript();
  const bool written = write(fd, script.data(), script.size()) ==
                       static_cast<ssize_t>(script.size());
  close(fd);
  params.script_path = script_path;
  if (!written) {
    unlink(script_path);
    return absl::InternalError("cannot write the pgbench script");
  }

  PgbenchReport report;
  const std::vector<std::string> argv = PgbenchArgv(params);
  report.command_line = CommandLineForDisplay(argv);
  absl::StatusOr<ProcessOutput> run = RunProcess(argv);
  unlink(script_path);

  // Clean up whatever pgbench managed to write, even when it failed.
  absl::StatusOr<ProcessOutput> cleanup =
      RunProcess({params.psql, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c",
                  PgbenchCleanupSql(params.run_tag), params.database_url});

  if (!run.ok()) return run.status();
  report.raw_output = run->output;
  if (run->exit_code != 0) {
    return absl::InternalError(absl::StrCat(
        "pgbench exited with ", run->exit_code, ":\n", run->output));
  }
  absl::StatusOr<PgbenchOutput> parsed = ParsePgbenchOutput(run->output);
  if (!parsed.ok()) {
    return absl::InternalError(
        absl::StrCat(parsed.status().message(), ":\n", run->output));
  }
  report.output = *parsed;

  if (!cleanup.ok()) return cleanup.status();
  if (cleanup->exit_code != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the clean-up of the pgbench rows failed (run by hand: psql ",
        RedactPassword(params.database_url), " -c \"",
        PgbenchCleanupSql(params.run_tag), "\"):\n", cleanup->output));
  }
  absl::StatusOr<PgbenchCleanup> counts = ParseCleanupOutput(cleanup->output);
  if (!counts.ok()) {
    return absl::FailedPreconditionError(counts.status().message());
  }
  report.cleanup = *counts;
  return report;
}

}  // namespace goodbuy::client::cli
