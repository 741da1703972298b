// Who is calling: the identity the rpc layer authenticated (a verified JWT or
// a client certificate) and the role it acts in. The core layer decides what
// a caller may see and do from this alone; nothing below it trusts ids that
// arrive in request fields.
//
//   user     a GoodBuy user (`sub` = users.id): only their own businesses
//            and the sessions, usage and results of those businesses.
//   service  a backend service: acts for any user it names (CreateSession
//            user_id, ListSessions user_id, GetUsage user_id) and may read
//            and cancel any session.
//   admin    an operator: everything a service may, across all tenants.
//
// A plain value type; copy freely.
#ifndef GOODBUY_SERVER_COMMON_CALLER_H_
#define GOODBUY_SERVER_COMMON_CALLER_H_

#include <optional>
#include <string>
#include <string_view>

namespace goodbuy {

enum class CallerRole { kUser, kService, kAdmin };

struct Caller {
  CallerRole role = CallerRole::kUser;
  // users.id for kUser; a service or operator name otherwise (for logs).
  std::string subject;
  // How the identity was proven: "jwt" or "mtls" (for logs).
  std::string authenticated_by = "jwt";

  bool IsUser() const { return role == CallerRole::kUser; }
  // Service and admin callers act across tenants.
  bool SeesAllTenants() const { return role != CallerRole::kUser; }
  // True when the caller may see data owned by `user_id`.
  bool MaySee(std::string_view user_id) const {
    return SeesAllTenants() || user_id == subject;
  }
};

inline std::string_view CallerRoleName(CallerRole role) {
  switch (role) {
    case CallerRole::kUser:
      return "user";
    case CallerRole::kService:
      return "service";
    case CallerRole::kAdmin:
      return "admin";
  }
  return "user";
}

inline std::optional<CallerRole> ParseCallerRole(std::string_view name) {
  if (name == "user") return CallerRole::kUser;
  if (name == "service") return CallerRole::kService;
  if (name == "admin") return CallerRole::kAdmin;
  return std::nullopt;
}

}  // namespace goodbuy

#endif  // GOODBUY_SERVER_COMMON_CALLER_H_
