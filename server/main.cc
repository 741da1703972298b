// analysis-server: wiring only. Flags and environment become options; the
// pools, stores, services and the gRPC server are built here and torn down
// in order on SIGINT/SIGTERM.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.pb.h"
#include "server/auth/jwt_verifier.h"
#include "server/auth/token_signer.h"
#include "server/core/executor.h"
#include "server/core/rate_limiter.h"
#include "server/core/session_service.h"
#include "server/logging/json_formatter.h"
#include "server/metrics/http_exporter.h"
#include "server/metrics/metrics.h"
#include "server/migrate_command.h"
#include "server/rpc/analysis_service.h"
#include "server/rpc/authenticator.h"
#include "server/rpc/metrics_interceptor.h"
#include "server/rpc/transport_settings.h"
#include "server/store/pg/migrate/migrator.h"
#include "server/store/pg/pg_business_store.h"
#include "server/store/pg/pg_event_listener.h"
#include "server/store/pg/pg_pool.h"
#include "server/store/pg/pg_session_store.h"
#include "spdlog/spdlog.h"

namespace {

std::string EnvOr(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

int EnvIntOr(const char* name, int fallback) {
  int value = 0;
  return absl::SimpleAtoi(EnvOr(name, ""), &value) ? value : fallback;
}

int DefaultWorkers() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 2 : static_cast<int>(cores);
}

std::string DefaultReplicaId() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(host, "-", getpid());
}

}  // namespace

ABSL_FLAG(std::string, listen, EnvOr("ANALYSIS_LISTEN", "127.0.0.1:50051"),
          "address to serve gRPC on; port 0 picks a free port "
          "(env ANALYSIS_LISTEN)");
ABSL_FLAG(std::string, metrics_listen, EnvOr("ANALYSIS_METRICS_LISTEN", ""),
          "serve Prometheus metrics (GET /metrics) on this host:port, apart "
          "from the gRPC port and without authentication; empty: off; port 0 "
          "picks one (env ANALYSIS_METRICS_LISTEN; docs/operations.md)");
ABSL_FLAG(std::string, database_url, EnvOr("DATABASE_URL", ""),
          "PostgreSQL connection URL (env DATABASE_URL)");
ABSL_FLAG(int, workers, EnvIntOr("ANALYSIS_WORKERS", DefaultWorkers()),
          "analysis jobs that run at once; 0 makes an API-only replica that "
          "creates, serves and streams sessions but never runs them "
          "(env ANALYSIS_WORKERS; default: cores)");
ABSL_FLAG(int, db_threads, EnvIntOr("ANALYSIS_DB_THREADS", 4),
          "database executor threads, one connection each "
          "(env ANALYSIS_DB_THREADS)");
ABSL_FLAG(std::string, sql_dir, EnvOr("ANALYSIS_SQL_DIR", GOODBUY_SQL_DIR),
          "folder of migration files (env ANALYSIS_SQL_DIR)");
ABSL_FLAG(std::string, replica_id,
          EnvOr("ANALYSIS_REPLICA_ID", DefaultReplicaId()),
          "name of this replica in session leases (env ANALYSIS_REPLICA_ID)");
ABSL_FLAG(int, min_stage_ms, EnvIntOr("ANALYSIS_MIN_STAGE_MS", 0),
          "hold each analysis stage at least this long, so demos can be "
          "watched; 0 in production (env ANALYSIS_MIN_STAGE_MS)");
ABSL_FLAG(int, lease_ms, EnvIntOr("ANALYSIS_LEASE_MS", 30000),
          "how long a running session's lease lasts without a heartbeat; "
          "heartbeats come every third of it, and a replica reaps expired "
          "leases every half (env ANALYSIS_LEASE_MS)");
ABSL_FLAG(int, max_running_per_user,
          EnvIntOr("ANALYSIS_MAX_RUNNING_PER_USER", 4),
          "running sessions one user may have at once across all replicas "
          "(env ANALYSIS_MAX_RUNNING_PER_USER)");
ABSL_FLAG(int, max_attempts, EnvIntOr("ANALYSIS_MAX_ATTEMPTS", 3),
          "attempts a session gets after expired leases or retryable "
          "failures before it fails (env ANALYSIS_MAX_ATTEMPTS)");
