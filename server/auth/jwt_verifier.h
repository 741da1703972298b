// Verifies the bearer tokens callers send in the `authorization` metadata
// and turns them into a Caller. Signatures are checked by libjwt against an
// HS256 secret (development) and/or the RS256/ES256 keys of a JWKS file;
// the claims are checked here:
//
//   header  alg  HS256, RS256 or ES256, and the key's own algorithm ("none"
//                and everything else are refused before any parsing)
//           kid  picks the JWKS key (optional when one key has that alg)
//   claims  sub  the GoodBuy users.id (required)
//           exp  required; nbf optional; both with `leeway`
//           iss  must equal `issuer`
//           aud  must be, or contain, `audience`
//           role "user" (default), "service" or "admin" (`role_claim`)
//
// Key files are re-read by Reload() (SIGHUP) and whenever their
// modification time changes (checked at most every `reload_check`), so keys
// rotate without a restart; a file that no longer parses keeps the previous
// keys and logs why. Thread-safe: Verify() may run on any number of threads.
// Errors: UNAUTHENTICATED with a short human reason that never repeats the
// token or its claims.
#ifndef GOODBUY_SERVER_AUTH_JWT_VERIFIER_H_
#define GOODBUY_SERVER_AUTH_JWT_VERIFIER_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/auth/jwks.h"
#include "server/common/caller.h"

namespace goodbuy::auth {

struct JwtOptions {
  std::string issuer = "goodbuy-hq";
  std::string audience = "goodbuy-analysis";
  absl::Duration leeway = absl::Seconds(30);
  // At least one of the two.
  std::string hs256_secret_file;  // the secret's bytes (>= 32), newline trimmed
  std::string jwks_file;          // a JSON Web Key Set
  std::string role_claim = "role";
  absl::Duration reload_check = absl::Seconds(2);
};

// Longest token accepted; longer ones are refused unparsed.
inline constexpr size_t kMaxTokenBytes = 8192;

class JwtVerifier {
 public:
  // Reads the key files; INVALID_ARGUMENT / NOT_FOUND naming the file.
  static absl::StatusOr<std::unique_ptr<JwtVerifier>> Create(
      JwtOptions options);

  // The caller a token proves, at `now`.
  absl::StatusOr<Caller> Verify(absl::string_view token,
                                absl::Time now = absl::Now());
  // Re-reads the key files now; on error keeps the current keys.
  absl::Status Reload();

  const JwtOptions& options() const { return options_; }

 private:
  struct Keys {
    std::string hs256_secret;
    std::vector<PublicKey> public_keys;
    absl::Time secret_mtime = absl::InfinitePast();
    absl::Time jwks_mtime = absl::InfinitePast();
  };
  explicit JwtVerifier(JwtOptions options) : options_(std::move(options)) {}
  absl::StatusOr<std::shared_ptr<const Keys>> Load() const;
  std::shared_ptr<const Keys> Current(absl::Time now);

  const JwtOptions options_;
  std::mutex mu_;
  std::shared_ptr<const Keys> keys_ ABSL_GUARDED_BY(mu_);
  absl::Time next_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// The token in an `authorization` metadata value ("Bearer <token>", scheme
// case-insensitive), or UNAUTHENTICATED.
absl::StatusOr<absl::string_view> BearerToken(absl::string_view header);

}  // namespace goodbuy::auth

#endif  // GOODBUY_SERVER_AUTH_JWT_VERIFIER_H_
