// analysisctl: the operator CLI of the analysis service. Wiring only: flags,
// signals and exit codes here; calls go through AnalysisClient and all text
// comes from client/cli/render.h. See kUsage for commands and exit codes.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/analysis_client.h"
#include "client/cli/bench.h"
#include "client/cli/names.h"
#include "client/cli/pgbench.h"
#include "client/cli/proc_stats.h"
#include "client/cli/render.h"
#include "client/credentials.h"
#include "client/status_convert.h"
#include "google/protobuf/util/json_util.h"

ABSL_FLAG(std::string, server, "",
          "HOST:PORT of the analysis service (default: $ANALYSIS_SERVER, "
          "else 127.0.0.1:50051)");
ABSL_FLAG(bool, json, false, "Print proto3 JSON, one object per line");
ABSL_FLAG(std::string, token, "",
          "Bearer token for every call (default $ANALYSIS_TOKEN)");
ABSL_FLAG(std::string, token_file, "",
          "File whose first line is the bearer token "
          "(default $ANALYSIS_TOKEN_FILE)");
ABSL_FLAG(bool, tls, false, "Connect with TLS, trusting the system's CAs");
ABSL_FLAG(std::string, tls_ca, "",
          "TLS: PEM CA bundle to trust (implies --tls)");
ABSL_FLAG(std::string, tls_cert, "",
          "TLS: client certificate (PEM) for mTLS, with --tls_key");
ABSL_FLAG(std::string, tls_key, "", "TLS: the client certificate's key (PEM)");
ABSL_FLAG(std::string, tls_server_name, "",
          "TLS: the name the server's certificate must carry, when it is "
          "not --server's host");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30),
          "Deadline of each unary call, retries included");
ABSL_FLAG(std::string, business, "", "Business id");
ABSL_FLAG(std::string, type, "", "health | valuation | forecast");
ABSL_FLAG(int32_t, horizon, 0, "Forecast horizon in months (1..36)");
ABSL_FLAG(std::string, history, "",
          "FinancialHistory as proto3 JSON, instead of the stored books");
ABSL_FLAG(std::string, request_id, "", "Idempotency key of the session");
ABSL_FLAG(std::string, user, "", "User id");
ABSL_FLAG(std::string, status, "",
          "pending | running | completed | failed | cancelled");
ABSL_FLAG(int32_t, page_size, 0, "Sessions per page (server default 50)");
ABSL_FLAG(std::string, page_token, "", "Page token from a previous list");
ABSL_FLAG(bool, all, false, "Follow page tokens to the end");
ABSL_FLAG(int64_t, after, 0, "Watch only events after this sequence");
ABSL_FLAG(std::string, reason, "", "Why the session is cancelled");
ABSL_FLAG(int32_t, sessions, 100, "bench: sessions to run to a terminal event");
ABSL_FLAG(int32_t, concurrency, 10, "bench: sessions in flight at once");
ABSL_FLAG(double, rate, 0,
          "bench: steady-rate mode, start this many sessions per second "
          "however many are in flight (0: keep --concurrency in flight)");
ABSL_FLAG(int32_t, watchers, 1, "bench: WatchSession streams per session");
ABSL_FLAG(int32_t, channels, 0,
          "bench: gRPC channels (TCP connections) for the streams; 0: one "
          "per 1000 streams");
ABSL_FLAG(int32_t, idle_streams, 0,
          "bench: idle mode: WatchSession streams to hold on pending sessions");
ABSL_FLAG(int32_t, idle_sessions, 100,
          "bench: idle mode: pending sessions the streams spread over");
ABSL_FLAG(absl::Duration, hold, absl::Seconds(30),
          "bench: idle mode: how long to hold the streams open");
ABSL_FLAG(int32_t, server_pid, 0,
          "bench: pid of the server, for its RSS (default: the process "
          "listening on the --server port)");
ABSL_FLAG(bool, vs_pgbench, false,
          "bench: also run pgbench with the same session lifecycle in naive "
          "SQL on the server's database");
ABSL_FLAG(std::string, database_url, "",
          "bench --vs_pgbench: the server's database (default: "
          "$DATABASE_URL)");
ABSL_FLAG(std::string, sweep, "",
          "bench: stream counts to run one after another, e.g. "
          "10,100,500,1000");
ABSL_FLAG(std::string, csv, "", "bench: write one CSV row per run to FILE");

