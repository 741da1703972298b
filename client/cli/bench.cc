#include "client/cli/bench.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "client/cli/names.h"
#include "client/cli/proc_stats.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_callback.h"

namespace goodbuy::client::cli {
namespace {

namespace v1 = ::goodbuy::analysis::v1;
using Stub = v1::AnalysisService::Stub;

// Idle mode creates and cancels its sessions this many at a time: enough to
// be quick, few enough not to queue thousands of calls on the server's
// database pool at once.
constexpr int kUnaryWindow = 32;
constexpr size_t kMaxProblems = 5;
constexpr absl::Duration kProgressEvery = absl::Seconds(10);
constexpr absl::Duration kRssInterval = absl::Milliseconds(100);
// A distinct value per channel makes gRPC give each its own connection.
constexpr char kChannelIndexArg[] = "goodbuy.bench_channel_index";

absl::Time FromProto(const google::protobuf::Timestamp& time) {
  return absl::FromUnixSeconds(time.seconds()) +
         absl::Nanoseconds(time.nanos());
}

void AddMetadata(const AnalysisClientOptions& options,
                 grpc::ClientContext* context) {
  for (const auto& [key, value] : options.metadata) {
    context->AddMetadata(key, value);
  }
}

absl::Status ToAbsl(const grpc::Status& status, absl::string_view prefix) {
  return {static_cast<absl::StatusCode>(status.error_code()),
          absl::StrCat(prefix, status.error_message())};
}

absl::StatusOr<std::vector<std::unique_ptr<Stub>>> Connect(
    const BenchOptions& options, int channels) {
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      options.client.credentials ? options.client.credentials
                                 : grpc::InsecureChannelCredentials();
  std::vector<std::shared_ptr<grpc::Channel>> made;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args = ChannelArgumentsFor(options.client);
    // Channels with equal arguments share one subchannel, i.e. one TCP
    // connection; a local pool and a per-channel argument keep them apart so
    // that streams spread over several connections as a fleet of clients'
    // would.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(kChannelIndexArg, i);
    made.push_back(
        grpc::CreateCustomChannel(options.target, credentials, args));
  }
  const absl::Time deadline = absl::Now() + options.client.deadline;
  std::vector<std::unique_ptr<Stub>> stubs;
  for (const auto& channel : made) {
    if (!channel->WaitForConnected(absl::ToChronoTime(deadline))) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to ", options.target, " within ",
                       absl::FormatDuration(options.client.deadline)));
    }
    stubs.push_back(v1::AnalysisService::NewStub(channel));
  }
  return stubs;
}

// Finds the server process and starts sampling its RSS.
std::unique_ptr<RssSampler> StartSampler(const BenchOptions& options,
                                         ServerMemory* memory) {
  int pid = options.server_pid;
  if (pid <= 0) {
    absl::StatusOr<int> port = TargetPort(options.target);
    absl::StatusOr<int> found =
        port.ok() ? FindListeningPid(*port) : port.status();
    if (!found.ok()) {
      memory->unknown_reason = std::string(found.status().message());
      return nullptr;
    }
    pid = *found;
  }
  memory->pid = pid;
  if (!ReadProcMemory(pid).ok()) {
    memory->unknown_reason = absl::StrCat("cannot read /proc/", pid, "/status");
    return nullptr;
  }
  memory->known = true;
  return std::make_unique<RssSampler>(pid, kRssInterval);
}

void StopSampler(std::unique_ptr<RssSampler> sampler, ServerMemory* memory) {
  if (sampler == nullptr) return;
  const RssSampler::Result result = sampler->Stop();
  memory->samples = result.samples;
  memory->peak_rss_kb = result.peak_rss_kb;
  memory->hwm_kb = result.last_hwm_kb;
}

enum class Mode { kLifecycle, kIdle };

class Run;
class SessionRun;

// One WatchSession stream. Owned by its SessionRun; lives until the run is
// over, so nothing has to delete it in OnDone.
class WatchReactor final : public grpc::ClientReadReactor<v1::SessionEvent> {
 public:
  WatchReactor(Run* run, SessionRun* session,
               const AnalysisClientOptions& options)
      : run_(run), session_(session) {
    AddMetadata(options, &context_);
  }

