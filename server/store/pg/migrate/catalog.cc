#include "server/store/pg/migrate/catalog.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace goodbuy::store::pg::migrate {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::vector<Check>> LoadChecks(const std::string& path,
                                              bool queries) {
  auto script = LoadScript(path);
  if (!script.ok()) return script.status();
  std::vector<Check> checks;
  for (const auto& step : script->steps) {
    for (const auto& statement : step.statements) {
      const std::string& name = queries ? statement.query : statement.rule;
      if (name.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            path, " line ", statement.line, ": a statement without a `-- ",
            queries ? "query" : "rule", ":` label"));
      }
      // A key query is named by its label's first word; the rest (e.g.
      // "(index idx_…)") is for readers.
      checks.push_back({queries ? name.substr(0, name.find(' ')) : name,
                        statement.needs, statement.text});
    }
  }
  return checks;
}

}  // namespace

absl::StatusOr<Script> LoadScript(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  Script script{path, buffer.str(), {}};
  auto statements = SplitStatements(script.text);
  if (!statements.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": ", statements.status().message()));
  }
  script.steps = GroupSteps(*statements);
  return script;
}

absl::StatusOr<Catalog> Catalog::Load(const std::string& sql_dir) {
  std::error_code ec;
  if (!fs::is_directory(sql_dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat("migrations folder '", sql_dir, "' does not exist"));
  }
  Catalog catalog;
  catalog.dir_ = sql_dir;
  static const std::regex kName(R"(^(\d{3})_([a-z0-9_]+)\.sql$)");
  for (const auto& entry : fs::directory_iterator(sql_dir, ec)) {
    const std::string filename = entry.path().filename().string();
    std::smatch m;
    if (!entry.is_regular_file() || !std::regex_match(filename, m, kName)) {
      continue;
    }
    auto up = LoadScript(entry.path().string());
    if (!up.ok()) return up.status();
    Migration migration{m[1], m[2], std::move(*up), std::nullopt};
    const std::string down_path =
        absl::StrCat(sql_dir, "/rollback_", migration.name, ".sql");
    if (fs::exists(down_path, ec)) {
      auto down = LoadScript(down_path);
      if (!down.ok()) return down.status();
      migration.down = std::move(*down);
    }
    catalog.migrations_.push_back(std::move(migration));
  }
  auto& all = catalog.migrations_;
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.version < b.version; });
  for (size_t i = 1; i < all.size(); ++i) {
    if (all[i].version == all[i - 1].version ||
        all[i].name == all[i - 1].name) {
      return absl::FailedPreconditionError(
          absl::StrCat("migrations ", all[i - 1].label(), " and ",
                       all[i].label(), " share a version or a name"));
    }
  }

  struct Source {
    const char* file;
    bool queries;
    std::vector<Check>* into;
  } sources[] = {
      {"validation/pre_migration.sql", false, &catalog.pre_rules_},
      {"validation/post_migration.sql", false, &catalog.post_rules_},
      {"key_queries.sql", true, &catalog.key_queries_},
  };
  for (const Source& source : sources) {
    const std::string path = absl::StrCat(sql_dir, "/", source.file);
    if (!fs::exists(path, ec)) continue;
    auto checks = LoadChecks(path, source.queries);
    if (!checks.ok()) return checks.status();
    for (const Check& check : *checks) {
      if (catalog.IndexOf(check.needs) < 0) {
        return absl::FailedPreconditionError(
            absl::StrCat(path, ": '", check.name, "' needs '", check.needs,
                         "', which is not a migration"));
      }
    }
    *source.into = std::move(*checks);
  }
  return catalog;
}

absl::StatusOr<const Migration*> Catalog::Find(
    const std::string& target) const {
  for (const auto& migration : migrations_) {
    if (migration.name == target || migration.version == target ||
        migration.label() == target) {
      return &migration;
    }
  }
  std::vector<std::string> names;
  for (const auto& migration : migrations_) names.push_back(migration.name);
  return absl::InvalidArgumentError(
      absl::StrCat("there is no migration named '", target,
                   "'; known: ", absl::StrJoin(names, ", ")));
}

int Catalog::IndexOf(const std::string& name) const {
  for (size_t i = 0; i < migrations_.size(); ++i) {
    if (migrations_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<int> Catalog::TargetIndex(
    const std::optional<std::string>& target, int otherwise) const {
  if (!target) return otherwise;
  auto found = Find(*target);
  if (!found.ok()) return found.status();
  return IndexOf((*found)->name);
}

absl::StatusOr<Script> Catalog::LevelScript(int level) const {
  const char* file = level == 2   ? "rollback_level_2_data.sql"
                     : level == 3 ? "rollback_level_3_features.sql"
                                  : nullptr;
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rollback level ", level, " does not exist; use 1, 2 or 3"));
  }
  return LoadScript(absl::StrCat(dir_, "/", file));
}

}  // namespace goodbuy::store::pg::migrate