namespace {

namespace v1 = ::goodbuy::analysis::v1;
namespace cli = ::goodbuy::client::cli;
using ::goodbuy::client::AnalysisClient;
using ::goodbuy::client::AnalysisClientOptions;
using ::goodbuy::client::CallCanceller;
using ::goodbuy::client::FormatStatus;

constexpr int kExitOk = 0;
constexpr int kExitSessionFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRpcError = 3;
constexpr int kExitInterrupted = 130;

constexpr char kDefaultServer[] = "127.0.0.1:50051";

constexpr char kUsage[] =
    R"(analysisctl - run and inspect GoodBuy analysis sessions

usage: analysisctl [--server=HOST:PORT] [--json] [--timeout=30s] COMMAND ...

commands:
  run     --business=ID --type=health|valuation|forecast [--horizon=N]
          [--history=FILE.json] [--request_id=ID] [--user=ID]
          start an analysis and follow its progress to the result
  get     SESSION_ID
          show one session (with its result when completed)
  list    [--status=pending|running|completed|failed|cancelled] [--type=...]
          [--business=ID] [--user=ID] [--page_size=N] [--page_token=T] [--all]
          list sessions, newest first
  watch   SESSION_ID [--after=N]
          follow a session's events (from the start, or after sequence N)
  cancel  SESSION_ID [--reason=TEXT]
          cancel a pending or running session
  usage   [--user=ID]
          your plan, billing period, analyses used and limit (--user: a
          service or admin token reading another user's)
  bench   [--sessions=100] [--concurrency=10 | --rate=N] [--watchers=1]
          [--type=health] [--business=biz_demo_cafe] [--user=ID] [--channels=N]
          [--server_pid=PID] [--sweep=10,100,500,1000] [--csv=FILE]
          [--vs_pgbench [--database_url=URL]]
          load a running server: keep --concurrency sessions in flight until
          --sessions have finished (--rate: start N sessions per second
          instead, so latency is measured without bursts), each followed
          by --watchers streams;
          reports sessions/s, event delivery latency (p50/p99/max of live
          events), whether every stream saw every event, and the server's
          peak RSS. --sweep runs once per stream count (concurrency =
          streams / watchers, sessions = max(--sessions, concurrency)).
          --vs_pgbench then runs pgbench with the same lifecycle in plain SQL
          on the same database and prints the ratio
  bench   --idle_streams=K [--idle_sessions=100] [--hold=30s] [--channels=N]
          [--server_pid=PID]
          hold K idle streams on pending sessions (start the server with
          --workers=0), then cancel the sessions; reports streams opened,
          heartbeats, streams that saw CANCELLED, and the server's peak RSS

flags:
  --server=HOST:PORT  the service (default $ANALYSIS_SERVER, else 127.0.0.1:50051)
  --token=JWT         bearer token sent with every call (default $ANALYSIS_TOKEN;
                      --token_file=FILE or $ANALYSIS_TOKEN_FILE reads it from a
                      file); the quickstart prints one for the demo user
  --tls --tls_ca=PEM  TLS, trusting the system's CAs or this bundle;
                      --tls_cert=PEM --tls_key=PEM add a client certificate
                      (mTLS), --tls_server_name=NAME the expected server name
  --json              proto3 JSON: one SessionEvent per line for run/watch,
                      one Session / ListSessionsResponse for get/list/cancel,
                      one report object per run for bench
  --timeout=DURATION  deadline of each call, retries included (default 30s)
  --history=FILE      a FinancialHistory in proto3 JSON, e.g.
                      {"periods":[{"month":"2024-01","revenue":42000,...},...]}
  --channels=N        bench: connections the streams spread over (default one
                      per 1000 streams)
  --server_pid=PID    bench: the server whose RSS to sample (default: the
                      process listening on --server's port on this machine)
  --database_url=URL  bench --vs_pgbench: the server's database (default
                      $DATABASE_URL); pgbench rows are deleted afterwards

examples:
  analysisctl run --business=biz_123 --type=health
  analysisctl run --business=biz_123 --type=forecast --horizon=18 --history=books.json
  analysisctl get 0b7e6c1a-5d2f-4c8e-9a41-3f0d2b6e8c11
  analysisctl list --status=running --type=valuation --all
  analysisctl --json watch 0b7e6c1a-5d2f-4c8e-9a41-3f0d2b6e8c11 --after=12
  analysisctl cancel 0b7e6c1a-5d2f-4c8e-9a41-3f0d2b6e8c11 --reason="wrong business"
  analysisctl bench --sessions=1000 --concurrency=20 --watchers=2 --vs_pgbench
  analysisctl bench --sweep=10,100,500,1000 --watchers=10 --csv=sweep.csv
  analysisctl bench --idle_streams=10000 --hold=60s

exit codes:
  0 success (run/watch: session completed)   1 session failed or cancelled
  2 usage error   3 RPC error   130 interrupted (Ctrl-C stops watching only;
  the session keeps running)
  bench: 0 every stream complete and every session completed   1 otherwise
  2 usage error or pgbench/psql not installed   3 RPC, database or pgbench
  error (or no event for 60 s)
)";

// Flags every command accepts, and those of each command.
const std::set<std::string>& GlobalFlags() {
  static const auto* flags = new std::set<std::string>{
      "server", "json",   "timeout",  "token",   "token_file",
      "tls",    "tls_ca", "tls_cert", "tls_key", "tls_server_name"};
  return *flags;
}

absl::StatusOr<std::set<std::string>> CommandFlags(const std::string& command) {
  if (command == "run") {
    return std::set<std::string>{"business", "type",       "horizon",
                                 "history",  "request_id", "user"};
  }
  if (command == "get") return std::set<std::string>{};
  if (command == "list") {
    return std::set<std::string>{"status",    "type",       "business", "user",
                                 "page_size", "page_token", "all"};
  }
  if (command == "watch") return std::set<std::string>{"after"};
  if (command == "cancel") return std::set<std::string>{"reason"};
  if (command == "usage") return std::set<std::string>{"user"};
  if (command == "bench") {
    return std::set<std::string>{
        "sessions",     "concurrency",   "watchers",   "type",
        "business",     "user",          "channels",   "idle_streams",
        "hold",         "idle_sessions", "server_pid", "vs_pgbench",
        "database_url", "sweep",         "csv",        "rate"};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown command \"", command, "\""));
}