  void Start(Stub* stub, const std::string& session_id) {
    request_.set_session_id(session_id);
    request_.set_after_sequence(0);
    // Events stamped before this instant were emitted before the stream
    // existed: they come from the event log, not live from the job.
    opened_ = absl::Now();
    stub->async()->WatchSession(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  // Any thread, any time (also before Start).
  void Cancel() { context_.TryCancel(); }

  const StreamRecord& record() const { return record_; }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  Run* const run_;
  SessionRun* const session_;
  grpc::ClientContext context_;
  v1::WatchSessionRequest request_;
  v1::SessionEvent event_;
  absl::Time opened_;
  bool settled_ = false;
  int64_t replayed_ = 0;
  std::vector<absl::Duration> latencies_;
  std::vector<absl::Duration> terminal_latencies_;
  StreamRecord record_;
};

// One session: its CreateSession, its watchers and (idle mode) its
// CancelSession. The counters marked "Run::mu_" are guarded by the owning
// Run's mutex.
class SessionRun {
 public:
  SessionRun(Run* run, int index, int watchers,
             const AnalysisClientOptions& options)
      : index_(index), options_(options) {
    AddMetadata(options, &create_context_);
    create_context_.set_deadline(
        absl::ToChronoTime(absl::Now() + options.deadline));
    AddMetadata(options, &cancel_context_);
    for (int i = 0; i < watchers; ++i) {
      watchers_.push_back(std::make_unique<WatchReactor>(run, this, options));
    }
  }

  void Create(Stub* stub, v1::CreateSessionRequest request, Run* run);
  void OpenWatchers(const std::vector<Stub*>& stubs);
  void Cancel(Stub* stub, Run* run);

  // Cancels whatever calls are in flight (create and watches; cancel too
  // when `cancel_too`).
  void CancelCalls(bool cancel_too) {
    create_context_.TryCancel();
    if (cancel_too) cancel_context_.TryCancel();
    for (auto& watcher : watchers_) watcher->Cancel();
  }

  int index() const { return index_; }
  const v1::Session& session() const { return session_; }
  const std::vector<std::unique_ptr<WatchReactor>>& watchers() const {
    return watchers_;
  }

  // Run::mu_.
  bool created = false;
  bool watching = false;
  int watchers_running = 0;
  bool terminal_seen = false;
  bool slot_released = false;

 private:
  const int index_;
  const AnalysisClientOptions& options_;
  grpc::ClientContext create_context_;
  v1::CreateSessionRequest create_request_;
  v1::Session session_;
  grpc::ClientContext cancel_context_;
  v1::CancelSessionRequest cancel_request_;
  v1::Session cancel_response_;
  std::vector<std::unique_ptr<WatchReactor>> watchers_;
};

// The shared state of one bench run. Reactions call in from gRPC threads;
// the thread that called Run* waits in Await(). Every reaction's last step
// that can let the waiting thread finish is taken under mu_, and work that
// must follow it (starting the next CreateSession or CancelSession) is
// reserved under the same lock first, so the waiting thread never tears the
// run down while a reaction still uses it.
class Run {
 public:
  Run(const BenchOptions& options, Mode mode,
      std::vector<std::unique_ptr<Stub>> stubs, int planned_sessions)
      : options_(options),
        mode_(mode),
        stubs_(std::move(stubs)),
        planned_(planned_sessions),
        run_tag_(NewRequestId().substr(0, 12)) {
    for (const auto& stub : stubs_) stub_ptrs_.push_back(stub.get());
    last_progress_ns_ = absl::ToUnixNanos(absl::Now());
  }
  ~Run() {
    if (pacer_.joinable()) pacer_.join();
  }

  const std::string& run_tag() const { return run_tag_; }

  // --- Lifecycle mode ---------------------------------------------------
  void StartLifecycle() {
    {
      absl::MutexLock lock(&mu_);
      first_create_ = absl::Now();
    }
    if (Paced()) {
      // Steady rate: session i starts at i / rate seconds, on its own
      // thread, whatever the others are doing.
      pacer_ = std::thread([this] {
        const absl::Time start = absl::Now();
        const absl::Duration every = absl::Seconds(1.0 / options_.rate);
        for (int i = 0;; ++i) {
          absl::SleepFor(start + i * every - absl::Now());
          SessionRun* next = ReserveLaunch();
          if (next == nullptr) return;
          LaunchReserved(next);
        }
      });
      return;
    }
    const int first = std::min(options_.concurrency, planned_);
    for (int i = 0; i < first; ++i) LaunchReserved(ReserveLaunch());
  }

  bool LifecycleDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return sessions_done_ == launched_ && (launched_ == planned_ || abort_);
  }

  // --- Idle mode --------------------------------------------------------
  void StartIdleCreates() {
    const int first = std::min(kUnaryWindow, planned_);
    for (int i = 0; i < first; ++i) LaunchReserved(ReserveLaunch());
  }

  bool CreatesDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return created_ + create_errors_ == launched_ &&
           (launched_ == planned_ || abort_);
  }

  // Opens options_.idle_streams streams spread over the created sessions.
  void OpenIdleStreams() {
    std::vector<SessionRun*> to_open;
    {
      absl::MutexLock lock(&mu_);
      for (auto& session : sessions_) {
        if (!session->created || session->watchers().empty()) continue;
        session->watching = true;
        session->watchers_running =
            static_cast<int>(session->watchers().size());
        streams_started_ += session->watchers_running;
        to_open.push_back(session.get());
      }
      first_open_ = absl::Now();
    }
    for (SessionRun* session : to_open) session->OpenWatchers(stub_ptrs_);
  }

