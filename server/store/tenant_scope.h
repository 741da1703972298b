// The tenant a thread's database work is done for, so the PostgreSQL store
// can hand it to row-level security (sql/009_tenancy.sql): the pool sets
// `goodbuy.scope` and `goodbuy.user_id` on the connection for every unit of
// work from this value, and the policies let the statements see only that
// tenant's rows.
//
// The default is kNone, which sees nothing: work that forgets to say whom it
// is for reads empty tables and writes nothing, instead of leaking. The
// service sets a scope with ScopedTenant around the store calls it makes for
// a caller (on the DB executor thread); background work (claims, leases,
// jobs, followers) runs as kSystem. Thread-local; header-only.
#ifndef GOODBUY_SERVER_STORE_TENANT_SCOPE_H_
#define GOODBUY_SERVER_STORE_TENANT_SCOPE_H_

#include <string>
#include <string_view>
#include <utility>

#include "server/common/caller.h"

namespace goodbuy::store {

struct TenantScope {
  enum class Kind { kNone, kUser, kService, kAdmin, kSystem };
  Kind kind = Kind::kNone;
  std::string user_id;  // kUser only

  static TenantScope None() { return {}; }
  static TenantScope System() { return {Kind::kSystem, ""}; }
  static TenantScope User(std::string id) {
    return {Kind::kUser, std::move(id)};
  }
  static TenantScope For(const Caller& caller) {
    switch (caller.role) {
      case CallerRole::kUser:
        return User(caller.subject);
      case CallerRole::kService:
        return {Kind::kService, ""};
      case CallerRole::kAdmin:
        return {Kind::kAdmin, ""};
    }
    return None();
  }

  // The value of the `goodbuy.scope` setting ("" for kNone).
  std::string_view Name() const {
    switch (kind) {
      case Kind::kNone:
        return "";
      case Kind::kUser:
        return "user";
      case Kind::kService:
        return "service";
      case Kind::kAdmin:
        return "admin";
      case Kind::kSystem:
        return "system";
    }
    return "";
  }
  // Service, admin and system work see every tenant's rows alike.
  bool SeesAll() const {
    return kind == Kind::kService || kind == Kind::kAdmin ||
           kind == Kind::kSystem;
  }
  // True when the policies let both scopes see the same rows, so a
  // connection set up for one can serve the other as it is.
  bool SeesSameRowsAs(const TenantScope& other) const {
    return *this == other || (SeesAll() && other.SeesAll());
  }
  bool operator==(const TenantScope& other) const {
    return kind == other.kind && user_id == other.user_id;
  }
  bool operator!=(const TenantScope& other) const { return !(*this == other); }
};

inline thread_local TenantScope current_tenant_scope;

inline const TenantScope& CurrentTenantScope() { return current_tenant_scope; }

class ScopedTenant {
 public:
  explicit ScopedTenant(TenantScope scope)
      : previous_(std::move(current_tenant_scope)) {
    current_tenant_scope = std::move(scope);
  }
  ~ScopedTenant() { current_tenant_scope = std::move(previous_); }
  ScopedTenant(const ScopedTenant&) = delete;
  ScopedTenant& operator=(const ScopedTenant&) = delete;

 private:
  TenantScope previous_;
};

}  // namespace goodbuy::store

#endif  // GOODBUY_SERVER_STORE_TENANT_SCOPE_H_