bool IsOurFlag(const std::string& name) {
  if (GlobalFlags().count(name)) return true;
  for (const char* command :
       {"run", "get", "list", "watch", "cancel", "bench"}) {
    if (CommandFlags(command)->count(name)) return true;
  }
  return false;
}

struct Args {
  bool help = false;
  std::vector<std::string> positional;  // command, then its arguments
  std::set<std::string> flags_set;
};

// Parses flags anywhere on the line (before or after the command) through
// absl's flag registry, so that every mistake is a usage error (exit 2)
// rather than absl::ParseCommandLine's exit(1).
absl::StatusOr<Args> ParseArgs(int argc, char** argv) {
  Args args;
  bool only_positional = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (only_positional || arg.size() < 2 || arg[0] != '-') {
      args.positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    arg.remove_prefix(absl::StartsWith(arg, "--") ? 2 : 1);
    const size_t eq = arg.find('=');
    const absl::string_view name = arg.substr(0, eq);
    const bool has_value = eq != absl::string_view::npos;
    std::string value(has_value ? arg.substr(eq + 1) : "");
    if (name == "help" || name == "h" || name == "helpfull") {
      args.help = true;
      continue;
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    bool negated = false;
    if (flag == nullptr && absl::StartsWith(name, "no")) {
      flag = absl::FindCommandLineFlag(name.substr(2));
      negated = flag != nullptr && flag->IsOfType<bool>();
      if (!negated) flag = nullptr;
    }
    // Only our flags: absl's own (--flagfile, --version, ...) are not offered.
    if (flag == nullptr || !IsOurFlag(std::string(flag->Name()))) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (flag->IsOfType<bool>()) {
      if (negated && has_value) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " takes no value"));
      }
      if (!has_value) value = negated ? "false" : "true";
    } else if (!has_value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
      value = argv[++i];
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag->Name(), "=", value, ": ", error));
    }
    args.flags_set.insert(std::string(flag->Name()));
  }
  return args;
}