  bool StreamsSettled() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return streams_settled_ == streams_started_;
  }

  void StartCancels() {
    {
      absl::MutexLock lock(&mu_);
      for (auto& session : sessions_) {
        if (session->created) cancel_order_.push_back(session.get());
      }
    }
    for (int i = 0; i < kUnaryWindow; ++i) {
      SessionRun* next = nullptr;
      {
        absl::MutexLock lock(&mu_);
        next = ReserveCancelLocked();
      }
      if (next == nullptr) break;
      next->Cancel(StubFor(next->index()), this);
    }
  }

  bool IdleDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return cancels_done_ == cancels_launched_ &&
           (cancels_launched_ == static_cast<int64_t>(cancel_order_.size()) ||
            cancel_aborted_) &&
           streams_done_ == streams_started_;
  }

  // --- Waiting ----------------------------------------------------------
  // Waits until `done` holds, printing progress every kProgressEvery. When
  // nothing moves for options_.stall_timeout the run is abandoned: its calls
  // are cancelled (and CancelSession calls too when `cancels_too`), which
  // makes `done` come true soon after. Returns false when it was abandoned.
  bool Await(bool (Run::*done)() const, absl::string_view phase,
             bool cancels_too) {
    // The phase starts now: a long --hold without events is no stall.
    NoteProgress();
    absl::Time next_report = absl::Now() + kProgressEvery;
    bool stalled = false;
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        if (mu_.AwaitWithTimeout(absl::Condition(this, done),
                                 absl::Seconds(1))) {
          return !stalled;
        }
      }
      const absl::Time now = absl::Now();
      if (!stalled && now - LastProgress() > options_.stall_timeout) {
        stalled = true;
        Abandon(
            absl::DeadlineExceededError(absl::StrCat(
                "no session event for ",
                absl::FormatDuration(options_.stall_timeout), " while ", phase,
                mode_ == Mode::kLifecycle
                    ? " (does the server run workers? one started with "
                      "--workers=0 never runs sessions)"
                    : " (a running session is cancelled only when its "
                      "job next checks)")),
            cancels_too);
      }
      if (now >= next_report && options_.progress) {
        next_report = now + kProgressEvery;
        options_.progress(ProgressLine(phase));
      }
    }
  }

  // Sleeps for `hold`, reporting progress.
  void Hold(absl::Duration hold) {
    const absl::Time end = absl::Now() + hold;
    absl::Time next_report = absl::Now() + kProgressEvery;
    while (absl::Now() < end) {
      absl::SleepFor(std::min(absl::Seconds(1), end - absl::Now()));
      if (absl::Now() >= next_report && options_.progress) {
        next_report = absl::Now() + kProgressEvery;
        options_.progress(ProgressLine("holding the streams"));
      }
    }
  }

  // --- Reactions --------------------------------------------------------
  void OnCreated(SessionRun* session, const grpc::Status& status) {
    NoteProgress();
    SessionRun* next = nullptr;
    bool open = false;
    {
      absl::MutexLock lock(&mu_);
      if (status.ok()) {
        session->created = true;
        ++created_;
        if (user_id_.empty()) user_id_ = session->session().user_id();
        if (mode_ == Mode::kLifecycle) {
          session->watching = true;
          session->watchers_running =
              static_cast<int>(session->watchers().size());
          streams_started_ += session->watchers_running;
          open = true;
        } else {
          next = ReserveLaunchLocked();
        }
      } else {
        ++create_errors_;
        if (error_.ok()) error_ = ToAbsl(status, "CreateSession: ");
        abort_ = true;
        // No stream will ever end this session: it is done now.
        if (mode_ == Mode::kLifecycle) ++sessions_done_;
      }
    }
    if (open) session->OpenWatchers(stub_ptrs_);
    if (next != nullptr) LaunchReserved(next);
  }

  // The first terminal event any watcher of `session` received.
  void OnTerminal(SessionRun* session, absl::Time received,
                  v1::SessionStatus status) {
    SessionRun* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (session->terminal_seen) return;
      session->terminal_seen = true;
      last_terminal_ = std::max(last_terminal_, received);
      ++terminal_;
      if (status == v1::SESSION_STATUS_COMPLETED) ++completed_;
      if (status == v1::SESSION_STATUS_FAILED) ++failed_;
      if (status == v1::SESSION_STATUS_CANCELLED) ++cancelled_;
      if (mode_ == Mode::kLifecycle && !session->slot_released) {
        session->slot_released = true;
        if (!Paced()) next = ReserveLaunchLocked();
      }
    }
    if (next != nullptr) LaunchReserved(next);
  }

  void OnStreamSettled() {
    absl::MutexLock lock(&mu_);
    ++streams_settled_;
    if (mode_ == Mode::kIdle) last_open_ = absl::Now();
  }

  void OnEvent(bool heartbeat) {
    events_.fetch_add(1, std::memory_order_relaxed);
    if (heartbeat) {
      heartbeats_.fetch_add(1, std::memory_order_relaxed);
    } else {
      NoteProgress();
    }
  }

  // The last reaction of a stream. `latencies` and `replayed` are its
  // measurements.
  void OnStreamDone(SessionRun* session,
                    const std::vector<absl::Duration>& latencies,
                    const std::vector<absl::Duration>& terminal_latencies,
                    int64_t replayed) {
    latencies_.Merge(latencies);
    terminal_latencies_.Merge(terminal_latencies);
    SessionRun* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      replayed_ += replayed;
      ++streams_done_;
      if (--session->watchers_running == 0 && mode_ == Mode::kLifecycle) {
        // A session whose streams all broke before its terminal event
        // frees its slot here instead.
        if (!session->slot_released) {
          session->slot_released = true;
          if (!Paced()) next = ReserveLaunchLocked();
        }
        ++sessions_done_;
      }
    }
    if (next != nullptr) LaunchReserved(next);
  }

  void OnCancelled(const grpc::Status& status) {
    NoteProgress();
    SessionRun* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
        // Finished before we cancelled it: the server runs workers.
        ++finished_before_cancel_;
      } else if (!status.ok()) {
        if (error_.ok()) error_ = ToAbsl(status, "CancelSession: ");
      }
      ++cancels_done_;
      next = ReserveCancelLocked();
    }
    if (next != nullptr) next->Cancel(StubFor(next->index()), this);
  }

  // --- Results (after Await returned) --------------------------------------
  void FillLifecycle(LifecycleReport* report) {
    absl::MutexLock lock(&mu_);
    report->user_id = user_id_;
    report->created = created_;
    report->completed = completed_;
    report->failed = failed_;
    report->cancelled = cancelled_;
    if (terminal_ > 0) {
      report->elapsed = last_terminal_ - first_create_;
      const double seconds = absl::ToDoubleSeconds(report->elapsed);
      report->sessions_per_s =
          seconds > 0 ? static_cast<double>(terminal_) / seconds : 0;
    }
    report->latency = latencies_.Summarize();
    report->terminal_latency = terminal_latencies_.Summarize();
    report->events = events_.load();
    report->replayed = replayed_;
    report->heartbeats = heartbeats_.load();
    report->streams = CheckStreamsLocked(/*expected_terminal=*/std::nullopt);
    report->error = error_;
  }

  void FillIdle(IdleReport* report) {
    absl::MutexLock lock(&mu_);
    report->created = created_;
    report->streams_opened = streams_settled_ - unopened_;
    if (last_open_ > first_open_) report->open_time = last_open_ - first_open_;
    report->heartbeats = heartbeats_.load();
    report->finished_before_cancel = finished_before_cancel_;
    report->cancel_latency = latencies_.Summarize();
    report->streams = CheckStreamsLocked(v1::SESSION_STATUS_CANCELLED);
    report->streams_cancelled = report->streams.complete;
    report->error = error_;
  }

  void CountUnopened() {
    absl::MutexLock lock(&mu_);
    ++unopened_;
  }

  Stub* StubFor(int64_t n) const {
    return stub_ptrs_[static_cast<size_t>(n) % stub_ptrs_.size()];
  }

 private:
  absl::Time LastProgress() const {
    return absl::FromUnixNanos(last_progress_ns_.load());
  }
  void NoteProgress() {
    last_progress_ns_.store(absl::ToUnixNanos(absl::Now()),
                            std::memory_order_relaxed);
  }

  // Steady-rate mode: sessions start on the pacer's clock, not when others
  // finish.
  bool Paced() const { return mode_ == Mode::kLifecycle && options_.rate > 0; }

  SessionRun* ReserveLaunch() {
    absl::MutexLock lock(&mu_);
    return ReserveLaunchLocked();
  }

  SessionRun* ReserveLaunchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (abort_ || launched_ >= planned_) return nullptr;
    const int index = launched_++;
    const int watchers =
        mode_ == Mode::kLifecycle ? options_.watchers : IdleWatchers(index);
    sessions_.push_back(
        std::make_unique<SessionRun>(this, index, watchers, options_.client));
    return sessions_.back().get();
  }

  // Streams of idle session `index`: idle_streams spread evenly.
  int IdleWatchers(int index) const {
    const int per = options_.idle_streams / planned_;
    const int extra = options_.idle_streams % planned_;
    return per + (index < extra ? 1 : 0);
  }

  void LaunchReserved(SessionRun* session) {
    if (session == nullptr) return;
    v1::CreateSessionRequest request;
    request.set_request_id(
        absl::StrCat("bench-", run_tag_, "-", session->index()));
    request.set_business_id(options_.business_id);
    request.set_session_type(options_.session_type);
    request.set_user_id(options_.user_id);
    session->Create(StubFor(session->index()), std::move(request), this);
  }

  SessionRun* ReserveCancelLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (cancel_aborted_ ||
        cancels_launched_ >= static_cast<int64_t>(cancel_order_.size())) {
      return nullptr;
    }
    return cancel_order_[static_cast<size_t>(cancels_launched_++)];
  }

  void Abandon(absl::Status why, bool cancels_too) {
    std::vector<SessionRun*> all;
    {
      absl::MutexLock lock(&mu_);
      if (error_.ok()) error_ = std::move(why);
      abort_ = true;
      if (cancels_too) cancel_aborted_ = true;
      for (auto& session : sessions_) all.push_back(session.get());
    }
    // Outside the lock: a cancelled call may run its reactions at once.
    for (SessionRun* session : all) session->CancelCalls(cancels_too);
  }

  std::string ProgressLine(absl::string_view phase) {
    absl::MutexLock lock(&mu_);
    return absl::StrFormat(
        "bench: %s: %d/%d sessions created, %d finished, %d/%d streams "
        "open, %d events (%d heartbeats)",
        phase, created_, planned_, terminal_, streams_started_ - streams_done_,
        streams_started_, events_.load(), heartbeats_.load());
  }

  // Checks every started stream with CheckStream(), each against the
  // session's first watcher.
  StreamCheck CheckStreamsLocked(
      std::optional<v1::SessionStatus> expected_terminal)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    StreamCheck check;
    for (const auto& session : sessions_) {
      if (!session->watching) continue;
      const std::vector<int64_t>* reference = nullptr;
      int index = 0;
      bool listed = false;
      for (const auto& watcher : session->watchers()) {
        const StreamRecord& record = watcher->record();
        const StreamVerdict verdict =
            CheckStream(record, reference, expected_terminal);
        if (reference == nullptr) reference = &record.sequences;
        ++check.total;
        if (verdict.gaps) ++check.with_gaps;
        if (verdict.problem.empty()) {
          ++check.complete;
        } else if (!listed && check.problems.size() < kMaxProblems) {
          // One line per session: its watchers tend to fail alike.
          listed = true;
          check.problems.push_back(
              absl::StrCat("session ", session->session().session_id(),
                           " watcher ", index, ": ", verdict.problem));
        }
        ++index;
      }
    }
    return check;
  }

  const BenchOptions& options_;
  const Mode mode_;
  const std::vector<std::unique_ptr<Stub>> stubs_;
  std::vector<Stub*> stub_ptrs_;
  const int planned_;
  const std::string run_tag_;

  LatencyRecorder latencies_;
  LatencyRecorder terminal_latencies_;
  std::atomic<int64_t> events_{0};
  std::atomic<int64_t> heartbeats_{0};
  std::atomic<int64_t> last_progress_ns_{0};

  // Starts the sessions in steady-rate mode.
  std::thread pacer_;

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<SessionRun>> sessions_ ABSL_GUARDED_BY(mu_);
  int launched_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t created_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t create_errors_ ABSL_GUARDED_BY(mu_) = 0;
  int sessions_done_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t streams_started_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t streams_settled_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t unopened_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t streams_done_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t terminal_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t completed_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t cancelled_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t replayed_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time first_create_ ABSL_GUARDED_BY(mu_);
  absl::Time last_terminal_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time first_open_ ABSL_GUARDED_BY(mu_);
  absl::Time last_open_ ABSL_GUARDED_BY(mu_);
  std::vector<SessionRun*> cancel_order_ ABSL_GUARDED_BY(mu_);
  int64_t cancels_launched_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t cancels_done_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t finished_before_cancel_ ABSL_GUARDED_BY(mu_) = 0;
  bool abort_ ABSL_GUARDED_BY(mu_) = false;
  bool cancel_aborted_ ABSL_GUARDED_BY(mu_) = false;
  std::string user_id_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

