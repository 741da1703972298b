#include "client/analysis_client.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "client/status_convert.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"

namespace goodbuy::client {
namespace {

// Per-thread generator for jitter and request ids.
std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng;
}

int ToMillis(absl::Duration d) {
  return static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 1, 1 << 30));
}

// A broken stream worth opening again after a backoff: the server went
// away (UNAVAILABLE), or ended this watcher because it fell behind or had
// too many streams open (RESOURCE_EXHAUSTED).
bool Resumable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kResourceExhausted;
}

}  // namespace

grpc::ChannelArguments ChannelArgumentsFor(
    const AnalysisClientOptions& options) {
  grpc::ChannelArguments args;
  // Reconnect quickly after a server restart instead of gRPC's default
  // 1 s .. 120 s, so resumed streams pick up within our own backoff.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              ToMillis(options.retry.initial_backoff));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
              ToMillis(options.retry.initial_backoff));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              ToMillis(options.retry.max_backoff));
  // Keepalive within the server's policy (docs/streaming.md): a ping every
  // keepalive_time even on an idle connection, never more often than the
  // server's 20 s minimum, so the server never answers with GOAWAY
  // "too_many_pings".
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, ToMillis(options.keepalive_time));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
              ToMillis(options.keepalive_timeout));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  if (!options.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls_server_name);
  }
  return args;
}

std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& target, const AnalysisClientOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      options.credentials ? options.credentials
                          : grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(target, credentials,
                                   ChannelArgumentsFor(options));
}

bool IsTerminal(v1::SessionStatus status) {
  return status == v1::SESSION_STATUS_COMPLETED ||
         status == v1::SESSION_STATUS_FAILED ||
         status == v1::SESSION_STATUS_CANCELLED;
}

std::string NewRequestId() {
  std::uniform_int_distribution<uint64_t> dist;
  const uint64_t hi = dist(Rng());
  const uint64_t lo = dist(Rng());
  return absl::StrCat(absl::Hex(hi, absl::kZeroPad16),
                      absl::Hex(lo, absl::kZeroPad16));
}

// ---------------------------------------------------------------------------
// CallCanceller

void CallCanceller::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (grpc::ClientContext* context : contexts_) context->TryCancel();
}

bool CallCanceller::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

bool CallCanceller::Register(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return false;
  contexts_.insert(context);
  return true;
}

void CallCanceller::Unregister(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  contexts_.erase(context);
}

bool CallCanceller::SleepFor(absl::Duration duration) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&cancelled_), duration);
  return !cancelled_;
}

// ---------------------------------------------------------------------------
// AnalysisClient

AnalysisClient::AnalysisClient(const std::string& target,
                               AnalysisClientOptions options)
    : AnalysisClient(MakeChannel(target, options), options) {}

AnalysisClient::AnalysisClient(std::shared_ptr<grpc::Channel> channel,
                               AnalysisClientOptions options)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::AnalysisService::NewStub(channel_)) {}

std::unique_ptr<grpc::ClientContext> AnalysisClient::NewContext(
    absl::Time deadline) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (deadline != absl::InfiniteFuture()) {
    context->set_deadline(absl::ToChronoTime(deadline));
  }
  for (const auto& [key, value] : options_.metadata) {
    context->AddMetadata(key, value);
  }
  return context;
}

absl::Duration AnalysisClient::Backoff(int attempt) const {
  const RetryPolicy& p = options_.retry;
  const double exponent = std::max(0, attempt - 1);
  absl::Duration delay =
      p.initial_backoff * std::pow(std::max(1.0, p.multiplier), exponent);
  delay = std::min(delay, p.max_backoff);
  if (p.jitter > 0) {
    std::uniform_real_distribution<double> dist(1.0 - p.jitter, 1.0 + p.jitter);
    delay *= dist(Rng());
  }
  return delay;
}

