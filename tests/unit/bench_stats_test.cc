// The pure parts of `analysisctl bench`: nearest-rank percentiles, stream
// completeness checks, pgbench
// output and clean-up parsing, the pgbench script and command line,
// /proc/net/tcp and /proc/PID/status parsing, target ports, --sweep lists
// and CSV rows; plus the /proc lookups against this test process itself (a
// listening socket on 127.0.0.1:0 and its own RSS).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/cli/bench.h"
#include "client/cli/latency_stats.h"
#include "client/cli/pgbench.h"
#include "client/cli/proc_stats.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goodbuy::client::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<absl::Duration> Millis(int from, int to) {
  std::vector<absl::Duration> samples;
  for (int i = from; i <= to; ++i) samples.push_back(absl::Milliseconds(i));
  return samples;
}

// --- Percentiles
// --------------------------------------------------------------

TEST(LatencyStatsTest, NearestRankOfOneToHundred) {
  const std::vector<absl::Duration> sorted = Millis(1, 100);
  EXPECT_EQ(NearestRankPercentile(sorted, 50), absl::Milliseconds(50));
  // 0.99 * 100 is 99.00000000000001 in doubles; the rank is still 99.
  EXPECT_EQ(NearestRankPercentile(sorted, 99), absl::Milliseconds(99));
  EXPECT_EQ(NearestRankPercentile(sorted, 100), absl::Milliseconds(100));
  EXPECT_EQ(NearestRankPercentile(sorted, 1), absl::Milliseconds(1));
  EXPECT_EQ(NearestRankPercentile(sorted, 0.5), absl::Milliseconds(1));
}

TEST(LatencyStatsTest, NearestRankPicksAMeasuredSampleNotAnInterpolation) {
  // Four samples: p50 is rank ceil(2) = 2, not the mean of 2 and 3.
  EXPECT_EQ(NearestRankPercentile(Millis(1, 4), 50), absl::Milliseconds(2));
  // Ten samples: p99 is rank ceil(9.9) = 10, the maximum.
  EXPECT_EQ(NearestRankPercentile(Millis(1, 10), 99), absl::Milliseconds(10));
  // p90 of ten is rank 9.
  EXPECT_EQ(NearestRankPercentile(Millis(1, 10), 90), absl::Milliseconds(9));
}

TEST(LatencyStatsTest, EdgeCases) {
  EXPECT_EQ(NearestRankPercentile({}, 50), absl::ZeroDuration());
  EXPECT_EQ(NearestRankPercentile({absl::Milliseconds(7)}, 50),
            absl::Milliseconds(7));
  EXPECT_EQ(NearestRankPercentile({absl::Milliseconds(7)}, 99),
            absl::Milliseconds(7));
  // Out-of-range percentiles clamp to the first and last sample.
  EXPECT_EQ(NearestRankPercentile(Millis(1, 3), -5), absl::Milliseconds(1));
  EXPECT_EQ(NearestRankPercentile(Millis(1, 3), 500), absl::Milliseconds(3));
}

TEST(LatencyStatsTest, SummarizeSortsFirst) {
  std::vector<absl::Duration> samples = Millis(1, 200);
  std::shuffle(samples.begin(), samples.end(), std::mt19937(42));
  const LatencySummary summary = Summarize(samples);
  EXPECT_EQ(summary.count, 200);
  EXPECT_EQ(summary.p50, absl::Milliseconds(100));
  EXPECT_EQ(summary.p99, absl::Milliseconds(198));
  EXPECT_EQ(summary.max, absl::Milliseconds(200));

  const LatencySummary empty = Summarize({});
  EXPECT_EQ(empty.count, 0);
  EXPECT_EQ(empty.max, absl::ZeroDuration());
}

