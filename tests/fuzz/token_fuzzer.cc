// libFuzzer target: bearer-token handling on arbitrary bytes, as an attacker
// controls them: the authorization header parser, the JWT verifier (HS256
// secret and a JWKS with an RSA and a P-256 key made at start-up, so every
// algorithm branch is reachable) and the JWKS parser itself. A token the fuzzer
// makes that verifies is a finding (it would need the secret), as is any crash
// or sanitizer report.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "server/auth/jwks.h"
#include "server/auth/jwt_verifier.h"

namespace {

// A PEM public key of a fresh key pair (the private half is dropped: no
// input can be signed with it).
std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

goodbuy::auth::JwtVerifier* Verifier() {
  static goodbuy::auth::JwtVerifier* verifier = [] {
    char dir[] = "/tmp/goodbuy-token-fuzz-XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    const std::string secret = std::string(dir) + "/secret";
    const std::string jwks = std::string(dir) + "/jwks.json";
    std::ofstream(secret) << "fuzzing-secret-fuzzing-secret-0123456789\n";
    auto rsa = goodbuy::auth::PemToJwk(PublicPem(EVP_RSA_gen(2048)), "rsa-1");
    auto ec = goodbuy::auth::PemToJwk(PublicPem(EVP_EC_gen("P-256")), "ec-1");
    if (!rsa.ok() || !ec.ok()) std::abort();
    std::ofstream(jwks) << "{\"keys\": [" << *rsa << ", " << *ec << "]}";
    goodbuy::auth::JwtOptions options;
    options.hs256_secret_file = secret;
    options.jwks_file = jwks;
    options.reload_check = absl::Hours(1);
    auto created = goodbuy::auth::JwtVerifier::Create(options);
    if (!created.ok()) std::abort();
    return created->release();
  }();
  return verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  auto token = goodbuy::auth::BearerToken(input);
  if (token.ok() && Verifier()->Verify(*token).ok()) __builtin_trap();
  if (Verifier()->Verify(input).ok()) __builtin_trap();
  (void)goodbuy::auth::ParseJwks(input);
  return 0;
}
