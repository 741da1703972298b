#include "server/core/job_runner.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/analysis/analyzer.h"
#include "server/analysis/forecast_analyzer.h"
#include "server/analysis/health_analyzer.h"
#include "server/analysis/history.h"
#include "server/analysis/valuation_analyzer.h"
#include "server/common/errors.h"
#include "server/common/time_util.h"
#include "server/core/core_metrics.h"
#include "server/logging/log_context.h"
#include "server/store/session_names.h"
#include "spdlog/spdlog.h"

namespace goodbuy::core {
namespace {

namespace v1 = ::goodbuy::analysis::v1;

// Why a job was asked to stop. The first reason wins: a cancel is not
// turned into a release at shutdown, nor the other way round.
enum StopReason : int { kRun = 0, kCancel = 1, kRelease = 2, kLeaseLost = 3 };

void RequestStop(std::atomic<int>& stop, StopReason reason) {
  int expected = kRun;
  stop.compare_exchange_strong(expected, reason);
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  return status.ok() ? json : "{}";
}

// The ProgressSink handed to an analysis: turns its progress into events.
class SessionRun final : public analysis::ProgressSink {
 public:
  SessionRun(const JobOptions& options, store::SessionStore* sessions,
             EventBroker* broker, const store::ClaimedSession& claimed,
             std::shared_ptr<std::atomic<int>> stop)
      : options_(options),
        sessions_(sessions),
        broker_(broker),
        session_id_(claimed.session.session_id()),
        attempt_(claimed.attempt),
        stop_(std::move(stop)),
        last_sequence_(claimed.session.last_sequence()),
        progress_(claimed.session.progress_percentage()),
        stage_(claimed.session.stage()),
        last_flush_(absl::Now()),
        stage_start_(absl::Now()),
        deadline_(absl::Now() +
                  options.MaxRunTime(claimed.session.session_type())) {
    // The claim numbered and published its event; it is persisted with this
    // run's first write.
    pending_.push_back(claimed.claim_event);
  }

  bool Progress(int percent, std::string_view stage) override {
    if (!Pace(stage)) return false;
    if (std::clamp(percent, progress_, 99) == progress_ && stage == stage_) {
      return true;  // nothing changed: no event
    }
    Emit(NextEvent(percent, stage));
    return !Stopped();
  }

  bool Partial(int percent, std::string_view stage,
               v1::PartialResult partial) override {
    if (!Pace(stage)) return false;
    partial_json_.push_back(ToJson(partial));
    partials_changed_ = true;
    v1::SessionEvent event = NextEvent(percent, stage);
    *event.mutable_partial_result() = std::move(partial);
    // Watchers here get it now; the table gets it with the next flush (at
    // most progress_flush later) or in the terminal write, so a fast job
    // costs one transaction, not one per partial result.
    Emit(std::move(event));
    return !Stopped();
  }

  bool Stopped() const {
    return stop_->load(std::memory_order_relaxed) != kRun;
  }

  // Writes what is buffered and learns whether a cancel was requested (the
  // cancel may have reached another replica). On a failed write the events
  // stay buffered for the next flush, so the table never misses a partial
  // result; a lost lease (ABORTED) stops the job.
  void Flush() {
    last_flush_ = absl::Now();
    if (pending_.empty()) return;
    store::ProgressUpdate update;
    update.session_id = session_id_;
    update.attempt = attempt_;
    update.events = std::move(pending_);
    pending_.clear();
    update.progress_percentage = progress_;
    update.stage = stage_;
    update.last_sequence = last_sequence_;
    if (partials_changed_) update.streaming_data_json = StreamingDataJson();
    partials_changed_ = false;
    auto cancel_requested = sessions_->RecordProgress(update);
    if (cancel_requested.ok()) {
      if (*cancel_requested) RequestStop(*stop_, kCancel);
      return;
    }
    spdlog::warn("session {}: progress not persisted: {}", session_id_,
                 cancel_requested.status().ToString());
    if (cancel_requested.status().code() == absl::StatusCode::kAborted) {
      lease_lost_ = true;
      RequestStop(*stop_, kRelease);
      return;
    }
    pending_ = std::move(update.events);
    partials_changed_ = update.streaming_data_json.has_value();
  }

  // The events not yet persisted, for the terminal write to append in its
  // own transaction.
  std::vector<v1::SessionEvent> TakePending() {
    partials_changed_ = false;
    return std::exchange(pending_, {});
  }

