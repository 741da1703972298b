#include "server/auth/jwt_verifier.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <jwt.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "spdlog/spdlog.h"

namespace goodbuy::auth {
namespace {

using google::protobuf::Struct;

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(
      absl::StrCat("the bearer token is not valid: ", why));
}

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using Jwt = std::unique_ptr<jwt_t, JwtDeleter>;

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     absl::Time* mtime) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  *mtime = absl::TimeFromTimespec(st.st_mtim);
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Time ModTime(const std::string& path) {
  struct stat st {};
  if (path.empty() || stat(path.c_str(), &st) != 0) {
    return absl::InfinitePast();
  }
  return absl::TimeFromTimespec(st.st_mtim);
}

// The JOSE header, parsed without trusting it (no signature checked yet).
struct Header {
  std::string alg;
  std::string kid;
};

absl::StatusOr<Header> ParseHeader(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) {
    return Unauthenticated("it is not a signed JWT (header.payload.signature)");
  }
  std::string json;
  Struct header;
  if (!absl::WebSafeBase64Unescape(parts[0], &json) ||
      !google::protobuf::util::JsonStringToMessage(json, &header).ok()) {
    return Unauthenticated("its header is not base64url JSON");
  }
  Header out;
  auto field = [&header](const char* name) {
    auto it = header.fields().find(name);
    return it != header.fields().end() && it->second.has_string_value()
               ? it->second.string_value()
               : std::string();
  };
  out.alg = field("alg");
  out.kid = field("kid");
  return out;  // an empty signature fails libjwt's check
}

// A numeric date claim: absent, or seconds since the epoch.
absl::StatusOr<std::optional<absl::Time>> DateClaim(jwt_t* jwt,
                                                    const char* name) {
  char* json = jwt_get_grants_json(jwt, name);
  if (json == nullptr) return std::optional<absl::Time>();
  std::string text(json);
  free(json);
  double seconds = 0;
  // Within +-10^11 s (years -1200..5100) before the cast: a larger double
  // does not fit int64 (undefined behaviour, in practice the far past).
  if (!absl::SimpleAtod(text, &seconds) || !std::isfinite(seconds) ||
      std::fabs(seconds) > 1e11) {
    return Unauthenticated(
        absl::StrCat("its \"", name, "\" is not a date in seconds"));
  }
  return std::optional<absl::Time>(
      absl::FromUnixSeconds(static_cast<int64_t>(seconds)));
}

bool AudienceMatches(jwt_t* jwt, const std::string& audience) {
  if (const char* aud = jwt_get_grant(jwt, "aud"); aud != nullptr) {
    return audience == aud;
  }
  char* json = jwt_get_grants_json(jwt, "aud");
  if (json == nullptr) return false;
  google::protobuf::ListValue list;
  const bool parsed =
      google::protobuf::util::JsonStringToMessage(json, &list).ok();
  free(json);
  if (!parsed) return false;
  for (const auto& value : list.values()) {
    if (value.has_string_value() && value.string_value() == audience) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<absl::string_view> BearerToken(absl::string_view header) {
  header = absl::StripAsciiWhitespace(header);
  constexpr absl::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(header.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError(
        "the authorization metadata must be \"Bearer <token>\"");
  }
  return absl::StripAsciiWhitespace(header.substr(kScheme.size()));
}

absl::StatusOr<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(
    JwtOptions options) {
  if (options.hs256_secret_file.empty() && options.jwks_file.empty()) {
    return absl::InvalidArgumentError(
        "token verification needs a JWKS file or an HS256 secret file");
  }
  if (options.issuer.empty() || options.audience.empty()) {
    return absl::InvalidArgumentError(
        "the token issuer and audience are required");
  }
  std::unique_ptr<JwtVerifier> verifier(new JwtVerifier(std::move(options)));
  auto keys = verifier->Load();
  if (!keys.ok()) return keys.status();
  std::lock_guard<std::mutex> lock(verifier->mu_);
  verifier->keys_ = std::move(*keys);
  return verifier;
}

absl::StatusOr<std::shared_ptr<const JwtVerifier::Keys>> JwtVerifier::Load()
    const {
  auto keys = std::make_shared<Keys>();
  if (!options_.hs256_secret_file.empty()) {
    auto secret = ReadFile(options_.hs256_secret_file, &keys->secret_mtime);
    if (!secret.ok()) return secret.status();
    while (!secret->empty() &&
           (secret->back() == '\n' || secret->back() == '\r')) {
      secret->pop_back();
    }
    if (secret->size() < 32) {
      return absl::InvalidArgumentError(
          absl::StrCat(options_.hs256_secret_file,
                       ": an HS256 secret must be at least 32 bytes"));
    }
    keys->hs256_secret = std::move(*secret);
  }
  if (!options_.jwks_file.empty()) {
    auto json = ReadFile(options_.jwks_file, &keys->jwks_mtime);
    if (!json.ok()) return json.status();
    auto parsed = ParseJwks(*json);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(options_.jwks_file, ": ", parsed.status().message()));
    }
    keys->public_keys = std::move(*parsed);
  }
  return std::shared_ptr<const Keys>(std::move(keys));
}

