// AnalysisClient against an in-process fake AnalysisService on 127.0.0.1:0:
// resume after UNAVAILABLE without duplicates, a real server restart on the
// same port, RunSession falling back to WatchSession, unary retries,
// BadRequest details through the trailer, and cancellation.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/analysis_client.h"
#include "client/status_convert.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace goodbuy::client {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;
using Writer = grpc::ServerWriter<v1::SessionEvent>;

v1::SessionEvent Event(int64_t sequence, int total = 6) {
  v1::SessionEvent event;
  event.set_session_id("s1");
  event.set_sequence(sequence);
  const bool last = sequence == total;
  event.set_status(last ? v1::SESSION_STATUS_COMPLETED
                        : v1::SESSION_STATUS_RUNNING);
  event.set_progress_percentage(static_cast<int>(100 * sequence / total));
  if (last) event.mutable_result()->set_confidence_score(80);
  return event;
}

// Streams events first..last (inclusive) unless the call is cancelled.
void Send(grpc::ServerContext* context, Writer* writer, int64_t first,
          int64_t last) {
  for (int64_t s = first; s <= last && !context->IsCancelled(); ++s) {
    writer->Write(Event(s));
  }
}

class FakeService final : public v1::AnalysisService::Service {
 public:
  std::function<grpc::Status(grpc::ServerContext*,
                             const v1::WatchSessionRequest&, Writer*)>
      watch;
  std::function<grpc::Status(grpc::ServerContext*, const v1::RunSessionRequest&,
                             Writer*)>
      run;
  std::function<grpc::Status(const v1::GetSessionRequest&, v1::Session*)> get;

  grpc::Status WatchSession(grpc::ServerContext* context,
                            const v1::WatchSessionRequest* request,
                            Writer* writer) override {
    {
      absl::MutexLock lock(&mu);
      watch_after.push_back(request->after_sequence());
    }
    return watch(context, *request, writer);
  }
  grpc::Status RunSession(grpc::ServerContext* context,
                          const v1::RunSessionRequest* request,
                          Writer* writer) override {
    {
      absl::MutexLock lock(&mu);
      run_request_ids.push_back(request->session().request_id());
    }
    return run(context, *request, writer);
  }
  grpc::Status GetSession(grpc::ServerContext*,
                          const v1::GetSessionRequest* request,
                          v1::Session* response) override {
    ++get_calls;
    return get(*request, response);
  }

  absl::Mutex mu;
  std::vector<int64_t> watch_after ABSL_GUARDED_BY(mu);
  std::vector<std::string> run_request_ids ABSL_GUARDED_BY(mu);
  std::atomic<int> get_calls{0};
};

std::unique_ptr<grpc::Server> StartServer(FakeService* service,
                                          const std::string& address,
                                          int* port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), port);
  builder.RegisterService(service);
  return builder.BuildAndStart();
}

AnalysisClientOptions FastOptions() {
  AnalysisClientOptions options;
  options.deadline = absl::Seconds(10);
  options.retry.initial_backoff = absl::Milliseconds(10);
  options.retry.max_backoff = absl::Milliseconds(100);
  options.reconnect_timeout = absl::Seconds(20);
  return options;
}

class AnalysisClientTest : public ::testing::Test {
 protected:
  void Start() {
    server_ = StartServer(&service_, "127.0.0.1:0", &port_);
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<AnalysisClient>(
        "127.0.0.1:" + std::to_string(port_), FastOptions());
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  // Watches s1 and returns the sequences seen.
  std::vector<int64_t> WatchAll(absl::Status* status, int64_t after = 0) {
    std::vector<int64_t> seen;
    *status = client_->Watch("s1", after, [&](const v1::SessionEvent& e) {
      seen.push_back(e.sequence());
      return true;
    });
    return seen;
  }

  FakeService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<AnalysisClient> client_;
};

TEST_F(AnalysisClientTest, WatchResumesAfterUnavailableWithoutDuplicates) {
  std::atomic<int> calls{0};
  service_.watch = [&](grpc::ServerContext* context,
                       const v1::WatchSessionRequest& request, Writer* writer) {
    switch (calls++) {
      case 0:
        Send(context, writer, request.after_sequence() + 1, 3);
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "replica going away");
      case 1:
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "still starting");
      default:
        // Replays one event the client has already seen.
        Send(context, writer, request.after_sequence(), 6);
        return grpc::Status::OK;
    }
  };
  Start();
  absl::Status status;
  EXPECT_THAT(WatchAll(&status), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_TRUE(status.ok()) << status;
  absl::MutexLock lock(&service_.mu);
  EXPECT_THAT(service_.watch_after, ElementsAre(0, 3, 3));
}

