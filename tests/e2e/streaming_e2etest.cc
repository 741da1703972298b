// End to end: the streaming behaviour of WatchSession against real
// analysis-server processes on loopback, one scratch PostgreSQL database with
// the demo data, and real clients (the client library, raw sync stubs and
// callback-API reactors). Slow and vanishing watchers, many watchers, idle
// streams, the stream cap, the message size limit, API-only replicas and
// cursors older than the kept events.
//
// Every test starts the server processes it needs (their flags differ) on the
// suite's database; sessions a test leaves pending are cancelled so that a
// later test's worker does not run them.
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/analysis_client.h"
#include "client/status_convert.h"
#include "gmock/gmock.h"
#include "goodbuy/analysis/v1/analysis_service.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

namespace v1 = ::goodbuy::analysis::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Helpers

v1::CreateSessionRequest Request(const std::string& business,
                                 v1::SessionType type) {
  v1::CreateSessionRequest request;
  request.set_business_id(business);
  request.set_session_type(type);
  return request;
}

// A 36-month forecast: one partial result per candidate model and six
// forecast chunks, so the stream has many results to fall behind on.
v1::CreateSessionRequest LongForecast() {
  v1::CreateSessionRequest request =
      Request("biz_demo_cafe", v1::SESSION_TYPE_FORECAST);
  request.mutable_options()->set_forecast_horizon_months(36);
  return request;
}

std::unique_ptr<v1::AnalysisService::Stub> NewStub(
    const std::string& target,
    const grpc::ChannelArguments& args = grpc::ChannelArguments()) {
  return v1::AnalysisService::NewStub(testing::TestChannel(target, args));
}

std::vector<int64_t> Sequences(const std::vector<v1::SessionEvent>& events) {
  std::vector<int64_t> sequences;
  for (const auto& e : events) sequences.push_back(e.sequence());
  return sequences;
}

std::vector<std::string> PartialKeys(
    const std::vector<v1::SessionEvent>& events) {
  std::vector<std::string> keys;
  for (const auto& e : events) {
    if (e.has_partial_result()) keys.push_back(e.partial_result().key());
  }
  return keys;
}

// The session's sequences as the events table holds them, "1,2,3,...".
std::string TableSequences(const std::string& url, const std::string& id) {
  return testing::QueryValue(
      url,
      "SELECT string_agg(sequence::text, ',' ORDER BY sequence) FROM "
      "session_events WHERE session_id = '" +
          id + "'");
}

std::string Joined(const std::vector<int64_t>& sequences) {
  return absl::StrJoin(sequences, ",");
}

// Element-wise equality of two event lists; the message names the first
// difference.
::testing::AssertionResult SameEvents(const std::vector<v1::SessionEvent>& a,
                                      const std::vector<v1::SessionEvent>& b) {
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (!MessageDifferencer::Equals(a[i], b[i])) {
      return ::testing::AssertionFailure()
             << "event " << i << " differs (" << Joined(Sequences(a)) << " vs "
             << Joined(Sequences(b)) << "):\n"
             << a[i].DebugString() << "vs\n"
             << b[i].DebugString();
    }
  }
  if (a.size() != b.size()) {
    return ::testing::AssertionFailure()
           << "sizes differ: " << a.size() << " vs " << b.size() << " ("
           << Joined(Sequences(a)) << " vs " << Joined(Sequences(b)) << ")";
  }
  return ::testing::AssertionSuccess();
}

// WatchAll (the client library, which resumes broken streams), bounded: a
// watch that has not ended within `timeout` is cancelled and fails, so a
// server that stalls a watcher fails the test instead of hanging it.
std::vector<v1::SessionEvent> WatchAllWithin(
    client::AnalysisClient& c, const std::string& id, int64_t after = 0,
    absl::Duration timeout = absl::Seconds(60)) {
  client::CallCanceller canceller;
  absl::Notification done;
  std::thread watchdog([&] {
    if (!done.WaitForNotificationWithTimeout(timeout)) canceller.Cancel();
  });
  std::vector<v1::SessionEvent> events;
  const absl::Status status = c.Watch(
      id, after,
      [&](const v1::SessionEvent& e) {
        events.push_back(e);
        return true;
      },
      &canceller);
  done.Notify();
  watchdog.join();
  EXPECT_TRUE(status.ok()) << status;
  return events;
}

// Every google.rpc detail of type T carried by a gRPC status.
template <typename T>
std::vector<T> Details(const grpc::Status& status) {
  google::rpc::Status rpc;
  std::vector<T> found;
  if (!rpc.ParseFromString(status.error_details())) return found;
  for (const auto& any : rpc.details()) {
    T detail;
    if (any.UnpackTo(&detail)) found.push_back(std::move(detail));
  }
  return found;
}