void Out(absl::string_view text) {
  if (text.empty()) return;
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

int UsageError(absl::string_view message) {
  std::fprintf(stderr,
               "analysisctl: %.*s\nrun 'analysisctl --help' for usage\n",
               static_cast<int>(message.size()), message.data());
  return kExitUsage;
}

int RpcError(const absl::Status& status) {
  std::fprintf(stderr, "error: %s\n", FormatStatus(status).c_str());
  return kExitRpcError;
}

// Prints a message as JSON or as text; exit code 0, or 3 if JSON fails.
int PrintMessage(const google::protobuf::Message& message,
                 const std::string& text) {
  if (!absl::GetFlag(FLAGS_json)) {
    Out(text);
    return kExitOk;
  }
  absl::StatusOr<std::string> json = cli::ToJsonLine(message);
  if (!json.ok()) return RpcError(json.status());
  Out(absl::StrCat(*json, "\n"));
  return kExitOk;
}

// Ctrl-C: SIGINT is blocked in every thread (before gRPC starts any) and
// taken by this thread with sigwait. While a watch is in progress the first
// Ctrl-C cancels it through the CallCanceller; otherwise, or on a second
// Ctrl-C, the process exits with 130 at once.
class InterruptHandler {
 public:
  static void BlockSigint() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }

  // Starts the signal thread. The handler lives until the process exits.
  static InterruptHandler* Start() {
    auto* handler = new InterruptHandler();
    std::thread([handler] { handler->Loop(); }).detach();
    return handler;
  }

  void set_watching(bool watching) { watching_ = watching; }
  bool interrupted() const { return interrupted_; }
  CallCanceller* canceller() { return &canceller_; }

 private:
  void Loop() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    while (true) {
      int signal = 0;
      if (sigwait(&set, &signal) != 0 || signal != SIGINT) continue;
      if (!watching_ || interrupted_.exchange(true)) {
        constexpr char kMessage[] = "\ninterrupted\n";
        [[maybe_unused]] ssize_t n = write(2, kMessage, sizeof(kMessage) - 1);
        _exit(kExitInterrupted);
      }
      canceller_.Cancel();
    }
  }

  std::atomic<bool> watching_{false};
  std::atomic<bool> interrupted_{false};
  CallCanceller canceller_;
};

// Follows a session (Run or Watch) with an EventPrinter; maps the outcome to
// an exit code.
template <typename Follow>
int FollowSession(InterruptHandler* interrupts, const Follow& follow,
                  std::string session_id, const std::string& request_id) {
  cli::EventPrinter::Mode mode =
      absl::GetFlag(FLAGS_json) ? cli::EventPrinter::Mode::kJson
      : isatty(STDOUT_FILENO)   ? cli::EventPrinter::Mode::kTerminal
                                : cli::EventPrinter::Mode::kPlain;
  cli::EventPrinter printer(mode);
  int64_t last_sequence = 0;
  interrupts->set_watching(true);
  const absl::Status status = follow(
      [&](const v1::SessionEvent& event) {
        if (!event.has_heartbeat()) last_sequence = event.sequence();
        Out(printer.OnEvent(event));
        return true;
      },
      interrupts->canceller());
  interrupts->set_watching(false);
  if (session_id.empty()) session_id = printer.session_id();
  if (interrupts->interrupted()) {
    Out(printer.Interrupt());
    if (session_id.empty()) {
      std::fprintf(stderr,
                   "interrupted before the first event; the session may "
                   "exist: run the same command with --request_id=%s to "
                   "follow it\n",
                   request_id.c_str());
    } else {
      std::fprintf(stderr,
                   "interrupted: stopped watching; session %s keeps running\n"
                   "  to cancel it:    analysisctl cancel %s\n"
                   "  to watch again:  analysisctl watch %s --after=%lld\n",
                   session_id.c_str(), session_id.c_str(), session_id.c_str(),
                   static_cast<long long>(last_sequence));
    }
    return kExitInterrupted;
  }
  if (!status.ok()) {
    Out(printer.Interrupt());
    return RpcError(status);
  }
  switch (printer.status()) {
    case v1::SESSION_STATUS_COMPLETED:
      return kExitOk;
    case v1::SESSION_STATUS_FAILED:
    case v1::SESSION_STATUS_CANCELLED:
      return kExitSessionFailed;
    default:
      return kExitRpcError;  // Unreachable: Watch ends OK only at the end.
  }
}

absl::StatusOr<v1::FinancialHistory> ReadHistory(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("--history: cannot read ", path));
  }
  std::stringstream text;
  text << file.rdbuf();
  v1::FinancialHistory history;
  const auto status =
      google::protobuf::util::JsonStringToMessage(text.str(), &history);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--history: ", path, " is not a FinancialHistory in proto3 JSON: ",
        status.message().ToString()));
  }
  return history;
}

int Run(AnalysisClient& client, InterruptHandler* interrupts) {
  v1::CreateSessionRequest request;
  request.set_business_id(absl::GetFlag(FLAGS_business));
  if (request.business_id().empty()) return UsageError("run needs --business");
  if (absl::GetFlag(FLAGS_type).empty()) return UsageError("run needs --type");
  absl::StatusOr<v1::SessionType> type =
      cli::ParseSessionType(absl::GetFlag(FLAGS_type));
  if (!type.ok()) return UsageError(type.status().message());
  request.set_session_type(*type);
  if (absl::GetFlag(FLAGS_horizon) < 0) {
    return UsageError("--horizon must be positive");
  }
  request.mutable_options()->set_forecast_horizon_months(
      absl::GetFlag(FLAGS_horizon));
  if (!absl::GetFlag(FLAGS_history).empty()) {
    absl::StatusOr<v1::FinancialHistory> history =
        ReadHistory(absl::GetFlag(FLAGS_history));
    if (!history.ok()) return UsageError(history.status().message());
    *request.mutable_history() = *std::move(history);
  }
  // Chosen here rather than by the client so that an interrupted run can be
  // resumed by the same command with this --request_id.
  request.set_request_id(absl::GetFlag(FLAGS_request_id).empty()
                             ? goodbuy::client::NewRequestId()
                             : absl::GetFlag(FLAGS_request_id));
  request.set_user_id(absl::GetFlag(FLAGS_user));
  return FollowSession(
      interrupts,
      [&](const goodbuy::client::EventCallback& on_event,
          CallCanceller* canceller) {
        return client.Run(request, on_event, canceller);
      },
      "", request.request_id());
}

