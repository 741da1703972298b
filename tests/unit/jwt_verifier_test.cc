#include "server/auth/jwt_verifier.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "server/auth/jwks.h"
#include "server/auth/token_signer.h"
#include "server/common/caller.h"

namespace goodbuy::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef-test-k1";
constexpr char kOtherSecret[] = "fedcba9876543210fedcba9876543210-other-k2";
constexpr char kSubject[] = "user-7f3a9c";
const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);
// A minute into the one-hour lifetime of the tokens Claims() describes.
const absl::Time kNow = kT0 + absl::Minutes(1);

// ---------------------------------------------------------------- keys

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

std::string BioString(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

KeyPair Generate(EVP_PKEY* key) {
  KeyPair pair;
  if (key == nullptr) {
    ADD_FAILURE() << "key generation failed";
    return pair;
  }
  BIO* priv = BIO_new(BIO_s_mem());
  BIO* pub = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr,
                                     nullptr),
            1);
  EXPECT_EQ(PEM_write_bio_PUBKEY(pub, key), 1);
  pair.private_pem = BioString(priv);
  pair.public_pem = BioString(pub);
  BIO_free(priv);
  BIO_free(pub);
  EVP_PKEY_free(key);
  return pair;
}

// Generated once per test process: RSA keygen is slow under ASan.
const KeyPair& RsaA() {
  static const KeyPair* key = new KeyPair(Generate(EVP_RSA_gen(2048)));
  return *key;
}
const KeyPair& RsaB() {
  static const KeyPair* key = new KeyPair(Generate(EVP_RSA_gen(2048)));
  return *key;
}
const KeyPair& EcA() {
  static const KeyPair* key = new KeyPair(Generate(EVP_EC_gen("P-256")));
  return *key;
}

std::string Jwk(const KeyPair& key, const std::string& kid) {
  auto jwk = PemToJwk(key.private_pem, kid);
  EXPECT_TRUE(jwk.ok()) << jwk.status();
  return jwk.ok() ? *jwk : "";
}

std::string JwksOf(const std::vector<std::string>& jwks) {
  return absl::StrCat("{\"keys\":[", absl::StrJoin(jwks, ","), "]}");
}

// ---------------------------------------------------------------- tokens

TokenClaims Claims(const std::string& role = "") {
  TokenClaims claims;
  claims.subject = kSubject;
  claims.role = role;
  claims.issued_at = kT0;
  claims.lifetime = absl::Hours(1);
  return claims;
}

std::string Sign(const TokenClaims& claims, const std::string& alg,
                 const std::string& key) {
  auto token = SignToken(claims, alg, key);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? *token : "";
}

std::string Hs256(const TokenClaims& claims,
                  const std::string& secret = kSecret) {
  return Sign(claims, "HS256", secret);
}

std::string Rs256(const KeyPair& key, const std::string& kid) {
  TokenClaims claims = Claims();
  claims.kid = kid;
  return Sign(claims, "RS256", key.private_pem);
}

std::string Es256(const KeyPair& key, const std::string& kid) {
  TokenClaims claims = Claims();
  claims.kid = kid;
  return Sign(claims, "ES256", key.private_pem);
}

// A token built with libjwt directly, for claims SignToken cannot express.
std::string RawToken(const std::string& grants_json, jwt_alg_t alg,
                     const std::string& key, const std::string& kid = "") {
  jwt_t* raw = nullptr;
  EXPECT_EQ(jwt_new(&raw), 0);
  std::unique_ptr<jwt_t, void (*)(jwt_t*)> jwt(raw, jwt_free);
  EXPECT_EQ(jwt_add_grants_json(jwt.get(), grants_json.c_str()), 0)
      << grants_json;
  if (!kid.empty()) {
    EXPECT_EQ(jwt_add_header(jwt.get(), "kid", kid.c_str()), 0);
  }
  EXPECT_EQ(jwt_set_alg(jwt.get(), alg,
                        reinterpret_cast<const unsigned char*>(key.data()),
                        static_cast<int>(key.size())),
            0);
  char* out = jwt_encode_str(jwt.get());
  EXPECT_NE(out, nullptr);
  if (out == nullptr) return "";
  std::string token(out);
  free(out);
  return token;
}

std::string RawHs256(const std::string& grants_json) {
  return RawToken(grants_json, JWT_ALG_HS256, kSecret);
}

// The claims of Claims() as JSON, with `extra` members appended.
std::string GrantsJson(const std::string& extra = "", bool with_exp = true,
                       bool with_sub = true) {
  std::vector<std::string> members = {"\"iss\":\"goodbuy-hq\"",
                                      "\"aud\":\"goodbuy-analysis\""};
  if (with_sub) members.push_back(absl::StrCat("\"sub\":\"", kSubject, "\""));
  if (with_exp) {
    members.push_back(
        absl::StrCat("\"exp\":", absl::ToUnixSeconds(kT0 + absl::Hours(1))));
  }
  if (!extra.empty()) members.push_back(extra);
  return absl::StrCat("{", absl::StrJoin(members, ","), "}");
}

std::string B64(absl::string_view text) {
  return absl::WebSafeBase64Escape(text);
}

