// Row-level security (sql/009_tenancy.sql) against a real PostgreSQL: as the
// server's role, a statement without a tenant setting sees nothing; a user's
// scope sees that user's rows only and cannot write another's; the system
// scope sees all. And the store under the pool's role keeps a user inside
// their tenant even when the caller (a buggy service layer) asks for more,
// also on one connection that serves every scope in turn.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "server/common/time_util.h"
#include "server/store/pg/pg_business_store.h"
#include "server/store/pg/pg_pool.h"
#include "server/store/pg/pg_session_store.h"
#include "server/store/tenant_scope.h"
#include "tests/testing/test_env.h"

namespace goodbuy::store::pg {
namespace {

using ::goodbuy::testing::ExecSql;
using ::goodbuy::testing::QueryValue;
using ::goodbuy::testing::ScratchDatabase;

constexpr char kOwner1[] = "usr_demo_owner1";  // biz_demo_cafe
constexpr char kOwner2[] = "usr_demo_owner2";  // biz_demo_retail

class TenancyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_.MigrateAndLoadDemo();
    ASSERT_FALSE(HasFatalFailure());
    // Two sessions each, with events, as the owner of the tables would.
    ExecSql(db_.url(), R"sql(
      INSERT INTO ai_analysis_sessions (id, user_id, business_id, session_type,
        status, progress_percentage, created_at, updated_at)
      VALUES ('s-1a', 'usr_demo_owner1', 'biz_demo_cafe', 'health_analysis',
              'pending', 0, now(), now()),
             ('s-1b', 'usr_demo_owner1', 'biz_demo_cafe', 'forecast',
              'pending', 0, now(), now()),
             ('s-2a', 'usr_demo_owner2', 'biz_demo_retail', 'health_analysis',
              'pending', 0, now(), now()),
             ('s-2b', 'usr_demo_owner2', 'biz_demo_retail', 'valuation',
              'pending', 0, now(), now());
      INSERT INTO session_events (session_id, sequence, kind, status,
        progress_percentage, stage, event, created_at)
      SELECT id, 1, 'progress', 'pending', 0, 'queued', ''::bytea, now()
      FROM ai_analysis_sessions;
    )sql");
  }

  // One connection as the server's role, with the settings given (empty
  // scope: none set at all).
  std::string AsServer(const std::string& scope, const std::string& user,
                       const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction tx(conn);
    tx.exec("SET ROLE goodbuy_server");
    if (!scope.empty()) {
      tx.exec("SELECT set_config('goodbuy.scope', " + tx.quote(scope) +
              ", false), set_config('goodbuy.user_id', " + tx.quote(user) +
              ", false)");
    }
    return tx.exec1(sql)[0].as<std::string>("");
  }

  std::unique_ptr<PgSessionStore> Store(int connections = 2) {
    PgPoolOptions options;
    options.url = db_.url();
    options.size = connections;
    options.role = "goodbuy_server";
    pools_.push_back(std::make_unique<PgPool>(options));
    return std::make_unique<PgSessionStore>(pools_.back().get());
  }

  ScratchDatabase db_;
  std::vector<std::unique_ptr<PgPool>> pools_;
};

TEST_F(TenancyTest, WithoutATenantSettingTheServerRoleSeesNothing) {
  // The owner sees everything: nothing changed for the web app.
  EXPECT_EQ(QueryValue(db_.url(), "SELECT count(*) FROM ai_analysis_sessions"),
            "4");
  for (const char* table :
       {"ai_analysis_sessions", "session_events", "businesses", "users",
        "health_metrics", "user_subscriptions", "business_financial_periods"}) {
    SCOPED_TRACE(table);
    EXPECT_NE(
        QueryValue(db_.url(), std::string("SELECT count(*) FROM ") + table),
        "0");
    EXPECT_EQ(AsServer("", "", std::string("SELECT count(*) FROM ") + table),
              "0");
    // An unknown scope is no scope.
    EXPECT_EQ(
        AsServer("root", kOwner1, std::string("SELECT count(*) FROM ") + table),
        "0");
    // A user scope without a user id is none either.
    EXPECT_EQ(
        AsServer("user", "", std::string("SELECT count(*) FROM ") + table),
        "0");
  }
  // The plans stay public.
  EXPECT_EQ(AsServer("", "", "SELECT count(*) FROM subscription_plans"), "3");
}

TEST_F(TenancyTest, AUserScopeSeesOnlyThatTenant) {
  EXPECT_EQ(AsServer("user", kOwner1,
                     "SELECT string_agg(id, ',' ORDER BY id) FROM "
                     "ai_analysis_sessions"),
            "s-1a,s-1b");
  EXPECT_EQ(AsServer("user", kOwner1,
                     "SELECT string_agg(DISTINCT session_id, ',') FROM "
                     "session_events"),
            "s-1a,s-1b");
  EXPECT_EQ(
      AsServer("user", kOwner1, "SELECT string_agg(id, ',') FROM businesses"),
      "biz_demo_cafe");
  EXPECT_EQ(AsServer("user", kOwner1,
                     "SELECT count(DISTINCT business_id) FROM health_metrics"),
            "1");
  EXPECT_EQ(AsServer("user", kOwner1, "SELECT string_agg(id, ',') FROM users"),
            kOwner1);
  // Another tenant's row by id: not there.
  EXPECT_EQ(AsServer("user", kOwner1,
                     "SELECT count(*) FROM ai_analysis_sessions WHERE id = "
                     "'s-2a'"),
            "0");
  // Every tenant for the system, services and admins.
  for (const char* scope : {"system", "service", "admin"}) {
    EXPECT_EQ(AsServer(scope, "", "SELECT count(*) FROM ai_analysis_sessions"),
              "4")
        << scope;
  }
}