int Watch(AnalysisClient& client, InterruptHandler* interrupts,
          const std::string& session_id) {
  const int64_t after = absl::GetFlag(FLAGS_after);
  if (after < 0) return UsageError("--after must be >= 0");
  return FollowSession(
      interrupts,
      [&](const goodbuy::client::EventCallback& on_event,
          CallCanceller* canceller) {
        return client.Watch(session_id, after, on_event, canceller);
      },
      session_id, "");
}

int Get(AnalysisClient& client, const std::string& session_id) {
  absl::StatusOr<v1::Session> session = client.GetSession(session_id);
  if (!session.ok()) return RpcError(session.status());
  return PrintMessage(*session, cli::RenderSession(*session));
}

int List(AnalysisClient& client) {
  v1::ListSessionsRequest request;
  if (!absl::GetFlag(FLAGS_status).empty()) {
    absl::StatusOr<v1::SessionStatus> status =
        cli::ParseSessionStatus(absl::GetFlag(FLAGS_status));
    if (!status.ok()) return UsageError(status.status().message());
    request.set_status(*status);
  }
  if (!absl::GetFlag(FLAGS_type).empty()) {
    absl::StatusOr<v1::SessionType> type =
        cli::ParseSessionType(absl::GetFlag(FLAGS_type));
    if (!type.ok()) return UsageError(type.status().message());
    request.set_session_type(*type);
  }
  if (absl::GetFlag(FLAGS_page_size) < 0) {
    return UsageError("--page_size must be positive");
  }
  request.set_business_id(absl::GetFlag(FLAGS_business));
  request.set_user_id(absl::GetFlag(FLAGS_user));
  request.set_page_size(absl::GetFlag(FLAGS_page_size));
  request.set_page_token(absl::GetFlag(FLAGS_page_token));
  v1::ListSessionsResponse all;
  while (true) {
    absl::StatusOr<v1::ListSessionsResponse> page =
        client.ListSessions(request);
    if (!page.ok()) return RpcError(page.status());
    for (v1::Session& session : *page->mutable_sessions()) {
      *all.add_sessions() = std::move(session);
    }
    all.set_next_page_token(page->next_page_token());
    if (!absl::GetFlag(FLAGS_all) || page->next_page_token().empty()) break;
    request.set_page_token(page->next_page_token());
  }
  return PrintMessage(all, cli::RenderSessionList(all));
}

int Cancel(AnalysisClient& client, const std::string& session_id) {
  absl::StatusOr<v1::Session> session =
      client.CancelSession(session_id, absl::GetFlag(FLAGS_reason));
  if (!session.ok()) return RpcError(session.status());
  return PrintMessage(
      *session, absl::StrCat("session ", session->session_id(), " ",
                             cli::SessionStatusName(session->status()), "\n"));
}

int Usage(AnalysisClient& client) {
  absl::StatusOr<v1::Usage> usage = client.GetUsage(absl::GetFlag(FLAGS_user));
  if (!usage.ok()) return RpcError(usage.status());
  return PrintMessage(*usage, cli::RenderUsage(*usage));
}

// --- bench ------------------------------------------------------------------

// Rejects a flag given outside the mode it belongs to, e.g. --hold without
// --idle_streams.
absl::Status CheckBenchModeFlags(const Args& args, bool idle) {
  static const auto* lifecycle_only = new std::set<std::string>{
      "sessions",   "concurrency",  "watchers", "type", "business", "user",
      "vs_pgbench", "database_url", "sweep",    "csv",  "rate"};
  static const auto* idle_only =
      new std::set<std::string>{"hold", "idle_sessions"};
  for (const std::string& flag : args.flags_set) {
    if (idle && lifecycle_only->count(flag)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, " does not apply to the idle mode (--idle_streams)"));
    }
    if (!idle && idle_only->count(flag)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, " needs --idle_streams=K"));
    }
  }
  if (args.flags_set.count("database_url") &&
      !absl::GetFlag(FLAGS_vs_pgbench)) {
    return absl::InvalidArgumentError("--database_url needs --vs_pgbench");
  }
  if (absl::GetFlag(FLAGS_vs_pgbench) && args.flags_set.count("sweep")) {
    return absl::InvalidArgumentError(
        "--vs_pgbench compares one run; it does not combine with --sweep");
  }
  return absl::OkStatus();
}