// Expects an UNAUTHENTICATED refusal whose reason contains `reason` and
// whose message repeats neither the token (nor any part of it), the secret,
// the subject nor any of `claims`.
void ExpectRefused(const absl::StatusOr<Caller>& result,
                   const std::string& reason, const std::string& token,
                   std::vector<std::string> claims = {}) {
  ASSERT_FALSE(result.ok()) << "accepted as " << result->subject;
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated)
      << result.status();
  const std::string message(result.status().message());
  EXPECT_THAT(message, StartsWith("the bearer token is not valid: "));
  EXPECT_THAT(message, HasSubstr(reason));
  claims.push_back(kSubject);
  claims.push_back(kSecret);
  if (!token.empty()) {
    EXPECT_THAT(message, Not(HasSubstr(token)));
    for (absl::string_view part : absl::StrSplit(token, '.')) {
      if (part.size() >= 4) {
        EXPECT_THAT(message, Not(HasSubstr(std::string(part))));
      }
    }
  }
  for (const auto& claim : claims) {
    EXPECT_THAT(message, Not(HasSubstr(claim)));
  }
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(out) << path;
  out << contents;
  out.close();
  ASSERT_TRUE(out) << path;
}

class JwtVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/jwt_verifier_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    secret_file_ = dir_ + "/hs256.secret";
    jwks_file_ = dir_ + "/jwks.json";
    WriteFile(secret_file_, absl::StrCat(kSecret, "\n"));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  JwtOptions Hs256Options() const {
    JwtOptions options;
    options.hs256_secret_file = secret_file_;
    return options;
  }
  JwtOptions JwksOptions(const std::string& jwks) {
    WriteFile(jwks_file_, jwks);
    JwtOptions options;
    options.jwks_file = jwks_file_;
    return options;
  }

  static std::unique_ptr<JwtVerifier> Make(JwtOptions options) {
    auto verifier = JwtVerifier::Create(std::move(options));
    EXPECT_TRUE(verifier.ok()) << verifier.status();
    return verifier.ok() ? std::move(*verifier) : nullptr;
  }

  // Rewrites `path` and moves its modification time forward, so a verifier
  // sees the change even within the file system's timestamp granularity.
  void Rewrite(const std::string& path, const std::string& contents) {
    WriteFile(path, contents);
    struct timespec times[2];
    ASSERT_EQ(clock_gettime(CLOCK_REALTIME, &times[0]), 0);
    times[0].tv_sec += 100 * ++rewrites_;
    times[1] = times[0];
    ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
  }

  std::string dir_;
  std::string secret_file_;
  std::string jwks_file_;
  int rewrites_ = 0;
};

// ---------------------------------------------------------------- HS256

TEST_F(JwtVerifierTest, ValidHs256TokenIsAUser) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  auto caller = verifier->Verify(Hs256(Claims()), kNow);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->subject, kSubject);
  EXPECT_EQ(caller->role, CallerRole::kUser);
  EXPECT_EQ(caller->authenticated_by, "jwt");
  EXPECT_FALSE(caller->SeesAllTenants());
}

TEST_F(JwtVerifierTest, RoleClaimSelectsServiceAndAdmin) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  auto user = verifier->Verify(Hs256(Claims("user")), kNow);
  ASSERT_TRUE(user.ok()) << user.status();
  EXPECT_EQ(user->role, CallerRole::kUser);
  auto service = verifier->Verify(Hs256(Claims("service")), kNow);
  ASSERT_TRUE(service.ok()) << service.status();
  EXPECT_EQ(service->role, CallerRole::kService);
  EXPECT_TRUE(service->SeesAllTenants());
  auto admin = verifier->Verify(Hs256(Claims("admin")), kNow);
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_EQ(admin->role, CallerRole::kAdmin);
  EXPECT_EQ(admin->subject, kSubject);
}

TEST_F(JwtVerifierTest, CustomRoleClaimNameIsTheOneRead) {
  JwtOptions options = Hs256Options();
  options.role_claim = "gb_role";
  auto verifier = Make(options);
  ASSERT_NE(verifier, nullptr);
  auto admin =
      verifier->Verify(RawHs256(GrantsJson("\"gb_role\":\"admin\"")), kNow);
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_EQ(admin->role, CallerRole::kAdmin);
  // "role" is just another claim now.
  auto plain =
      verifier->Verify(RawHs256(GrantsJson("\"role\":\"admin\"")), kNow);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->role, CallerRole::kUser);
}

TEST_F(JwtVerifierTest, BadRoleValueIsRefused) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  const std::string token = Hs256(Claims("superuser-x"));
  ExpectRefused(verifier->Verify(token, kNow), "role", token, {"superuser-x"});
  const std::string upper = Hs256(Claims("Admin"));
  ExpectRefused(verifier->Verify(upper, kNow), "role", upper);
  const std::string numeric = RawHs256(GrantsJson("\"role\":3"));
  ExpectRefused(verifier->Verify(numeric, kNow), "role claim is not a string",
                numeric);
  const std::string list = RawHs256(GrantsJson("\"role\":[\"admin\"]"));
  ExpectRefused(verifier->Verify(list, kNow), "role claim is not a string",
                list);
}