void WatchReactor::OnReadDone(bool ok) {
  if (!ok) return;  // The stream is over; OnDone follows.
  // First thing, so that our own bookkeeping is not part of the latency.
  const absl::Time received = absl::Now();
  if (!settled_) {
    settled_ = true;
    run_->OnStreamSettled();
  }
  if (event_.has_heartbeat()) {
    // Heartbeats repeat the last sequence and never advance the cursor, so
    // they are neither latency samples nor part of the sequence check.
    ++record_.heartbeats;
    run_->OnEvent(/*heartbeat=*/true);
  } else {
    const absl::Time emitted = FromProto(event_.event_time());
    if (emitted >= opened_) {
      (IsTerminal(event_.status()) ? terminal_latencies_ : latencies_)
          .push_back(received - emitted);
    } else {
      ++replayed_;
    }
    if (record_.terminal) record_.events_after_terminal = true;
    record_.sequences.push_back(event_.sequence());
    run_->OnEvent(/*heartbeat=*/false);
    if (IsTerminal(event_.status())) {
      record_.terminal = true;
      record_.terminal_status = event_.status();
      run_->OnTerminal(session_, received, event_.status());
    }
  }
  StartRead(&event_);
}

void WatchReactor::OnDone(const grpc::Status& status) {
  record_.status = ToAbsl(status, "");
  if (!settled_) {
    settled_ = true;
    run_->CountUnopened();
    run_->OnStreamSettled();
  }
  // Last: it may let the waiting thread finish the run and free this.
  run_->OnStreamDone(session_, latencies_, terminal_latencies_, replayed_);
}