absl::Status JwtVerifier::Reload() {
  auto keys = Load();
  if (!keys.ok()) {
    spdlog::error("token keys not reloaded (keeping the previous ones): {}",
                  std::string(keys.status().message()));
    return keys.status();
  }
  std::lock_guard<std::mutex> lock(mu_);
  keys_ = std::move(*keys);
  spdlog::info("token keys loaded ({} public keys{})",
               keys_->public_keys.size(),
               keys_->hs256_secret.empty() ? "" : ", an HS256 secret");
  return absl::OkStatus();
}

std::shared_ptr<const JwtVerifier::Keys> JwtVerifier::Current(absl::Time now) {
  std::shared_ptr<const Keys> keys;
  bool check = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keys = keys_;
    if (now >= next_check_) {
      next_check_ = now + options_.reload_check;
      check = true;
    }
  }
  if (check && (ModTime(options_.hs256_secret_file) != keys->secret_mtime ||
                ModTime(options_.jwks_file) != keys->jwks_mtime)) {
    if (Reload().ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      keys = keys_;
    }
  }
  return keys;
}

absl::StatusOr<Caller> JwtVerifier::Verify(absl::string_view token,
                                           absl::Time now) {
  if (token.size() > kMaxTokenBytes) {
    return Unauthenticated("it is longer than 8 KiB");
  }
  auto header = ParseHeader(token);
  if (!header.ok()) return header.status();
  const std::shared_ptr<const Keys> keys = Current(now);

  // The key decides the algorithm; the token only picks among ours.
  std::string key;
  jwt_alg_t alg = JWT_ALG_INVAL;
  if (header->alg == "HS256") {
    if (keys->hs256_secret.empty()) {
      return Unauthenticated("HS256 tokens are not accepted here");
    }
    key = keys->hs256_secret;
    alg = JWT_ALG_HS256;
  } else if (header->alg == "RS256" || header->alg == "ES256") {
    const PublicKey* match = nullptr;
    int candidates = 0;
    for (const auto& pk : keys->public_keys) {
      if (pk.alg != header->alg) continue;
      ++candidates;
      if (pk.kid == header->kid) match = &pk;
    }
    if (match == nullptr && header->kid.empty() && candidates == 1) {
      for (const auto& pk : keys->public_keys) {
        if (pk.alg == header->alg) match = &pk;
      }
    }
    if (match == nullptr) {
      return Unauthenticated(
          "it is signed with a key this server does not know");
    }
    key = match->pem;
    alg = header->alg == "RS256" ? JWT_ALG_RS256 : JWT_ALG_ES256;
  } else {
    return Unauthenticated(
        "its algorithm is not one of HS256, RS256 and ES256");
  }

  jwt_t* raw = nullptr;
  const std::string text(token);
  const int rc = jwt_decode(&raw, text.c_str(),
                            reinterpret_cast<const unsigned char*>(key.data()),
                            static_cast<int>(key.size()));
  Jwt jwt(raw);
  if (rc != 0 || !jwt || jwt_get_alg(jwt.get()) != alg) {
    return Unauthenticated("its signature does not verify");
  }

  auto exp = DateClaim(jwt.get(), "exp");
  if (!exp.ok()) return exp.status();
  if (!exp->has_value()) return Unauthenticated("it has no expiry (exp)");
  if (now > **exp + options_.leeway) return Unauthenticated("it has expired");
  auto nbf = DateClaim(jwt.get(), "nbf");
  if (!nbf.ok()) return nbf.status();
  if (nbf->has_value() && now + options_.leeway < **nbf) {
    return Unauthenticated("it is not valid yet (nbf)");
  }
  const char* iss = jwt_get_grant(jwt.get(), "iss");
  if (iss == nullptr || options_.issuer != iss) {
    return Unauthenticated("it was not issued by the expected issuer (iss)");
  }
  if (!AudienceMatches(jwt.get(), options_.audience)) {
    return Unauthenticated("it is not meant for this service (aud)");
  }
  const char* sub = jwt_get_grant(jwt.get(), "sub");
  if (sub == nullptr || *sub == '\0' || absl::string_view(sub).size() > 255) {
    return Unauthenticated("it names no subject (sub)");
  }
  Caller caller;
  caller.subject = sub;
  caller.authenticated_by = "jwt";
  if (const char* role = jwt_get_grant(jwt.get(), options_.role_claim.c_str());
      role != nullptr) {
    auto parsed = ParseCallerRole(role);
    if (!parsed.has_value()) {
      return Unauthenticated(
          "its role is not one of \"user\", \"service\" and \"admin\"");
    }
    caller.role = *parsed;
  } else if (char* other =
                 jwt_get_grants_json(jwt.get(), options_.role_claim.c_str());
             other != nullptr) {
    free(other);
    return Unauthenticated("its role claim is not a string");
  }
  return caller;
}

}  // namespace goodbuy::auth