TEST_F(TenancyTest, AUserScopeCannotWriteAnotherTenantsRows) {
  pqxx::connection conn(db_.url());
  pqxx::nontransaction tx(conn);
  tx.exec("SET ROLE goodbuy_server");
  tx.exec(
      "SELECT set_config('goodbuy.scope', 'user', false), "
      "set_config('goodbuy.user_id', 'usr_demo_owner1', false)");
  // Inserting a session billed to owner 2 on owner 2's business.
  EXPECT_THROW(tx.exec("INSERT INTO ai_analysis_sessions (user_id, "
                       "business_id, session_type, status) VALUES "
                       "('usr_demo_owner2', 'biz_demo_retail', 'forecast', "
                       "'pending')"),
               pqxx::sql_error);
  // Updating or deleting theirs touches nothing.
  EXPECT_EQ(tx.exec("UPDATE ai_analysis_sessions SET cancel_requested = true "
                    "WHERE id = 's-2a'")
                .affected_rows(),
            0u);
  EXPECT_EQ(tx.exec("DELETE FROM session_events WHERE session_id = 's-2b'")
                .affected_rows(),
            0u);
  // Moving one's own session to another tenant is refused too.
  EXPECT_THROW(tx.exec("UPDATE ai_analysis_sessions SET user_id = "
                       "'usr_demo_owner2', business_id = 'biz_demo_retail' "
                       "WHERE id = 's-1a'"),
               pqxx::sql_error);
  EXPECT_EQ(QueryValue(db_.url(),
                       "SELECT count(*) FROM ai_analysis_sessions WHERE "
                       "cancel_requested"),
            "0");
  EXPECT_EQ(QueryValue(db_.url(), "SELECT count(*) FROM session_events"), "4");
}

TEST_F(TenancyTest, TheStoreKeepsAUserInTheirTenantWhateverItIsAsked) {
  auto store = Store();
  {
    // No scope at all (a code path that forgot to say whom it works for).
    auto page = store->ListSessions(SessionFilter{}, 50, std::nullopt);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_TRUE(page->sessions.empty());
    EXPECT_EQ(store->GetSession("s-1a").status().code(),
              absl::StatusCode::kNotFound);
  }
  {
    // A user scope, and a filter that asks for everything.
    ScopedTenant tenant(TenantScope::User(kOwner1));
    auto page = store->ListSessions(SessionFilter{}, 50, std::nullopt);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_EQ(page->sessions.size(), 2u);
    for (const auto& s : page->sessions) EXPECT_EQ(s.user_id(), kOwner1);
    SessionFilter theirs;
    theirs.user_id = kOwner2;
    page = store->ListSessions(theirs, 50, std::nullopt);
    ASSERT_TRUE(page.ok());
    EXPECT_TRUE(page->sessions.empty());
    EXPECT_EQ(store->GetSession("s-2a").status().code(),
              absl::StatusCode::kNotFound);
    auto events = store->ListEventsAfter({{"s-2a", 0}, {"s-1a", 0}});
    ASSERT_TRUE(events.ok()) << events.status();
    EXPECT_EQ(events->size(), 1u);  // s-1a's only
  }
  {
    ScopedTenant tenant(TenantScope::User(kOwner2));
    PgBusinessStore businesses(pools_.back().get());
    EXPECT_EQ(businesses.GetBusiness("biz_demo_cafe").status().code(),
              absl::StatusCode::kNotFound);
    EXPECT_TRUE(businesses.GetBusiness("biz_demo_retail").ok());
  }
  {
    ScopedTenant tenant(TenantScope::System());
    auto page = store->ListSessions(SessionFilter{}, 50, std::nullopt);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->sessions.size(), 4u);
  }
}

// The pool skips the settings round trip between scopes that see the same
// rows (system, admin, service); one connection serving them in turn, and
// users in between, must still give each scope exactly its rows.
TEST_F(TenancyTest, OneConnectionServingScopesInTurnGivesEachItsOwnRows) {
  auto store = Store(/*connections=*/1);
  auto visible = [&](TenantScope scope) -> size_t {
    ScopedTenant tenant(std::move(scope));
    auto page = store->ListSessions(SessionFilter{}, 50, std::nullopt);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->sessions.size() : 0;
  };
  const TenantScope admin{TenantScope::Kind::kAdmin, ""};
  const TenantScope service{TenantScope::Kind::kService, ""};
  EXPECT_EQ(visible(TenantScope::System()), 4u);
  EXPECT_EQ(visible(admin), 4u);
  EXPECT_EQ(visible(TenantScope::User(kOwner2)), 2u);
  EXPECT_EQ(visible(service), 4u);
  EXPECT_EQ(visible(TenantScope::User(kOwner1)), 2u);
  EXPECT_EQ(visible(TenantScope::User(kOwner2)), 2u);
  EXPECT_EQ(visible(TenantScope::None()), 0u);
  EXPECT_EQ(visible(TenantScope::System()), 4u);

  ScopedTenant owner1(TenantScope::User(kOwner1));
  EXPECT_EQ(store->GetSession("s-2a").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(store->GetSession("s-1a").ok());
}

}  // namespace
}  // namespace goodbuy::store::pg