// A flag's value within [low, high], else a usage message.
absl::Status CheckRange(absl::string_view name, int64_t value, int64_t low,
                        int64_t high) {
  if (value < low || value > high) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, "=", value, ": must be in ", low, "..", high));
  }
  return absl::OkStatus();
}

absl::StatusOr<cli::BenchOptions> BenchOptionsFromFlags(
    const std::string& server, const AnalysisClientOptions& client) {
  cli::BenchOptions options;
  options.target = server;
  options.client = client;
  const std::string type =
      absl::GetFlag(FLAGS_type).empty() ? "health" : absl::GetFlag(FLAGS_type);
  absl::StatusOr<v1::SessionType> session_type = cli::ParseSessionType(type);
  if (!session_type.ok()) return session_type.status();
  options.session_type = *session_type;
  if (!absl::GetFlag(FLAGS_business).empty()) {
    options.business_id = absl::GetFlag(FLAGS_business);
  }
  options.user_id = absl::GetFlag(FLAGS_user);
  options.sessions = absl::GetFlag(FLAGS_sessions);
  options.concurrency = absl::GetFlag(FLAGS_concurrency);
  options.rate = absl::GetFlag(FLAGS_rate);
  if (!(options.rate >= 0 && options.rate <= 100000)) {
    return absl::InvalidArgumentError(
        "--rate must be between 0 and 100000 sessions per second");
  }
  options.watchers = absl::GetFlag(FLAGS_watchers);
  options.channels = absl::GetFlag(FLAGS_channels);
  options.idle_streams = absl::GetFlag(FLAGS_idle_streams);
  options.idle_sessions = absl::GetFlag(FLAGS_idle_sessions);
  options.hold = absl::GetFlag(FLAGS_hold);
  options.server_pid = absl::GetFlag(FLAGS_server_pid);
  for (const absl::Status& status : {
           CheckRange("sessions", options.sessions, 1, 10000000),
           CheckRange("concurrency", options.concurrency, 1, 100000),
           CheckRange("watchers", options.watchers, 1, 1000),
           CheckRange("channels", options.channels, 0, 1000),
           CheckRange("idle_streams", options.idle_streams, 0, 1000000),
           CheckRange("idle_sessions", options.idle_sessions, 1, 1000000),
           CheckRange("server_pid", options.server_pid, 0, 1 << 22),
       }) {
    if (!status.ok()) return status;
  }
  if (static_cast<int64_t>(options.concurrency) * options.watchers > 1000000) {
    return absl::InvalidArgumentError(
        "--concurrency x --watchers must be at most 1000000 streams");
  }
  if (options.hold < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--hold must not be negative");
  }
  if (options.server_pid > 0 && !cli::ProcessExists(options.server_pid)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--server_pid=", options.server_pid,
                     ": no such process on this machine"));
  }
  options.progress = [](const std::string& line) {
    std::fprintf(stderr, "%s\n", line.c_str());
  };
  return options;
}

// The tools --vs_pgbench needs, looked up before the bench so that a missing
// one costs no run.
struct PgbenchTools {
  std::string pgbench;
  std::string psql;
  std::string database_url;
};

int BenchIdle(const cli::BenchOptions& options) {
  absl::StatusOr<cli::IdleReport> report = cli::RunIdleBench(options);
  if (!report.ok()) return RpcError(report.status());
  Out(absl::GetFlag(FLAGS_json) ? absl::StrCat(cli::IdleJson(*report), "\n")
                                : cli::RenderIdleReport(*report));
  if (!report->error.ok()) return kExitRpcError;
  return report->streams_cancelled == report->streams_requested
             ? kExitOk
             : kExitSessionFailed;
}

