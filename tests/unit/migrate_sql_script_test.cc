// The migrator's reading of SQL files (sql_script.h) and of the locks each
// statement takes (lock_plan.h), without a database; and the repository's
// own sql/ folder, which must load with every label resolvable.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "server/store/pg/migrate/catalog.h"
#include "server/store/pg/migrate/lock_plan.h"
#include "server/store/pg/migrate/sql_script.h"
#include "tests/testing/test_env.h"

namespace goodbuy::store::pg::migrate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Texts(const std::vector<SqlStatement>& statements) {
  std::vector<std::string> texts;
  for (const auto& s : statements) texts.push_back(s.text);
  return texts;
}

TEST(SplitStatementsTest, SemicolonsInsideQuotesBodiesAndCommentsDoNotSplit) {
  auto statements = SplitStatements(R"sql(
SELECT 'a;b', "we;ird";
-- a comment; with a semicolon
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
DO $$ BEGIN PERFORM 1; END $$;
/* block; /* nested; */ still comment; */ SELECT E'it\'s;';
SELECT 1)sql");
  ASSERT_TRUE(statements.ok()) << statements.status();
  EXPECT_THAT(Texts(*statements),
              ElementsAre("SELECT 'a;b', \"we;ird\"",
                          "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS "
                          "$body$ SELECT 1; $body$",
                          "DO $$ BEGIN PERFORM 1; END $$", "SELECT E'it\\'s;'",
                          "SELECT 1"));
  EXPECT_EQ((*statements)[0].line, 2);
  EXPECT_EQ((*statements)[2].line, 5);
}

TEST(SplitStatementsTest, PsqlMetaCommandsAreSkippedAndLabelsAttach) {
  auto statements = SplitStatements(R"sql(\if :{?user_id}
\else
  \set user_id usr_demo_owner1
\endif
-- step: build the index
-- rule: every user has a subscription
-- needs: phase_2
SELECT count(*) FROM users;
-- query: user_by_id
SELECT 1 FROM users WHERE id = :'user_id';
)sql");
  ASSERT_TRUE(statements.ok()) << statements.status();
  ASSERT_EQ(statements->size(), 2u);
  EXPECT_EQ((*statements)[0].step, "build the index");
  EXPECT_EQ((*statements)[0].rule, "every user has a subscription");
  EXPECT_EQ((*statements)[0].needs, "phase_2");
  EXPECT_EQ((*statements)[1].query, "user_by_id");
  EXPECT_EQ((*statements)[1].step, "");
}

TEST(SplitStatementsTest, UnterminatedQuoteNamesItsLine) {
  auto statements = SplitStatements("SELECT 1;\nSELECT 'oops;\n");
  ASSERT_FALSE(statements.ok());
  EXPECT_THAT(statements.status().message(),
              HasSubstr("unterminated string starting on line 2"));
  EXPECT_FALSE(SplitStatements("DO $x$ BEGIN END $y$;").ok());
  EXPECT_FALSE(SplitStatements("/* never closed").ok());
}

TEST(GroupStepsTest, ConcurrentStatementsRunAloneOutsideATransaction) {
  auto statements = SplitStatements(R"sql(
CREATE TABLE a (id int);
CREATE TABLE b (id int);
CREATE INDEX CONCURRENTLY IF NOT EXISTS a_id ON a (id);
INSERT INTO a VALUES (1);
-- step: second
ALTER TABLE b ADD COLUMN x int;
)sql");
  ASSERT_TRUE(statements.ok());
  const auto steps = GroupSteps(*statements);
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_TRUE(steps[0].transactional);
  EXPECT_EQ(steps[0].statements.size(), 2u);
  EXPECT_FALSE(steps[1].transactional);
  EXPECT_EQ(steps[1].statements.size(), 1u);
  EXPECT_TRUE(steps[2].transactional);
  EXPECT_EQ(steps[3].title, "second");
}

TEST(RequiresNoTransactionTest, KnowsTheStatementsPostgresRefusesInABlock) {
  EXPECT_TRUE(
      RequiresNoTransaction("create unique index concurrently x on t (a)"));
  EXPECT_TRUE(RequiresNoTransaction("DROP INDEX CONCURRENTLY IF EXISTS x"));
  EXPECT_TRUE(RequiresNoTransaction("REINDEX INDEX CONCURRENTLY x"));
  EXPECT_FALSE(RequiresNoTransaction("CREATE INDEX x ON t (a)"));
  EXPECT_FALSE(RequiresNoTransaction(
      "REFRESH MATERIALIZED VIEW CONCURRENTLY subscription_analytics"));
}

TEST(SubstituteVariablesTest, QuotesLiteralsAndLeavesCastsStringsAlone) {
  const std::map<std::string, std::string> values = {{"user_id", "o'brien"},
                                                     {"users", "10000"}};
  EXPECT_EQ(SubstituteVariables(
                "SELECT :'user_id', :users, x::text, ':users', :other", values),
            "SELECT 'o''brien', 10000, x::text, ':users', :other");
}