TEST_F(JwtVerifierTest, ExpiryHasLeeway) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  const std::string token = Hs256(Claims());
  const absl::Time exp = kT0 + absl::Hours(1);
  EXPECT_TRUE(verifier->Verify(token, exp + absl::Seconds(29)).ok());
  EXPECT_TRUE(verifier->Verify(token, exp + absl::Seconds(30)).ok());
  ExpectRefused(verifier->Verify(token, exp + absl::Seconds(31)), "expired",
                token);
  ExpectRefused(verifier->Verify(token, exp + absl::Hours(24)), "expired",
                token);
}

TEST_F(JwtVerifierTest, ZeroLeewayIsExact) {
  JwtOptions options = Hs256Options();
  options.leeway = absl::ZeroDuration();
  auto verifier = Make(options);
  ASSERT_NE(verifier, nullptr);
  const std::string token = Hs256(Claims());
  const absl::Time exp = kT0 + absl::Hours(1);
  EXPECT_TRUE(verifier->Verify(token, exp).ok());
  ExpectRefused(verifier->Verify(token, exp + absl::Seconds(1)), "expired",
                token);
}

TEST_F(JwtVerifierTest, NotBeforeInTheFutureIsRefused) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  const int64_t nbf = absl::ToUnixSeconds(kT0 + absl::Minutes(10));
  const std::string token = RawHs256(GrantsJson(absl::StrCat("\"nbf\":", nbf)));
  ExpectRefused(verifier->Verify(token, absl::FromUnixSeconds(nbf - 31)),
                "not valid yet", token);
  ExpectRefused(verifier->Verify(token, absl::FromUnixSeconds(nbf - 3600)),
                "not valid yet", token);
  // Within the 30 s leeway, and after.
  EXPECT_TRUE(verifier->Verify(token, absl::FromUnixSeconds(nbf - 30)).ok());
  EXPECT_TRUE(verifier->Verify(token, absl::FromUnixSeconds(nbf + 1)).ok());
}

TEST_F(JwtVerifierTest, DatesBeyondInt64SecondsAreRefused) {
  // 1e19 seconds does not fit an int64: such a date must be refused, not
  // wrap round to "valid since forever".
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  const std::string token = RawHs256(GrantsJson("\"nbf\":1e19"));
  ExpectRefused(verifier->Verify(token, kNow), "not a date in seconds", token);
}

TEST_F(JwtVerifierTest, MissingOrMalformedExpiryIsRefused) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  const std::string no_exp = RawHs256(GrantsJson("", /*with_exp=*/false));
  ExpectRefused(verifier->Verify(no_exp, kNow), "no expiry", no_exp);
  const std::string text_exp = RawHs256(
      GrantsJson(absl::StrCat("\"exp\":\"",
                              absl::ToUnixSeconds(kT0 + absl::Hours(1)), "\""),
                 /*with_exp=*/false));
  ExpectRefused(verifier->Verify(text_exp, kNow),
                "\"exp\" is not a date in seconds", text_exp);
}

TEST_F(JwtVerifierTest, WrongAudienceIsRefused) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  TokenClaims claims = Claims();
  claims.audience = "other-service-99";
  const std::string token = Hs256(claims);
  ExpectRefused(verifier->Verify(token, kNow), "(aud)", token,
                {"other-service-99"});
  // Missing entirely.
  const std::string none = RawHs256(absl::StrCat(
      "{\"iss\":\"goodbuy-hq\",\"sub\":\"", kSubject,
      "\",\"exp\":", absl::ToUnixSeconds(kT0 + absl::Hours(1)), "}"));
  ExpectRefused(verifier->Verify(none, kNow), "(aud)", none);
}

TEST_F(JwtVerifierTest, AudienceArrayContainingOursIsAccepted) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  jwt_t* raw = nullptr;
  ASSERT_EQ(jwt_new(&raw), 0);
  std::unique_ptr<jwt_t, void (*)(jwt_t*)> jwt(raw, jwt_free);
  ASSERT_EQ(
      jwt_add_grants_json(jwt.get(), "{\"aud\":[\"x\",\"goodbuy-analysis\"]}"),
      0);
  ASSERT_EQ(jwt_add_grant(jwt.get(), "sub", kSubject), 0);
  ASSERT_EQ(jwt_add_grant(jwt.get(), "iss", "goodbuy-hq"), 0);
  ASSERT_EQ(jwt_add_grant_int(jwt.get(), "exp",
                              absl::ToUnixSeconds(kT0 + absl::Hours(1))),
            0);
  ASSERT_EQ(jwt_set_alg(jwt.get(), JWT_ALG_HS256,
                        reinterpret_cast<const unsigned char*>(kSecret),
                        static_cast<int>(strlen(kSecret))),
            0);
  char* encoded = jwt_encode_str(jwt.get());
  ASSERT_NE(encoded, nullptr);
  const std::string token(encoded);
  free(encoded);

  auto caller = verifier->Verify(token, kNow);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->subject, kSubject);
}

TEST_F(JwtVerifierTest, AudienceArrayWithoutOursIsRefused) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  const std::string token = RawHs256(absl::StrCat(
      "{\"aud\":[\"x\",\"goodbuy-analysis-staging\",7],\"iss\":\"goodbuy-hq\","
      "\"sub\":\"",
      kSubject, "\",\"exp\":", absl::ToUnixSeconds(kT0 + absl::Hours(1)), "}"));
  ExpectRefused(verifier->Verify(token, kNow), "(aud)", token,
                {"goodbuy-analysis-staging"});
}