TEST(LatencyStatsTest, RecorderMergesStreams) {
  LatencyRecorder recorder;
  recorder.Merge(Millis(51, 100));
  recorder.Merge({});
  recorder.Merge(Millis(1, 50));
  EXPECT_EQ(recorder.count(), 100);
  const LatencySummary summary = recorder.Summarize();
  EXPECT_EQ(summary.p50, absl::Milliseconds(50));
  EXPECT_EQ(summary.p99, absl::Milliseconds(99));
  EXPECT_EQ(summary.max, absl::Milliseconds(100));
}

// --- pgbench
// ------------------------------------------------------------------

// Verbatim from pgbench 15.18 (Debian 15.18-0+deb12u1).
constexpr char kPgbenchOk[] = R"(pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: /tmp/analysisctl-pgbench-q54AEE
scaling factor: 1
query mode: prepared
number of clients: 10
number of threads: 2
maximum number of tries: 1
number of transactions per client: 30
number of transactions actually processed: 300/300
number of failed transactions: 0 (0.000%)
latency average = 4.449 ms
initial connection time = 31.017 ms
tps = 2247.812345 (without initial connection time)
)";

// A run whose client aborted (a claim found no row with \gset).
constexpr char kPgbenchAborted[] = R"(pgbench (15.18 (Debian 15.18-0+deb12u1))
pgbench: error: client 8 script 0 command 2 query 0: expected one row, got 0
transaction type: /tmp/analysisctl-pgbench-C8m8CQ
scaling factor: 1
query mode: prepared
number of clients: 10
number of threads: 2
maximum number of tries: 1
number of transactions per client: 30
number of transactions actually processed: 274/300
number of failed transactions: 0 (0.000%)
latency average = 6.056 ms
initial connection time = 37.735 ms
tps = 1651.189278 (without initial connection time)
pgbench: error: Run was aborted; the above results are incomplete.
)";

TEST(PgbenchTest, ParsesTpsAndCounts) {
  absl::StatusOr<PgbenchOutput> parsed = ParsePgbenchOutput(kPgbenchOk);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_DOUBLE_EQ(parsed->tps, 2247.812345);
  EXPECT_EQ(parsed->processed, 300);
  EXPECT_EQ(parsed->planned, 300);
  EXPECT_EQ(parsed->failed, 0);
}

TEST(PgbenchTest, ParsesAnAbortedRunSoTheShortfallShows) {
  absl::StatusOr<PgbenchOutput> parsed = ParsePgbenchOutput(kPgbenchAborted);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_DOUBLE_EQ(parsed->tps, 1651.189278);
  EXPECT_EQ(parsed->processed, 274);
  EXPECT_EQ(parsed->planned, 300);
}

TEST(PgbenchTest, ParsesFailedTransactions) {
  const std::string output = absl::StrCat(
      "number of transactions actually processed: 90/100\n"
      "number of failed transactions: 10 (10.000%)\n"
      "tps = 12.5 (without initial connection time)\n");
  absl::StatusOr<PgbenchOutput> parsed = ParsePgbenchOutput(output);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->failed, 10);
  EXPECT_DOUBLE_EQ(parsed->tps, 12.5);
}