// Runs pgbench after our run and prints the comparison. Exit code.
int ComparePgbench(const cli::BenchOptions& options,
                   const cli::LifecycleReport& ours,
                   const PgbenchTools& tools) {
  if (ours.user_id.empty()) {
    return RpcError(absl::FailedPreconditionError(
        "--vs_pgbench: no session was created, so the billed user is "
        "unknown"));
  }
  cli::PgbenchParams params;
  params.pgbench = tools.pgbench;
  params.psql = tools.psql;
  params.database_url = tools.database_url;
  params.user_id = ours.user_id;
  params.business_id = options.business_id;
  params.session_type = cli::StoredSessionTypeName(options.session_type);
  params.clients = options.concurrency;
  params.threads = 2;
  params.transactions_per_client =
      (options.sessions + options.concurrency - 1) / options.concurrency;
  params.run_tag = ours.run_tag;
  if (!absl::GetFlag(FLAGS_json)) {
    Out(absl::StrFormat(
        "pgbench:     %d clients x %d transactions of the naive lifecycle "
        "SQL (insert, claim, progress, complete)\n",
        params.clients, params.transactions_per_client));
  }
  absl::StatusOr<cli::PgbenchReport> pgbench =
      cli::RunPgbenchComparison(params);
  if (!pgbench.ok()) {
    std::fprintf(stderr, "pgbench: %s\n",
                 std::string(pgbench.status().message()).c_str());
    return kExitRpcError;
  }
  const double ratio =
      pgbench->output.tps > 0 ? ours.sessions_per_s / pgbench->output.tps : 0;
  if (absl::GetFlag(FLAGS_json)) {
    Out(absl::StrFormat(
        "{\"mode\":\"pgbench\",\"command\":%s,\"sessions_per_s\":%.3f,"
        "\"processed\":%d,\"planned\":%d,\"failed\":%d,\"ours_per_s\":%.3f,"
        "\"ratio\":%.4f,\"rows_deleted\":%d,\"rows_not_completed\":%d}\n",
        cli::JsonQuote(pgbench->command_line), pgbench->output.tps,
        pgbench->output.processed, pgbench->output.planned,
        pgbench->output.failed, ours.sessions_per_s, ratio,
        pgbench->cleanup.deleted, pgbench->cleanup.not_completed));
  } else {
    Out(absl::StrFormat(
        "             %s\n"
        "             %d/%d transactions, %d failed: %.1f sessions/s "
        "(tps without connection time)\n"
        "ratio:       ours / pgbench = %.1f / %.1f = %.3f\n"
        "cleanup:     %d pgbench rows deleted, %d of them not completed\n",
        pgbench->command_line, pgbench->output.processed,
        pgbench->output.planned, pgbench->output.failed, pgbench->output.tps,
        ours.sessions_per_s, pgbench->output.tps, ratio,
        pgbench->cleanup.deleted, pgbench->cleanup.not_completed));
  }
  return pgbench->output.processed == pgbench->output.planned &&
                 pgbench->cleanup.not_completed == 0
             ? kExitOk
             : kExitRpcError;
}

