// AnalysisClient: the C++ client of goodbuy.analysis.v1.AnalysisService for
// backend services and the analysisctl CLI. It owns (a share of) one channel
// and one stub and is thread-safe: any number of threads may call any method
// at once. Unary calls get a deadline (AnalysisClientOptions::deadline, which
// covers retries too) and are retried on UNAVAILABLE with exponential backoff
// (CreateSession only when it carries a request_id, which the client assigns
// when the caller did not). Watch() and Run() follow a session to its
// terminal event across broken streams: on UNAVAILABLE (server restart,
// replica shutdown) and RESOURCE_EXHAUSTED (the watcher fell too far behind,
// or the server has too many streams) they reconnect with backoff and resume
// after the last sequence seen, so the callback sees every event at most once,
// in sequence order. They block the calling thread and run the callback on it;
// a CallCanceller stops them from another thread (e.g. a signal thread).
// Errors: every method returns the server's status converted by
// FromGrpcStatus (code, message, google.rpc details as payloads), or
// CANCELLED when a CallCanceller stopped the call.
#ifndef GOODBUY_CLIENT_ANALYSIS_CLIENT_H_
#define GOODBUY_CLIENT_ANALYSIS_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "goodbuy/analysis/v1/analysis_service.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace goodbuy::client {

namespace v1 = ::goodbuy::analysis::v1;

// Exponential backoff with jitter, for unary retries and stream reconnects.
struct RetryPolicy {
  // Unary calls (and RunSession before its first event): attempts in all,
  // 1 = no retry.
  int max_attempts = 5;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  double multiplier = 2.0;
  // Each delay is scaled by a random factor in [1 - jitter, 1 + jitter].
  double jitter = 0.2;
};

struct AnalysisClientOptions {
  // Budget of one unary call, retries included. Streams have no deadline.
  absl::Duration deadline = absl::Seconds(30);
  RetryPolicy retry;
  // A broken Watch/Run stream is reconnected until this long has passed
  // without an event (enough for a server restart or a replica failover).
  absl::Duration reconnect_timeout = absl::Minutes(1);
  // Fill CreateSessionRequest.request_id with a random id when empty, which
  // makes CreateSession and RunSession safe to retry.
  bool assign_request_ids = true;
  // Sent with every call, e.g. {"authorization", "Bearer ..."}.
  std::vector<std::pair<std::string, std::string>> metadata;
  // Used by the target-string constructor; insecure when null.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // With TLS: the name the server's certificate must carry, when it is not
  // the target's host (e.g. connecting to 127.0.0.1 with a cert for a DNS
  // name). See credentials.h.
  std::string tls_server_name;
  // HTTP/2 keepalive pings, matched to the server's policy: at least 20 s
  // apart (the server's minimum; more often gets the connection closed with
  // "too_many_pings"), and the connection is dropped (streams then resume)
  // when a ping is not answered within keepalive_timeout.
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // Largest message sent or received; the server accepts requests up to
  // 4 MiB and sends events under it.
  int max_message_bytes = 4 << 20;
};

// Stops Watch()/Run() calls from another thread: Cancel() cancels their
// in-flight stream and wakes their backoff sleeps, and they return
// CANCELLED. Thread-safe; one canceller may serve several calls. Not
// async-signal-safe: call Cancel() from a thread that waits for signals
// (sigwait), not from a signal handler.
class CallCanceller {
 public:
  CallCanceller() = default;
  CallCanceller(const CallCanceller&) = delete;
  CallCanceller& operator=(const CallCanceller&) = delete;

  // Idempotent and permanent: later calls using this canceller return
  // CANCELLED at once.
  void Cancel();
  bool cancelled() const;

 private:
  friend class AnalysisClient;

  // Registers a live context; false (and not registered) when cancelled.
  bool Register(grpc::ClientContext* context);
  void Unregister(grpc::ClientContext* context);
  // Sleeps for `duration`; false when woken by Cancel().
  bool SleepFor(absl::Duration duration);

  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::set<grpc::ClientContext*> contexts_ ABSL_GUARDED_BY(mu_);
};

// Called for each event in sequence order; return false to stop watching
// (the call then returns OK).
using EventCallback = std::function<bool(const v1::SessionEvent&)>;