TEST(PgbenchTest, RejectsOutputWithoutTheFigures) {
  EXPECT_EQ(ParsePgbenchOutput("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePgbenchOutput("pgbench: error: connection to server failed\n")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // pgbench 13's second tps line alone is not what we measure.
  EXPECT_FALSE(
      ParsePgbenchOutput("number of transactions actually processed: 1/1\n"
                         "tps = 5.0 (including connections establishing)\n")
          .ok());
  EXPECT_FALSE(
      ParsePgbenchOutput("number of transactions actually processed: 1/1\n"
                         "tps = fast (without initial connection time)\n")
          .ok());
  EXPECT_FALSE(
      ParsePgbenchOutput("tps = 5.0 (without initial connection time)\n").ok());
}

TEST(PgbenchTest, ArgvRunsThePreparedScriptAgainstTheUrl) {
  PgbenchParams params;
  params.pgbench = "/usr/bin/pgbench";
  params.database_url = "postgresql://postgres@127.0.0.1:55432/db";
  params.user_id = "usr_demo_owner1";
  params.business_id = "biz_demo_cafe";
  params.session_type = "health_analysis";
  params.clients = 10;
  params.threads = 2;
  params.transactions_per_client = 30;
  params.run_tag = "abc123";
  params.script_path = "/tmp/script";
  EXPECT_THAT(
      PgbenchArgv(params),
      ElementsAre("/usr/bin/pgbench", "-n", "-M", "prepared", "-c", "10", "-j",
                  "2", "-t", "30", "-f", "/tmp/script", "-D",
                  "user_id=usr_demo_owner1", "-D", "business_id=biz_demo_cafe",
                  "-D", "session_type=health_analysis", "-D", "run_tag=abc123",
                  "postgresql://postgres@127.0.0.1:55432/db"));
}

int Count(const std::string& text, absl::string_view what) {
  return static_cast<int>(
      std::vector<absl::string_view>(absl::StrSplit(text, what)).size() - 1);
}

TEST(PgbenchTest, ScriptKeepsItsRowsAwayFromTheServer) {
  const std::string script = PgbenchScript();
  // Never claimable by the server (run_after <= now()) nor reaped by it.
  EXPECT_THAT(script, HasSubstr("'stored', 'infinity', now(), now())"));
  EXPECT_THAT(script, HasSubstr("lease_expires_at = 'infinity'"));
  // The claim takes only this run's rows, oldest first, without waiting.
  EXPECT_EQ(Count(script, "FOR UPDATE SKIP LOCKED"), kClaimAttempts);
  EXPECT_EQ(Count(script, "AND request_id LIKE 'pgbench-' || :run_tag::text"),
            kClaimAttempts);
  EXPECT_EQ(Count(script, "ORDER BY created_at LIMIT 1"), kClaimAttempts);
  // Retries only when the previous attempt came back empty.
  EXPECT_EQ(Count(script, "\\aset"), kClaimAttempts);
  EXPECT_EQ(Count(script, "\\if :claimed = 0"), kClaimAttempts - 1);
  EXPECT_EQ(Count(script, "\\endif"), kClaimAttempts - 1);
  // The INSERT resets :claimed_id, so a claim that never succeeds cannot
  // complete the previous transaction's row.
  EXPECT_THAT(script, HasSubstr("RETURNING ''::text AS claimed_id \\gset"));
  EXPECT_EQ(Count(script, "WHERE id = :claimed_id;"), 2);
  EXPECT_THAT(script, HasSubstr("progress_percentage = 50"));
  EXPECT_THAT(script, HasSubstr("status = 'completed', progress_percentage = "
                                "100"));
  EXPECT_THAT(script, HasSubstr("completed_at = now()"));
  EXPECT_THAT(script, HasSubstr("results = '{}'"));
  // Every statement is its own (autocommit) transaction.
  EXPECT_THAT(script, Not(HasSubstr("BEGIN")));
}

TEST(PgbenchTest, StoredSessionTypeNames) {
  EXPECT_EQ(StoredSessionTypeName(analysis::v1::SESSION_TYPE_HEALTH_ANALYSIS),
            "health_analysis");
  EXPECT_EQ(StoredSessionTypeName(analysis::v1::SESSION_TYPE_VALUATION),
            "valuation");
  EXPECT_EQ(StoredSessionTypeName(analysis::v1::SESSION_TYPE_FORECAST),
            "forecast");
}

TEST(PgbenchTest, CleanupDeletesOnlyThisRunsRows) {
  const std::string sql = PgbenchCleanupSql("0f3a");
  EXPECT_THAT(sql, HasSubstr("DELETE FROM ai_analysis_sessions WHERE "
                             "run_after = 'infinity' AND request_id LIKE "
                             "'pgbench-0f3a-%'"));
  absl::StatusOr<PgbenchCleanup> cleanup = ParseCleanupOutput("300|2\n");
  ASSERT_TRUE(cleanup.ok()) << cleanup.status();
  EXPECT_EQ(cleanup->deleted, 300);
  EXPECT_EQ(cleanup->not_completed, 2);
  EXPECT_FALSE(ParseCleanupOutput("DELETE 300\n").ok());
  EXPECT_FALSE(ParseCleanupOutput("").ok());
}

TEST(PgbenchTest, CommandLineHidesPasswords) {
  EXPECT_EQ(RedactPassword("postgresql://app:s3cret@db:5432/goodbuy"),
            "postgresql://app:***@db:5432/goodbuy");
  EXPECT_EQ(RedactPassword("postgresql://postgres@127.0.0.1:55432/postgres"),
            "postgresql://postgres@127.0.0.1:55432/postgres");
  EXPECT_EQ(RedactPassword("host=db password=s3cret dbname=goodbuy"),
            "host=db password=*** dbname=goodbuy");
  EXPECT_EQ(RedactPassword("postgresql://db/goodbuy?user=a&password=s3cret"),
            "postgresql://db/goodbuy?user=a&password=***");
  EXPECT_EQ(CommandLineForDisplay({"/usr/bin/pgbench", "-D", "user_id=it's me",
                                   "postgresql://a:b@h/d"}),
            // *** is a glob to a shell, hence quoted.
            "/usr/bin/pgbench -D 'user_id=it'\\''s me' "
            "'postgresql://a:***@h/d'");
}

TEST(PgbenchTest, MissingToolNamesItsPackage) {
  absl::StatusOr<std::string> missing =
      FindPostgresTool("no-such-postgres-tool");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("apt-get install postgresql-client-15"));
  // Debian bookworm: /usr/lib/postgresql/15/bin/pgbench is in the server
  // package, psql in the client package.
  EXPECT_EQ(PostgresToolPackage("pgbench"), "postgresql-15");
  EXPECT_EQ(PostgresToolPackage("psql"), "postgresql-client-15");
}

TEST(PgbenchTest, RunProcessCollectsOutputAndExitCode) {
  absl::StatusOr<ProcessOutput> ok =
      RunProcess({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->exit_code, 3);
  EXPECT_THAT(ok->output, HasSubstr("out\n"));
  EXPECT_THAT(ok->output, HasSubstr("err\n"));
  EXPECT_EQ(RunProcess({"/nonexistent/pgbench"}).status().code(),
            absl::StatusCode::kInternal);
}

// --- /proc
// --------------------------------------------------------------------

TEST(ProcStatsTest, ParsesAnIpv4ListenLine) {
  std::optional<TcpSocketEntry> entry = ParseProcNetTcpLine(
      "   1: 0100007F:D888 00000000:0000 0A 00000000:00000000 00:00000000 "
      "00000000   101        0 1954593 1 00000000ff8e3e41 100 0 0 10 0");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->local_address_hex, "0100007F");
  EXPECT_EQ(entry->local_port, 0xD888);
  EXPECT_EQ(entry->state, kTcpStateListen);
  EXPECT_EQ(entry->inode, 1954593u);
}

TEST(ProcStatsTest, ParsesAnIpv6EstablishedLine) {
  std::optional<TcpSocketEntry> entry = ParseProcNetTcpLine(
      "   3: 0000000000000000FFFF00000100007F:B637 "
      "0000000000000000FFFF00000100007F:9CA5 01 00000000:00000000 "
      "02:000A7B2C 00000000     0        0 1986799 2 0000000037a1bffc 20 4 "
      "30 10 -1");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->local_address_hex, "0000000000000000FFFF00000100007F");
  EXPECT_EQ(entry->local_port, 0xB637);
  EXPECT_EQ(entry->state, 1);  // ESTABLISHED
  EXPECT_EQ(entry->inode, 1986799u);
}