template <typename Response, typename Call>
absl::StatusOr<Response> AnalysisClient::CallUnary(bool retryable,
                                                   const Call& call) {
  const absl::Time deadline = absl::Now() + options_.deadline;
  const int max_attempts =
      retryable ? std::max(1, options_.retry.max_attempts) : 1;
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<grpc::ClientContext> context = NewContext(deadline);
    Response response;
    const grpc::Status status = call(context.get(), &response);
    if (status.ok()) return response;
    absl::Status converted = FromGrpcStatus(status);
    if (converted.code() != absl::StatusCode::kUnavailable ||
        attempt >= max_attempts) {
      return converted;
    }
    absl::Duration delay = Backoff(attempt);
    if (std::optional<absl::Duration> hint = RetryDelay(converted)) {
      delay = std::max(delay, *hint);
    }
    if (absl::Now() + delay >= deadline) return converted;
    absl::SleepFor(delay);
  }
}

absl::StatusOr<v1::Session> AnalysisClient::CreateSession(
    const v1::CreateSessionRequest& request) {
  v1::CreateSessionRequest copy = request;
  if (options_.assign_request_ids && copy.request_id().empty()) {
    copy.set_request_id(NewRequestId());
  }
  // Without a request_id a retry could create a second session.
  const bool retryable = !copy.request_id().empty();
  return CallUnary<v1::Session>(
      retryable, [&](grpc::ClientContext* context, v1::Session* response) {
        return stub_->CreateSession(context, copy, response);
      });
}

absl::StatusOr<v1::Session> AnalysisClient::GetSession(
    const std::string& session_id) {
  v1::GetSessionRequest request;
  request.set_session_id(session_id);
  return CallUnary<v1::Session>(
      true, [&](grpc::ClientContext* context, v1::Session* response) {
        return stub_->GetSession(context, request, response);
      });
}

absl::StatusOr<v1::Usage> AnalysisClient::GetUsage(const std::string& user_id) {
  v1::GetUsageRequest request;
  request.set_user_id(user_id);
  return CallUnary<v1::Usage>(
      true, [&](grpc::ClientContext* context, v1::Usage* response) {
        return stub_->GetUsage(context, request, response);
      });
}

absl::StatusOr<v1::ListSessionsResponse> AnalysisClient::ListSessions(
    const v1::ListSessionsRequest& request) {
  return CallUnary<v1::ListSessionsResponse>(
      true,
      [&](grpc::ClientContext* context, v1::ListSessionsResponse* response) {
        return stub_->ListSessions(context, request, response);
      });
}

absl::StatusOr<v1::Session> AnalysisClient::CancelSession(
    const std::string& session_id, const std::string& reason) {
  v1::CancelSessionRequest request;
  request.set_session_id(session_id);
  request.set_reason(reason);
  int attempts = 0;
  absl::StatusOr<v1::Session> result = CallUnary<v1::Session>(
      true, [&](grpc::ClientContext* context, v1::Session* response) {
        ++attempts;
        return stub_->CancelSession(context, request, response);
      });
  if (attempts > 1 &&
      result.status().code() == absl::StatusCode::kFailedPrecondition) {
    // An earlier attempt may have landed before its reply was lost.
    absl::StatusOr<v1::Session> session = GetSession(session_id);
    if (session.ok() && session->status() == v1::SESSION_STATUS_CANCELLED) {
      return session;
    }
  }
  return result;
}