// One WatchSession call read to its end through a raw sync stub, optionally
// cut (TryCancel) once `stop` says so.
// One WatchSession call on a raw stub, with a deadline that bounds a test
// whose server (rightly or wrongly) never ends the stream.
struct RawStream {
  RawStream(v1::AnalysisService::Stub& stub, const std::string& id,
            int64_t after, int deadline_s) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(deadline_s));
    v1::WatchSessionRequest request;
    request.set_session_id(id);
    request.set_after_sequence(after);
    reader = stub.WatchSession(&context, request);
  }
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::SessionEvent>> reader;
};

struct RawWatch {
  std::vector<v1::SessionEvent> events;
  grpc::Status status;
};

RawWatch ReadWatch(
    v1::AnalysisService::Stub& stub, const std::string& id, int64_t after,
    const std::function<bool(const v1::SessionEvent&)>& stop = nullptr) {
  RawWatch watch;
  // Generous: a stream that never ends fails the test instead of hanging it.
  RawStream stream(stub, id, after, /*deadline_s=*/60);
  v1::SessionEvent event;
  while (stream.reader->Read(&event)) {
    watch.events.push_back(event);
    if (stop && stop(event)) {
      stream.context.TryCancel();
      while (stream.reader->Read(&event)) {
      }
      break;
    }
  }
  watch.status = stream.reader->Finish();
  return watch;
}

// A WatchSession stream held open: accepted() once its first event came.
// Close() cancels it and returns how it ended.
class OpenWatch {
 public:
  // The deadline is far longer than a test holds one open; it bounds a
  // stalled first Read.
  OpenWatch(v1::AnalysisService::Stub* stub, const std::string& id)
      : stream_(*stub, id, /*after=*/0, /*deadline_s=*/30) {
    accepted_ = stream_.reader->Read(&first_);
  }
  ~OpenWatch() { Close(); }

  bool accepted() const { return accepted_; }
  const v1::SessionEvent& first() const { return first_; }

  grpc::Status Close() {
    if (!closed_) {
      closed_ = true;
      // A stream the server already ended keeps the server's status.
      if (accepted_) {
        stream_.context.TryCancel();
        v1::SessionEvent e;
        while (stream_.reader->Read(&e)) {
        }
      }
      status_ = stream_.reader->Finish();
    }
    return status_;
  }

 private:
  RawStream stream_;
  v1::SessionEvent first_;
  bool accepted_ = false;
  bool closed_ = false;
  grpc::Status status_;
};

// A WatchSession call on gRPC's callback API: hundreds of these share a few
// threads, as a dashboard backend's watchers would.
class CallbackWatcher final : public grpc::ClientReadReactor<v1::SessionEvent> {
 public:
  CallbackWatcher(v1::AnalysisService::Stub* stub, const std::string& id) {
    request_.set_session_id(id);
    stub->async()->WatchSession(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows with the status
    events_.push_back(event_);
    StartRead(&event_);
  }

  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

  // The reactor must outlive its call.
  ~CallbackWatcher() { Await(absl::InfinitePast()); }

  // Waits for the call to end; cancels it (and fails) if it has not ended by
  // `deadline`.
  bool Await(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithDeadline(absl::Condition(&done_), deadline)) return true;
    context_.TryCancel();
    mu_.Await(absl::Condition(&done_));
    return false;
  }

  // Valid after Await(): OnDone comes after the last OnReadDone, and its
  // lock orders these reads after the reactor's writes.
  const std::vector<v1::SessionEvent>& events() const { return events_; }
  grpc::Status status() const {
    absl::MutexLock lock(&mu_);
    return status_;
  }

 private:
  grpc::ClientContext context_;
  v1::WatchSessionRequest request_;
  v1::SessionEvent event_;
  std::vector<v1::SessionEvent> events_;
  mutable absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

// Channels to one target that do not share a connection (gRPC shares a
// subchannel between channels with identical arguments).
std::vector<std::unique_ptr<v1::AnalysisService::Stub>> StubsOnOwnConnections(
    const std::string& target, int n) {
  std::vector<std::unique_ptr<v1::AnalysisService::Stub>> stubs;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("goodbuy.test.connection", i);
    stubs.push_back(NewStub(target, args));
  }
  return stubs;
}

// ---------------------------------------------------------------------------

class StreamingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new testing::ScratchDatabase();
    db_->MigrateAndLoadDemo();
  }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
  }

  static std::unique_ptr<testing::ServerProcess> StartServer(
      std::vector<std::string> flags) {
    return std::make_unique<testing::ServerProcess>(db_->url(),
                                                    std::move(flags));
  }

  static std::string Url() { return db_->url(); }

  static testing::ScratchDatabase* db_;
};

testing::ScratchDatabase* StreamingTest::db_ = nullptr;