void SessionRun::Create(Stub* stub, v1::CreateSessionRequest request,
                        Run* run) {
  create_request_ = std::move(request);
  stub->async()->CreateSession(&create_context_, &create_request_, &session_,
                               [this, run](const grpc::Status& status) {
                                 run->OnCreated(this, status);
                               });
}

void SessionRun::OpenWatchers(const std::vector<Stub*>& stubs) {
  // Watcher j of session i on channel i*M + j: consecutive sessions and
  // their watchers land on different connections.
  const size_t base = static_cast<size_t>(index_) * watchers_.size();
  for (size_t j = 0; j < watchers_.size(); ++j) {
    watchers_[j]->Start(stubs[(base + j) % stubs.size()],
                        session_.session_id());
  }
}

void SessionRun::Cancel(Stub* stub, Run* run) {
  cancel_request_.set_session_id(session_.session_id());
  cancel_request_.set_reason("analysisctl bench: idle streams released");
  cancel_context_.set_deadline(
      absl::ToChronoTime(absl::Now() + options_.deadline));
  stub->async()->CancelSession(
      &cancel_context_, &cancel_request_, &cancel_response_,
      [run](const grpc::Status& status) { run->OnCancelled(status); });
}

std::string MemoryText(const ServerMemory& memory) {
  if (!memory.known) {
    return absl::StrCat("unknown (pass --server_pid)",
                        memory.unknown_reason.empty()
                            ? ""
                            : absl::StrCat(": ", memory.unknown_reason));
  }
  return absl::StrFormat(
      "peak %.1f MB during the run (VmHWM %.1f MB), pid %d, %d samples",
      static_cast<double>(memory.peak_rss_kb) / 1024.0,
      static_cast<double>(memory.hwm_kb) / 1024.0, memory.pid, memory.samples);
}