TEST_F(AnalysisClientTest, WatchSurvivesARealServerRestartOnTheSamePort) {
  absl::Notification three_seen;
  std::atomic<bool> going_away{false};
  service_.watch = [&](grpc::ServerContext* context,
                       const v1::WatchSessionRequest& request, Writer* writer) {
    Send(context, writer, request.after_sequence() + 1, 3);
    while (!going_away && !context->IsCancelled()) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down");
  };
  Start();
  absl::Status status;
  std::vector<int64_t> seen;
  std::thread watcher([&] {
    status = client_->Watch("s1", 0, [&](const v1::SessionEvent& e) {
      seen.push_back(e.sequence());
      if (e.sequence() == 3) three_seen.Notify();
      return true;
    });
  });
  ASSERT_TRUE(three_seen.WaitForNotificationWithTimeout(absl::Seconds(10)));
  going_away = true;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
  server_.reset();
  absl::SleepFor(absl::Milliseconds(300));  // Clients fail to connect a while.

  FakeService second;
  second.watch = [&](grpc::ServerContext* context,
                     const v1::WatchSessionRequest& request, Writer* writer) {
    Send(context, writer, request.after_sequence() + 1, 6);
    return grpc::Status::OK;
  };
  int port = 0;
  server_ = StartServer(&second, "127.0.0.1:" + std::to_string(port_), &port);
  ASSERT_NE(server_, nullptr);
  ASSERT_EQ(port, port_);
  watcher.join();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(seen, ElementsAre(1, 2, 3, 4, 5, 6));
  absl::MutexLock lock(&second.mu);
  EXPECT_THAT(second.watch_after, ElementsAre(3));
}

TEST_F(AnalysisClientTest, WatchReturnsBadRequestDetailsWithoutRetrying) {
  service_.watch = [&](grpc::ServerContext*, const v1::WatchSessionRequest&,
                       Writer*) {
    google::rpc::BadRequest bad_request;
    auto* v = bad_request.add_field_violations();
    v->set_field("after_sequence");
    v->set_description("must be >= 0");
    google::rpc::Status rpc;
    rpc.set_code(grpc::StatusCode::INVALID_ARGUMENT);
    rpc.set_message("bad watch");
    rpc.add_details()->PackFrom(bad_request);
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad watch",
                        rpc.SerializeAsString());
  };
  Start();
  absl::Status status;
  EXPECT_THAT(WatchAll(&status), SizeIs(0));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "bad watch");
  EXPECT_THAT(FieldViolations(status),
              ElementsAre(FieldViolation{"after_sequence", "must be >= 0"}));
  absl::MutexLock lock(&service_.mu);
  EXPECT_THAT(service_.watch_after, SizeIs(1));
}

TEST_F(AnalysisClientTest, WatchGivesUpAfterReconnectTimeout) {
  service_.watch = [&](grpc::ServerContext*, const v1::WatchSessionRequest&,
                       Writer*) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down");
  };
  Start();
  AnalysisClientOptions options = FastOptions();
  options.reconnect_timeout = absl::Milliseconds(300);
  client_ = std::make_unique<AnalysisClient>(
      "127.0.0.1:" + std::to_string(port_), options);
  absl::Status status;
  const absl::Time start = absl::Now();
  WatchAll(&status);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "down");
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  absl::MutexLock lock(&service_.mu);
  EXPECT_GT(service_.watch_after.size(), 2u);
}

