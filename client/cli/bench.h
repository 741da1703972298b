// `analysisctl bench`: load against a running analysis server through the
// gRPC callback API, so that thousands of WatchSession streams cost a few
// gRPC threads rather than a thread each.
//
// RunLifecycleBench() keeps `concurrency` sessions in flight until
// `sessions` have reached a terminal event (a new CreateSession as soon as
// one does; or, in steady-rate mode, one every 1/rate seconds), with `watchers`
// WatchSession streams per session opened after CreateSession returns, and
// measures sessions/s, the delivery latency of live events (client receive time
// minus the event's event_time, both on this machine's clock) and whether every
// stream saw every event. RunIdleBench() parks `idle_streams` streams on
// `idle_sessions` pending sessions (a server started with --workers=0 never
// runs them), holds them, then cancels the sessions and checks that each stream
// got its CANCELLED event. Both sample the server's RSS from /proc
// (proc_stats.h).
//
// Threads: the Run* functions block the caller until the run is over; the
// reactors run on gRPC's callback threads and the RSS sampler on its own.
// Errors: the Run* functions return UNAVAILABLE when the server cannot be
// reached before any session starts; an RPC failure or a stall during the
// run is reported in the report's `error` with the figures gathered so far.
// Render and parse functions are pure.
#ifndef GOODBUY_CLIENT_CLI_BENCH_H_
#define GOODBUY_CLIENT_CLI_BENCH_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/analysis_client.h"
#include "client/cli/latency_stats.h"

namespace goodbuy::client::cli {

// Streams one channel (one TCP connection) carries by default.
inline constexpr int kStreamsPerChannel = 1000;

struct BenchOptions {
  std::string target;
  // Deadline of unary calls, keepalive and message limits of the channels.
  AnalysisClientOptions client;
  analysis::v1::SessionType session_type =
      analysis::v1::SESSION_TYPE_HEALTH_ANALYSIS;
  std::string business_id = "biz_demo_cafe";
  // Empty: the server bills the business owner.
  std::string user_id;

  // Lifecycle mode.
  int sessions = 100;
  int concurrency = 10;
  int watchers = 1;
  // Steady-rate mode when > 0: start this many sessions per second, evenly
  // spaced, however many are in flight (concurrency then only sizes the
  // channels), so delivery latency is measured apart from create bursts.
  double rate = 0;

  // Idle mode (idle_streams > 0).
  int idle_streams = 0;
  int idle_sessions = 100;
  absl::Duration hold = absl::Seconds(30);

  // 0: DefaultChannels(streams).
  int channels = 0;
  // > 0: sample this pid; 0: the process listening on the target's port.
  int server_pid = 0;
  // The run is abandoned (streams cancelled, error DEADLINE_EXCEEDED) when
  // no session event, create or cancel answer arrives for this long.
  absl::Duration stall_timeout = absl::Seconds(60);
  // Progress lines while the run goes on (e.g. to stderr); may be empty.
  std::function<void(const std::string&)> progress;
};

// The server's memory over a run, from /proc/PID/status.
struct ServerMemory {
  bool known = false;
  int pid = 0;
  // Why it is unknown.
  std::string unknown_reason;
  int64_t samples = 0;
  int64_t peak_rss_kb = 0;  // largest VmRSS sampled during the run
  int64_t hwm_kb = 0;       // VmHWM at the end (peak over the process's life)
};

// What one WatchSession stream delivered, heartbeats aside.
struct StreamRecord {
  std::vector<int64_t> sequences;  // as received
  bool terminal = false;           // a terminal event arrived
  analysis::v1::SessionStatus terminal_status =
      analysis::v1::SESSION_STATUS_UNSPECIFIED;
  bool events_after_terminal = false;
  int64_t heartbeats = 0;
  absl::Status status;  // how the stream ended
};

struct StreamVerdict {
  // Empty when the stream is complete.
  std::string problem;
  // Sequence numbers were skipped (or the first was not 1). The server may
  // skip the numbers of a failed attempt and coalesce progress for a slow
  // watcher, so this alone is no problem; a watcher that lost events others
  // got shows up as "sequences differ".
  bool gaps = false;
};

// A stream is complete when it ended OK after strictly increasing
// sequences that end with a terminal event (of `expected_terminal` when
// set) and nothing after it, identical to `reference` (the sequences of the
// session's first watcher; null for that watcher itself).
StreamVerdict CheckStream(
    const StreamRecord& stream, const std::vector<int64_t>* reference,
    std::optional<analysis::v1::SessionStatus> expected_terminal);

// What the watchers of a run saw, stream by stream.
struct StreamCheck {
  int64_t total = 0;
  int64_t complete = 0;
  // Streams whose verdict had gaps (complete or not).
  int64_t with_gaps = 0;
  // The first few problems, one per session, e.g. "session 9f.. watcher 1:
  // no terminal event (last sequence 7)".
  std::vector<std::string> problems;
};

struct LifecycleReport {
  std::string target;
  std::string session_type;  // "health", ...
  std::string business_id;
  std::string user_id;  // whom the server billed (for --vs_pgbench)
  std::string run_tag;  // request ids are "bench-RUNTAG-N"
  int sessions_planned = 0;
  int concurrency = 0;
  double rate = 0;  // steady-rate mode: sessions started per second
  int watchers = 0;
  int channels = 0;