TEST(LocksTakenTest, NamesModeAndTableForTheMigrationsStatementKinds) {
  auto one = [](const std::string& sql) {
    auto locks = LocksTaken(sql);
    std::vector<std::string> out;
    for (const auto& l : locks) out.push_back(l.mode + " " + l.relation);
    return out;
  };
  EXPECT_THAT(one("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email)"),
              ElementsAre("SHARE UPDATE EXCLUSIVE users"));
  EXPECT_THAT(one("CREATE UNIQUE INDEX i ON t (a)"), ElementsAre("SHARE t"));
  EXPECT_THAT(
      one("ALTER TABLE user_subscriptions ADD CONSTRAINT c FOREIGN KEY "
          "(user_id) REFERENCES users (id) ON DELETE CASCADE NOT VALID"),
      ElementsAre("SHARE ROW EXCLUSIVE user_subscriptions",
                  "SHARE ROW EXCLUSIVE users"));
  EXPECT_THAT(one("ALTER TABLE user_subscriptions VALIDATE CONSTRAINT c"),
              ElementsAre("SHARE UPDATE EXCLUSIVE user_subscriptions"));
  EXPECT_THAT(one("ALTER TABLE t ADD COLUMN IF NOT EXISTS x int"),
              ElementsAre("ACCESS EXCLUSIVE t"));
  EXPECT_THAT(
      one("CREATE TABLE IF NOT EXISTS e (id int REFERENCES businesses (id))"),
      ElementsAre("ACCESS EXCLUSIVE e", "SHARE ROW EXCLUSIVE businesses"));
  EXPECT_THAT(
      one("INSERT INTO user_subscriptions (user_id) SELECT u.id FROM "
          "users u WHERE NOT EXISTS (SELECT 1 FROM user_subscriptions "
          "us WHERE us.user_id = u.id)"),
      ElementsAre("ROW EXCLUSIVE user_subscriptions", "ACCESS SHARE users"));
  EXPECT_THAT(one("DROP TABLE IF EXISTS a, b CASCADE"),
              ElementsAre("ACCESS EXCLUSIVE a", "ACCESS EXCLUSIVE b"));
  EXPECT_THAT(one("SET LOCAL lock_timeout = 500"), ElementsAre());
  // Dropping a foreign key, or a table that has one, also locks the
  // referenced table; only the schema knows which.
  const ForeignKeys fks = {
      {"usage_metrics", {{"usage_metrics_user_id_fkey", "users"}}}};
  std::vector<std::string> drop_fk;
  for (const auto& l :
       LocksTaken("ALTER TABLE IF EXISTS usage_metrics DROP CONSTRAINT IF "
                  "EXISTS usage_metrics_user_id_fkey",
                  fks)) {
    drop_fk.push_back(l.mode + " " + l.relation);
  }
  EXPECT_THAT(drop_fk, ElementsAre("ACCESS EXCLUSIVE usage_metrics",
                                   "ACCESS EXCLUSIVE users"));
  EXPECT_EQ(
      LocksTaken("DROP TABLE IF EXISTS usage_metrics CASCADE", fks).size(), 2u);
  EXPECT_STREQ(BlockedTraffic("SHARE ROW EXCLUSIVE"), "writes");
  EXPECT_STREQ(BlockedTraffic("SHARE UPDATE EXCLUSIVE"), "nothing");
  EXPECT_STREQ(BlockedTraffic("ACCESS EXCLUSIVE"), "reads and writes");
}

// The repository's migrations load: every file parses, every rule and key
// query names a migration it needs, every phase has its rollback, and no
// statement that blocks writers on an existing table shares its step.
TEST(RepositorySqlTest, LoadsWithRollbacksAndResolvableLabels) {
  auto catalog = Catalog::Load(::goodbuy::testing::SqlDir());
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  ASSERT_GE(catalog->migrations().size(), 7u);
  EXPECT_EQ(catalog->migrations().front().name, "baseline");
  EXPECT_FALSE(catalog->migrations().front().down.has_value());
  for (size_t i = 1; i < catalog->migrations().size(); ++i) {
    EXPECT_TRUE(catalog->migrations()[i].down.has_value())
        << catalog->migrations()[i].label();
  }
  EXPECT_FALSE(catalog->pre_rules().empty());
  EXPECT_FALSE(catalog->post_rules().empty());
  EXPECT_GE(catalog->key_queries().size(), 4u);
  EXPECT_TRUE(catalog->LevelScript(2).ok());
  EXPECT_TRUE(catalog->LevelScript(3).ok());
  EXPECT_FALSE(catalog->LevelScript(4).ok());
  auto missing = catalog->Find("phase_9");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("phase_1, phase_2"));
  ASSERT_TRUE(catalog->Find("004").ok());
  EXPECT_EQ((*catalog->Find("004"))->name, "phase_3");

  // The brownfield tables: a lock that blocks their writers must be alone in
  // its step, so it is held for one short statement only.
  const std::set<std::string> brownfield = {
      "users", "businesses", "health_metrics", "forecast_results"};
  for (const auto& m : catalog->migrations()) {
    if (m.name == "baseline") continue;
    for (const auto& step : m.up.steps) {
      for (const auto& statement : step.statements) {
        for (const auto& lock : LocksTaken(statement.text)) {
          if (brownfield.count(lock.relation) &&
              std::string(BlockedTraffic(lock.mode)) != "nothing") {
            EXPECT_EQ(step.statements.size(), 1u)
                << m.label() << " step '" << step.title << "' holds "
                << lock.mode << " on " << lock.relation
                << " with other statements";
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace goodbuy::store::pg::migrate
