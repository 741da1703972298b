#include "tests/testing/brownfield.h"

#include <unistd.h>

#include <cctype>
#include <fstream>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <sstream>
#include <stdexcept>

#include "tests/testing/test_env.h"

namespace goodbuy::testing {
namespace {

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// Replaces each `:name` whose name is a key of `values` — not part of a
// `::` cast, and not just the start of a longer identifier.
std::string SubstituteVariables(const std::string& text,
                                const std::map<std::string, int>& values) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const bool candidate = c == ':' && (i == 0 || text[i - 1] != ':') &&
                           i + 1 < text.size() && text[i + 1] != ':';
    if (candidate) {
      size_t end = i + 1;
      while (end < text.size() && IsIdentifierChar(text[end])) ++end;
      auto it = values.find(text.substr(i + 1, end - i - 1));
      if (it != values.end()) {
        out += std::to_string(it->second);
        i = end;
        continue;
      }
    }
    out += c;
    ++i;
  }
  return out;
}

std::string PgDumpBinary() {
  const char* kVersioned = "/usr/lib/postgresql/15/bin/pg_dump";
  return access(kVersioned, X_OK) == 0 ? kVersioned : "pg_dump";
}

}  // namespace

std::string BrownfieldSql(int users, int businesses, int health_per_business,
                          int forecasts_per_business) {
  const std::string path = SourceDir() + "/tests/data/brownfield.sql";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string kept;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '\\') continue;  // psql meta-command
    kept += line;
    kept += '\n';
  }
  return SubstituteVariables(
      kept, {{"users", users},
             {"businesses", businesses},
             {"health_per_business", health_per_business},
             {"forecasts_per_business", forecasts_per_business}});
}

void LoadBrownfield(const std::string& url, int users, int businesses,
                    int health_per_business, int forecasts_per_business) {
  ExecSql(url, BrownfieldSql(users, businesses, health_per_business,
                             forecasts_per_business));
}

std::map<std::string, std::string> TableChecksums(
    const std::string& url, const std::vector<std::string>& tables) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  std::map<std::string, std::string> sums;
  for (const auto& table : tables) {
    if (tx.exec_params1("SELECT to_regclass($1) IS NULL", table)[0]
            .as<bool>()) {
      sums[table] = "(missing)";
      continue;
    }
    const std::string name = tx.quote_name(table);
    pqxx::row row = tx.exec1(
        "SELECT count(*) || ' rows, md5 ' || "
        "md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
        "FROM " +
        name + " t");
    sums[table] = row[0].c_str();
  }
  return sums;
}

std::string SchemaDump(const std::string& url) {
  std::string output;
  const int rc = RunCommand({PgDumpBinary(), "--schema-only", "--no-owner",
                             "--no-privileges", "--dbname=" + url},
                            &output, 120);
  if (rc != 0) {
    throw std::runtime_error("pg_dump failed (exit " + std::to_string(rc) +
                             "): " + output);
  }
  std::istringstream lines(output);
  std::string kept;
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line.rfind("--", 0) == 0 || line[0] == '\\') continue;
    kept += line;
    kept += '\n';
  }
  return kept;
}

}  // namespace goodbuy::testing