std::string StreamsText(const StreamCheck& check) {
  std::string text = absl::StrCat("complete streams: ", check.complete, "/",
                                  check.total, "\n");
  if (check.with_gaps > 0) {
    absl::StrAppend(&text, "             ", check.with_gaps,
                    " streams skipped sequence numbers (allowed: numbers of "
                    "a retried attempt, or progress coalesced for a slow "
                    "watcher)\n");
  }
  for (const std::string& problem : check.problems) {
    absl::StrAppend(&text, "             ", problem, "\n");
  }
  if (check.total - check.complete >
      static_cast<int64_t>(check.problems.size())) {
    absl::StrAppend(&text, "             ... and ",
                    check.total - check.complete -
                        static_cast<int64_t>(check.problems.size()),
                    " more\n");
  }
  return text;
}

std::string LatencyText(const LatencySummary& latency) {
  if (latency.count == 0) return "no live events measured";
  return absl::StrCat("p50 ", FormatMillis(latency.p50), " ms, p99 ",
                      FormatMillis(latency.p99), " ms, max ",
                      FormatMillis(latency.max), " ms over ", latency.count,
                      " live events");
}

}  // namespace

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

namespace {

std::string JsonLatency(const LatencySummary& latency) {
  return absl::StrCat("{\"count\":", latency.count,
                      ",\"p50_ms\":", FormatMillis(latency.p50),
                      ",\"p99_ms\":", FormatMillis(latency.p99),
                      ",\"max_ms\":", FormatMillis(latency.max), "}");
}

std::string JsonMemory(const ServerMemory& memory) {
  if (!memory.known) {
    return absl::StrCat(
        "{\"known\":false,\"reason\":", JsonQuote(memory.unknown_reason), "}");
  }
  return absl::StrCat("{\"known\":true,\"pid\":", memory.pid,
                      ",\"peak_rss_kb\":", memory.peak_rss_kb,
                      ",\"hwm_kb\":", memory.hwm_kb,
                      ",\"samples\":", memory.samples, "}");
}

std::string JsonStreams(const StreamCheck& check) {
  std::vector<std::string> problems;
  for (const std::string& problem : check.problems) {
    problems.push_back(JsonQuote(problem));
  }
  return absl::StrCat("{\"total\":", check.total,
                      ",\"complete\":", check.complete,
                      ",\"with_gaps\":", check.with_gaps, ",\"problems\":[",
                      absl::StrJoin(problems, ","), "]}");
}

}  // namespace

StreamVerdict CheckStream(const StreamRecord& stream,
                          const std::vector<int64_t>* reference,
                          std::optional<v1::SessionStatus> expected_terminal) {
  StreamVerdict verdict;
  const std::vector<int64_t>& seqs = stream.sequences;
  if (!seqs.empty() && seqs.front() != 1) verdict.gaps = true;
  for (size_t i = 1; i < seqs.size(); ++i) {
    if (seqs[i] <= seqs[i - 1]) {
      verdict.problem =
          absl::StrCat("sequence ", seqs[i], " after ", seqs[i - 1]);
      return verdict;
    }
    if (seqs[i] != seqs[i - 1] + 1) verdict.gaps = true;
  }
  if (!stream.status.ok()) {
    // A locally cancelled call says "CANCELLED: CANCELLED"; once is enough.
    const std::string code = absl::StatusCodeToString(stream.status.code());
    verdict.problem = absl::StrCat(
        "stream ended with ", code,
        stream.status.message().empty() || stream.status.message() == code
            ? ""
            : absl::StrCat(": ", stream.status.message()),
        " after ", seqs.size(), " events");
  } else if (seqs.empty()) {
    verdict.problem = "no event";
  } else if (!stream.terminal) {
    verdict.problem =
        absl::StrCat("no terminal event (last sequence ", seqs.back(), ")");
  } else if (stream.events_after_terminal) {
    verdict.problem = "events after the terminal event";
  } else if (expected_terminal &&
             stream.terminal_status != *expected_terminal) {
    verdict.problem =
        absl::StrCat("ended ", SessionStatusName(stream.terminal_status),
                     ", not ", SessionStatusName(*expected_terminal));
  } else if (reference != nullptr && seqs != *reference) {
    verdict.problem =
        absl::StrCat("sequences differ from watcher 0 (", seqs.size(), " vs ",
                     reference->size(), " events)");
  }
  return verdict;
}

int DefaultChannels(int64_t streams) {
  return static_cast<int>(std::max<int64_t>(
      1, (streams + kStreamsPerChannel - 1) / kStreamsPerChannel));
}

int SweepConcurrency(int streams, int watchers) {
  return std::max(1, streams / std::max(1, watchers));
}