int Bench(const Args& args, const std::string& server,
          const AnalysisClientOptions& client) {
  const bool idle = absl::GetFlag(FLAGS_idle_streams) > 0;
  if (absl::Status status = CheckBenchModeFlags(args, idle); !status.ok()) {
    return UsageError(status.message());
  }
  absl::StatusOr<cli::BenchOptions> options =
      BenchOptionsFromFlags(server, client);
  if (!options.ok()) return UsageError(options.status().message());
  if (idle) return BenchIdle(*options);

  std::vector<int> sweep;
  if (args.flags_set.count("sweep")) {
    absl::StatusOr<std::vector<int>> parsed =
        cli::ParseSweepList(absl::GetFlag(FLAGS_sweep));
    if (!parsed.ok()) return UsageError(parsed.status().message());
    sweep = *std::move(parsed);
  }
  std::ofstream csv;
  if (args.flags_set.count("csv")) {
    const std::string path = absl::GetFlag(FLAGS_csv);
    if (path.empty()) return UsageError("--csv needs a file name");
    csv.open(path, std::ios::out | std::ios::trunc);
    if (!csv) return UsageError(absl::StrCat("--csv: cannot write ", path));
    csv << cli::SweepCsvHeader() << "\n" << std::flush;
  }
  PgbenchTools tools;
  if (absl::GetFlag(FLAGS_vs_pgbench)) {
    tools.database_url = absl::GetFlag(FLAGS_database_url);
    if (tools.database_url.empty()) {
      const char* env = std::getenv("DATABASE_URL");
      if (env != nullptr) tools.database_url = env;
    }
    if (tools.database_url.empty()) {
      return UsageError("--vs_pgbench needs --database_url or $DATABASE_URL");
    }
    for (auto [name, path] : {std::pair{"pgbench", &tools.pgbench},
                              std::pair{"psql", &tools.psql}}) {
      absl::StatusOr<std::string> found = cli::FindPostgresTool(name);
      if (!found.ok()) {
        std::fprintf(stderr, "analysisctl: %s\n",
                     std::string(found.status().message()).c_str());
        return kExitUsage;
      }
      *path = *std::move(found);
    }
  }

  // One run, or one per stream count of the sweep.
  std::vector<cli::BenchOptions> runs;
  if (sweep.empty()) {
    runs.push_back(*options);
  } else {
    for (int streams : sweep) {
      cli::BenchOptions step = *options;
      step.concurrency = cli::SweepConcurrency(streams, options->watchers);
      step.sessions = std::max(options->sessions, step.concurrency);
      runs.push_back(std::move(step));
    }
  }
  int exit_code = kExitOk;
  for (const cli::BenchOptions& run : runs) {
    absl::StatusOr<cli::LifecycleReport> report = cli::RunLifecycleBench(run);
    if (!report.ok()) return RpcError(report.status());
    Out(absl::GetFlag(FLAGS_json)
            ? absl::StrCat(cli::LifecycleJson(*report), "\n")
            : absl::StrCat(cli::RenderLifecycleReport(*report),
                           runs.size() > 1 ? "\n" : ""));
    if (csv.is_open()) csv << cli::SweepCsvRow(*report) << "\n" << std::flush;
    if (!report->error.ok()) return kExitRpcError;
    const bool all_good = report->streams.complete == report->streams.total &&
                          report->completed == report->sessions_planned;
    if (!all_good) exit_code = kExitSessionFailed;
    if (absl::GetFlag(FLAGS_vs_pgbench)) {
      const int pgbench_exit = ComparePgbench(run, *report, tools);
      if (pgbench_exit != kExitOk) return pgbench_exit;
    }
  }
  if (csv.is_open() && !absl::GetFlag(FLAGS_json)) {
    Out(absl::StrCat("csv:         ", absl::GetFlag(FLAGS_csv), "\n"));
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any gRPC thread exists, so that all of them inherit the mask.
  InterruptHandler::BlockSigint();

  absl::StatusOr<Args> args = ParseArgs(argc, argv);
  if (!args.ok()) return UsageError(args.status().message());
  if (args->help) {
    Out(kUsage);
    return kExitOk;
  }
  if (args->positional.empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  const std::string command = args->positional.front();
  const std::vector<std::string> operands(args->positional.begin() + 1,
                                          args->positional.end());
  absl::StatusOr<std::set<std::string>> allowed = CommandFlags(command);
  if (!allowed.ok()) return UsageError(allowed.status().message());
  for (const std::string& flag : args->flags_set) {
    if (!GlobalFlags().count(flag) && !allowed->count(flag)) {
      return UsageError(
          absl::StrCat("flag --", flag, " does not apply to ", command));
    }
  }
  const bool takes_id = command != "run" && command != "list" &&
                        command != "bench" && command != "usage";
  if (takes_id && operands.size() != 1) {
    return UsageError(absl::StrCat(command, " takes one SESSION_ID"));
  }
  if (!takes_id && !operands.empty()) {
    return UsageError(absl::StrCat("unexpected argument \"", operands.front(),
                                   "\" for ", command));
  }
  if (takes_id && operands.front().empty()) {
    return UsageError("SESSION_ID is empty");
  }

  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  if (timeout <= absl::ZeroDuration()) {
    return UsageError("--timeout must be positive");
  }
  std::string server = absl::GetFlag(FLAGS_server);
  if (server.empty()) {
    const char* env = std::getenv("ANALYSIS_SERVER");
    server = env != nullptr && *env != '\0' ? env : kDefaultServer;
  }

  InterruptHandler* interrupts = InterruptHandler::Start();
  AnalysisClientOptions options;
  options.deadline = timeout;
  goodbuy::client::Credentials credentials;
  credentials.token = absl::GetFlag(FLAGS_token);
  credentials.token_file = absl::GetFlag(FLAGS_token_file);
  credentials.tls = absl::GetFlag(FLAGS_tls);
  credentials.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  credentials.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  credentials.tls_key = absl::GetFlag(FLAGS_tls_key);
  credentials.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  if (auto status = goodbuy::client::ApplyCredentials(credentials, &options);
      !status.ok()) {
    return UsageError(status.message());
  }
  if (command == "bench") return Bench(*args, server, options);
  AnalysisClient client(server, options);

  if (command == "run") return Run(client, interrupts);
  if (command == "watch") return Watch(client, interrupts, operands.front());
  if (command == "get") return Get(client, operands.front());
  if (command == "list") return List(client);
  if (command == "usage") return Usage(client);
  return Cancel(client, operands.front());
}