ABSL_FLAG(int, max_run_s, EnvIntOr("ANALYSIS_MAX_RUN_S", 0),
          "longest an analysis may run before it fails with "
          "DEADLINE_EXCEEDED; 0: per type, health and valuation 120 s, "
          "forecast 300 s (env ANALYSIS_MAX_RUN_S)");
ABSL_FLAG(int, shutdown_grace_s, EnvIntOr("ANALYSIS_SHUTDOWN_GRACE_S", 10),
          "seconds running jobs get to finish on SIGTERM before their "
          "sessions go back to the queue (env ANALYSIS_SHUTDOWN_GRACE_S)");
ABSL_FLAG(int, event_retention_days,
          EnvIntOr("ANALYSIS_EVENT_RETENTION_DAYS", 30),
          "delete the events of sessions that ended longer ago, keeping each "
          "one's terminal event; 0 keeps them forever "
          "(env ANALYSIS_EVENT_RETENTION_DAYS)");
ABSL_FLAG(int, heartbeat_s, EnvIntOr("ANALYSIS_HEARTBEAT_S", 15),
          "a watch stream with nothing to send for this long gets a "
          "heartbeat event, so proxies keep it (env ANALYSIS_HEARTBEAT_S)");
ABSL_FLAG(int, max_streams, EnvIntOr("ANALYSIS_MAX_STREAMS", 20000),
          "open WatchSession/RunSession streams at most; more are refused "
          "with RESOURCE_EXHAUSTED (env ANALYSIS_MAX_STREAMS)");
ABSL_FLAG(int, watch_max_lag, EnvIntOr("ANALYSIS_WATCH_MAX_LAG", 256),
          "a watcher this many results (partial or final) behind its "
          "session is ended with RESOURCE_EXHAUSTED and resumes with "
          "after_sequence; progress is coalesced before that "
          "(env ANALYSIS_WATCH_MAX_LAG)");
ABSL_FLAG(int, keepalive_s, EnvIntOr("ANALYSIS_KEEPALIVE_S", 60),
          "ping connections idle this long and drop those that do not answer "
          "in 20 s; clients may ping every 20 s (env ANALYSIS_KEEPALIVE_S)");
ABSL_FLAG(int, max_message_kb, EnvIntOr("ANALYSIS_MAX_MESSAGE_KB", 4096),
          "largest request accepted and message sent, in KiB "
          "(env ANALYSIS_MAX_MESSAGE_KB)");
ABSL_FLAG(int, grpc_memory_mb, EnvIntOr("ANALYSIS_GRPC_MEMORY_MB", 1024),
          "memory gRPC may use for connection buffers (ResourceQuota); 0: no "
          "cap (env ANALYSIS_GRPC_MEMORY_MB)");
ABSL_FLAG(std::string, jwt_hs256_secret_file,
          EnvOr("ANALYSIS_JWT_HS256_SECRET_FILE", ""),
          "file holding the HS256 secret (>= 32 bytes) bearer tokens may be "
          "signed with; for development (env ANALYSIS_JWT_HS256_SECRET_FILE)");
ABSL_FLAG(std::string, jwks_file, EnvOr("ANALYSIS_JWKS_FILE", ""),
          "JSON Web Key Set with the RS256/ES256 public keys bearer tokens "
          "are signed with; re-read on change and on SIGHUP "
          "(env ANALYSIS_JWKS_FILE)");
ABSL_FLAG(std::string, jwt_issuer, EnvOr("ANALYSIS_JWT_ISSUER", "goodbuy-hq"),
          "the `iss` every token must carry (env ANALYSIS_JWT_ISSUER)");
ABSL_FLAG(std::string, jwt_audience,
          EnvOr("ANALYSIS_JWT_AUDIENCE", "goodbuy-analysis"),
          "the `aud` every token must carry or include "
          "(env ANALYSIS_JWT_AUDIENCE)");
ABSL_FLAG(int, jwt_leeway_s, EnvIntOr("ANALYSIS_JWT_LEEWAY_S", 30),
          "clock skew allowed on exp and nbf, seconds "
          "(env ANALYSIS_JWT_LEEWAY_S)");
ABSL_FLAG(std::string, tls_cert, EnvOr("ANALYSIS_TLS_CERT", ""),
          "PEM certificate chain to serve TLS with (with --tls_key); "
          "plain-text without (env ANALYSIS_TLS_CERT)");
