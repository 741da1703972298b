#include "server/store/pg/migrate/pg_checks.h"

#include <algorithm>
#include <regex>

#include "absl/strings/str_cat.h"
#include "server/store/pg/migrate/sql_script.h"

namespace goodbuy::store::pg::migrate {
namespace {

// Every schema object the migrations create, one line each. Column order
// (attnum) is left out on purpose: ADD COLUMN after a rollback appends.
constexpr char kSchemaLines[] = R"sql(
WITH objects (line) AS (
  SELECT format('column %s.%s %s %s default %s', c.relname, a.attname,
                format_type(a.atttypid, a.atttypmod),
                CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END,
                coalesce(pg_get_expr(d.adbin, d.adrelid), '-'))
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
    AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('relation %s kind %s', c.relname, c.relkind)
  FROM pg_class c
  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  UNION ALL
  SELECT format('constraint %s on %s %s validated %s', conname, conrelid::regclass,
                pg_get_constraintdef(oid), convalidated)
  FROM pg_constraint
  WHERE connamespace = 'public'::regnamespace
  UNION ALL
  SELECT format('index %s valid %s', pg_get_indexdef(i.indexrelid), i.indisvalid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL
  SELECT format('view %s %s', c.relname, md5(pg_get_viewdef(c.oid)))
  FROM pg_class c
  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm')
  UNION ALL
  SELECT format('trigger %s', pg_get_triggerdef(t.oid))
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
  UNION ALL
  SELECT format('function %s(%s) %s', p.proname,
                pg_get_function_identity_arguments(p.oid), md5(p.prosrc))
  FROM pg_proc p
  WHERE p.pronamespace = 'public'::regnamespace
  UNION ALL
  SELECT format('type %s enum %s', t.typname,
                (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                 FROM pg_enum e WHERE e.enumtypid = t.oid))
  FROM pg_type t
  WHERE t.typnamespace = 'public'::regnamespace AND t.typtype = 'e'
)
SELECT line FROM objects
WHERE line NOT LIKE '%schema_migration%'
ORDER BY line COLLATE "C"
)sql";

std::string FirstLine(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace

SchemaFingerprint ReadSchema(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  SchemaFingerprint fingerprint;
  std::string joined;
  for (const auto& row : tx.exec(kSchemaLines)) {
    fingerprint.lines.emplace_back(row[0].c_str());
    joined += fingerprint.lines.back();
    joined += '\n';
  }
  fingerprint.md5 = tx.exec_params1("SELECT md5($1)", joined)[0].c_str();
  return fingerprint;
}

std::vector<std::string> SchemaDiff(const SchemaFingerprint& before,
                                    const SchemaFingerprint& after,
                                    size_t max) {
  std::vector<std::string> missing;
  std::vector<std::string> extra;
  std::set_difference(before.lines.begin(), before.lines.end(),
                      after.lines.begin(), after.lines.end(),
                      std::back_inserter(missing));
  std::set_difference(after.lines.begin(), after.lines.end(),
                      before.lines.begin(), before.lines.end(),
                      std::back_inserter(extra));
  std::vector<std::string> diff;
  for (const auto& line : missing) diff.push_back("missing: " + line);
  for (const auto& line : extra) diff.push_back("extra: " + line);
  if (diff.size() > max) {
    const size_t more = diff.size() - max;
    diff.resize(max);
    diff.push_back(absl::StrCat("… and ", more, " more"));
  }
  return diff;
}

std::vector<RuleResult> RunRules(pqxx::connection& conn,
                                 const std::vector<const Check*>& rules) {
  std::vector<RuleResult> results;
  for (const Check* rule : rules) {
    RuleResult result;
    result.rule = rule;
    try {
      pqxx::nontransaction tx(conn);
      pqxx::result r = tx.exec(rule->sql);
      if (r.empty() || r.columns() != 1 || r[0][0].is_null()) {
        result.error = "the rule must return one row with one count";
      } else {
        result.count = r[0][0].as<int64_t>();
      }
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& e) {
      result.error = FirstLine(e.what());
    }
    results.push_back(std::move(result));
  }
  return results;
}

std::map<std::string, std::string> ChooseKeyQueryParams(
    pqxx::connection& conn) {
  std::map<std::string, std::string> params = {{"user_id", "none"},
                                               {"business_id", "none"}};
  pqxx::nontransaction tx(conn);
  if (!tx.exec("SELECT to_regclass('businesses') IS NOT NULL AND "
               "to_regclass('health_metrics') IS NOT NULL")[0][0]
           .as<bool>()) {
    return params;
  }
  for (const char* sql :
       {"SELECT b.owner_id, b.id FROM businesses b WHERE EXISTS (SELECT 1 "
        "FROM health_metrics h WHERE h.business_id = b.id) ORDER BY b.id "
        "LIMIT 1",
        "SELECT owner_id, id FROM businesses ORDER BY id LIMIT 1"}) {
    pqxx::result r = tx.exec(sql);
    if (!r.empty()) {
      params["user_id"] = r[0][0].c_str();
      params["business_id"] = r[0][1].c_str();
      break;
    }
  }
  return params;
}

std::map<std::string, double> TimeKeyQueries(
    pqxx::connection& conn, const std::vector<const Check*>& queries,
    const std::map<std::string, std::string>& params, int runs) {
  static const std::regex kTime(
      R"re("(Planning|Execution) Time": ([0-9.]+))re");
  std::map<std::string, double> medians;
  pqxx::nontransaction tx(conn);
  for (const Check* query : queries) {
    const std::string explain =
        absl::StrCat("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ",
                     SubstituteVariables(query->sql, params));
    std::vector<double> samples;
    for (int run = 0; run <= runs; ++run) {
      const std::string plan = tx.exec(explain)[0][0].c_str();
      double ms = 0;
      for (std::sregex_iterator it(plan.begin(), plan.end(), kTime), end;
           it != end; ++it) {
        ms += std::stod((*it)[2]);
      }
      if (run > 0) samples.push_back(ms);  // run 0 warms the caches
    }
    std::sort(samples.begin(), samples.end());
    medians[query->name] = samples.empty() ? 0 : samples[samples.size() / 2];
  }
  return medians;
}

}  // namespace goodbuy::store::pg::migrate
