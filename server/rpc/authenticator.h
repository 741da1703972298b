// Who is calling an AnalysisService RPC. In order:
//   1. a bearer token in the `authorization` metadata, verified by the
//      JwtVerifier (the token wins over a certificate, so a service that
//      relays a user's call acts as that user);
//   2. a client certificate the TLS listener verified against
//      --tls_client_ca (mTLS): the caller is a `service` named by the
//      certificate's identity (subject alternative name or common name);
//   3. nothing: UNAUTHENTICATED.
// Then the request rate of user and service callers is checked
// (RESOURCE_EXHAUSTED with RetryInfo); admins are not throttled. Health and
// reflection do not pass through here. Thread-safe.
#ifndef GOODBUY_SERVER_RPC_AUTHENTICATOR_H_
#define GOODBUY_SERVER_RPC_AUTHENTICATOR_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "server/auth/jwt_verifier.h"
#include "server/common/caller.h"
#include "server/core/rate_limiter.h"

namespace goodbuy::rpc {

class Authenticator {
 public:
  // `verifier` may be null (certificates only); `limiter` may be null.
  Authenticator(auth::JwtVerifier* verifier, core::RateLimiter* limiter)
      : verifier_(verifier), limiter_(limiter) {}

  absl::StatusOr<Caller> Authenticate(
      const grpc::CallbackServerContext& context) const;

 private:
  absl::StatusOr<Caller> Identify(
      const grpc::CallbackServerContext& context) const;

  auth::JwtVerifier* const verifier_;
  core::RateLimiter* const limiter_;
};

}  // namespace goodbuy::rpc

#endif  // GOODBUY_SERVER_RPC_AUTHENTICATOR_H_
