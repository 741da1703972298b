// Crash recovery with real server processes on one real database. A replica
// killed with SIGKILL while it runs sessions leaves their leases behind;
// once they expire, the same replica restarted (or another replica) puts the
// sessions back in the queue and runs them again, so every session still
// ends, is billed once, and never has two attempts open at the same time.
// Also: CreateSession's request_id turns repeated and concurrent creates into
// one session per user.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "client/analysis_client.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

namespace v1 = ::goodbuy::analysis::v1;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kSessions = 100;
constexpr int kLeaseMs = 1500;
const char* const kBusinesses[] = {"biz_demo_cafe", "biz_demo_retail",
                                   "biz_demo_restaurant", "biz_demo_agency"};
const v1::SessionType kTypes[] = {v1::SESSION_TYPE_HEALTH_ANALYSIS,
                                  v1::SESSION_TYPE_VALUATION,
                                  v1::SESSION_TYPE_FORECAST};

// The flags of the crashing replica and of whoever takes over.
std::vector<std::string> ReplicaFlags(const std::string& replica_id) {
  return {"--replica_id=" + replica_id, absl::StrCat("--lease_ms=", kLeaseMs),
          "--workers=4", "--min_stage_ms=40", "--max_running_per_user=100"};
}

// Polls `done` until it holds or `timeout` passes; true if it held.
bool WaitFor(const std::function<bool()>& done, milliseconds timeout,
             milliseconds every = milliseconds(50)) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

int Count(const std::string& url, const std::string& sql) {
  return std::stoi(testing::QueryValue(url, sql));
}

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The rule of sql/validation/post_migration.sql, word for word.
constexpr char kOverlappingAttempts[] =
    "SELECT COUNT(*) FROM session_attempts a "
    "JOIN session_attempts b ON b.session_id = a.session_id AND b.attempt > "
    "a.attempt WHERE a.ended_at IS NULL OR b.claimed_at < a.ended_at";

constexpr char kUnfinished[] =
    "SELECT count(*) FROM ai_analysis_sessions WHERE status NOT IN "
    "('completed', 'failed', 'cancelled')";

// A session that was running on the killed replica.
struct Orphan {
  std::string id;
  int attempt = 0;            // its attempt at the kill
  std::string lease_expires;  // when that attempt's lease ran out (UTC)
};

