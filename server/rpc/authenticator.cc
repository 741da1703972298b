#include "server/rpc/authenticator.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace goodbuy::rpc {
namespace {

std::string ToString(const grpc::string_ref& ref) {
  return std::string(ref.data(), ref.size());
}

}  // namespace

absl::StatusOr<Caller> Authenticator::Identify(
    const grpc::CallbackServerContext& context) const {
  const auto& metadata = context.client_metadata();
  const auto headers = metadata.equal_range("authorization");
  if (headers.first != headers.second) {
    if (std::next(headers.first) != headers.second) {
      return absl::UnauthenticatedError(
          "send one authorization metadata entry, not several");
    }
    if (verifier_ == nullptr) {
      return absl::UnauthenticatedError(
          "this server accepts client certificates only, not bearer tokens");
    }
    auto token = auth::BearerToken(absl::string_view(
        headers.first->second.data(), headers.first->second.size()));
    if (!token.ok()) return token.status();
    return verifier_->Verify(*token);
  }
  const auto auth_context = context.auth_context();
  if (auth_context != nullptr && auth_context->IsPeerAuthenticated()) {
    std::vector<grpc::string_ref> identity = auth_context->GetPeerIdentity();
    if (identity.empty()) {
      identity = auth_context->FindPropertyValues("x509_common_name");
    }
    if (!identity.empty()) {
      Caller caller;
      caller.role = CallerRole::kService;
      caller.subject = ToString(identity.front());
      caller.authenticated_by = "mtls";
      return caller;
    }
  }
  return absl::UnauthenticatedError(
      "this call needs a caller identity: send \"authorization: Bearer "
      "<token>\" metadata (or connect with a client certificate)");
}

absl::StatusOr<Caller> Authenticator::Authenticate(
    const grpc::CallbackServerContext& context) const {
  auto caller = Identify(context);
  // Operators (admin) are not throttled: load tests and incident work.
  if (!caller.ok() || limiter_ == nullptr ||
      caller->role == CallerRole::kAdmin) {
    return caller;
  }
  const std::string key = absl::StrCat(
      std::string(CallerRoleName(caller->role)), ":", caller->subject);
  if (auto status = limiter_->Acquire(key); !status.ok()) return status;
  return caller;
}

}  // namespace goodbuy::rpc