TEST(ProcStatsTest, RejectsHeaderAndGarbage) {
  EXPECT_FALSE(ParseProcNetTcpLine("  sl  local_address rem_address   st "
                                   "tx_queue rx_queue tr tm->when retrnsmt   "
                                   "uid  timeout inode")
                   .has_value());
  EXPECT_FALSE(ParseProcNetTcpLine("").has_value());
  EXPECT_FALSE(
      ParseProcNetTcpLine("   0: 0100007F 00000000:0000 0A").has_value());
  EXPECT_FALSE(ParseProcNetTcpLine(
                   "   0: 0100007F:ZZZZ 00000000:0000 0A 00000000:00000000 "
                   "00:00000000 00000000 0 0 1453 1")
                   .has_value());
}

TEST(ProcStatsTest, FindsTheListenSocketOfAPortNotItsConnections) {
  // Port 0x9CA5 = 40101: an accepted connection (state 01) listed first,
  // then the listener; port 2024 (0x07E8) listens too.
  const std::string table =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
      "retrnsmt   uid  timeout inode\n"
      "   0: 0100007F:9CA5 0100007F:C001 01 00000000:00000000 00:00000000 "
      "00000000     0        0 5555 1 0 20 4 30 10 -1\n"
      "   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 "
      "00000000     0        0 1453 1 0 100 0 0 10 0\n"
      "   2: 0100007F:9CA5 00000000:0000 0A 00000000:00000000 00:00000000 "
      "00000000     0        0 7777 1 0 100 0 0 10 0\n";
  EXPECT_EQ(FindListenInode(table, 40101), 7777u);
  EXPECT_EQ(FindListenInode(table, 2024), 1453u);
  EXPECT_EQ(FindListenInode(table, 50051), std::nullopt);
}