  // True once a write found another worker holding the session.
  bool lease_lost() const { return lease_lost_; }
  // True once the job ran past its maximum run time.
  bool deadline_exceeded() const { return deadline_exceeded_; }
  int64_t last_sequence() const { return last_sequence_; }

  v1::SessionEvent Terminal(v1::SessionStatus status) {
    v1::SessionEvent event;
    event.set_session_id(session_id_);
    event.set_sequence(++last_sequence_);
    event.set_status(status);
    event.set_progress_percentage(
        status == v1::SESSION_STATUS_COMPLETED ? 100 : progress_);
    event.set_stage(std::string(store::SessionStatusName(status)));
    *event.mutable_event_time() = ToProtoTime(absl::Now());
    return event;
  }

  std::string StreamingDataJson() const {
    return absl::StrCat("[", absl::StrJoin(partial_json_, ","), "]");
  }

 private:
  // Holds a stage for at least min_stage (demos, tests); false when stopped.
  bool Pace(std::string_view stage) {
    if (Stopped() || OverDeadline()) return false;
    if (options_.min_stage <= absl::ZeroDuration() || stage == stage_) {
      return true;
    }
    const absl::Time until = stage_start_ + options_.min_stage;
    while (absl::Now() < until) {
      if (Stopped() || OverDeadline()) return false;
      absl::SleepFor(std::min(absl::Milliseconds(10), until - absl::Now()));
    }
    stage_start_ = absl::Now();
    return !Stopped();
  }

  bool OverDeadline() {
    if (absl::Now() > deadline_) deadline_exceeded_ = true;
    return deadline_exceeded_;
  }

  v1::SessionEvent NextEvent(int percent, std::string_view stage) {
    v1::SessionEvent event;
    event.set_session_id(session_id_);
    event.set_sequence(++last_sequence_);
    event.set_status(v1::SESSION_STATUS_RUNNING);
    event.set_progress_percentage(std::clamp(percent, progress_, 99));
    event.set_stage(std::string(stage));
    *event.mutable_event_time() = ToProtoTime(absl::Now());
    return event;
  }

  void Emit(v1::SessionEvent event) {
    // Watchers never get further than kMaxUnpersistedEvents ahead of the
    // table: the numbering of a later attempt relies on it.
    if (pending_.size() >= static_cast<size_t>(store::kMaxUnpersistedEvents)) {
      Flush();
      if (pending_.size() >=
          static_cast<size_t>(store::kMaxUnpersistedEvents)) {
        --last_sequence_;  // not published: the number stays free
        RequestStop(*stop_, kRelease);
        return;
      }
    }
    progress_ = event.progress_percentage();
    stage_ = event.stage();
    broker_->Publish(event);
    pending_.push_back(std::move(event));
    if (absl::Now() - last_flush_ >= options_.progress_flush) Flush();
  }

  const JobOptions& options_;
  store::SessionStore* const sessions_;
  EventBroker* const broker_;
  const std::string session_id_;
  const int attempt_;
  const std::shared_ptr<std::atomic<int>> stop_;
  int64_t last_sequence_;
  int progress_;
  std::string stage_;
  absl::Time last_flush_;
  absl::Time stage_start_;
  std::vector<v1::SessionEvent> pending_;
  std::vector<std::string> partial_json_;
  bool partials_changed_ = false;
  bool lease_lost_ = false;
  const absl::Time deadline_;
  bool deadline_exceeded_ = false;
};

absl::StatusOr<v1::AnalysisResult> RunAnalysis(
    v1::SessionType type, const analysis::AnalysisInput& input,
    analysis::ProgressSink& sink) {
  switch (type) {
    case v1::SESSION_TYPE_HEALTH_ANALYSIS:
      return analysis::AnalyzeHealth(input, sink);
    case v1::SESSION_TYPE_VALUATION:
      return analysis::AnalyzeValuation(input, sink);
    case v1::SESSION_TYPE_FORECAST:
      return analysis::AnalyzeForecast(input, sink);
    default:
      return absl::InvalidArgumentError("unknown session type");
  }
}

// Retries a terminal write while the database is unavailable.
absl::Status WriteTerminal(int attempts,
                           const std::function<absl::Status()>& write) {
  absl::Status status;
  absl::Duration backoff = absl::Milliseconds(100);
  for (int i = 0; i < attempts; ++i) {
    status = write();
    if (status.code() != absl::StatusCode::kUnavailable) return status;
    absl::SleepFor(backoff);
    backoff *= 2;
  }
  return status;
}

}  // namespace

JobRunner::JobRunner(JobOptions options, store::SessionStore* sessions,
                     store::BusinessStore* businesses, EventBroker* broker)
    : options_(options),
      sessions_(sessions),
      businesses_(businesses),
      broker_(broker) {}

std::shared_ptr<std::atomic<int>> JobRunner::Register(
    const std::string& session_id, int attempt) {
  std::lock_guard<std::mutex> lock(mu_);
  // A job that starts after ReleaseAll goes straight back to the queue.
  auto stop = std::make_shared<std::atomic<int>>(releasing_ ? kRelease : kRun);
  jobs_[session_id] = Job{stop, attempt};
  return stop;
}

void JobRunner::Unregister(const std::string& session_id) {
  std::lock_guard<std::mutex> lock(mu_);
  jobs_.erase(session_id);
}

bool JobRunner::Cancel(const std::string& session_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(session_id);
  if (it == jobs_.end()) return false;
  RequestStop(*it->second.stop, kCancel);
  return true;
}

void JobRunner::ReleaseAll() {
  std::lock_guard<std::mutex> lock(mu_);
  releasing_ = true;
  for (auto& [id, job] : jobs_) RequestStop(*job.stop, kRelease);
}

std::vector<std::pair<std::string, int>> JobRunner::Leases() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, int>> leases;
  for (const auto& [id, job] : jobs_) leases.emplace_back(id, job.attempt);
  return leases;
}