absl::StatusOr<std::vector<int>> ParseSweepList(absl::string_view text) {
  std::vector<int> counts;
  if (absl::StripAsciiWhitespace(text).empty()) {
    return absl::InvalidArgumentError("--sweep is empty");
  }
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    item = absl::StripAsciiWhitespace(item);
    int value = 0;
    if (item.empty() || !absl::SimpleAtoi(item, &value) || value <= 0 ||
        value > 1000000) {
      return absl::InvalidArgumentError(
          absl::StrCat("--sweep: \"", item,
                       "\" is not a stream count (1..1000000); expected e.g. "
                       "--sweep=10,100,500,1000"));
    }
    counts.push_back(value);
  }
  return counts;
}

std::string FormatMillis(absl::Duration duration) {
  return absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(duration));
}

absl::StatusOr<LifecycleReport> RunLifecycleBench(const BenchOptions& options) {
  LifecycleReport report;
  report.target = options.target;
  report.session_type = SessionTypeName(options.session_type);
  report.business_id = options.business_id;
  report.sessions_planned = options.sessions;
  report.concurrency = options.concurrency;
  report.rate = options.rate;
  report.watchers = options.watchers;
  report.channels =
      options.channels > 0
          ? options.channels
          : DefaultChannels(static_cast<int64_t>(options.concurrency) *
                            options.watchers);
  absl::StatusOr<std::vector<std::unique_ptr<Stub>>> stubs =
      Connect(options, report.channels);
  if (!stubs.ok()) return stubs.status();

  std::unique_ptr<RssSampler> sampler = StartSampler(options, &report.memory);
  Run run(options, Mode::kLifecycle, *std::move(stubs), options.sessions);
  report.run_tag = run.run_tag();
  run.StartLifecycle();
  run.Await(&Run::LifecycleDone, "running sessions", /*cancels_too=*/true);
  StopSampler(std::move(sampler), &report.memory);
  run.FillLifecycle(&report);
  return report;
}

absl::StatusOr<IdleReport> RunIdleBench(const BenchOptions& options) {
  IdleReport report;
  report.target = options.target;
  report.sessions = options.idle_sessions;
  report.streams_requested = options.idle_streams;
  report.hold = options.hold;
  report.channels = options.channels > 0
                        ? options.channels
                        : DefaultChannels(options.idle_streams);
  absl::StatusOr<std::vector<std::unique_ptr<Stub>>> stubs =
      Connect(options, report.channels);
  if (!stubs.ok()) return stubs.status();

  std::unique_ptr<RssSampler> sampler = StartSampler(options, &report.memory);
  Run run(options, Mode::kIdle, *std::move(stubs), options.idle_sessions);
  run.StartIdleCreates();
  const bool created = run.Await(&Run::CreatesDone, "creating sessions",
                                 /*cancels_too=*/false);
  if (created) {
    run.OpenIdleStreams();
    if (run.Await(&Run::StreamsSettled, "opening streams",
                  /*cancels_too=*/false)) {
      run.Hold(options.hold);
    }
  }
  // Cancel whatever was created, even after a failure, so that no pending
  // session is left for a later server with workers to run.
  run.StartCancels();
  run.Await(&Run::IdleDone, "cancelling sessions", /*cancels_too=*/true);
  StopSampler(std::move(sampler), &report.memory);
  run.FillIdle(&report);
  return report;
}

std::string RenderLifecycleReport(const LifecycleReport& report) {
  std::string text = absl::StrFormat(
      "bench:       %d %s sessions of %s against %s\n", report.sessions_planned,
      report.session_type, report.business_id, report.target);
  if (report.rate > 0) {
    absl::StrAppendFormat(&text,
                          "             steady rate %.1f sessions/s x %d "
                          "watcher(s) on %d channel(s); request ids "
                          "bench-%s-N\n",
                          report.rate, report.watchers, report.channels,
                          report.run_tag);
  } else {
    absl::StrAppendFormat(
        &text,
        "             concurrency %d x %d watcher(s) = %d streams on %d "
        "channel(s); request ids bench-%s-N\n",
        report.concurrency, report.watchers, report.streams_in_flight(),
        report.channels, report.run_tag);
  }
  absl::StrAppendFormat(
      &text,
      "lifecycle:   %d/%d sessions created -> terminal in %.3f s = %.1f "
      "sessions/s (%d created, %d completed, %d failed, %d cancelled)\n",
      report.completed + report.failed + report.cancelled,
      report.sessions_planned, absl::ToDoubleSeconds(report.elapsed),
      report.sessions_per_s, report.created, report.completed, report.failed,
      report.cancelled);
  absl::StrAppend(&text, "latency:     job emit -> client receive: ",
                  LatencyText(report.latency), "\n");
  absl::StrAppend(&text,
                  "terminal:    the same for the terminal events, which the "
                  "server publishes after committing the completion: ",
                  LatencyText(report.terminal_latency), "\n");
  absl::StrAppendFormat(&text,
                        "             %d events received, %d replayed "
                        "(emitted before the stream opened, not measured), "
                        "%d heartbeats\n",
                        report.events, report.replayed, report.heartbeats);
  absl::StrAppend(&text, "streams:     ", StreamsText(report.streams));
  absl::StrAppend(&text, "server RSS:  ", MemoryText(report.memory), "\n");
  if (!report.error.ok()) {
    absl::StrAppend(&text, "error:       ", report.error.ToString(), "\n");
  }
  return text;
}