TEST_F(AnalysisClientTest, RunContinuesWithWatchWhenItsStreamBreaks) {
  service_.run = [&](grpc::ServerContext* context, const v1::RunSessionRequest&,
                     Writer* writer) {
    Send(context, writer, 1, 2);
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "bye");
  };
  service_.watch = [&](grpc::ServerContext* context,
                       const v1::WatchSessionRequest& request, Writer* writer) {
    Send(context, writer, request.after_sequence() + 1, 6);
    return grpc::Status::OK;
  };
  Start();
  v1::CreateSessionRequest request;
  request.set_business_id("b1");
  request.set_session_type(v1::SESSION_TYPE_FORECAST);
  std::vector<int64_t> seen;
  const absl::Status status =
      client_->Run(request, [&](const v1::SessionEvent& e) {
        seen.push_back(e.sequence());
        return true;
      });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(seen, ElementsAre(1, 2, 3, 4, 5, 6));
  absl::MutexLock lock(&service_.mu);
  EXPECT_THAT(service_.watch_after, ElementsAre(2));
  ASSERT_THAT(service_.run_request_ids, SizeIs(1));
  EXPECT_EQ(service_.run_request_ids[0].size(), 32u);  // Assigned by client.
}

TEST_F(AnalysisClientTest, RunRetriesWithTheSameRequestIdBeforeFirstEvent) {
  std::atomic<int> calls{0};
  service_.run = [&](grpc::ServerContext* context, const v1::RunSessionRequest&,
                     Writer* writer) {
    if (calls++ == 0) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "not yet");
    }
    Send(context, writer, 1, 6);
    return grpc::Status::OK;
  };
  Start();
  v1::CreateSessionRequest request;
  request.set_request_id("req-1");
  int events = 0;
  EXPECT_TRUE(client_
                  ->Run(request,
                        [&](const v1::SessionEvent&) {
                          ++events;
                          return true;
                        })
                  .ok());
  EXPECT_EQ(events, 6);
  absl::MutexLock lock(&service_.mu);
  EXPECT_THAT(service_.run_request_ids, ElementsAre("req-1", "req-1"));
}

TEST_F(AnalysisClientTest, CancellerStopsABlockedWatchPromptly) {
  service_.watch = [&](grpc::ServerContext* context,
                       const v1::WatchSessionRequest&, Writer* writer) {
    writer->Write(Event(1));
    while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
    return grpc::Status::CANCELLED;
  };
  Start();
  CallCanceller canceller;
  absl::Notification first;
  std::thread stopper([&] {
    first.WaitForNotification();
    absl::SleepFor(absl::Milliseconds(50));
    canceller.Cancel();
  });
  const absl::Time start = absl::Now();
  const absl::Status status = client_->Watch(
      "s1", 0,
      [&](const v1::SessionEvent&) {
        first.Notify();
        return true;
      },
      &canceller);
  stopper.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  // A cancelled canceller stops later calls at once.
  EXPECT_EQ(
      client_
          ->Watch(
              "s1", 0, [](const v1::SessionEvent&) { return true; }, &canceller)
          .code(),
      absl::StatusCode::kCancelled);
}

TEST_F(AnalysisClientTest, CallbackReturningFalseStopsWithOk) {
  service_.watch = [&](grpc::ServerContext* context,
                       const v1::WatchSessionRequest& request, Writer* writer) {
    Send(context, writer, request.after_sequence() + 1, 6);
    return grpc::Status::OK;
  };
  Start();
  int events = 0;
  EXPECT_TRUE(client_
                  ->Watch("s1", 2,
                          [&](const v1::SessionEvent& e) {
                            EXPECT_EQ(e.sequence(), 3);
                            ++events;
                            return false;
                          })
                  .ok());
  EXPECT_EQ(events, 1);
}

TEST_F(AnalysisClientTest, UnaryCallsRetryUnavailable) {
  service_.get = [&](const v1::GetSessionRequest& request,
                     v1::Session* response) {
    if (service_.get_calls < 3) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "busy");
    }
    response->set_session_id(request.session_id());
    return grpc::Status::OK;
  };
  Start();
  absl::StatusOr<v1::Session> session = client_->GetSession("s9");
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->session_id(), "s9");
  EXPECT_EQ(service_.get_calls, 3);
}

TEST_F(AnalysisClientTest, UnaryCallsDoNotRetryOtherErrors) {
  service_.get = [&](const v1::GetSessionRequest&, v1::Session*) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no session s9");
  };
  Start();
  absl::StatusOr<v1::Session> session = client_->GetSession("s9");
  EXPECT_EQ(session.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(session.status().message(), "no session s9");
  EXPECT_EQ(service_.get_calls, 1);
}

}  // namespace
}  // namespace goodbuy::client