TEST_F(JwtVerifierTest, WrongOrMissingIssuerIsRefused) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  TokenClaims claims = Claims();
  claims.issuer = "evil-issuer-42";
  const std::string token = Hs256(claims);
  ExpectRefused(verifier->Verify(token, kNow), "(iss)", token,
                {"evil-issuer-42"});
  const std::string none = RawHs256(absl::StrCat(
      "{\"aud\":\"goodbuy-analysis\",\"sub\":\"", kSubject,
      "\",\"exp\":", absl::ToUnixSeconds(kT0 + absl::Hours(1)), "}"));
  ExpectRefused(verifier->Verify(none, kNow), "(iss)", none);
}

TEST_F(JwtVerifierTest, MissingOrEmptySubjectIsRefused) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  const std::string none =
      RawHs256(GrantsJson("", /*with_exp=*/true, /*with_sub=*/false));
  ExpectRefused(verifier->Verify(none, kNow), "(sub)", none);
  TokenClaims empty = Claims();
  empty.subject = "";
  const std::string empty_token = Hs256(empty);
  ExpectRefused(verifier->Verify(empty_token, kNow), "(sub)", empty_token);
  TokenClaims huge = Claims();
  huge.subject = std::string(256, 'u');
  const std::string huge_token = Hs256(huge);
  ExpectRefused(verifier->Verify(huge_token, kNow), "(sub)", huge_token,
                {huge.subject});
  const std::string numeric =
      RawHs256(GrantsJson("\"sub\":42", /*with_exp=*/true, /*with_sub=*/false));
  ExpectRefused(verifier->Verify(numeric, kNow), "(sub)", numeric);
}

TEST_F(JwtVerifierTest, TamperedPayloadFailsTheSignature) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  const std::string token = Hs256(Claims());
  ASSERT_TRUE(verifier->Verify(token, kNow).ok());
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);

  // One character flipped in the middle of the payload.
  std::string flipped = parts[1];
  char& c = flipped[flipped.size() / 2];
  c = c == 'A' ? 'B' : 'A';
  const std::string one_char =
      absl::StrJoin({parts[0], flipped, parts[2]}, ".");
  ASSERT_NE(one_char, token);
  ExpectRefused(verifier->Verify(one_char, kNow), "signature", one_char);

  // A well-formed payload that promotes the caller to admin.
  std::string json;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[1], &json));
  ASSERT_EQ(json.back(), '}');
  json.pop_back();
  json += ",\"role\":\"admin\"}";
  const std::string promoted =
      absl::StrJoin({parts[0], B64(json), parts[2]}, ".");
  ExpectRefused(verifier->Verify(promoted, kNow), "signature", promoted);

  // The signature of another token.
  TokenClaims admin = Claims("admin");
  std::vector<std::string> other = absl::StrSplit(Hs256(admin), '.');
  ASSERT_EQ(other.size(), 3u);
  const std::string swapped =
      absl::StrJoin({parts[0], parts[1], other[2]}, ".");
  ExpectRefused(verifier->Verify(swapped, kNow), "signature", swapped);
}

TEST_F(JwtVerifierTest, TokenSignedWithAnotherSecretIsRefused) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  const std::string token = Hs256(Claims(), kOtherSecret);
  ExpectRefused(verifier->Verify(token, kNow), "signature", token,
                {kOtherSecret});
}

TEST_F(JwtVerifierTest, AlgNoneIsRefused) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  const std::string payload = B64(GrantsJson("\"role\":\"admin\""));
  for (const char* header : {"{\"alg\":\"none\",\"typ\":\"JWT\"}",
                             "{\"alg\":\"None\",\"typ\":\"JWT\"}",
                             "{\"alg\":\"NONE\"}", "{\"typ\":\"JWT\"}"}) {
    SCOPED_TRACE(header);
    const std::string unsigned_token =
        absl::StrCat(B64(header), ".", payload, ".");
    ExpectRefused(verifier->Verify(unsigned_token, kNow),
                  "algorithm is not one of", unsigned_token);
    const std::string with_junk =
        absl::StrCat(B64(header), ".", payload, ".c2lnbmF0dXJl");
    ExpectRefused(verifier->Verify(with_junk, kNow), "algorithm", with_junk);
  }
  // An HS256 header without a signature is not signed either.
  const std::string hs_unsigned = absl::StrCat(
      B64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"), ".", payload, ".");
  ExpectRefused(verifier->Verify(hs_unsigned, kNow),
                "signature does not verify", hs_unsigned);
}

TEST_F(JwtVerifierTest, OtherAlgorithmsAreRefused) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  const std::string hs512 = RawToken(GrantsJson(), JWT_ALG_HS512, kSecret);
  ExpectRefused(verifier->Verify(hs512, kNow), "algorithm", hs512);
  const std::string hs384 = RawToken(GrantsJson(), JWT_ALG_HS384, kSecret);
  ExpectRefused(verifier->Verify(hs384, kNow), "algorithm", hs384);
}

