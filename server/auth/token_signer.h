// Signs JWTs the way the GoodBuy web app does, for development and tests:
// `analysis-server token` prints one for the quickstart's demo user, and the
// e2e tests mint valid, expired, foreign and forged ones. libjwt signs;
// HS256 takes the secret's bytes, RS256/ES256 a PEM private key.
#ifndef GOODBUY_SERVER_AUTH_TOKEN_SIGNER_H_
#define GOODBUY_SERVER_AUTH_TOKEN_SIGNER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace goodbuy::auth {

struct TokenClaims {
  std::string subject;
  std::string role;  // omitted when empty (the verifier then assumes "user")
  std::string issuer = "goodbuy-hq";
  std::string audience = "goodbuy-analysis";
  absl::Time issued_at = absl::Now();
  absl::Duration lifetime = absl::Hours(1);
  std::string kid;  // header "kid", when set
};

// "RS256" for an RSA private key, "ES256" for a P-256 one (PEM).
absl::StatusOr<std::string> SigningAlgorithm(const std::string& pem);

// alg: "HS256", "RS256" or "ES256".
absl::StatusOr<std::string> SignToken(const TokenClaims& claims,
                                      const std::string& alg,
                                      const std::string& key);

}  // namespace goodbuy::auth

#endif  // GOODBUY_SERVER_AUTH_TOKEN_SIGNER_H_