TEST(ProcStatsTest, TargetPorts) {
  EXPECT_EQ(TargetPort("127.0.0.1:50051").value(), 50051);
  EXPECT_EQ(TargetPort("dns:///analysis.internal:8443").value(), 8443);
  EXPECT_EQ(TargetPort("ipv4:127.0.0.1:4000").value(), 4000);
  EXPECT_EQ(TargetPort("[::1]:9000").value(), 9000);
  EXPECT_FALSE(TargetPort("localhost").ok());
  EXPECT_FALSE(TargetPort("[::1]").ok());
  EXPECT_FALSE(TargetPort("unix:/run/analysis.sock").ok());
  EXPECT_FALSE(TargetPort("host:0").ok());
  EXPECT_FALSE(TargetPort("host:70000").ok());
}

TEST(ProcStatsTest, ParsesStatusKilobytes) {
  const std::string status =
      "Name:\tanalysis-server\nVmPeak:\t  912345 kB\nVmHWM:\t  135000 kB\n"
      "VmRSS:\t  132916 kB\nThreads:\t12\n";
  EXPECT_EQ(ParseStatusKb(status, "VmRSS"), 132916);
  EXPECT_EQ(ParseStatusKb(status, "VmHWM"), 135000);
  EXPECT_EQ(ParseStatusKb(status, "VmSwap"), std::nullopt);
  // "Threads" has no kB unit; "Vm" alone is not a key of the file.
  EXPECT_EQ(ParseStatusKb(status, "Threads"), std::nullopt);
  EXPECT_EQ(ParseStatusKb(status, "Vm"), std::nullopt);
}

TEST(ProcStatsTest, FindsThisProcessByItsListeningPort) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
            0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int port = ntohs(address.sin_port);

  absl::StatusOr<int> pid = FindListeningPid(port);
  close(fd);
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_EQ(*pid, getpid());
  // Closed now: nothing listens there any more.
  EXPECT_EQ(FindListeningPid(port).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ProcStatsTest, SamplesOwnRss) {
  absl::StatusOr<ProcMemory> memory = ReadProcMemory(getpid());
  ASSERT_TRUE(memory.ok()) << memory.status();
  EXPECT_GT(memory->rss_kb, 0);
  EXPECT_GE(memory->hwm_kb, memory->rss_kb);
  EXPECT_TRUE(ProcessExists(getpid()));
  EXPECT_FALSE(ProcessExists(0));

  RssSampler sampler(getpid(), absl::Milliseconds(10));
  absl::SleepFor(absl::Milliseconds(60));
  const RssSampler::Result result = sampler.Stop();
  // One at construction, several in between, one at Stop().
  EXPECT_GE(result.samples, 3);
  EXPECT_GT(result.peak_rss_kb, 0);
  EXPECT_GE(result.last_hwm_kb, result.peak_rss_kb);
  EXPECT_EQ(sampler.Stop().samples, result.samples);  // idempotent
}