ABSL_FLAG(std::string, tls_key, EnvOr("ANALYSIS_TLS_KEY", ""),
          "PEM private key of --tls_cert (env ANALYSIS_TLS_KEY)");
ABSL_FLAG(std::string, tls_client_ca, EnvOr("ANALYSIS_TLS_CLIENT_CA", ""),
          "PEM CA certificates that sign client certificates (mTLS); a "
          "client with a verified certificate acts as a `service` named by "
          "it (env ANALYSIS_TLS_CLIENT_CA)");
ABSL_FLAG(bool, tls_require_client_cert, false,
          "refuse TLS connections without a client certificate signed by "
          "--tls_client_ca (default: optional, tokens work too)");
ABSL_FLAG(bool, reflection, true,
          "serve gRPC server reflection (for grpcurl / buf curl)");
ABSL_FLAG(std::string, db_role, EnvOr("ANALYSIS_DB_ROLE", "goodbuy_server"),
          "PostgreSQL role every connection switches to (SET ROLE); it must "
          "not bypass row-level security. Empty: stay the login user, and "
          "row-level security does not apply to a table owner "
          "(env ANALYSIS_DB_ROLE)");
ABSL_FLAG(double, rate_limit_rps,
          static_cast<double>(EnvIntOr("ANALYSIS_RATE_LIMIT_RPS", 50)),
          "requests per second one caller may make to this replica; 0: no "
          "limit (env ANALYSIS_RATE_LIMIT_RPS)");
ABSL_FLAG(double, rate_limit_burst,
          static_cast<double>(EnvIntOr("ANALYSIS_RATE_LIMIT_BURST", 100)),
          "requests one caller may burst above the rate "
          "(env ANALYSIS_RATE_LIMIT_BURST)");
ABSL_FLAG(int, max_streams_per_user,
          EnvIntOr("ANALYSIS_MAX_STREAMS_PER_USER", 100),
          "open watch streams one user may have on this replica "
          "(env ANALYSIS_MAX_STREAMS_PER_USER)");
ABSL_FLAG(std::string, sub, "",
          "token: the subject (users.id or a service name)");
ABSL_FLAG(std::string, role, "user", "token: user, service or admin");
ABSL_FLAG(int, ttl_s, 3600, "token: lifetime in seconds");
ABSL_FLAG(std::string, signing_key, "",
          "token: PEM private key to sign RS256/ES256 tokens with "
          "(default: HS256 with --jwt_hs256_secret_file)");
ABSL_FLAG(std::string, kid, "", "token: the key id header, with --signing_key");
ABSL_FLAG(std::string, port_file, "",
          "write the bound port to this file once serving (for tests)");
ABSL_FLAG(std::string, log_format, EnvOr("ANALYSIS_LOG_FORMAT", "text"),
          "text: one readable line per event; json: one JSON object per line "
          "(time, level, msg, replica, and session_id, attempt, trace_id "
          "where known) for log shippers (env ANALYSIS_LOG_FORMAT)");
ABSL_FLAG(std::string, log_level, EnvOr("ANALYSIS_LOG_LEVEL", "info"),
          "trace, debug, info, warn, error (env ANALYSIS_LOG_LEVEL)");

namespace {

constexpr char kUsage[] =
    R"(GoodBuy HQ analysis session orchestrator.

Usage:
  analysis-server serve [--listen=127.0.0.1:50051] [--database_url=URL] [flags]
  analysis-server migrate status              what is applied, what is pending
  analysis-server migrate plan [--to=PHASE]   dry run: steps, and the locks each takes
  analysis-server migrate up [--to=PHASE]     apply pending migrations (automatic
                                              rollback on a failed step, a failed
                                              validation rule or slower key queries)
  analysis-server migrate down [--to=PHASE]   roll back to PHASE (default: baseline)
  analysis-server migrate validate            run the validation rules (each must be 0)
  analysis-server migrate rollback --level=N  the seed's rollback levels: 1 schema,
                                              2 data, 3 features
  analysis-server migrate log [--limit=20]    the migration log, newest first
  analysis-server token --sub=USER_ID [--role=user|service|admin] [--ttl_s=3600]
                                              print a signed bearer token (HS256 with
                                              --jwt_hs256_secret_file, or RS256/ES256
                                              with --signing_key=PEM [--kid=ID])

PHASE: baseline, phase_1 ... phase_5, orchestrator, durability, tenancy (or a
version, e.g. 004).
Serves goodbuy.analysis.v1.AnalysisService, grpc.health.v1.Health and server
reflection. Every AnalysisService call needs a caller: a bearer JWT (verified
with --jwks_file and/or --jwt_hs256_secret_file) or a client certificate
(--tls_client_ca). Security guide: docs/security.md. DATABASE_URL (or --database_url) names the PostgreSQL database,
e.g. postgresql://postgres@127.0.0.1:5432/goodbuy. Runbook: docs/migrations.md.
Try --helpfull for flags.)";