class AnalysisClient {
 public:
  // Connects to `target` ("host:port", "dns:///name:port", ...), with
  // options.credentials (insecure when null) and reconnect backoff matching
  // options.retry.
  explicit AnalysisClient(const std::string& target,
                          AnalysisClientOptions options = {});
  // Uses an existing channel (shared, e.g. with other stubs or tests).
  explicit AnalysisClient(std::shared_ptr<grpc::Channel> channel,
                          AnalysisClientOptions options = {});

  AnalysisClient(const AnalysisClient&) = delete;
  AnalysisClient& operator=(const AnalysisClient&) = delete;

  absl::StatusOr<v1::Session> CreateSession(
      const v1::CreateSessionRequest& request);
  absl::StatusOr<v1::Session> GetSession(const std::string& session_id);
  absl::StatusOr<v1::ListSessionsResponse> ListSessions(
      const v1::ListSessionsRequest& request);
  // The plan, period, analyses used and limit of `user_id` (empty: the
  // caller; another user needs a service or admin token).
  absl::StatusOr<v1::Usage> GetUsage(const std::string& user_id = "");
  // A retried cancel whose first attempt landed sees FAILED_PRECONDITION;
  // it then returns the session if it is CANCELLED.
  absl::StatusOr<v1::Session> CancelSession(const std::string& session_id,
                                            const std::string& reason = "");

  // Streams the events of `session_id` after `after_sequence` (0 = all) to
  // `on_event` until a terminal event (COMPLETED, FAILED, CANCELLED), then
  // returns OK; also OK when the server ends the stream cleanly with nothing
  // to send (the cursor was already at the terminal event). Resumes after
  // the last sequence seen when the stream breaks with UNAVAILABLE or
  // RESOURCE_EXHAUSTED; gives up
  // with the last error after options.reconnect_timeout without an event.
  // Heartbeat events are passed on too but never move the cursor.
  absl::Status Watch(const std::string& session_id, int64_t after_sequence,
                     const EventCallback& on_event,
                     CallCanceller* canceller = nullptr);

  // Creates a session and streams its events like Watch(), in one call
  // (RunSession). If the stream breaks before the first event, RunSession is
  // retried (safe: the request has a request_id); after it, the session is
  // followed with Watch().
  absl::Status Run(const v1::CreateSessionRequest& request,
                   const EventCallback& on_event,
                   CallCanceller* canceller = nullptr);

  const AnalysisClientOptions& options() const { return options_; }

 private:
  // Runs `call(context)` with retries on UNAVAILABLE when `retryable`.
  template <typename Response, typename Call>
  absl::StatusOr<Response> CallUnary(bool retryable, const Call& call);
  enum class StreamEnd { kTerminal, kStopped, kBroken };
  using OpenStream =
      std::function<std::unique_ptr<grpc::ClientReader<v1::SessionEvent>>(
          grpc::ClientContext*)>;
  // Opens one stream and reads it to its end, dropping events at or below
  // *last_sequence and advancing it. *status is the stream's status when
  // kBroken; *progressed tells whether a new event arrived.
  StreamEnd ReadStream(const OpenStream& open, const EventCallback& on_event,
                       CallCanceller* canceller, int64_t* last_sequence,
                       std::string* session_id, bool* progressed,
                       absl::Status* status);
  std::unique_ptr<grpc::ClientContext> NewContext(
      absl::Time deadline = absl::InfiniteFuture()) const;
  absl::Duration Backoff(int attempt) const;

  AnalysisClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AnalysisService::Stub> stub_;
};

// The channel settings AnalysisClient uses (reconnect backoff, keepalive,
// message limits), for callers that build their own channels (dashboards,
// analysisctl bench).
grpc::ChannelArguments ChannelArgumentsFor(
    const AnalysisClientOptions& options);
std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& target, const AnalysisClientOptions& options);

// True for COMPLETED, FAILED and CANCELLED.
bool IsTerminal(v1::SessionStatus status);

// A random 32-hex-digit id for CreateSessionRequest.request_id.
std::string NewRequestId();

}  // namespace goodbuy::client

#endif  // GOODBUY_CLIENT_ANALYSIS_CLIENT_H_