TEST_F(JwtVerifierTest, MalformedTokensAreRefused) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  for (const std::string& token :
       {std::string(), std::string("abc"), std::string("a.b"),
        std::string("a.b.c.d"), std::string("..sig"),
        absl::StrCat("!!!.", B64("{}"), ".sig"),
        absl::StrCat(B64("not json"), ".", B64("{}"), ".sig")}) {
    SCOPED_TRACE(token);
    auto result = verifier->Verify(token, kNow);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated);
  }
}

TEST_F(JwtVerifierTest, OverlongTokenIsRefusedUnparsed) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  // A big claim is fine below the limit...
  const std::string big = RawHs256(
      GrantsJson(absl::StrCat("\"pad\":\"", std::string(4000, 'p'), "\"")));
  ASSERT_LT(big.size(), kMaxTokenBytes);
  EXPECT_TRUE(verifier->Verify(big, kNow).ok());
  // ...and the same, validly signed, above it is refused.
  const std::string huge = RawHs256(
      GrantsJson(absl::StrCat("\"pad\":\"", std::string(7000, 'p'), "\"")));
  ASSERT_GT(huge.size(), kMaxTokenBytes);
  ExpectRefused(verifier->Verify(huge, kNow), "longer than 8 KiB", huge);
  const std::string junk(kMaxTokenBytes + 1, 'a');
  ExpectRefused(verifier->Verify(junk, kNow), "longer than 8 KiB", junk);
  // Exactly the limit is parsed (and refused for what it is).
  const std::string at_limit(kMaxTokenBytes, 'a');
  ExpectRefused(verifier->Verify(at_limit, kNow), "not a signed JWT", at_limit);
}

TEST_F(JwtVerifierTest, HsSecretRotationTakesEffect) {
  JwtOptions options = Hs256Options();
  options.reload_check = absl::ZeroDuration();
  auto verifier = Make(options);
  ASSERT_NE(verifier, nullptr);
  const std::string old_token = Hs256(Claims());
  ASSERT_TRUE(verifier->Verify(old_token, kNow).ok());
  Rewrite(secret_file_, kOtherSecret);
  ExpectRefused(verifier->Verify(old_token, kNow), "signature", old_token,
                {kOtherSecret});
  EXPECT_TRUE(verifier->Verify(Hs256(Claims(), kOtherSecret), kNow).ok());
}

// ---------------------------------------------------------------- JWKS

TEST_F(JwtVerifierTest, Rs256AndEs256VerifyAgainstJwksByKid) {
  auto verifier = Make(JwksOptions(JwksOf(
      {Jwk(RsaA(), "rsa-a"), Jwk(RsaB(), "rsa-b"), Jwk(EcA(), "ec-a")})));
  ASSERT_NE(verifier, nullptr);
  for (const std::string& token :
       {Rs256(RsaA(), "rsa-a"), Rs256(RsaB(), "rsa-b"), Es256(EcA(), "ec-a"),
        // The only ES256 key may be picked without a kid.
        Es256(EcA(), "")}) {
    auto caller = verifier->Verify(token, kNow);
    ASSERT_TRUE(caller.ok()) << caller.status();
    EXPECT_EQ(caller->subject, kSubject);
    EXPECT_EQ(caller->role, CallerRole::kUser);
  }
  // The kid picks the key: A's token labelled as B's fails the signature.
  const std::string mislabelled = Rs256(RsaA(), "rsa-b");
  ExpectRefused(verifier->Verify(mislabelled, kNow), "signature", mislabelled);
  // Two RS256 keys and no kid: ambiguous.
  const std::string no_kid = Rs256(RsaA(), "");
  ExpectRefused(verifier->Verify(no_kid, kNow), "does not know", no_kid);
}

TEST_F(JwtVerifierTest, UnknownKidIsRefused) {
  auto verifier = Make(JwksOptions(JwksOf({Jwk(RsaA(), "rsa-a")})));
  ASSERT_NE(verifier, nullptr);
  const std::string token = Rs256(RsaA(), "rsa-zzz");
  ExpectRefused(verifier->Verify(token, kNow), "does not know", token,
                {"rsa-zzz"});
}

TEST_F(JwtVerifierTest, Es256AgainstRsaOnlyJwksIsRefused) {
  auto verifier = Make(JwksOptions(JwksOf({Jwk(RsaA(), "k1")})));
  ASSERT_NE(verifier, nullptr);
  // Even when it names the RSA key's kid.
  const std::string with_kid = Es256(EcA(), "k1");
  ExpectRefused(verifier->Verify(with_kid, kNow), "does not know", with_kid);
  const std::string without_kid = Es256(EcA(), "");
  ExpectRefused(verifier->Verify(without_kid, kNow), "does not know",
                without_kid);
}

TEST_F(JwtVerifierTest, Rs256AgainstEcOnlyJwksIsRefused) {
  auto verifier = Make(JwksOptions(JwksOf({Jwk(EcA(), "k1")})));
  ASSERT_NE(verifier, nullptr);
  const std::string token = Rs256(RsaA(), "k1");
  ExpectRefused(verifier->Verify(token, kNow), "does not know", token);
}