void JobRunner::LoseLease(const std::string& session_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(session_id);
  // A lost lease overrides a pending cancel or release: either write would
  // be fenced off anyway.
  if (it != jobs_.end()) it->second.stop->store(kLeaseLost);
}

int JobRunner::Running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(jobs_.size());
}

bool JobRunner::Has(const std::string& session_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.count(session_id) > 0;
}

void JobRunner::Run(const store::ClaimedSession& claimed) {
  const v1::Session& session = claimed.session;
  const std::string& id = session.session_id();
  const absl::Time start = absl::Now();
  const logging::ScopedLogContext log_context(id, claimed.attempt);
  auto stop = Register(id, claimed.attempt);
  SessionRun run(options_, sessions_, broker_, claimed, stop);

  absl::StatusOr<v1::AnalysisResult> result =
      [&]() -> absl::StatusOr<v1::AnalysisResult> {
    v1::FinancialHistory history;
    if (claimed.inline_history.has_value()) {
      history = *claimed.inline_history;
    } else if (claimed.stored_history.has_value()) {
      history = *claimed.stored_history;  // read by the claim
    } else {
      if (!run.Progress(1, "loading_history")) {
        return absl::CancelledError("cancelled");
      }
      auto stored = businesses_->LoadHistory(session.business_id());
      if (!stored.ok()) return stored.status();
      history = *std::move(stored);
    }
    auto input = analysis::PrepareHistory(history, session.options());
    if (!input.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the business's financial history cannot be analysed: ",
                       input.status().message()));
    }
    return RunAnalysis(session.session_type(), *input, run);
  }();

  if (run.deadline_exceeded() && stop->load() == kRun) {
    result = absl::DeadlineExceededError(absl::StrCat(
        "the analysis ran longer than its maximum of ",
        absl::FormatDuration(options_.MaxRunTime(session.session_type())),
        " and was stopped"));
  }
  const int64_t elapsed_ms = absl::ToInt64Milliseconds(absl::Now() - start);
  const int64_t published = run.last_sequence();
  const int reason = stop->load();
  const bool retryable =
      reason == kRun && !result.ok() &&
      result.status().code() == absl::StatusCode::kUnavailable &&
      claimed.attempt < options_.max_attempts;
  if (run.lease_lost() || reason == kLeaseLost) {
    spdlog::warn("session {}: another worker holds it now; this run stops", id);
  } else if (reason == kRelease) {
    run.Flush();
    auto status = sessions_->ReleaseSession(id, claimed.attempt);
    spdlog::info("session {} released at shutdown: {}", id,
                 status.ok() ? "back in the queue" : status.ToString());
  } else if (retryable) {
    run.Flush();
    RetryLater(id, claimed.attempt, result.status());
  } else {
    if (reason == kCancel) result = absl::CancelledError("cancelled");
    // Persisted with the terminal event, in its transaction.
    std::vector<v1::SessionEvent> unwritten = run.TakePending();
    absl::Status written;
    if (result.ok()) {
      store::Completion completion;
      completion.session_id = id;
      completion.attempt = claimed.attempt;
      completion.result = *result;
      completion.processing_time_ms = elapsed_ms;
      completion.final_event = run.Terminal(v1::SESSION_STATUS_COMPLETED);
      *completion.final_event.mutable_result() = *std::move(result);
      completion.streaming_data_json = run.StreamingDataJson();
      completion.events = unwritten;
      written = WriteTerminal(options_.terminal_write_attempts, [&] {
        return sessions_->CompleteSession(completion);
      });
      if (written.ok()) {
        broker_->Publish(completion.final_event);
        Finished(session, v1::SESSION_STATUS_COMPLETED, start);
        spdlog::info("session {} completed in {} ms", id, elapsed_ms);
      } else if (written.code() == absl::StatusCode::kUnavailable &&
                 claimed.attempt < options_.max_attempts) {
        // The database stayed away through every retry: the result is
        // lost with the connection, but the session is not — another
        // attempt redoes it once the database is back.
        RetryLater(id, claimed.attempt, written);
        Unregister(id);
        return;
      } else {
        spdlog::error("session {}: completion not persisted: {}", id,
                      written.ToString());
        // Fail the session rather than leave its watchers waiting.
        result = absl::InternalError("the result could not be saved");
      }
    }
    if (!result.ok() && written.code() != absl::StatusCode::kAborted) {
      const bool cancelled =
          result.status().code() == absl::StatusCode::kCancelled;
      store::Failure failure;
      failure.session_id = id;
      failure.attempt = claimed.attempt;
      failure.status =
          cancelled ? v1::SESSION_STATUS_CANCELLED : v1::SESSION_STATUS_FAILED;
      failure.error = cancelled ? absl::CancelledError("session was cancelled")
                                : result.status();
      failure.processing_time_ms = elapsed_ms;
      failure.final_event = run.Terminal(failure.status);
      failure.events = unwritten;
      *failure.final_event.mutable_error() = ToRpcStatus(failure.error);
      written = WriteTerminal(options_.terminal_write_attempts, [&] {
        return sessions_->FinishUnsuccessfully(failure);
      });
      if (written.ok()) {
        broker_->Publish(failure.final_event);
        Finished(session, failure.status, start);
        spdlog::info("session {} {}: {}", id,
                     store::SessionStatusName(failure.status),
                     std::string(failure.error.message()));
      } else {
        spdlog::error("session {}: terminal state not persisted: {}", id,
                      written.ToString());
      }
    }
    if (!written.ok()) PublishPersisted(id, published);
  }
  Unregister(id);
}