std::string RenderIdleReport(const IdleReport& report) {
  std::string text = absl::StrFormat(
      "bench idle:  %d streams on %d pending sessions (%d created) against "
      "%s, %d channel(s)\n",
      report.streams_requested, report.sessions, report.created, report.target,
      report.channels);
  absl::StrAppendFormat(&text,
                        "streams:     %d/%d opened in %.3f s, held %s, %d "
                        "heartbeats received\n",
                        report.streams_opened, report.streams_requested,
                        absl::ToDoubleSeconds(report.open_time),
                        absl::FormatDuration(report.hold), report.heartbeats);
  absl::StrAppendFormat(&text,
                        "cancelled:   %d/%d streams received CANCELLED\n",
                        report.streams_cancelled, report.streams_requested);
  if (report.streams.complete < report.streams.total) {
    absl::StrAppend(&text, "             ", StreamsText(report.streams));
  }
  if (report.finished_before_cancel > 0) {
    absl::StrAppendFormat(
        &text,
        "             %d sessions had finished before the cancel: start the "
        "server with --workers=0 for idle streams\n",
        report.finished_before_cancel);
  }
  absl::StrAppend(
      &text,
      "latency:     live events (the CANCELLED ones unless sessions ran): ",
      LatencyText(report.cancel_latency), "\n");
  absl::StrAppend(&text, "server RSS:  ", MemoryText(report.memory), "\n");
  if (!report.error.ok()) {
    absl::StrAppend(&text, "error:       ", report.error.ToString(), "\n");
  }
  return text;
}

std::string LifecycleJson(const LifecycleReport& report) {
  return absl::StrCat(
      "{\"mode\":\"lifecycle\",\"target\":", JsonQuote(report.target),
      ",\"session_type\":", JsonQuote(report.session_type),
      ",\"business_id\":", JsonQuote(report.business_id),
      ",\"run_tag\":", JsonQuote(report.run_tag),
      ",\"sessions\":", report.sessions_planned,
      ",\"concurrency\":", report.concurrency,
      ",\"watchers\":", report.watchers,
      ",\"streams\":", report.streams_in_flight(),
      ",\"channels\":", report.channels, ",\"created\":", report.created,
      ",\"completed\":", report.completed, ",\"failed\":", report.failed,
      ",\"cancelled\":", report.cancelled, ",\"elapsed_s\":",
      absl::StrFormat("%.3f", absl::ToDoubleSeconds(report.elapsed)),
      ",\"sessions_per_s\":", absl::StrFormat("%.3f", report.sessions_per_s),
      ",\"latency\":", JsonLatency(report.latency),
      ",\"terminal_latency\":", JsonLatency(report.terminal_latency),
      ",\"events\":", report.events, ",\"replayed\":", report.replayed,
      ",\"heartbeats\":", report.heartbeats,
      ",\"stream_check\":", JsonStreams(report.streams),
      ",\"server_memory\":", JsonMemory(report.memory), ",\"error\":",
      report.error.ok() ? "null" : JsonQuote(report.error.ToString()), "}");
}

std::string IdleJson(const IdleReport& report) {
  return absl::StrCat(
      "{\"mode\":\"idle\",\"target\":", JsonQuote(report.target),
      ",\"sessions\":", report.sessions, ",\"created\":", report.created,
      ",\"channels\":", report.channels,
      ",\"streams_requested\":", report.streams_requested,
      ",\"streams_opened\":", report.streams_opened, ",\"open_time_s\":",
      absl::StrFormat("%.3f", absl::ToDoubleSeconds(report.open_time)),
      ",\"hold_s\":",
      absl::StrFormat("%.3f", absl::ToDoubleSeconds(report.hold)),
      ",\"heartbeats\":", report.heartbeats,
      ",\"streams_cancelled\":", report.streams_cancelled,
      ",\"finished_before_cancel\":", report.finished_before_cancel,
      ",\"cancel_latency\":", JsonLatency(report.cancel_latency),
      ",\"stream_check\":", JsonStreams(report.streams),
      ",\"server_memory\":", JsonMemory(report.memory), ",\"error\":",
      report.error.ok() ? "null" : JsonQuote(report.error.ToString()), "}");
}

std::string SweepCsvHeader() {
  return "streams,sessions,sessions_per_s,p50_ms,p99_ms,max_ms,events,"
         "peak_rss_mb";
}

std::string SweepCsvRow(const LifecycleReport& report) {
  return absl::StrCat(
      report.streams_in_flight(), ",", report.sessions_planned, ",",
      absl::StrFormat("%.3f", report.sessions_per_s), ",",
      FormatMillis(report.latency.p50), ",", FormatMillis(report.latency.p99),
      ",", FormatMillis(report.latency.max), ",", report.latency.count, ",",
      report.memory.known
          ? absl::StrFormat(
                "%.1f", static_cast<double>(report.memory.peak_rss_kb) / 1024.0)
          : "");
}

}  // namespace goodbuy::client::cli