// What the crash left behind.
struct Crash {
  std::vector<Orphan> orphans;
  std::string killed_at;  // database clock (UTC) right after the kill
  Clock::time_point killed;
};

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override { db_.MigrateAndLoadDemo(); }

  std::string url() const { return db_.url(); }

  // kSessions real CreateSession calls, from four threads at once.
  std::vector<std::string> CreateSessions(const std::string& target) {
    client::AnalysisClient c(target, testing::ClientOptions());
    std::vector<std::string> ids(kSessions);
    std::vector<std::thread> threads;
    constexpr int kThreads = 4;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < kSessions; i += kThreads) {
          v1::CreateSessionRequest request;
          request.set_business_id(kBusinesses[i % 4]);
          request.set_session_type(kTypes[i % 3]);
          auto session = c.CreateSession(request);
          if (session.ok()) {
            ids[i] = session->session_id();
          } else {
            ADD_FAILURE() << "create " << i << ": " << session.status();
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    return ids;
  }

  // Creates the sessions on `a`, waits until its four workers are all busy,
  // then kills it with SIGKILL and records what was running.
  Crash CreateThenKill(testing::ServerProcess& a) {
    Crash crash;
    const auto started = Clock::now();
    const std::vector<std::string> ids = CreateSessions(a.target());
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(),
              static_cast<size_t>(kSessions));
    EXPECT_EQ(Count(url(), "SELECT count(*) FROM ai_analysis_sessions"),
              kSessions);
    std::cout << "[ recovery ] created " << kSessions << " sessions in "
              << Seconds(Clock::now() - started) << " s\n";
    const std::string running_sql =
        "SELECT count(*) FROM ai_analysis_sessions WHERE status = 'running'";
    EXPECT_TRUE(WaitFor([&] { return Count(url(), running_sql) >= 4; },
                        milliseconds(30000), milliseconds(10)))
        << a.Log();

    // The fault.
    const int status = a.Kill();
    crash.killed = Clock::now();
    crash.killed_at = testing::QueryValue(
        url(),
        "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD HH24:MI:SS.US')");
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "waitpid status " << status;

    // What it left: sessions still 'running' under its lease, which nobody
    // renews any more.
    const std::string orphans = testing::QueryValue(
        url(),
        "SELECT string_agg(id || ' ' || attempt || ' ' || lease_owner || ' ' "
        "|| to_char(lease_expires_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), ',') "
        "FROM ai_analysis_sessions WHERE status = 'running'");
    for (absl::string_view row :
         absl::StrSplit(orphans, ',', absl::SkipEmpty())) {
      std::vector<std::string> f = absl::StrSplit(row, ' ');
      EXPECT_EQ(f.size(), 4u) << row;
      if (f.size() != 4) continue;
      EXPECT_EQ(f[2], "a") << row;
      crash.orphans.push_back({f[0], std::stoi(f[1]), f[3]});
    }
    std::cout << "[ recovery ] kill -9 with " << crash.orphans.size()
              << " sessions running, "
              << Count(url(),
                       "SELECT count(*) FROM ai_analysis_sessions WHERE "
                       "status = 'completed'")
              << " completed, "
              << Count(url(),
                       "SELECT count(*) FROM ai_analysis_sessions WHERE "
                       "status = 'pending'")
              << " pending\n";
    EXPECT_GE(crash.orphans.size(), 1u);
    return crash;
  }

  // Waits for every session to end, then checks the invariants and prints
  // the recovery timings. Later attempts of the orphans must belong to
  // `taker`.
  void ExpectRecovered(const Crash& crash, const std::string& taker,
                       const testing::ServerProcess& server) {
    const bool ended = WaitFor([&] { return Count(url(), kUnfinished) == 0; },
                               milliseconds(120000), milliseconds(100));
    const auto all_terminal = Clock::now();
    ASSERT_TRUE(ended) << Count(url(), kUnfinished) << " sessions not ended\n"
                       << server.Log();

    EXPECT_EQ(Count(url(),
                    "SELECT count(*) FROM ai_analysis_sessions WHERE status = "
                    "'completed'"),
              kSessions)
        << testing::QueryValue(
               url(),
               "SELECT string_agg(id || ' ' || status || ' ' || attempt || ' "
               "' || coalesce(error_message, ''), E'\\n') FROM "
               "ai_analysis_sessions WHERE status <> 'completed'")
        << "\n"
        << server.Log();

    // Billed once: one usage row per completed session, none for others.
    EXPECT_EQ(Count(url(),
                    "SELECT count(*) FROM ai_analysis_sessions s WHERE "
                    "(SELECT count(*) FROM usage_metrics u WHERE "
                    "u.metric_type = 'ai_analysis' AND u.metadata->>"
                    "'session_id' = s.id) <> CASE WHEN s.status = "
                    "'completed' THEN 1 ELSE 0 END"),
              0);
    EXPECT_EQ(Count(url(),
                    "SELECT count(*) FROM usage_metrics WHERE metric_type = "
                    "'ai_analysis'"),
              Count(url(),
                    "SELECT count(*) FROM ai_analysis_sessions WHERE status = "
                    "'completed'"));

    // One worker at a time, and every attempt closed.
    EXPECT_EQ(Count(url(), kOverlappingAttempts), 0) << testing::QueryValue(
        url(),
        "SELECT string_agg(session_id || '#' || attempt || ' ' || "
        "lease_owner || ' ' || claimed_at || '..' || coalesce(ended_at"
        "::text, 'open') || ' ' || coalesce(outcome, ''), E'\\n' ORDER "
        "BY session_id, attempt) FROM session_attempts");
    EXPECT_EQ(Count(url(),
                    "SELECT count(*) FROM session_attempts WHERE ended_at IS "
                    "NULL"),
              0);

    // The orphans: the attempt that died expired; a later one, by `taker`,
    // began only after that lease ran out.
    if (crash.orphans.empty()) return;
    std::vector<std::string> values;
    for (const Orphan& o : crash.orphans) {
      values.push_back(absl::StrCat("('", o.id, "', ", o.attempt, ", '",
                                    o.lease_expires, "'::timestamp)"));
    }
    const std::string orphans =
        absl::StrCat("(VALUES ", absl::StrJoin(values, ", "),
                     ") AS o (id, attempt, lease_expires)");
    EXPECT_EQ(
        Count(url(), absl::StrCat("SELECT count(*) FROM ", orphans,
                                  " JOIN session_attempts a ON a.session_id = "
                                  "o.id AND a.attempt = o.attempt WHERE "
                                  "a.outcome = 'expired'")),
        static_cast<int>(crash.orphans.size()));
    EXPECT_EQ(
        Count(url(), absl::StrCat("SELECT count(*) FROM ", orphans,
                                  " JOIN ai_analysis_sessions s ON s.id = o.id "
                                  "WHERE s.attempt > o.attempt")),
        static_cast<int>(crash.orphans.size()));
    EXPECT_EQ(Count(url(), absl::StrCat(
                               "SELECT count(*) FROM ", orphans,
                               " JOIN session_attempts a ON a.session_id = "
                               "o.id AND a.attempt > o.attempt WHERE "
                               "a.lease_owner <> '",
                               taker, "' OR a.claimed_at <= o.lease_expires")),
              0)
        << testing::QueryValue(
               url(), absl::StrCat("SELECT string_agg(a.session_id || '#' || "
                                   "a.attempt || ' ' || a.lease_owner || ' ' "
                                   "|| a.claimed_at, E'\\n') FROM ",
                                   orphans,
                                   " JOIN session_attempts a ON a.session_id "
                                   "= o.id AND a.attempt > o.attempt"));

    const std::string first_rerun = testing::QueryValue(
        url(), absl::StrCat("SELECT extract(epoch FROM min(a.claimed_at) - '",
                            crash.killed_at, "'::timestamp) FROM ", orphans,
                            " JOIN session_attempts a ON a.session_id = o.id "
                            "AND a.attempt = o.attempt + 1"));
    // The lease runs out at most kLeaseMs after the kill, a reaper pass
    // comes every kLeaseMs / 2 and the first backoff is at most 1 s: far
    // below 10 s even with a restart in between.
    EXPECT_LT(std::stod(first_rerun.empty() ? "1e9" : first_rerun), 10.0);
    // The taker's reaper re-queued each orphan, once.
    const std::string log = server.Log();
    size_t reaped = 0;
    for (size_t at = log.find("lease expired; now pending");
         at != std::string::npos;
         at = log.find("lease expired; now pending", at + 1)) {
      ++reaped;
    }
    EXPECT_EQ(reaped, crash.orphans.size()) << log;
    std::cout << "[ recovery ] kill -9 -> first re-run of an orphan (" << taker
              << "): " << first_rerun << " s (lease " << kLeaseMs << " ms)\n"
              << "[ recovery ] kill -9 -> all " << kSessions
              << " sessions terminal: " << Seconds(all_terminal - crash.killed)
              << " s\n";
  }

  testing::ScratchDatabase db_;
};