void JobRunner::Finished(const v1::Session& session, v1::SessionStatus status,
                         absl::Time start) {
  CoreMetrics& m = CoreMetrics::Get();
  m.Finished(session.session_type(), status);
  m.job_duration.With({store::SessionTypeName(session.session_type())})
      .Observe(absl::Now() - start);
}

void JobRunner::RetryLater(const std::string& session_id, int attempt,
                           const absl::Status& why) {
  CoreMetrics::Get().job_retries.Inc();
  // Capped exponential backoff with full jitter, then another attempt (here
  // or on any replica). If the release cannot be written either, the lease
  // runs out and the reaper re-queues the session.
  thread_local std::mt19937_64 random(std::random_device{}());
  const absl::Duration cap =
      std::min(options_.retry_backoff_cap,
               options_.retry_backoff_base * (1 << std::min(attempt - 1, 20)));
  std::uniform_int_distribution<int64_t> jitter(0,
                                                absl::ToInt64Milliseconds(cap));
  const absl::Duration backoff = absl::Milliseconds(jitter(random));
  const absl::Status released = WriteTerminal(
      options_.terminal_write_attempts,
      [&] { return sessions_->ReleaseSession(session_id, attempt, backoff); });
  spdlog::warn(
      "session {}: attempt {} failed ({}); {}", session_id, attempt,
      why.ToString(),
      released.ok()
          ? absl::StrCat("retrying in ", absl::FormatDuration(backoff))
          : absl::StrCat("left for the reaper: ", released.ToString()));
}

// After a terminal write whose outcome is unknown (a commit in doubt, a
// concurrent finish), the table is the truth: publish what it holds beyond
// what this run published, so local watchers see the real end.
void JobRunner::PublishPersisted(const std::string& session_id,
                                 int64_t after_sequence) {
  auto events = sessions_->ListEvents(session_id, after_sequence);
  if (!events.ok()) return;
  for (const auto& event : *events) broker_->Publish(event);
}

}  // namespace goodbuy::core