// A watcher that stops reading holds one event in the server (its write in
// flight), never the job or the other watchers: they finish the session
// while it is stalled. Once it is too many results behind it is ended with
// RESOURCE_EXHAUSTED naming its cursor, and resuming there loses nothing.
TEST_F(StreamingTest, SlowWatcherDoesNotSlowTheJobOrTheOtherWatchers) {
  auto server = StartServer({"--min_stage_ms=60", "--watch_max_lag=2"});
  client::AnalysisClient c(server->target(), testing::ClientOptions());
  auto session = c.CreateSession(LongForecast());
  ASSERT_TRUE(session.ok()) << session.status();
  const std::string id = session->session_id();

  // The slow watcher: its own connection, whose HTTP/2 receive window stays
  // at 1 KiB (no BDP probing grows it), so the server can only write what
  // fits before the client reads again.
  grpc::ChannelArguments slow_args;
  slow_args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  slow_args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto slow_stub = NewStub(server->target(), slow_args);
  RawStream slow_stream(*slow_stub, id, /*after=*/0, /*deadline_s=*/60);
  auto& slow = slow_stream.reader;
  std::vector<v1::SessionEvent> slow_events(1);
  ASSERT_TRUE(slow->Read(&slow_events[0]));
  EXPECT_EQ(slow_events[0].sequence(), 1);

  std::vector<std::vector<v1::SessionEvent>> fast(3);
  {
    std::vector<std::thread> threads;
    for (auto& events : fast) {
      threads.emplace_back(
          [&c, &id, &events] { events = WatchAllWithin(c, id); });
    }
    for (auto& t : threads) t.join();
  }
  // The job and the fast watchers are done while the slow one has read a
  // single event.
  auto finished = c.GetSession(id);
  ASSERT_TRUE(finished.ok()) << finished.status();
  EXPECT_EQ(finished->status(), v1::SESSION_STATUS_COMPLETED);
  const std::vector<v1::SessionEvent>& reference = fast[0];
  ASSERT_FALSE(reference.empty());
  EXPECT_EQ(reference.back().status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_EQ(Joined(Sequences(reference)), TableSequences(Url(), id))
      << "a fast watcher missed or repeated events";
  for (size_t i = 1; i < reference.size(); ++i) {
    EXPECT_GT(reference[i].sequence(), reference[i - 1].sequence());
  }
  for (size_t w = 1; w < fast.size(); ++w) {
    EXPECT_TRUE(SameEvents(fast[w], reference)) << "fast watcher " << w;
  }
  const std::vector<std::string> keys = PartialKeys(reference);
  ASSERT_GE(keys.size(), 8u);  // the models and six forecast chunks

  // The slow watcher reads again: what the window and the write in flight
  // held, then the end the server decided while it was stalled.
  v1::SessionEvent event;
  while (slow->Read(&event)) slow_events.push_back(event);
  const grpc::Status ended = slow->Finish();
  const int64_t cursor = slow_events.back().sequence();
  ASSERT_EQ(ended.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << ended.error_message() << "\nthe slow watcher got "
      << Joined(Sequences(slow_events));
  EXPECT_THAT(ended.error_message(),
              HasSubstr(absl::StrCat("after_sequence=", cursor)));
  const auto infos = Details<google::rpc::ErrorInfo>(ended);
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].reason(), "WATCHER_FELL_BEHIND");
  const auto& metadata = infos[0].metadata();
  EXPECT_TRUE(metadata.count("after_sequence") == 1 &&
              metadata.at("after_sequence") == absl::StrCat(cursor))
      << infos[0].DebugString();
  // It really fell behind: it never got the end, and it had to be cut
  // before the results it missed.
  EXPECT_LT(cursor, reference.back().sequence());
  EXPECT_LT(PartialKeys(slow_events).size(), keys.size());
  for (size_t i = 1; i < slow_events.size(); ++i) {
    EXPECT_GT(slow_events[i].sequence(), slow_events[i - 1].sequence());
  }

  std::cout << "[ slow watcher ] cut at sequence " << cursor << " of "
            << reference.back().sequence() << " after "
            << PartialKeys(slow_events).size() << " of " << keys.size()
            << " results\n";

  // Resuming at the cursor the server named delivers the rest: every result
  // exactly once, in order, and the end.
  const std::vector<v1::SessionEvent> rest = WatchAllWithin(c, id, cursor);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.front().sequence(), cursor + 1);
  EXPECT_EQ(rest.back().status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_TRUE(MessageDifferencer::Equals(rest.back(), reference.back()));
  std::vector<std::string> slow_keys = PartialKeys(slow_events);
  for (const auto& key : PartialKeys(rest)) slow_keys.push_back(key);
  EXPECT_EQ(slow_keys, keys);
}