int Fail(const std::string& message) {
  std::cerr << "analysis-server: " << message << "\n";
  return 1;
}

// Serving needs every migration applied, and none edited since.
// The number of migrations applied, all of them; or why the server must not
// start on this database.
absl::StatusOr<int> CheckMigrated(const std::string& url) {
  namespace mg = goodbuy::store::pg::migrate;
  auto catalog = mg::Catalog::Load(absl::GetFlag(FLAGS_sql_dir));
  if (!catalog.ok()) return catalog.status();
  mg::Migrator migrator(url, std::move(*catalog), {},
                        [](const std::string&) {});
  auto states = migrator.Status();
  if (!states.ok()) return states.status();
  for (const auto& s : *states) {
    if (!s.applied || s.edited) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database is not migrated (", s.migration->label(),
          s.applied ? " was edited since it was applied" : " is pending",
          "); run `analysis-server migrate up`"));
    }
  }
  return static_cast<int>(states->size());
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The bearer-token verifier the flags ask for; null when none is set.
absl::StatusOr<std::unique_ptr<goodbuy::auth::JwtVerifier>> BuildVerifier() {
  goodbuy::auth::JwtOptions jwt;
  jwt.hs256_secret_file = absl::GetFlag(FLAGS_jwt_hs256_secret_file);
  jwt.jwks_file = absl::GetFlag(FLAGS_jwks_file);
  jwt.issuer = absl::GetFlag(FLAGS_jwt_issuer);
  jwt.audience = absl::GetFlag(FLAGS_jwt_audience);
  jwt.leeway = absl::Seconds(std::max(0, absl::GetFlag(FLAGS_jwt_leeway_s)));
  if (jwt.hs256_secret_file.empty() && jwt.jwks_file.empty()) {
    return std::unique_ptr<goodbuy::auth::JwtVerifier>();
  }
  return goodbuy::auth::JwtVerifier::Create(std::move(jwt));
}

// TLS (and mTLS) from the flags, else plain-text.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ListenCredentials() {
  const std::string cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_tls_key);
  const std::string client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  if (cert.empty() && key.empty()) {
    if (!client_ca.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca needs --tls_cert and --tls_key");
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions options(
      client_ca.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : (absl::GetFlag(FLAGS_tls_require_client_cert)
                 ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                 : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY));
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair{ReadFileOrEmpty(key),
                                                         ReadFileOrEmpty(cert)};
  if (pair.private_key.empty() || pair.cert_chain.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key must both name readable PEM files");
  }
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!client_ca.empty()) {
    options.pem_root_certs = ReadFileOrEmpty(client_ca);
    if (options.pem_root_certs.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca must name a readable PEM file");
    }
  }
  return grpc::SslServerCredentials(options);
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "[::1]" || host == "::1" ||
         absl::StartsWith(host, "127.");
}