  int64_t created = 0;
  int64_t completed = 0;
  int64_t failed = 0;
  int64_t cancelled = 0;
  // First CreateSession to the last terminal event.
  absl::Duration elapsed;
  double sessions_per_s = 0;

  // Live events before the terminal one (heartbeats excluded): the
  // broker-to-client path.
  LatencySummary latency;
  // Live terminal events. The server writes the completion (one commit)
  // before it publishes the terminal event, so these include that commit.
  LatencySummary terminal_latency;
  int64_t events = 0;    // every event received, all streams
  int64_t replayed = 0;  // emitted before their stream opened
  int64_t heartbeats = 0;
  StreamCheck streams;
  ServerMemory memory;
  // OK, or the first CreateSession error, or the stall.
  absl::Status error;

  int streams_in_flight() const { return concurrency * watchers; }
};

struct IdleReport {
  std::string target;
  int sessions = 0;
  int channels = 0;
  int64_t created = 0;
  int64_t streams_requested = 0;
  // Streams that delivered their first event (the replayed "queued").
  int64_t streams_opened = 0;
  // From the first stream opened to the last.
  absl::Duration open_time;
  absl::Duration hold;
  int64_t heartbeats = 0;
  // Streams whose last event was CANCELLED and that ended OK.
  int64_t streams_cancelled = 0;
  // Sessions that had finished by themselves before the cancel (the server
  // runs workers).
  int64_t finished_before_cancel = 0;
  LatencySummary cancel_latency;  // live (cancel) events
  StreamCheck streams;
  ServerMemory memory;
  absl::Status error;
};

absl::StatusOr<LifecycleReport> RunLifecycleBench(const BenchOptions& options);
absl::StatusOr<IdleReport> RunIdleBench(const BenchOptions& options);

// ceil(streams / kStreamsPerChannel), at least 1.
int DefaultChannels(int64_t streams);

// "10,100,500,1000" -> {10, 100, 500, 1000}: positive integers, comma
// separated (spaces allowed around them), at most 1,000,000 each.
// INVALID_ARGUMENT otherwise.
absl::StatusOr<std::vector<int>> ParseSweepList(absl::string_view text);

// The concurrency for `streams` streams of `watchers` each: streams /
// watchers, at least 1.
int SweepConcurrency(int streams, int watchers);

// The human-readable report.
std::string RenderLifecycleReport(const LifecycleReport& report);
std::string RenderIdleReport(const IdleReport& report);
// One JSON object, no newline.
std::string LifecycleJson(const LifecycleReport& report);
std::string IdleJson(const IdleReport& report);

// "streams,sessions,sessions_per_s,p50_ms,p99_ms,max_ms,events,peak_rss_mb"
std::string SweepCsvHeader();
// One CSV row (no newline); peak_rss_mb is empty when the RSS is unknown.
std::string SweepCsvRow(const LifecycleReport& report);

// `text` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view text);

// Milliseconds with three decimals, e.g. "1.234".
std::string FormatMillis(absl::Duration duration);

}  // namespace goodbuy::client::cli

#endif  // GOODBUY_CLIENT_CLI_BENCH_H_