// --- Stream checks
// ------------------------------------------------------------

StreamRecord Stream(std::vector<int64_t> sequences,
                    analysis::v1::SessionStatus terminal =
                        analysis::v1::SESSION_STATUS_COMPLETED) {
  StreamRecord stream;
  stream.sequences = std::move(sequences);
  stream.terminal = terminal != analysis::v1::SESSION_STATUS_UNSPECIFIED;
  stream.terminal_status = terminal;
  return stream;
}

TEST(StreamCheckTest, EverySequenceThenTerminalIsComplete) {
  const StreamVerdict verdict =
      CheckStream(Stream({1, 2, 3, 4}), nullptr, std::nullopt);
  EXPECT_EQ(verdict.problem, "");
  EXPECT_FALSE(verdict.gaps);
  const std::vector<int64_t> reference = {1, 2, 3, 4};
  EXPECT_EQ(CheckStream(Stream({1, 2, 3, 4}), &reference, std::nullopt).problem,
            "");
}

TEST(StreamCheckTest, GapsAreNotedButAllowedWhenAllWatchersAgree) {
  // A retried attempt's numbers are skipped for every watcher alike.
  const std::vector<int64_t> reference = {1, 2, 5, 6};
  const StreamVerdict verdict =
      CheckStream(Stream({1, 2, 5, 6}), &reference, std::nullopt);
  EXPECT_EQ(verdict.problem, "");
  EXPECT_TRUE(verdict.gaps);
  EXPECT_TRUE(CheckStream(Stream({2, 3}), nullptr, std::nullopt).gaps);
}

TEST(StreamCheckTest, AWatcherThatMissedEventsDiffers) {
  const std::vector<int64_t> reference = {1, 2, 3, 4};
  const StreamVerdict verdict =
      CheckStream(Stream({1, 2, 4}), &reference, std::nullopt);
  EXPECT_EQ(verdict.problem, "sequences differ from watcher 0 (3 vs 4 events)");
  EXPECT_TRUE(verdict.gaps);
}

TEST(StreamCheckTest, RepeatsAndReordersAreProblems) {
  EXPECT_EQ(CheckStream(Stream({1, 2, 2, 3}), nullptr, std::nullopt).problem,
            "sequence 2 after 2");
  EXPECT_EQ(CheckStream(Stream({1, 3, 2}), nullptr, std::nullopt).problem,
            "sequence 2 after 3");
}

TEST(StreamCheckTest, EndsAndStatuses) {
  EXPECT_EQ(
      CheckStream(Stream({1, 2, 3}, analysis::v1::SESSION_STATUS_UNSPECIFIED),
                  nullptr, std::nullopt)
          .problem,
      "no terminal event (last sequence 3)");
  EXPECT_EQ(CheckStream(Stream({}, analysis::v1::SESSION_STATUS_UNSPECIFIED),
                        nullptr, std::nullopt)
                .problem,
            "no event");

  StreamRecord broken =
      Stream({1, 2}, analysis::v1::SESSION_STATUS_UNSPECIFIED);
  broken.status = absl::UnavailableError("server going away");
  EXPECT_EQ(CheckStream(broken, nullptr, std::nullopt).problem,
            "stream ended with UNAVAILABLE: server going away after 2 events");
  broken.status = absl::CancelledError("CANCELLED");
  EXPECT_EQ(CheckStream(broken, nullptr, std::nullopt).problem,
            "stream ended with CANCELLED after 2 events");

  StreamRecord late = Stream({1, 2, 3});
  late.events_after_terminal = true;
  EXPECT_EQ(CheckStream(late, nullptr, std::nullopt).problem,
            "events after the terminal event");

  EXPECT_EQ(CheckStream(Stream({1, 2}), nullptr,
                        analysis::v1::SESSION_STATUS_CANCELLED)
                .problem,
            "ended completed, not cancelled");
  EXPECT_EQ(CheckStream(Stream({1, 2}, analysis::v1::SESSION_STATUS_CANCELLED),
                        nullptr, analysis::v1::SESSION_STATUS_CANCELLED)
                .problem,
            "");
}