// analysis-server token: prints a signed bearer token.
int Token() {
  goodbuy::auth::TokenClaims claims;
  claims.subject = absl::GetFlag(FLAGS_sub);
  claims.role = absl::GetFlag(FLAGS_role);
  claims.issuer = absl::GetFlag(FLAGS_jwt_issuer);
  claims.audience = absl::GetFlag(FLAGS_jwt_audience);
  claims.lifetime = absl::Seconds(absl::GetFlag(FLAGS_ttl_s));
  claims.kid = absl::GetFlag(FLAGS_kid);
  if (claims.subject.empty()) return Fail("token: --sub is required");
  if (!goodbuy::ParseCallerRole(claims.role).has_value()) {
    return Fail("token: --role must be user, service or admin");
  }
  std::string alg = "HS256";
  std::string key;
  if (const std::string pem = absl::GetFlag(FLAGS_signing_key); !pem.empty()) {
    key = ReadFileOrEmpty(pem);
    auto signing = goodbuy::auth::SigningAlgorithm(key);
    if (!signing.ok()) {
      return Fail(
          absl::StrCat("token: ", pem, ": ", signing.status().message()));
    }
    alg = *signing;
  } else if (const std::string secret =
                 absl::GetFlag(FLAGS_jwt_hs256_secret_file);
             !secret.empty()) {
    key = ReadFileOrEmpty(secret);
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) {
      key.pop_back();
    }
  } else {
    return Fail("token: set --jwt_hs256_secret_file or --signing_key");
  }
  if (key.empty()) return Fail("token: cannot read the key file");
  auto token = goodbuy::auth::SignToken(claims, alg, key);
  if (!token.ok()) return Fail(std::string(token.status().message()));
  std::cout << *token << "\n";
  return 0;
}