TEST_F(JwtVerifierTest, Rs256SignedWithAnotherKeyIsRefused) {
  auto verifier = Make(JwksOptions(JwksOf({Jwk(RsaB(), "k1")})));
  ASSERT_NE(verifier, nullptr);
  const std::string with_kid = Rs256(RsaA(), "k1");
  ExpectRefused(verifier->Verify(with_kid, kNow), "signature", with_kid);
  const std::string without_kid = Rs256(RsaA(), "");
  ExpectRefused(verifier->Verify(without_kid, kNow), "signature", without_kid);
  EXPECT_TRUE(verifier->Verify(Rs256(RsaB(), "k1"), kNow).ok());
}

TEST_F(JwtVerifierTest, Hs256RefusedWhenOnlyJwksIsConfigured) {
  auto verifier = Make(JwksOptions(JwksOf({Jwk(RsaA(), "k1")})));
  ASSERT_NE(verifier, nullptr);
  const std::string token = Hs256(Claims());
  ExpectRefused(verifier->Verify(token, kNow), "HS256", token);
  // The classic confusion: HMAC keyed with the published public key.
  TokenClaims claims = Claims("admin");
  claims.kid = "k1";
  const std::string confused = Sign(claims, "HS256", RsaA().public_pem);
  ExpectRefused(verifier->Verify(confused, kNow), "HS256", confused);
}

TEST_F(JwtVerifierTest, HmacWithPublicKeyRefusedWhenBothAreConfigured) {
  WriteFile(jwks_file_, JwksOf({Jwk(RsaA(), "k1")}));
  JwtOptions options = Hs256Options();
  options.jwks_file = jwks_file_;
  auto verifier = Make(options);
  ASSERT_NE(verifier, nullptr);
  TokenClaims claims = Claims("admin");
  claims.kid = "k1";
  const std::string confused = Sign(claims, "HS256", RsaA().public_pem);
  ExpectRefused(verifier->Verify(confused, kNow), "signature", confused);
  EXPECT_TRUE(verifier->Verify(Hs256(Claims()), kNow).ok());
  EXPECT_TRUE(verifier->Verify(Rs256(RsaA(), "k1"), kNow).ok());
}

TEST_F(JwtVerifierTest, Rs256RefusedWhenOnlyHs256IsConfigured) {
  auto verifier = Make(Hs256Options());
  ASSERT_NE(verifier, nullptr);
  const std::string token = Rs256(RsaA(), "k1");
  ExpectRefused(verifier->Verify(token, kNow), "does not know", token);
}

TEST_F(JwtVerifierTest, KeyRotationTakesEffectWithoutRestart) {
  JwtOptions options = JwksOptions(JwksOf({Jwk(RsaA(), "2024-01")}));
  options.reload_check = absl::ZeroDuration();
  auto verifier = Make(options);
  ASSERT_NE(verifier, nullptr);
  const std::string old_token = Rs256(RsaA(), "2024-01");
  const std::string new_token = Rs256(RsaB(), "2024-02");
  ASSERT_TRUE(verifier->Verify(old_token, kNow).ok());
  ExpectRefused(verifier->Verify(new_token, kNow), "does not know", new_token);

  Rewrite(jwks_file_, JwksOf({Jwk(RsaB(), "2024-02")}));
  ExpectRefused(verifier->Verify(old_token, kNow), "does not know", old_token);
  auto caller = verifier->Verify(new_token, kNow);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->subject, kSubject);
}

TEST_F(JwtVerifierTest, KeyFilesAreCheckedAtMostEveryReloadCheck) {
  JwtOptions options = JwksOptions(JwksOf({Jwk(RsaA(), "a")}));
  options.reload_check = absl::Seconds(2);
  auto verifier = Make(options);
  ASSERT_NE(verifier, nullptr);
  const std::string old_token = Rs256(RsaA(), "a");
  const std::string new_token = Rs256(RsaB(), "b");
  ASSERT_TRUE(verifier->Verify(old_token, kNow).ok());  // checks; next at +2s
  Rewrite(jwks_file_, JwksOf({Jwk(RsaB(), "b")}));
  EXPECT_TRUE(verifier->Verify(old_token, kNow + absl::Seconds(1)).ok());
  ExpectRefused(verifier->Verify(new_token, kNow + absl::Seconds(1)),
                "does not know", new_token);
  EXPECT_TRUE(verifier->Verify(new_token, kNow + absl::Seconds(2)).ok());
  ExpectRefused(verifier->Verify(old_token, kNow + absl::Seconds(2)),
                "does not know", old_token);
}