AnalysisClient::StreamEnd AnalysisClient::ReadStream(
    const OpenStream& open, const EventCallback& on_event,
    CallCanceller* canceller, int64_t* last_sequence, std::string* session_id,
    bool* progressed, absl::Status* status) {
  *progressed = false;
  std::unique_ptr<grpc::ClientContext> context = NewContext();
  if (canceller != nullptr && !canceller->Register(context.get())) {
    *status = absl::CancelledError("cancelled by the caller");
    return StreamEnd::kBroken;
  }
  std::unique_ptr<grpc::ClientReader<v1::SessionEvent>> reader =
      open(context.get());
  StreamEnd end = StreamEnd::kBroken;
  v1::SessionEvent event;
  while (reader->Read(&event)) {
    if (session_id->empty()) *session_id = event.session_id();
    if (event.has_heartbeat()) {
      // Liveness only: pass it on, but never move the cursor with it (a
      // heartbeat may carry the session's latest sequence before the
      // back-fill of a resumed stream has been sent).
      if (!on_event(event)) {
        end = StreamEnd::kStopped;
        break;
      }
      continue;
    }
    // A resumed stream may repeat what an earlier one delivered.
    if (event.sequence() <= *last_sequence) continue;
    *last_sequence = event.sequence();
    *progressed = true;
    if (!on_event(event)) {
      end = StreamEnd::kStopped;
      break;
    }
    if (IsTerminal(event.status())) {
      end = StreamEnd::kTerminal;
      break;
    }
  }
  // Nothing more is wanted from a finished stream: do not wait for its end.
  if (end != StreamEnd::kBroken) context->TryCancel();
  const grpc::Status finish = reader->Finish();
  if (canceller != nullptr) canceller->Unregister(context.get());
  if (end == StreamEnd::kBroken) {
    if (canceller != nullptr && canceller->cancelled()) {
      *status = absl::CancelledError("cancelled by the caller");
    } else if (finish.ok()) {
      // The server ends a stream with OK and no event when the cursor is
      // already at the session's terminal event: nothing more will come.
      return StreamEnd::kTerminal;
    } else {
      *status = FromGrpcStatus(finish);
    }
  }
  return end;
}

absl::Status AnalysisClient::Watch(const std::string& session_id,
                                   int64_t after_sequence,
                                   const EventCallback& on_event,
                                   CallCanceller* canceller) {
  int64_t last_sequence = after_sequence;
  std::string seen_id = session_id;
  absl::Time last_progress = absl::Now();
  int failures = 0;
  const OpenStream open = [&](grpc::ClientContext* context) {
    v1::WatchSessionRequest request;
    request.set_session_id(session_id);
    request.set_after_sequence(last_sequence);
    return stub_->WatchSession(context, request);
  };
  while (true) {
    bool progressed = false;
    absl::Status status;
    const StreamEnd end = ReadStream(open, on_event, canceller, &last_sequence,
                                     &seen_id, &progressed, &status);
    if (end != StreamEnd::kBroken) return absl::OkStatus();
    if (!Resumable(status)) return status;
    if (progressed) {
      failures = 0;
      last_progress = absl::Now();
    }
    ++failures;
    const absl::Duration delay = Backoff(failures);
    if (absl::Now() + delay - last_progress > options_.reconnect_timeout) {
      return status;
    }
    if (canceller != nullptr) {
      if (!canceller->SleepFor(delay)) {
        return absl::CancelledError("cancelled by the caller");
      }
    } else {
      absl::SleepFor(delay);
    }
  }
}

absl::Status AnalysisClient::Run(const v1::CreateSessionRequest& request,
                                 const EventCallback& on_event,
                                 CallCanceller* canceller) {
  v1::RunSessionRequest run;
  *run.mutable_session() = request;
  if (options_.assign_request_ids && request.request_id().empty()) {
    run.mutable_session()->set_request_id(NewRequestId());
  }
  // RunSession is idempotent on request_id, so a stream that broke before
  // telling us the session id may be opened again.
  const bool retryable = !run.session().request_id().empty();
  const int max_attempts =
      retryable ? std::max(1, options_.retry.max_attempts) : 1;
  int64_t last_sequence = 0;
  std::string session_id;
  const OpenStream open = [&](grpc::ClientContext* context) {
    return stub_->RunSession(context, run);
  };
  for (int attempt = 1;; ++attempt) {
    bool progressed = false;
    absl::Status status;
    const StreamEnd end = ReadStream(open, on_event, canceller, &last_sequence,
                                     &session_id, &progressed, &status);
    if (end != StreamEnd::kBroken) return absl::OkStatus();
    if (!Resumable(status)) return status;
    if (!session_id.empty()) {
      return Watch(session_id, last_sequence, on_event, canceller);
    }
    if (attempt >= max_attempts) return status;
    const absl::Duration delay = Backoff(attempt);
    if (canceller != nullptr) {
      if (!canceller->SleepFor(delay)) {
        return absl::CancelledError("cancelled by the caller");
      }
    } else {
      absl::SleepFor(delay);
    }
  }
}

}  // namespace goodbuy::client