int Serve() {
  const std::string url = absl::GetFlag(FLAGS_database_url);
  if (url.empty()) {
    return Fail("no database: set DATABASE_URL or --database_url");
  }
  const int workers = absl::GetFlag(FLAGS_workers);
  const int db_threads = absl::GetFlag(FLAGS_db_threads);
  if (workers < 0 || db_threads < 1) {
    return Fail("--workers must be at least 0 and --db_threads at least 1");
  }
  if (absl::GetFlag(FLAGS_heartbeat_s) < 1 ||
      absl::GetFlag(FLAGS_max_streams) < 1 ||
      absl::GetFlag(FLAGS_watch_max_lag) < 1 ||
      absl::GetFlag(FLAGS_keepalive_s) < 1 ||
      absl::GetFlag(FLAGS_max_message_kb) < 64 ||
      absl::GetFlag(FLAGS_grpc_memory_mb) < 0) {
    return Fail(
        "--heartbeat_s, --max_streams, --watch_max_lag and --keepalive_s "
        "must be at least 1, --max_message_kb at least 64 and "
        "--grpc_memory_mb at least 0");
  }
  if (absl::GetFlag(FLAGS_lease_ms) < 300 ||
      absl::GetFlag(FLAGS_max_running_per_user) < 1 ||
      absl::GetFlag(FLAGS_max_attempts) < 1) {
    return Fail(
        "--lease_ms must be at least 300, --max_running_per_user and "
        "--max_attempts at least 1");
  }

  auto verifier = BuildVerifier();
  if (!verifier.ok()) return Fail(std::string(verifier.status().message()));
  auto credentials = ListenCredentials();
  if (!credentials.ok()) {
    return Fail(std::string(credentials.status().message()));
  }
  if (*verifier == nullptr && absl::GetFlag(FLAGS_tls_client_ca).empty()) {
    return Fail(
        "no way to authenticate callers: set --jwks_file and/or "
        "--jwt_hs256_secret_file (bearer tokens), or --tls_client_ca "
        "(client certificates); see docs/security.md");
  }

  // Signals are taken by sigwait() below; block them before any thread
  // starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  {
    // The login user first: a database reached but not migrated (no role
    // yet) gets the migrate hint, not a role error.
    goodbuy::store::pg::PgPoolOptions login;
    login.url = url;
    login.size = 1;
    goodbuy::store::pg::PgPool check(login);
    if (auto status = check.CheckConnection(); !status.ok()) {
      return Fail(absl::StrCat("cannot reach the database at ",
                               goodbuy::server::DescribeUrl(url), ": ",
                               status.message()));
    }
    auto migrated = CheckMigrated(url);
    if (!migrated.ok()) return Fail(std::string(migrated.status().message()));
    goodbuy::metrics::Default()
        .AddGauge("goodbuy_schema_migrations_applied",
                  "Migrations applied to the database when this replica "
                  "started (it does not start with one pending or edited).")
        .With({})
        .Set(*migrated);
  }
  // DB executor threads and job threads (which write their own progress)
  // each hold at most one connection, so neither waits for one.
  goodbuy::store::pg::PgPoolOptions pool_options;
  pool_options.url = url;
  pool_options.size = db_threads + workers;
  pool_options.role = absl::GetFlag(FLAGS_db_role);
  goodbuy::store::pg::PgPool pool(pool_options);
  goodbuy::store::pg::PgSessionStore sessions(&pool);
  goodbuy::store::pg::PgBusinessStore businesses(&pool);
  if (auto status = pool.CheckConnection(); !status.ok()) {
    return Fail(absl::StrCat(
        "cannot use the database role '", pool_options.role, "' at ",
        goodbuy::server::DescribeUrl(url), ": ", status.message(),
        " (grant the role to the login user, or set "
        "--db_role; see docs/security.md)"));
  }
  // Each DB thread and each job thread may hold a connection: say so now
  // if PostgreSQL cannot give them all, instead of failing calls later.
  if (auto budget = pool.ReadConnectionBudget();
      budget.ok() && pool_options.size > budget->available()) {
    spdlog::warn(
        "--db_threads={} and --workers={} may open {} connections, but "
        "PostgreSQL accepts only {} more (max_connections={}, {} reserved, "
        "{} in use): calls and jobs will fail with UNAVAILABLE when it runs "
        "out; lower --workers or raise max_connections",
        db_threads, workers, pool_options.size, budget->available(),
        budget->max_connections, budget->reserved, budget->in_use);
  }
  if (pool_options.role.empty()) {
    spdlog::warn(
        "--db_role is empty: row-level security does not apply if the login "
        "user owns the tables or bypasses it");
  }

  goodbuy::core::ThreadPool db_pool("db", db_threads, 10000);

  goodbuy::core::ServiceOptions options;
  options.replica_id = absl::GetFlag(FLAGS_replica_id);
  options.job_threads = workers;
  options.job.min_stage = absl::Milliseconds(absl::GetFlag(FLAGS_min_stage_ms));
  options.job.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  if (const int max_run_s = absl::GetFlag(FLAGS_max_run_s); max_run_s > 0) {
    options.job.max_run_health = options.job.max_run_valuation =
        options.job.max_run_forecast = absl::Seconds(max_run_s);
  }
  options.lease = absl::Milliseconds(absl::GetFlag(FLAGS_lease_ms));
  options.heartbeat_interval = options.lease / 3;
  options.reap_interval = options.lease / 2;
  options.max_running_per_user = absl::GetFlag(FLAGS_max_running_per_user);
  options.broker.max_lag_partials = absl::GetFlag(FLAGS_watch_max_lag);
  options.event_retention =
      absl::Hours(24) * std::max(0, absl::GetFlag(FLAGS_event_retention_days));
  goodbuy::core::SessionService service(options, &sessions, &businesses,
                                        &db_pool);
  // Watchers of sessions running on other replicas wake on NOTIFY.
  goodbuy::store::pg::PgEventListener listener(url);
  service.UseNotifications(&listener);
  goodbuy::rpc::StreamOptions streams;
  streams.max_streams = static_cast<size_t>(absl::GetFlag(FLAGS_max_streams));
  streams.heartbeat_interval = absl::Seconds(absl::GetFlag(FLAGS_heartbeat_s));
  streams.max_streams_per_user = static_cast<size_t>(
      std::max(1, absl::GetFlag(FLAGS_max_streams_per_user)));
  goodbuy::core::RateLimiter limiter({absl::GetFlag(FLAGS_rate_limit_rps),
                                      absl::GetFlag(FLAGS_rate_limit_burst)});
  goodbuy::rpc::Authenticator authenticator(verifier->get(), &limiter);
  goodbuy::rpc::AnalysisServiceImpl api(&service, &authenticator, streams);

  grpc::EnableDefaultHealthCheckService(true);
  // gRPC's built-in health service registers no descriptor; linking our
  // wire-compatible copy lets reflection describe it to buf curl / grpcurl.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  if (absl::GetFlag(FLAGS_reflection)) {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  }
  grpc::ServerBuilder builder;
  goodbuy::rpc::TransportOptions transport;
  transport.keepalive_time = absl::Seconds(absl::GetFlag(FLAGS_keepalive_s));
  transport.max_message_bytes = absl::GetFlag(FLAGS_max_message_kb) * 1024;
  transport.memory_quota_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_grpc_memory_mb)) << 20;
  goodbuy::rpc::ApplyTransportOptions(transport, &builder);
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), *credentials, &port);
  builder.RegisterService(&api);
  {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(
        std::make_unique<goodbuy::rpc::MetricsInterceptorFactory>());
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    return Fail(absl::StrCat("cannot listen on ", absl::GetFlag(FLAGS_listen)));
  }
  service.Start();
  auto* health = server->GetHealthCheckService();
  health->SetServingStatus(true);

  goodbuy::metrics::Registry& registry = goodbuy::metrics::Default();
  registry.AddCallbackGauge("goodbuy_jobs_running",
                            "Analysis jobs running on this replica.",
                            [&service] { return service.RunningJobs(); });
  registry.AddCallbackGauge("goodbuy_job_slots",
                            "Jobs this replica runs at once (--workers).",
                            [workers] { return workers; });
  registry.AddCallbackGauge(
      "goodbuy_streams_open",
      "WatchSession and RunSession streams open on this replica.",
      [&api] { return static_cast<double>(api.OpenStreams()); });
  std::unique_ptr<goodbuy::metrics::HttpExporter> exporter;
  if (const std::string address = absl::GetFlag(FLAGS_metrics_listen);
      !address.empty()) {
    auto started = goodbuy::metrics::HttpExporter::Start(address, &registry);
    if (!started.ok()) {
      server->Shutdown();
      return Fail(std::string(started.status().message()));
    }
    exporter = *std::move(started);
    spdlog::info("metrics on http://{}:{}/metrics",
                 address.substr(0, address.rfind(':')), exporter->port());
  }

  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::string host = listen.substr(0, listen.rfind(':'));
  const bool tls = !absl::GetFlag(FLAGS_tls_cert).empty();
  if (!tls && !IsLoopbackHost(host)) {
    spdlog::warn(
        "SERVING PLAIN-TEXT ON {} (not loopback): bearer tokens and "
        "analyses cross the network unencrypted. Set --tls_cert and "
        "--tls_key, or terminate TLS in front of this server.",
        listen);
  }
  spdlog::info(
      "authentication: {}{}{}; transport: {}",
      *verifier == nullptr ? "" : "bearer tokens",
      *verifier != nullptr && !absl::GetFlag(FLAGS_tls_client_ca).empty()
          ? " and "
          : "",
      absl::GetFlag(FLAGS_tls_client_ca).empty() ? "" : "client certificates",
      tls ? "TLS" : "plain-text");
  spdlog::info("listening on {}:{} (workers={}, db_threads={}, database={})",
               host, port, workers, db_threads,
               goodbuy::server::DescribeUrl(url));
  if (const std::string path = absl::GetFlag(FLAGS_port_file); !path.empty()) {
    const std::string tmp = path + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), path.c_str());
  }

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    spdlog::info("SIGHUP: reloading the token keys");
    if (*verifier != nullptr) (void)(*verifier)->Reload();
  }
  spdlog::info("received {}, shutting down", strsignal(signal_number));
  health->SetServingStatus(false);
  service.Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_s)));
  api.CloseStreams();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  db_pool.Shutdown();
  exporter.reset();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // gRPC's locks are absl::Mutex; Debian's abseil tracks every one for
  // deadlock cycles (GraphCycles showed in profiles of the streaming path).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(kUsage);
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/main.cc") ||
           absl::EndsWith(file, "server/migrate_command.cc");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  spdlog::set_level(spdlog::level::from_str(absl::GetFlag(FLAGS_log_level)));
  if (const std::string format = absl::GetFlag(FLAGS_log_format);
      format == "json") {
    spdlog::set_formatter(std::make_unique<goodbuy::logging::JsonFormatter>(
        absl::GetFlag(FLAGS_replica_id)));
  } else if (format == "text") {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v",
                        spdlog::pattern_time_type::utc);
  } else {
    return Fail("--log_format must be text or json");
  }
  setenv("PGCONNECT_TIMEOUT", "5", /*overwrite=*/0);
  const std::string command = args.size() > 1 ? args[1] : "";
  if (command == "serve") return Serve();
  if (command == "token") return Token();
  if (command == "migrate") {
    return goodbuy::server::RunMigrateCommand(
        std::vector<std::string>(args.begin() + 2, args.end()),
        absl::GetFlag(FLAGS_database_url), absl::GetFlag(FLAGS_sql_dir));
  }
  std::cerr << "analysis-server: " << kUsage << "\n";
  return command.empty()
             ? 2
             : Fail(absl::StrCat("unknown command '", command, "'"));
}