// --- --sweep, channels, CSV ------------------------------------------------

TEST(BenchTest, ParsesSweepLists) {
  EXPECT_THAT(ParseSweepList("10,100,500,1000").value(),
              ElementsAre(10, 100, 500, 1000));
  EXPECT_THAT(ParseSweepList(" 10 , 20 ").value(), ElementsAre(10, 20));
  EXPECT_THAT(ParseSweepList("7").value(), ElementsAre(7));
  for (const char* bad : {"", " ", "10,,20", "10,", ",10", "0", "-5", "abc",
                          "1.5", "10;20", "2000000"}) {
    EXPECT_EQ(ParseSweepList(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(BenchTest, SweepConcurrencyAndChannels) {
  EXPECT_EQ(SweepConcurrency(1000, 10), 100);
  EXPECT_EQ(SweepConcurrency(10, 1), 10);
  EXPECT_EQ(SweepConcurrency(5, 10), 1);
  EXPECT_EQ(DefaultChannels(0), 1);
  EXPECT_EQ(DefaultChannels(1000), 1);
  EXPECT_EQ(DefaultChannels(1001), 2);
  EXPECT_EQ(DefaultChannels(10000), 10);
}

TEST(BenchTest, CsvRow) {
  LifecycleReport report;
  report.concurrency = 50;
  report.watchers = 2;
  report.sessions_planned = 500;
  report.sessions_per_s = 55.4321;
  report.latency.count = 9876;
  report.latency.p50 = absl::Microseconds(1453);
  report.latency.p99 = absl::Microseconds(17386);
  report.latency.max = absl::Microseconds(70927);
  report.memory.known = true;
  report.memory.peak_rss_kb = 367718;  // 359.1 MiB
  EXPECT_EQ(SweepCsvHeader(),
            "streams,sessions,sessions_per_s,p50_ms,p99_ms,max_ms,events,"
            "peak_rss_mb");
  EXPECT_EQ(SweepCsvRow(report),
            "100,500,55.432,1.453,17.386,70.927,9876,359.1");
  report.memory.known = false;
  EXPECT_EQ(SweepCsvRow(report), "100,500,55.432,1.453,17.386,70.927,9876,");
}

TEST(BenchTest, ReportsUnknownRssAndIncompleteStreams) {
  LifecycleReport report;
  report.sessions_planned = 2;
  report.concurrency = 1;
  report.watchers = 2;
  report.streams.total = 4;
  report.streams.complete = 3;
  report.streams.with_gaps = 1;
  report.streams.problems = {
      "session s1 watcher 1: sequences differ from watcher 0 (3 vs 4 events)"};
  report.memory.unknown_reason = "no listening TCP socket on port 1";
  const std::string text = RenderLifecycleReport(report);
  EXPECT_THAT(text, HasSubstr("complete streams: 3/4"));
  EXPECT_THAT(text, HasSubstr("watcher 1: sequences differ from watcher 0"));
  EXPECT_THAT(text, HasSubstr("1 streams skipped sequence numbers"));
  EXPECT_THAT(text, HasSubstr("server RSS:  unknown (pass --server_pid)"));
  EXPECT_THAT(LifecycleJson(report),
              HasSubstr("\"stream_check\":{\"total\":4,\"complete\":3,"
                        "\"with_gaps\":1,"));
  EXPECT_EQ(JsonQuote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
}

}  // namespace
}  // namespace goodbuy::client::cli
