// How callers prove who they are, through real processes: RS256 and ES256
// tokens from `analysis-server token` verified against a JWKS file (and a
// rotated key picked up on SIGHUP), TLS with a client certificate (mTLS)
// acting as a service, buf curl as an operator's grpcurl-style client, and
// health staying open without credentials. Certificates are made for each
// run by the openssl command line tool.
#include <signal.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/analysis_client.h"
#include "client/credentials.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/jwks.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

namespace v1 = ::goodbuy::analysis::v1;

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Runs a shell line; fails the test when it exits non-zero.
std::string Shell(const std::string& line) {
  std::string output;
  const int rc = testing::RunCommand({"/bin/sh", "-c", line}, &output);
  EXPECT_EQ(rc, 0) << line << "\n" << output;
  return output;
}

std::string Token(const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {GOODBUY_SERVER_BIN, "token"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  std::string output;
  EXPECT_EQ(testing::RunCommand(argv, &output), 0) << output;
  return std::string(absl::StripAsciiWhitespace(output));
}

// analysisctl without the test process's $ANALYSIS_TOKEN: each call here
// says how it authenticates.
int Ctl(const std::vector<std::string>& args, std::string* output) {
  std::vector<std::string> argv = {"/usr/bin/env", "-u", "ANALYSIS_TOKEN",
                                   GOODBUY_CTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::RunCommand(argv, output);
}

class TransportSecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(Shell("mktemp -d").substr(0, 100));
    *dir_ = std::string(absl::StripAsciiWhitespace(*dir_));
    const std::string& d = *dir_;
    // Signing keys: RSA (kid rsa-1), P-256 (kid ec-1), and a later RSA key.
    Shell(absl::StrCat("cd ", d,
                       " && openssl genpkey -algorithm RSA -pkeyopt "
                       "rsa_keygen_bits:2048 -out rsa1.pem 2>/dev/null"
                       " && openssl genpkey -algorithm RSA -pkeyopt "
                       "rsa_keygen_bits:2048 -out rsa2.pem 2>/dev/null"
                       " && openssl genpkey -algorithm EC -pkeyopt "
                       "ec_paramgen_curve:P-256 -out ec1.pem 2>/dev/null"));
    WriteJwks({{"rsa1.pem", "rsa-1"}, {"ec1.pem", "ec-1"}});
    // A CA, a server certificate for 127.0.0.1, a client certificate.
    Shell(absl::StrCat(
        "cd ", d,
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out "
        "ca.pem -days 2 -subj /CN=goodbuy-test-ca 2>/dev/null"
        " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out "
        "server.csr -subj /CN=localhost 2>/dev/null"
        " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' > san.ext"
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out server.pem -days 2 -extfile san.ext 2>/dev/null"
        " && openssl req -newkey rsa:2048 -nodes -keyout client.key -out "
        "client.csr -subj /CN=billing-service 2>/dev/null"
        " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out client.pem -days 2 2>/dev/null"
        // A certificate from a CA the server does not trust.
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key "
        "-out rogue.pem -days 2 -subj /CN=rogue 2>/dev/null"));
    db_ = new testing::ScratchDatabase();
    db_->MigrateAndLoadDemo();
  }
  static void TearDownTestSuite() {
    delete db_;
    Shell("rm -rf " + *dir_);
    delete dir_;
  }

  static void WriteJwks(
      const std::vector<std::pair<std::string, std::string>>& keys) {
    std::string json = "{\"keys\": [";
    for (size_t i = 0; i < keys.size(); ++i) {
      auto jwk = auth::PemToJwk(ReadAll(Path(keys[i].first)), keys[i].second);
      ASSERT_TRUE(jwk.ok()) << jwk.status();
      absl::StrAppend(&json, i ? ", " : "", *jwk);
    }
    absl::StrAppend(&json, "]}");
    const std::string tmp = Path("jwks.json.tmp");
    std::ofstream(tmp) << json;
    std::rename(tmp.c_str(), Path("jwks.json").c_str());
  }
  static std::string Path(const std::string& name) {
    return *dir_ + "/" + name;
  }

  static std::string* dir_;
  static testing::ScratchDatabase* db_;
};