// A watcher that goes away mid-job and comes back with after_sequence = the
// last sequence it saw gets exactly the events it did not have.
TEST_F(StreamingTest,
       WatcherThatDisconnectsMidStreamResumesWithNoGapAndNoDuplicate) {
  auto server = StartServer({"--min_stage_ms=40"});
  client::AnalysisClient c(server->target(), testing::ClientOptions());
  auto session = c.CreateSession(LongForecast());
  ASSERT_TRUE(session.ok()) << session.status();
  const std::string id = session->session_id();
  auto stub = NewStub(server->target());

  std::vector<v1::SessionEvent> reference;
  std::thread reference_watcher([&] { reference = WatchAllWithin(c, id); });
  // Cut by the client itself right after the first partial result: the job
  // is mid-way (more results follow).
  const RawWatch first = ReadWatch(*stub, id, 0, [](const v1::SessionEvent& e) {
    return e.has_partial_result();
  });
  const int64_t cursor =
      first.events.empty() ? 0 : first.events.back().sequence();
  const RawWatch second = ReadWatch(*stub, id, cursor);
  reference_watcher.join();
  EXPECT_EQ(first.status.error_code(), grpc::StatusCode::CANCELLED)
      << first.status.error_message();
  ASSERT_FALSE(first.events.empty());
  EXPECT_EQ(first.events.back().status(), v1::SESSION_STATUS_RUNNING);
  EXPECT_TRUE(second.status.ok()) << second.status.error_message();

  ASSERT_FALSE(reference.empty());
  EXPECT_EQ(reference.back().status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_EQ(Joined(Sequences(reference)), TableSequences(Url(), id));
  std::vector<v1::SessionEvent> joined = first.events;
  joined.insert(joined.end(), second.events.begin(), second.events.end());
  EXPECT_TRUE(SameEvents(joined, reference));
  // The cut really split the results.
  EXPECT_FALSE(PartialKeys(second.events).empty());
}

// The same when the connection is cut by the serving replica crashing
// (SIGKILL) mid-job: the watcher resumes on another replica, which takes the
// session over once the dead one's lease has expired, and gets every later
// event once; no sequence it saw is reused for a different event. The crash
// lands right after the watcher was sent a progress event, between two of
// the job's writes.
TEST_F(StreamingTest,
       WatcherCutByAReplicaCrashResumesOnAnotherWithNoGapAndNoDuplicate) {
  auto a = StartServer(
      {"--replica_id=crashing", "--min_stage_ms=150", "--lease_ms=1500"});
  client::AnalysisClient via_a(a->target(), testing::ClientOptions());
  auto session = via_a.CreateSession(LongForecast());
  ASSERT_TRUE(session.ok()) << session.status();
  const std::string id = session->session_id();

  auto stub_a = NewStub(a->target());
  std::string persisted_at_crash;
  std::optional<int> kill_status;
  // The watcher keeps reading: what reached it before the crash is its.
  const RawWatch first =
      ReadWatch(*stub_a, id, 0, [&](const v1::SessionEvent& e) {
        if (kill_status.has_value() || e.stage() != "backtest") return false;
        kill_status = a->Kill();
        persisted_at_crash = testing::QueryValue(
            Url(),
            "SELECT max(sequence) FROM session_events WHERE session_id = '" +
                id + "'");
        return false;
      });
  // The fault: the replica died mid-job, under the watcher's stream.
  ASSERT_TRUE(kill_status.has_value() && WIFSIGNALED(*kill_status) &&
              WTERMSIG(*kill_status) == SIGKILL)
      << "the watcher never saw the backtest stage: "
      << Joined(Sequences(first.events));
  EXPECT_EQ(first.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << first.status.error_message();
  ASSERT_FALSE(first.events.empty());
  const int64_t cursor = first.events.back().sequence();
  EXPECT_EQ(first.events.back().status(), v1::SESSION_STATUS_RUNNING);

  auto b = StartServer({"--replica_id=taker", "--lease_ms=1500"});
  auto stub_b = NewStub(b->target());
  const RawWatch second = ReadWatch(*stub_b, id, cursor);
  EXPECT_TRUE(second.status.ok()) << second.status.error_message();
  ASSERT_FALSE(second.events.empty());
  EXPECT_EQ(second.events.back().status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_EQ(testing::QueryValue(Url(),
                                "SELECT status || '/' || attempt FROM "
                                "ai_analysis_sessions WHERE id = '" +
                                    id + "'"),
            "completed/2");
  EXPECT_EQ(testing::QueryValue(Url(),
                                "SELECT lease_owner FROM session_attempts "
                                "WHERE attempt = 2 AND session_id = '" +
                                    id + "'"),
            "taker");
  // The resumed stream honours its cursor.
  EXPECT_GT(second.events.front().sequence(), cursor)
      << Joined(Sequences(second.events));

  // The reference: the whole stream as the table has it, read from B.
  const RawWatch reference = ReadWatch(*stub_b, id, 0);
  ASSERT_TRUE(reference.status.ok()) << reference.status.error_message();
  EXPECT_EQ(Joined(Sequences(reference.events)), TableSequences(Url(), id));
  // The dead replica streamed events it never wrote (a job persists in
  // batches); their numbers are never given to other events: the requeue
  // and the next attempt are numbered after them. So the watcher's stream is
  // the table's up to what it had persisted, then the events the dead
  // attempt streamed alone, then the table's again, each once, ascending.
  const int64_t persisted = std::stoll(persisted_at_crash);
  std::vector<v1::SessionEvent> expected;
  for (const auto& e : reference.events) {
    if (e.sequence() <= persisted) expected.push_back(e);
  }
  for (const auto& e : first.events) {
    if (e.sequence() > persisted) expected.push_back(e);
  }
  for (const auto& e : reference.events) {
    if (e.sequence() > cursor) expected.push_back(e);
  }
  std::vector<v1::SessionEvent> joined = first.events;
  joined.insert(joined.end(), second.events.begin(), second.events.end());
  EXPECT_TRUE(SameEvents(joined, expected))
      << "the crashed replica had sent the watcher up to sequence " << cursor
      << " while the table held up to " << persisted_at_crash;
  // No number the dead attempt used names another event in the table.
  for (const auto& e : reference.events) {
    EXPECT_FALSE(e.sequence() > persisted && e.sequence() <= cursor)
        << "sequence " << e.sequence() << " was reused";
  }
}

// WatchSession sends "only events with a larger sequence" than the cursor,
// also when the cursor is ahead of the session's last event (as after the
// crash above: the watcher's cursor came from events the table never got).
// The session here is live (pending on an API-only replica) and then
// cancelled: its terminal event, sequence 2, is at or below the cursor.
TEST_F(StreamingTest, CursorAheadOfALiveSessionGetsNoEventAtOrBelowIt) {
  auto server = StartServer({"--workers=0", "--heartbeat_s=1"});
  client::AnalysisClient c(server->target(), testing::ClientOptions());
  auto session = c.CreateSession(
      Request("biz_demo_cafe", v1::SESSION_TYPE_HEALTH_ANALYSIS));
  ASSERT_TRUE(session.ok()) << session.status();
  const std::string id = session->session_id();

  auto stub = NewStub(server->target());
  // The deadline bounds the wait of a server that (rightly) has nothing to
  // send.
  RawStream stream(*stub, id, /*after=*/3, /*deadline_s=*/6);
  auto& reader = stream.reader;
  // A heartbeat first: the watch is subscribed before the cancel.
  std::vector<v1::SessionEvent> events(1);
  ASSERT_TRUE(reader->Read(&events[0]));
  EXPECT_TRUE(events[0].has_heartbeat()) << events[0].DebugString();
  EXPECT_EQ(events[0].sequence(), 3);
  auto cancelled = c.CancelSession(id, "cursor test");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  v1::SessionEvent e;
  while (reader->Read(&e)) events.push_back(e);
  const grpc::Status status = reader->Finish();
  for (const auto& event : events) {
    if (event.has_heartbeat()) continue;
    EXPECT_GT(event.sequence(), 3)
        << "sent an event at or below after_sequence=3:\n"
        << event.DebugString();
  }
  // Either it waits (until the deadline) or refuses the cursor; it does
  // not end as if it had delivered the session's end.
  EXPECT_NE(status.error_code(), grpc::StatusCode::OK);
}

// Hundreds of watchers of one session, on gRPC's callback API over a few
// connections, joining before and while it runs: each gets the identical
// complete stream.
TEST_F(StreamingTest, ManyWatchersOnOneSessionAllGetEveryEvent) {
  auto server = StartServer({"--min_stage_ms=40"});
  client::AnalysisClient c(server->target(), testing::ClientOptions());
  auto session = c.CreateSession(LongForecast());
  ASSERT_TRUE(session.ok()) << session.status();
  const std::string id = session->session_id();

  constexpr int kWatchers = 200;
  auto stubs = StubsOnOwnConnections(server->target(), 4);
  std::vector<std::unique_ptr<CallbackWatcher>> watchers;
  for (int i = 0; i < kWatchers; ++i) {
    watchers.push_back(
        std::make_unique<CallbackWatcher>(stubs[i % stubs.size()].get(), id));
  }
  int failed = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  for (auto& w : watchers) {
    if (!w->Await(deadline)) ++failed;
  }
  ASSERT_EQ(failed, 0) << "watchers still open after 60 s";

  const std::string table = TableSequences(Url(), id);
  const std::vector<v1::SessionEvent>& first = watchers[0]->events();
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first.front().sequence(), 1);
  EXPECT_EQ(first.back().status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_EQ(Joined(Sequences(first)), table);
  for (int i = 0; i < kWatchers; ++i) {
    EXPECT_TRUE(watchers[i]->status().ok())
        << "watcher " << i << ": " << watchers[i]->status().error_message();
    EXPECT_TRUE(SameEvents(watchers[i]->events(), first)) << "watcher " << i;
  }
}

// An idle stream gets a heartbeat every --heartbeat_s that repeats the last
// event's sequence and state, so it keeps the stream alive without moving
// anyone's cursor; the real end still arrives.
TEST_F(StreamingTest, IdleStreamGetsHeartbeatsThatDoNotMoveTheCursor) {
  // API-only: nothing runs the session, so nothing but heartbeats is sent.
  auto server = StartServer({"--workers=0", "--heartbeat_s=1"});
  client::AnalysisClient c(server->target(), testing::ClientOptions());
  auto session = c.CreateSession(
      Request("biz_demo_cafe", v1::SESSION_TYPE_HEALTH_ANALYSIS));
  ASSERT_TRUE(session.ok()) << session.status();
  const std::string id = session->session_id();

  absl::Mutex mu;
  std::vector<v1::SessionEvent> events;
  int heartbeats = 0;
  absl::Status watched;
  client::CallCanceller canceller;  // stops the watch if the test fails
  std::thread watcher([&] {
    watched = c.Watch(
        id, 0,
        [&](const v1::SessionEvent& e) {
          absl::MutexLock lock(&mu);
          events.push_back(e);
          if (e.has_heartbeat()) ++heartbeats;
          return true;
        },
        &canceller);
  });
  // A second watcher already at the last event: its heartbeats carry its
  // cursor.
  auto stub = NewStub(server->target());
  RawStream raw_stream(*stub, id, /*after=*/1, /*deadline_s=*/30);
  auto& raw = raw_stream.reader;
  std::vector<v1::SessionEvent> raw_events(2);
  EXPECT_TRUE(raw->Read(&raw_events[0]));
  EXPECT_TRUE(raw->Read(&raw_events[1]));

  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(
        mu.AwaitWithTimeout(absl::Condition(
                                +[](int* n) { return *n >= 2; }, &heartbeats),
                            absl::Seconds(20)))
        << "heartbeats: " << heartbeats;
  }
  auto cancelled = c.CancelSession(id, "idle test");
  EXPECT_TRUE(cancelled.ok()) << cancelled.status();
  if (!cancelled.ok()) canceller.Cancel();
  watcher.join();
  ASSERT_TRUE(watched.ok()) << watched;

  // The session's real events: created (1), cancelled (2); heartbeats only
  // in between, each a copy of event 1's state at its sequence.
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.front().sequence(), 1);
  EXPECT_FALSE(events.front().has_heartbeat());
  EXPECT_EQ(events.back().sequence(), 2);
  EXPECT_EQ(events.back().status(), v1::SESSION_STATUS_CANCELLED);
  EXPECT_TRUE(events.back().has_error());
  for (size_t i = 1; i + 1 < events.size(); ++i) {
    EXPECT_TRUE(events[i].has_heartbeat()) << events[i].DebugString();
    EXPECT_EQ(events[i].sequence(), 1);
    EXPECT_EQ(events[i].session_id(), id);
    EXPECT_EQ(events[i].status(), v1::SESSION_STATUS_PENDING);
    EXPECT_EQ(events[i].progress_percentage(),
              events.front().progress_percentage());
    EXPECT_EQ(events[i].stage(), events.front().stage());
  }

  for (const auto& e : raw_events) {
    EXPECT_TRUE(e.has_heartbeat()) << e.DebugString();
    EXPECT_EQ(e.sequence(), 1);
    EXPECT_EQ(e.session_id(), id);
  }
  v1::SessionEvent e;
  while (raw->Read(&e)) raw_events.push_back(e);
  EXPECT_TRUE(raw->Finish().ok());
  EXPECT_EQ(raw_events.back().sequence(), 2);
  EXPECT_EQ(raw_events.back().status(), v1::SESSION_STATUS_CANCELLED);
}

// Beyond --max_streams open streams a new one is refused with
// RESOURCE_EXHAUSTED and details a client can act on (QuotaFailure,
// RetryInfo); unary calls still work; a freed slot is usable again.
TEST_F(StreamingTest, StreamsBeyondTheCapAreRefusedWithQuotaFailure) {
  auto server = StartServer({"--workers=0", "--max_streams=3"});
  client::AnalysisClient c(server->target(), testing::ClientOptions());
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto s =
        c.CreateSession(Request("biz_demo_retail", v1::SESSION_TYPE_VALUATION));
    ASSERT_TRUE(s.ok()) << s.status();
    ids.push_back(s->session_id());
  }
  auto stub = NewStub(server->target());
  std::vector<std::unique_ptr<OpenWatch>> open;
  for (const auto& id : ids) {
    open.push_back(std::make_unique<OpenWatch>(stub.get(), id));
    ASSERT_TRUE(open.back()->accepted())
        << open.back()->Close().error_message();
  }

  auto refused = std::make_unique<OpenWatch>(stub.get(), ids[0]);
  EXPECT_FALSE(refused->accepted());
  const grpc::Status status = refused->Close();
  ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  const auto quota = Details<google::rpc::QuotaFailure>(status);
  ASSERT_EQ(quota.size(), 1u);
  ASSERT_EQ(quota[0].violations_size(), 1);
  EXPECT_THAT(quota[0].violations(0).description(), HasSubstr("3"));
  const auto retry = Details<google::rpc::RetryInfo>(status);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_GT(retry[0].retry_delay().seconds() * 1000 +
                retry[0].retry_delay().nanos() / 1000000,
            0);
  // The client library reads the same hint.
  EXPECT_TRUE(client::RetryDelay(client::FromGrpcStatus(status)).has_value());

  // RunSession is a stream too: refused before it creates anything.
  const std::string rows_sql = "SELECT count(*) FROM ai_analysis_sessions";
  const std::string rows_before = testing::QueryValue(Url(), rows_sql);
  {
    grpc::ClientContext context;
    v1::RunSessionRequest run;
    *run.mutable_session() =
        Request("biz_demo_retail", v1::SESSION_TYPE_VALUATION);
    auto reader = stub->RunSession(&context, run);
    v1::SessionEvent e;
    EXPECT_FALSE(reader->Read(&e));
    EXPECT_EQ(reader->Finish().error_code(),
              grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  EXPECT_EQ(testing::QueryValue(Url(), rows_sql), rows_before);
  // The cap is on streams, not calls.
  EXPECT_TRUE(c.GetSession(ids[0]).ok());

  // One stream goes; its slot is free once the server has seen it go.
  EXPECT_EQ(open[0]->Close().error_code(), grpc::StatusCode::CANCELLED);
  std::unique_ptr<OpenWatch> again;
  for (int i = 0; i < 100; ++i) {
    again = std::make_unique<OpenWatch>(stub.get(), ids[0]);
    if (again->accepted()) break;
    ASSERT_EQ(again->Close().error_code(),
              grpc::StatusCode::RESOURCE_EXHAUSTED);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(again->accepted()) << "the freed slot was never reused";
  // With it taken, the cap holds again.
  auto fourth = std::make_unique<OpenWatch>(stub.get(), ids[1]);
  EXPECT_FALSE(fourth->accepted());
  EXPECT_EQ(fourth->Close().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  again->Close();
  for (auto& o : open) o->Close();
  for (const auto& id : ids) EXPECT_TRUE(c.CancelSession(id).ok());
}

// gRPC refuses a request over --max_message_kb before the service sees it;
// the connection and the server carry on.
TEST_F(StreamingTest, OversizedRequestIsRefusedAndTheServerKeepsServing) {
  auto server = StartServer({"--workers=0", "--max_message_kb=64"});
  client::AnalysisClient c(server->target(), testing::ClientOptions());
  // Valid inline histories (at most 600 months are accepted) that differ
  // only in length: one under 64 KiB, one over.
  auto with_months = [](int months) {
    v1::CreateSessionRequest request =
        Request("biz_demo_cafe", v1::SESSION_TYPE_HEALTH_ANALYSIS);
    for (int i = 0; i < months; ++i) {
      v1::MonthlyPeriod* p = request.mutable_history()->add_periods();
      p->set_month(
          absl::StrCat(1990 + i / 12, "-", i % 12 < 9 ? "0" : "", i % 12 + 1));
      p->set_revenue(10000.5 + i);
      p->set_cost_of_goods_sold(3000.25 + i);
      p->set_operating_expenses(4000.75 + i);
      p->set_owner_compensation(1500.5 + i);
      p->set_interest_expense(100.25 + i);
      p->set_debt_principal_paid(200.75 + i);
      p->set_cash(20000.5 + i);
      p->set_total_debt(50000.25 + i);
      p->set_customers(100 + i);
      p->set_new_customers(10 + i % 7);
      p->set_churned_customers(5 + i % 3);
      p->set_current_assets(30000.5 + i);
      p->set_current_liabilities(12000.25 + i);
      p->set_total_assets(90000.75 + i);
      p->set_retained_earnings(25000.5 + i);
      p->set_equity(40000.25 + i);
      p->set_accounts_receivable(5000.75 + i);
    }
    return request;
  };
  const v1::CreateSessionRequest small = with_months(300);
  const v1::CreateSessionRequest big = with_months(580);
  ASSERT_LT(small.ByteSizeLong(), 60u * 1024);
  ASSERT_GT(big.ByteSizeLong(), 70u * 1024);
  const std::string rows_sql = "SELECT count(*) FROM ai_analysis_sessions";
  const int rows_before = std::stoi(testing::QueryValue(Url(), rows_sql));

  auto refused = c.CreateSession(big);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted)
      << refused.status();
  auto under = c.CreateSession(small);
  ASSERT_TRUE(under.ok()) << under.status();
  auto normal = c.CreateSession(
      Request("biz_demo_cafe", v1::SESSION_TYPE_HEALTH_ANALYSIS));
  ASSERT_TRUE(normal.ok()) << normal.status();
  // Only the two accepted requests made rows; the server never restarted.
  EXPECT_EQ(std::stoi(testing::QueryValue(Url(), rows_sql)), rows_before + 2);
  EXPECT_EQ(kill(server->pid(), 0), 0) << server->Log();
  EXPECT_TRUE(c.CancelSession(under->session_id()).ok());
  EXPECT_TRUE(c.CancelSession(normal->session_id()).ok());
}

// An API-only replica (--workers=0) creates sessions and serves their
// watchers, but a worker replica on the same database runs them; its
// watchers are fed from the events table and all get complete streams.
TEST_F(StreamingTest, ApiOnlyReplicaStreamsSessionsRunByAWorker) {
  auto api = StartServer({"--workers=0", "--replica_id=api-only"});
  client::AnalysisClient c(api->target(), testing::ClientOptions());
  constexpr int kSessions = 10;
  constexpr int kWatchersEach = 20;
  const char* const kBusinesses[] = {"biz_demo_cafe", "biz_demo_retail",
                                     "biz_demo_restaurant", "biz_demo_agency"};
  const v1::SessionType kTypes[] = {v1::SESSION_TYPE_HEALTH_ANALYSIS,
                                    v1::SESSION_TYPE_VALUATION,
                                    v1::SESSION_TYPE_FORECAST};
  std::vector<std::string> ids;
  for (int i = 0; i < kSessions; ++i) {
    auto s = c.CreateSession(Request(kBusinesses[i % 4], kTypes[i % 3]));
    ASSERT_TRUE(s.ok()) << s.status();
    ids.push_back(s->session_id());
  }
  auto stubs = StubsOnOwnConnections(api->target(), 4);
  std::vector<std::unique_ptr<CallbackWatcher>> watchers;
  for (int i = 0; i < kSessions * kWatchersEach; ++i) {
    watchers.push_back(std::make_unique<CallbackWatcher>(
        stubs[i % stubs.size()].get(), ids[i % kSessions]));
  }
  // Nothing runs them yet: the API replica does not claim.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const std::string pending_sql =
      "SELECT count(*) FROM ai_analysis_sessions WHERE status = 'pending' AND "
      "id IN ('" +
      absl::StrJoin(ids, "','") + "')";
  EXPECT_EQ(testing::QueryValue(Url(), pending_sql), absl::StrCat(kSessions));

  auto worker = StartServer({"--replica_id=worker", "--min_stage_ms=20",
                             "--max_running_per_user=10", "--workers=4"});
  int timed_out = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  for (auto& w : watchers) {
    if (!w->Await(deadline)) ++timed_out;
  }
  EXPECT_EQ(timed_out, 0);

  std::map<std::string, std::string> table;
  for (const auto& id : ids) table[id] = TableSequences(Url(), id);
  for (int i = 0; i < kSessions * kWatchersEach; ++i) {
    const std::string& id = ids[i % kSessions];
    const CallbackWatcher& w = *watchers[i];
    const CallbackWatcher& first = *watchers[i % kSessions];
    EXPECT_TRUE(w.status().ok())
        << "watcher " << i << ": " << w.status().error_message();
    ASSERT_FALSE(w.events().empty()) << "watcher " << i;
    EXPECT_EQ(w.events().back().status(), v1::SESSION_STATUS_COMPLETED)
        << "watcher " << i;
    EXPECT_EQ(Joined(Sequences(w.events())), table[id]) << "watcher " << i;
    EXPECT_TRUE(SameEvents(w.events(), first.events())) << "watcher " << i;
  }
  EXPECT_EQ(
      testing::QueryValue(Url(),
                          "SELECT string_agg(DISTINCT lease_owner, ',') FROM "
                          "session_attempts WHERE session_id IN ('" +
                              absl::StrJoin(ids, "','") + "')"),
      "worker");
}

// A cursor older than the first event the table still has (earlier ones
// pruned) is refused with OUT_OF_RANGE naming the earliest kept sequence and
// a BadRequest on after_sequence; a cursor just before it is served.
TEST_F(StreamingTest, CursorOlderThanTheKeptEventsIsOutOfRange) {
  std::string id;
  std::vector<v1::SessionEvent> original;
  {
    auto worker = StartServer({});
    client::AnalysisClient c(worker->target(), testing::ClientOptions());
    auto session =
        c.CreateSession(Request("biz_demo_agency", v1::SESSION_TYPE_VALUATION));
    ASSERT_TRUE(session.ok()) << session.status();
    id = session->session_id();
    original = WatchAllWithin(c, id);
  }
  ASSERT_GE(original.size(), 5u);
  ASSERT_EQ(original.back().status(), v1::SESSION_STATUS_COMPLETED);
  // Retention pruned the first three events.
  testing::ExecSql(Url(), "DELETE FROM session_events WHERE session_id = '" +
                              id + "' AND sequence <= 3");

  // A fresh process: its only copy of the events is the table's.
  auto server = StartServer({"--workers=0"});
  auto stub = NewStub(server->target());
  for (int64_t after : {0, 2}) {
    const RawWatch refused = ReadWatch(*stub, id, after);
    EXPECT_TRUE(refused.events.empty());
    ASSERT_EQ(refused.status.error_code(), grpc::StatusCode::OUT_OF_RANGE)
        << "after_sequence=" << after << ": " << refused.status.error_message();
    EXPECT_THAT(refused.status.error_message(),
                HasSubstr("the earliest kept is 4"));
    const auto violations =
        client::FieldViolations(client::FromGrpcStatus(refused.status));
    EXPECT_THAT(violations, Contains(Field(&client::FieldViolation::field,
                                           "after_sequence")));
  }
  const RawWatch served = ReadWatch(*stub, id, 3);
  EXPECT_TRUE(served.status.ok()) << served.status.error_message();
  const std::vector<v1::SessionEvent> kept(original.begin() + 3,
                                           original.end());
  EXPECT_TRUE(SameEvents(served.events, kept));
}

}  // namespace
}  // namespace goodbuy