TEST_F(JwtVerifierTest, ReloadOfABrokenFileKeepsTheOldKeys) {
  JwtOptions options = JwksOptions(JwksOf({Jwk(RsaA(), "a")}));
  options.reload_check = absl::ZeroDuration();
  auto verifier = Make(options);
  ASSERT_NE(verifier, nullptr);
  const std::string old_token = Rs256(RsaA(), "a");
  ASSERT_TRUE(verifier->Verify(old_token, kNow).ok());

  Rewrite(jwks_file_, "{\"keys\": [ this is not json");
  const absl::Status reload = verifier->Reload();
  EXPECT_EQ(reload.code(), absl::StatusCode::kInvalidArgument) << reload;
  EXPECT_THAT(reload.message(), HasSubstr(jwks_file_));
  // Neither Reload() nor the mtime check on Verify dropped the keys.
  EXPECT_TRUE(verifier->Verify(old_token, kNow).ok());

  Rewrite(jwks_file_, "{\"keys\": []}");
  EXPECT_EQ(verifier->Reload().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(verifier->Verify(old_token, kNow).ok());

  std::filesystem::remove(jwks_file_);
  EXPECT_EQ(verifier->Reload().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(verifier->Verify(old_token, kNow).ok());

  // A good file again is picked up.
  Rewrite(jwks_file_, JwksOf({Jwk(RsaB(), "b")}));
  EXPECT_TRUE(verifier->Reload().ok());
  EXPECT_TRUE(verifier->Verify(Rs256(RsaB(), "b"), kNow).ok());
  ExpectRefused(verifier->Verify(old_token, kNow), "does not know", old_token);
}

// ---------------------------------------------------------------- Create

TEST_F(JwtVerifierTest, CreateRefusesMissingOrShortSecrets) {
  JwtOptions missing;
  missing.hs256_secret_file = dir_ + "/no-such-secret";
  auto result = JwtVerifier::Create(missing);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("no-such-secret"));

  const std::string short_secret(31, 's');
  WriteFile(secret_file_, short_secret + "\n");
  result = JwtVerifier::Create(Hs256Options());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr(secret_file_));
  EXPECT_THAT(result.status().message(), HasSubstr("32 bytes"));
  EXPECT_THAT(result.status().message(), Not(HasSubstr(short_secret)));

  // 32 bytes, whatever newlines follow, is enough.
  const std::string exact(32, 's');
  WriteFile(secret_file_, exact + "\r\n\n");
  auto ok = JwtVerifier::Create(Hs256Options());
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE((*ok)->Verify(Hs256(Claims(), exact), kNow).ok());
}

TEST_F(JwtVerifierTest, CreateRefusesBadOptions) {
  auto none = JwtVerifier::Create(JwtOptions{});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);

  JwtOptions no_issuer = Hs256Options();
  no_issuer.issuer = "";
  EXPECT_EQ(JwtVerifier::Create(no_issuer).status().code(),
            absl::StatusCode::kInvalidArgument);
  JwtOptions no_audience = Hs256Options();
  no_audience.audience = "";
  EXPECT_EQ(JwtVerifier::Create(no_audience).status().code(),
            absl::StatusCode::kInvalidArgument);

  auto broken = JwtVerifier::Create(JwksOptions("not json"));
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(broken.status().message(), HasSubstr(jwks_file_));

  JwtOptions missing_jwks;
  missing_jwks.jwks_file = dir_ + "/no-such.jwks";
  EXPECT_EQ(JwtVerifier::Create(missing_jwks).status().code(),
            absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------- Bearer

TEST(JwtBearerTokenTest, ExtractsTheToken) {
  auto plain = BearerToken("Bearer x");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, "x");
  auto spaced = BearerToken("bearer   x");
  ASSERT_TRUE(spaced.ok()) << spaced.status();
  EXPECT_EQ(*spaced, "x");
  auto upper = BearerToken("  BEARER abc.def.ghi  ");
  ASSERT_TRUE(upper.ok()) << upper.status();
  EXPECT_EQ(*upper, "abc.def.ghi");
}

TEST(JwtBearerTokenTest, RefusesOtherSchemesAndEmptyTokens) {
  for (const char* header : {"Basic x", "Bearer", "Bearer ", "Bearer    ", "",
                             "x", "Bearerx", "Token abc"}) {
    SCOPED_TRACE(header);
    auto token = BearerToken(header);
    ASSERT_FALSE(token.ok()) << *token;
    EXPECT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(token.status().message(), HasSubstr("Bearer <token>"));
  }
  auto basic = BearerToken("Basic dXNlcjpzZWNyZXQ=");
  ASSERT_FALSE(basic.ok());
  EXPECT_THAT(basic.status().message(), Not(HasSubstr("dXNlcjpzZWNyZXQ=")));
}

// ---------------------------------------------------------------- signer