std::string* TransportSecurityTest::dir_ = nullptr;
testing::ScratchDatabase* TransportSecurityTest::db_ = nullptr;

TEST_F(TransportSecurityTest, JwksTokensFromTheTokenCommandAndKeyRotation) {
  testing::ServerProcess server(
      db_->url(), {"--jwks_file=" + Path("jwks.json"), "--workers=0",
                   "--jwt_hs256_secret_file="});  // JWKS only
  const std::string rs =
      Token({"--sub=usr_demo_owner1", "--signing_key=" + Path("rsa1.pem"),
             "--kid=rsa-1"});
  const std::string es =
      Token({"--sub=usr_demo_owner1", "--signing_key=" + Path("ec1.pem"),
             "--kid=ec-1"});
  const std::string unknown =
      Token({"--sub=usr_demo_owner1", "--signing_key=" + Path("rsa2.pem"),
             "--kid=rsa-2"});
  std::string out;
  for (const std::string* token : {&rs, &es}) {
    EXPECT_EQ(Ctl({"--server=" + server.target(), "--token=" + *token, "usage"},
                  &out),
              0)
        << out;
    EXPECT_THAT(out, HasSubstr("usr_demo_owner1"));
  }
  EXPECT_EQ(
      Ctl({"--server=" + server.target(), "--token=" + unknown, "usage"}, &out),
      3);
  EXPECT_THAT(out, HasSubstr("UNAUTHENTICATED"));
  EXPECT_THAT(out, HasSubstr("key this server does not know"));
  // HS256 is off when only a JWKS is configured.
  EXPECT_EQ(Ctl({"--server=" + server.target(),
                 "--token=" + testing::TestToken("usr_demo_owner1"), "usage"},
                &out),
            3);
  EXPECT_THAT(out, HasSubstr("HS256 tokens are not accepted"));

  // Rotation: publish rsa-2, retire rsa-1, SIGHUP.
  WriteJwks({{"rsa2.pem", "rsa-2"}, {"ec1.pem", "ec-1"}});
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  bool rotated = false;
  for (int i = 0; i < 50 && !rotated; ++i) {
    rotated =
        Ctl({"--server=" + server.target(), "--token=" + unknown, "usage"},
            &out) == 0;
    if (!rotated) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(rotated) << out << server.Log();
  EXPECT_EQ(
      Ctl({"--server=" + server.target(), "--token=" + rs, "usage"}, &out), 3);
  EXPECT_THAT(server.Log(), HasSubstr("token keys loaded"));
}

TEST_F(TransportSecurityTest, MutualTlsClientActsAsAServiceAndTokensStillWork) {
  testing::ServerProcess server(
      db_->url(),
      {"--tls_cert=" + Path("server.pem"), "--tls_key=" + Path("server.key"),
       "--tls_client_ca=" + Path("ca.pem"), "--workers=0"});
  const std::string target = server.target();
  std::string out;
  // The client certificate alone: a service, which may read any tenant.
  EXPECT_EQ(Ctl({"--server=" + target, "--tls_ca=" + Path("ca.pem"),
                 "--tls_cert=" + Path("client.pem"),
                 "--tls_key=" + Path("client.key"), "usage",
                 "--user=usr_demo_owner2"},
                &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("usr_demo_owner2"));
  // TLS without a certificate or token: no identity.
  client::Credentials tls_only;
  tls_only.tls_ca = Path("ca.pem");
  client::AnalysisClientOptions options;
  options.retry.max_attempts = 1;
  ASSERT_TRUE(client::ApplyCredentials(tls_only, &options).ok());
  options.metadata.clear();  // not even the test process's $ANALYSIS_TOKEN
  client::AnalysisClient anonymous(target, options);
  EXPECT_EQ(anonymous.ListSessions({}).status().code(),
            absl::StatusCode::kUnauthenticated);
  // TLS with a user's token: that user, not a service.
  client::Credentials with_token = tls_only;
  with_token.token = testing::TestToken("usr_demo_owner1");
  client::AnalysisClientOptions user_options;
  user_options.retry.max_attempts = 1;
  ASSERT_TRUE(client::ApplyCredentials(with_token, &user_options).ok());
  client::AnalysisClient user(target, user_options);
  auto usage = user.GetUsage("usr_demo_owner2");
  EXPECT_EQ(usage.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(user.GetUsage().ok());
  // A certificate from an untrusted CA gets no connection.
  EXPECT_NE(
      Ctl({"--server=" + target, "--tls_ca=" + Path("ca.pem"),
           "--tls_cert=" + Path("rogue.pem"), "--tls_key=" + Path("rogue.key"),
           "--timeout=3s", "usage", "--user=usr_demo_owner2"},
          &out),
      0);
  // Plain-text to the TLS port gets nothing either.
  client::AnalysisClientOptions plain = testing::ClientOptions();
  plain.retry.max_attempts = 1;
  plain.deadline = absl::Seconds(3);
  client::AnalysisClient plaintext(target, plain);
  EXPECT_EQ(plaintext.ListSessions({}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_THAT(server.Log(), HasSubstr("transport: TLS"));
}

TEST_F(TransportSecurityTest, BufCurlNeedsATokenAndHealthDoesNot) {
  testing::ServerProcess server(db_->url(), {"--workers=0"});
  const std::string buf = testing::SourceDir() + "/tools/node_modules/.bin/buf";
  const std::string base =
      absl::StrCat(buf, " curl --protocol grpc --http2-prior-knowledge http://",
                   server.target(), "/");
  std::string out;
  const std::string cache = "BUF_CACHE_DIR=$(mktemp -d) ";
  // Health and reflection are open.
  EXPECT_THAT(Shell(cache + base + "grpc.health.v1.Health/Check"),
              HasSubstr("SERVING"));
  // The service is not.
  const int rc = testing::RunCommand(
      {"/bin/sh", "-c",
       cache + base + "goodbuy.analysis.v1.AnalysisService/GetUsage -d '{}'"},
      &out);
  EXPECT_NE(rc, 0);
  EXPECT_THAT(out, HasSubstr("unauthenticated"));
  // With the demo user's token it answers for that user.
  const std::string token =
      Token({"--sub=usr_demo_owner1",
             "--jwt_hs256_secret_file=" + testing::TestSecretFile()});
  const std::string usage =
      Shell(cache + base +
            "goodbuy.analysis.v1.AnalysisService/GetUsage -H "
            "'authorization: Bearer " +
            token + "' -d '{}'");
  EXPECT_THAT(usage, HasSubstr("\"userId\": \"usr_demo_owner1\""));
  EXPECT_THAT(usage, HasSubstr("\"planName\": \"Enterprise\""));
}

TEST_F(TransportSecurityTest, ServerRefusesToStartWithoutAWayToAuthenticate) {
  std::string out;
  const int rc = testing::RunCommand(
      {GOODBUY_SERVER_BIN, "serve", "--listen=127.0.0.1:0",
       "--database_url=" + db_->url(), "--jwt_hs256_secret_file="},
      &out);
  EXPECT_EQ(rc, 1);
  EXPECT_THAT(out, HasSubstr("no way to authenticate callers"));
  // A secret too short to be safe is refused too.
  std::ofstream(Path("short.secret")) << "tooshort\n";
  EXPECT_EQ(
      testing::RunCommand({GOODBUY_SERVER_BIN, "serve", "--listen=127.0.0.1:0",
                           "--database_url=" + db_->url(),
                           "--jwt_hs256_secret_file=" + Path("short.secret")},
                          &out),
      1);
  EXPECT_THAT(out, HasSubstr("at least 32 bytes"));
}

}  // namespace
}  // namespace goodbuy
