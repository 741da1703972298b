// Public keys for verifying JWT signatures, read from a JSON Web Key Set
// (RFC 7517) as the GoodBuy web app or an identity provider publishes it:
// RSA keys (kty "RSA", n, e) for RS256 and P-256 keys (kty "EC", crv
// "P-256", x, y) for ES256. Each key becomes a PEM public key (OpenSSL
// builds it from the JWK's numbers) that libjwt verifies with.
//
// Keys marked for another use ("use" other than "sig") or of other types
// are skipped; a set with no usable key, or a malformed one, is
// INVALID_ARGUMENT naming the problem. Pure functions; thread-safe.
#ifndef GOODBUY_SERVER_AUTH_JWKS_H_
#define GOODBUY_SERVER_AUTH_JWKS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace goodbuy::auth {

struct PublicKey {
  std::string kid;  // may be empty when the set has one key per algorithm
  std::string alg;  // "RS256" or "ES256"
  std::string pem;  // SubjectPublicKeyInfo, PEM
};

absl::StatusOr<std::vector<PublicKey>> ParseJwks(absl::string_view json);

// The JWKS entry for a PEM public key (RSA or P-256), for tools and tests
// that publish keys: {"kty":...,"kid":kid,"alg":...,"use":"sig",...}.
absl::StatusOr<std::string> PemToJwk(absl::string_view pem,
                                     absl::string_view kid);

}  // namespace goodbuy::auth

#endif  // GOODBUY_SERVER_AUTH_JWKS_H_