TEST(JwtSignerTest, SigningAlgorithmFollowsTheKey) {
  auto rsa = SigningAlgorithm(RsaA().private_pem);
  ASSERT_TRUE(rsa.ok()) << rsa.status();
  EXPECT_EQ(*rsa, "RS256");
  auto ec = SigningAlgorithm(EcA().private_pem);
  ASSERT_TRUE(ec.ok()) << ec.status();
  EXPECT_EQ(*ec, "ES256");
  EXPECT_EQ(SigningAlgorithm("not a key").status().code(),
            absl::StatusCode::kInvalidArgument);
  // A public key cannot sign.
  EXPECT_EQ(SigningAlgorithm(RsaA().public_pem).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JwtSignerTest, RefusesOtherAlgorithms) {
  for (const char* alg : {"none", "HS512", "RS512", "PS256", ""}) {
    SCOPED_TRACE(alg);
    EXPECT_EQ(SignToken(Claims(), alg, kSecret).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(JwtSignerTest, TokenCarriesTheClaims) {
  TokenClaims claims = Claims("service");
  claims.kid = "kid-1";
  const std::string token = Sign(claims, "HS256", kSecret);
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string header;
  std::string payload;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[0], &header));
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[1], &payload));
  EXPECT_THAT(header, HasSubstr("\"alg\":\"HS256\""));
  EXPECT_THAT(header, HasSubstr("\"kid\":\"kid-1\""));
  EXPECT_THAT(payload, HasSubstr(absl::StrCat("\"sub\":\"", kSubject, "\"")));
  EXPECT_THAT(payload, HasSubstr("\"role\":\"service\""));
  EXPECT_THAT(payload, HasSubstr(absl::StrCat(
                           "\"exp\":", absl::ToUnixSeconds(kT0) + 3600)));
  EXPECT_THAT(payload,
              HasSubstr(absl::StrCat("\"iat\":", absl::ToUnixSeconds(kT0))));
  // No role: the claim is left out.
  std::vector<std::string> plain = absl::StrSplit(Hs256(Claims()), '.');
  ASSERT_EQ(plain.size(), 3u);
  std::string plain_payload;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(plain[1], &plain_payload));
  EXPECT_THAT(plain_payload, Not(HasSubstr("role")));
}

// ---------------------------------------------------------------- JWKS parse

TEST(JwksTest, PemToJwkRoundTripsThroughParseJwks) {
  auto keys = ParseJwks(JwksOf({Jwk(RsaA(), "r1"), Jwk(EcA(), "e1")}));
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].kid, "r1");
  EXPECT_EQ((*keys)[0].alg, "RS256");
  EXPECT_EQ((*keys)[0].pem, RsaA().public_pem);
  EXPECT_EQ((*keys)[1].kid, "e1");
  EXPECT_EQ((*keys)[1].alg, "ES256");
  EXPECT_EQ((*keys)[1].pem, EcA().public_pem);
}

TEST(JwksTest, PemToJwkPublishesOnlyThePublicHalf) {
  auto from_private = PemToJwk(RsaA().private_pem, "k");
  auto from_public = PemToJwk(RsaA().public_pem, "k");
  ASSERT_TRUE(from_private.ok()) << from_private.status();
  ASSERT_TRUE(from_public.ok()) << from_public.status();
  // Same key either way (field order in the JSON may differ).
  auto keys = ParseJwks(JwksOf({*from_private, *from_public}));
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].pem, RsaA().public_pem);
  EXPECT_EQ((*keys)[1].pem, RsaA().public_pem);
  EXPECT_THAT(*from_private, HasSubstr("\"kty\":\"RSA\""));
  EXPECT_THAT(*from_private, HasSubstr("\"use\":\"sig\""));
  EXPECT_THAT(*from_private, Not(HasSubstr("\"d\"")));
  auto ec = PemToJwk(EcA().private_pem, "e");
  ASSERT_TRUE(ec.ok()) << ec.status();
  EXPECT_THAT(*ec, HasSubstr("\"crv\":\"P-256\""));
  EXPECT_THAT(*ec, Not(HasSubstr("\"d\"")));
  EXPECT_EQ(PemToJwk("junk", "k").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JwksTest, SkipsKeysThatAreNotOurs) {
  const std::string rsa = Jwk(RsaA(), "good");
  const std::string enc = absl::StrReplaceAll(
      Jwk(RsaB(), "enc"), {{"\"use\":\"sig\"", "\"use\":\"enc\""}});
  const std::string rs512 = absl::StrReplaceAll(
      Jwk(RsaB(), "rs512"), {{"\"alg\":\"RS256\"", "\"alg\":\"RS512\""}});
  ASSERT_THAT(enc, HasSubstr("\"use\":\"enc\""));
  ASSERT_THAT(rs512, HasSubstr("\"alg\":\"RS512\""));
  auto keys =
      ParseJwks(JwksOf({"{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}",
                        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}",
                        enc, rs512, rsa}));
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].kid, "good");

  auto none = ParseJwks(JwksOf({"{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}"}));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(none.status().message(), HasSubstr("no RS256 or ES256"));
}

TEST(JwksTest, RefusesMalformedSets) {
  for (const char* json :
       {"", "not json", "[]", "{}", "{\"keys\":{}}", "{\"keys\":[1]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"\",\"e\":\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":"
        "\"AA\"}]}",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":"
        "\"AAAA\"}]}"}) {
    SCOPED_TRACE(json);
    EXPECT_EQ(ParseJwks(json).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(JwksTest, RefusesShortRsaKeysAndPointsOffTheCurve) {
  const KeyPair weak = Generate(EVP_RSA_gen(1024));
  auto short_rsa = ParseJwks(JwksOf({Jwk(weak, "weak")}));
  EXPECT_EQ(short_rsa.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(short_rsa.status().message(), HasSubstr("2048"));
  EXPECT_THAT(short_rsa.status().message(), HasSubstr("weak"));

  const std::string x = B64(std::string(32, '\x01'));
  const std::string y = B64(std::string(32, '\x02'));
  auto off_curve = ParseJwks(
      JwksOf({absl::StrCat("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"", x,
                           "\",\"y\":\"", y, "\"}")}));
  EXPECT_EQ(off_curve.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace goodbuy::auth
