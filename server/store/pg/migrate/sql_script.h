// Reads the SQL files in sql/ the way the migrator runs them: statements,
// the comment labels above them, and the steps they group into. Pure text
// work (no database), so `plan` and the tests can use it offline.
//
// The format is plain SQL that psql also runs unchanged:
//   * statements end at a top-level `;` ('…' strings, "…" identifiers,
//     $tag$…$tag$ bodies and comments are understood);
//   * lines starting with `\` are psql meta-commands and are skipped;
//   * comment labels above a statement: `-- step: <title>` starts a new step,
//     `-- rule: <text>` / `-- query: <name>` name a validation rule or key
//     query, `-- needs: <migration>` names the migration it requires;
//   * a step runs in one transaction, except a statement that PostgreSQL
//     refuses inside one (… CONCURRENTLY, VACUUM), which always runs alone.
#ifndef GOODBUY_SERVER_STORE_PG_MIGRATE_SQL_SCRIPT_H_
#define GOODBUY_SERVER_STORE_PG_MIGRATE_SQL_SCRIPT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace goodbuy::store::pg::migrate {

struct SqlStatement {
  std::string text;   // without the trailing `;`, trimmed
  int line = 0;       // 1-based line of its first character
  std::string step;   // title of a `-- step:` label right above, if any
  std::string rule;   // `-- rule:` text, if any
  std::string query;  // `-- query:` name, if any
  std::string needs;  // `-- needs:` migration name, if any
};

struct SqlStep {
  std::string title;  // from `-- step:`, or "step N"
  bool transactional = true;
  std::vector<SqlStatement> statements;
};

// Splits `sql` into statements. INVALID_ARGUMENT names the line of an
// unterminated string, identifier, comment or dollar-quoted body.
absl::StatusOr<std::vector<SqlStatement>> SplitStatements(
    const std::string& sql);

// Groups statements into steps (see the file comment).
std::vector<SqlStep> GroupSteps(const std::vector<SqlStatement>& statements);

// True for statements PostgreSQL cannot run inside a transaction block.
bool RequiresNoTransaction(const std::string& statement);

// Replaces psql variables outside strings and comments: `:'name'` by `value`
// quoted as a SQL literal, `:name` by `value` as is. Unknown names and `::`
// casts are left alone.
std::string SubstituteVariables(
    const std::string& sql, const std::map<std::string, std::string>& values);

// One line for logs and plans: whitespace collapsed, cut at `max` chars.
std::string Summarize(const std::string& statement, size_t max = 100);

}  // namespace goodbuy::store::pg::migrate

#endif  // GOODBUY_SERVER_STORE_PG_MIGRATE_SQL_SCRIPT_H_