TEST_F(RecoveryTest, KillNineWithSessionsInFlightThenRestart) {
  auto a = std::make_unique<testing::ServerProcess>(url(), ReplicaFlags("a"));
  const Crash crash = CreateThenKill(*a);
  ASSERT_FALSE(HasFatalFailure());

  // The same replica comes back: its old leases are not in its memory, so it
  // does not renew them; they expire and it runs the sessions again.
  const auto restart = Clock::now();
  a = std::make_unique<testing::ServerProcess>(url(), ReplicaFlags("a"));
  std::cout << "[ recovery ] restart took " << Seconds(Clock::now() - restart)
            << " s\n";
  ExpectRecovered(crash, "a", *a);
}

TEST_F(RecoveryTest, SecondReplicaTakesOver) {
  auto a = std::make_unique<testing::ServerProcess>(url(), ReplicaFlags("a"));
  const Crash crash = CreateThenKill(*a);
  ASSERT_FALSE(HasFatalFailure());

  // A stays dead; B, a replica that never saw these sessions, finds the
  // expired leases and finishes everything.
  testing::ServerProcess b(url(), ReplicaFlags("b"));
  ExpectRecovered(crash, "b", b);
}

TEST_F(RecoveryTest, DuplicateCreatesWithOneRequestId) {
  testing::ServerProcess server(url());
  client::AnalysisClient c(server.target(), testing::ClientOptions());
  const std::string sequential_id = "recovery-sequential-" + db_.name();
  const std::string concurrent_id = "recovery-concurrent-" + db_.name();
  auto rows = [&](const std::string& request_id) {
    return Count(url(),
                 "SELECT count(*) FROM ai_analysis_sessions WHERE request_id "
                 "= '" +
                     request_id + "'");
  };
  v1::CreateSessionRequest request;
  request.set_business_id("biz_demo_cafe");
  request.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);

  // 20 calls one after another.
  request.set_request_id(sequential_id);
  std::set<std::string> sequential;
  for (int i = 0; i < 20; ++i) {
    auto session = c.CreateSession(request);
    ASSERT_TRUE(session.ok()) << session.status();
    sequential.insert(session->session_id());
  }
  EXPECT_EQ(sequential.size(), 1u);
  EXPECT_EQ(rows(sequential_id), 1);

  // 20 calls at once, each on its own connection, released together; the
  // calls of callers that see every tenant are written together (group
  // commit), so each burst also holds a call for a business that does not
  // exist, and a call of its own: each gets its own answer.
  constexpr int kThreads = 22;
  std::vector<std::unique_ptr<client::AnalysisClient>> clients;
  for (int i = 0; i < kThreads; ++i) {
    clients.push_back(std::make_unique<client::AnalysisClient>(
        server.target(), testing::ClientOptions()));
  }
  auto burst = [&](const v1::CreateSessionRequest& same) {
    v1::CreateSessionRequest missing = same;
    missing.set_business_id("biz_missing");
    missing.set_request_id(same.request_id() + "-missing");
    v1::CreateSessionRequest own = same;
    own.set_request_id(same.request_id() + "-own");
    std::vector<std::string> ids(kThreads);
    std::vector<absl::Status> statuses(kThreads);
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (!go.load()) std::this_thread::yield();
        auto session = clients[i]->CreateSession(i == 0   ? missing
                                                 : i == 1 ? own
                                                          : same);
        statuses[i] = session.status();
        if (session.ok()) ids[i] = session->session_id();
      });
    }
    while (ready.load() < kThreads) std::this_thread::yield();
    go = true;
    for (auto& t : threads) t.join();
    EXPECT_EQ(statuses[0].code(), absl::StatusCode::kNotFound) << statuses[0];
    EXPECT_TRUE(statuses[1].ok()) << statuses[1];
    EXPECT_EQ(rows(own.request_id()), 1);
    std::set<std::string> same_ids;
    for (int i = 2; i < kThreads; ++i) {
      EXPECT_TRUE(statuses[i].ok()) << i << ": " << statuses[i];
      if (statuses[i].ok()) same_ids.insert(ids[i]);
    }
    EXPECT_EQ(same_ids.count(ids[1]), 0u);
    return same_ids;
  };
  request.set_request_id(concurrent_id);
  std::set<std::string> concurrent = burst(request);
  EXPECT_EQ(concurrent.size(), 1u) << absl::StrJoin(concurrent, " ");
  EXPECT_EQ(rows(concurrent_id), 1);
  EXPECT_NE(*concurrent.begin(), *sequential.begin());
  // Billed to an unlimited plan (not counted): one statement writes them.
  v1::CreateSessionRequest unlimited = request;
  unlimited.set_request_id(concurrent_id + "-unlimited");
  unlimited.set_user_id("usr_demo_broker");
  std::set<std::string> uncounted = burst(unlimited);
  EXPECT_EQ(uncounted.size(), 1u) << absl::StrJoin(uncounted, " ");
  EXPECT_EQ(rows(unlimited.request_id()), 1);
  EXPECT_EQ(Count(url(),
                  "SELECT count(*) FROM session_events e JOIN "
                  "ai_analysis_sessions s ON s.id = e.session_id "
                  "WHERE s.request_id = '" +
                      unlimited.request_id() + "' AND e.sequence = 1"),
            1);

  // The key is per user: another user with the same request_id gets a
  // session of its own, and keeps getting that one.
  request.set_request_id(sequential_id);
  request.set_user_id("usr_demo_broker");
  auto other = c.CreateSession(request);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(other->session_id(), *sequential.begin());
  auto again = c.CreateSession(request);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->session_id(), other->session_id());
  EXPECT_EQ(rows(sequential_id), 2);
  EXPECT_EQ(Count(url(),
                  "SELECT count(DISTINCT user_id) FROM ai_analysis_sessions "
                  "WHERE request_id = '" +
                      sequential_id + "'"),
            2);

  // Reusing a key for a different analysis is refused, not merged.
  request.set_session_type(v1::SESSION_TYPE_FORECAST);
  auto mismatched = c.CreateSession(request);
  EXPECT_EQ(mismatched.status().code(), absl::StatusCode::kAlreadyExists)
      << mismatched.status();
  EXPECT_EQ(rows(sequential_id), 2);
  // sequential, concurrent and unlimited with their "-own" neighbours, and
  // the other user's.
  EXPECT_EQ(Count(url(), "SELECT count(*) FROM ai_analysis_sessions"), 6);
}

}  // namespace
}  // namespace goodbuy
