#include "server/auth/token_signer.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"

namespace goodbuy::auth {

absl::StatusOr<std::string> SigningAlgorithm(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key =
      bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (key == nullptr)
    return absl::InvalidArgumentError("not a PEM private key");
  const bool rsa = EVP_PKEY_is_a(key, "RSA");
  const bool ec = EVP_PKEY_is_a(key, "EC");
  EVP_PKEY_free(key);
  if (rsa) return std::string("RS256");
  if (ec) return std::string("ES256");
  return absl::InvalidArgumentError("only RSA and P-256 keys sign tokens");
}

absl::StatusOr<std::string> SignToken(const TokenClaims& claims,
                                      const std::string& alg,
                                      const std::string& key) {
  const jwt_alg_t algorithm = jwt_str_alg(alg.c_str());
  if (algorithm != JWT_ALG_HS256 && algorithm != JWT_ALG_RS256 &&
      algorithm != JWT_ALG_ES256) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot sign with '", alg, "': HS256, RS256 or ES256"));
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::InternalError("jwt_new failed");
  std::unique_ptr<jwt_t, void (*)(jwt_t*)> jwt(raw, jwt_free);
  const int64_t iat = absl::ToUnixSeconds(claims.issued_at);
  int rc = jwt_add_grant(jwt.get(), "sub", claims.subject.c_str());
  rc |= jwt_add_grant(jwt.get(), "iss", claims.issuer.c_str());
  rc |= jwt_add_grant(jwt.get(), "aud", claims.audience.c_str());
  rc |= jwt_add_grant_int(jwt.get(), "iat", iat);
  rc |= jwt_add_grant_int(jwt.get(), "exp",
                          iat + absl::ToInt64Seconds(claims.lifetime));
  if (!claims.role.empty()) {
    rc |= jwt_add_grant(jwt.get(), "role", claims.role.c_str());
  }
  if (!claims.kid.empty()) {
    rc |= jwt_add_header(jwt.get(), "kid", claims.kid.c_str());
  }
  if (rc != 0)
    return absl::InvalidArgumentError("cannot set the token's claims");
  if (jwt_set_alg(jwt.get(), algorithm,
                  reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) != 0) {
    return absl::InvalidArgumentError(
        "the signing key does not fit the algorithm");
  }
  char* token = jwt_encode_str(jwt.get());
  if (token == nullptr) {
    return absl::InvalidArgumentError("cannot sign the token with this key");
  }
  std::string out(token);
  free(token);
  return out;
}

}  // namespace goodbuy::auth
