#include "server/store/pg/migrate/lock_plan.h"

#include <algorithm>
#include <map>
#include <regex>

#include "absl/strings/ascii.h"
#include "server/store/pg/migrate/sql_script.h"

namespace goodbuy::store::pg::migrate {
namespace {

// PostgreSQL's table lock modes, weakest first.
constexpr const char* kModes[] = {"ACCESS SHARE",  "ROW SHARE",
                                  "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE",
                                  "SHARE",         "SHARE ROW EXCLUSIVE",
                                  "EXCLUSIVE",     "ACCESS EXCLUSIVE"};

int Strength(const std::string& mode) {
  for (int i = 0; i < 8; ++i) {
    if (mode == kModes[i]) return i;
  }
  return -1;
}

constexpr auto kFlags = std::regex::icase | std::regex::ECMAScript;
// A relation name: plain, schema-qualified or double-quoted.
#define NAME \
  R"(((?:"[^"]+"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|[A-Za-z_][\w$]*))?))"

class Locks {
 public:
  void Add(const std::string& mode, std::string relation) {
    if (relation.size() > 1 && relation.front() == '"') {
      relation = relation.substr(1, relation.size() - 2);
    }
    for (auto& use : uses_) {
      if (use.relation == relation) {
        if (Strength(mode) > Strength(use.mode)) use.mode = mode;
        return;
      }
    }
    uses_.push_back({mode, std::move(relation)});
  }
  // Every table named after FROM / JOIN / USING, read with ACCESS SHARE.
  void AddReads(const std::string& text) {
    static const std::regex kRead(
        R"(\b(?:FROM|JOIN|USING)\s+(?:ONLY\s+)?)" NAME R"(\s*(\()?)", kFlags);
    for (std::sregex_iterator it(text.begin(), text.end(), kRead), end;
         it != end; ++it) {
      if ((*it)[2].matched) continue;  // a function call: generate_series(…)
      const std::string name = (*it)[1];
      const std::string upper = absl::AsciiStrToUpper(name);
      if (upper == "LATERAL" || upper == "SELECT") continue;
      Add("ACCESS SHARE", name);
    }
  }
  // Tables named after REFERENCES: adding a foreign key takes SHARE ROW
  // EXCLUSIVE on the referenced table too.
  void AddReferences(const std::string& text) {
    static const std::regex kRef(R"(\bREFERENCES\s+)" NAME, kFlags);
    for (std::sregex_iterator it(text.begin(), text.end(), kRef), end;
         it != end; ++it) {
      Add("SHARE ROW EXCLUSIVE", (*it)[1]);
    }
  }
  std::vector<LockUse> Take() { return std::move(uses_); }

 private:
  std::vector<LockUse> uses_;
};

// Patterns are string literals, so their addresses key a cache of compiled
// expressions (std::regex compiles slowly). Single-threaded, like the
// migrator.
bool Match(const std::string& text, const char* pattern, std::smatch* m) {
  static std::map<const char*, std::regex>* cache =
      new std::map<const char*, std::regex>();
  auto it = cache->find(pattern);
  if (it == cache->end()) {
    it = cache->emplace(pattern, std::regex(pattern, kFlags)).first;
  }
  return std::regex_search(text, *m, it->second);
}

}  // namespace

std::vector<LockUse> LocksTaken(const std::string& statement,
                                const ForeignKeys& foreign_keys) {
  // The tables an existing foreign key of `table` (named `constraint`, or
  // all of them) references.
  auto referenced = [&foreign_keys](const std::string& table,
                                    const std::string& constraint) {
    std::vector<std::string> tables;
    auto it = foreign_keys.find(table);
    if (it == foreign_keys.end()) return tables;
    for (const auto& [name, target] : it->second) {
      if (constraint.empty() || name == constraint) tables.push_back(target);
    }
    return tables;
  };
  const std::string text = Summarize(statement, statement.size() + 1);
  Locks locks;
  std::smatch m;
  if (Match(
          text,
          R"(^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?:\S+\s+)?ON\s+(?:ONLY\s+)?)" NAME,
          &m)) {
    locks.Add(m[1].matched ? "SHARE UPDATE EXCLUSIVE" : "SHARE", m[2]);
  } else if (
      Match(text,
            R"(^DROP\s+INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?)" NAME,
            &m)) {
    locks.Add(m[1].matched ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE",
              "table of index " + m[2].str());
  } else if (
      Match(
          text,
          R"(^CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?)" NAME,
          &m)) {
    locks.Add("ACCESS EXCLUSIVE", m[1]);
    locks.AddReferences(text);
  } else if (Match(text,
                   R"(^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?)" NAME
                   R"(\s+(.*)$)",
                   &m)) {
    const std::string table = m[1];
    const std::string actions = m[2];
    static const std::regex kValidateOnly(R"(^VALIDATE\s+CONSTRAINT\s+\S+$)",
                                          kFlags);
    static const std::regex kForeignKeyOnly(
        R"(^ADD\s+CONSTRAINT\s+\S+\s+FOREIGN\s+KEY\b[^,]*$)", kFlags);
    if (std::regex_search(actions, kValidateOnly)) {
      // Plus ROW SHARE on the referenced table of a foreign key.
      locks.Add("SHARE UPDATE EXCLUSIVE", table);
    } else if (std::regex_search(actions, kForeignKeyOnly)) {
      locks.Add("SHARE ROW EXCLUSIVE", table);
      locks.AddReferences(actions);
    } else {
      locks.Add("ACCESS EXCLUSIVE", table);
      locks.AddReferences(actions);
      static const std::regex kDrop(
          R"(\bDROP\s+CONSTRAINT\s+(?:IF\s+EXISTS\s+)?)" NAME, kFlags);
      for (std::sregex_iterator it(actions.begin(), actions.end(), kDrop), end;
           it != end; ++it) {
        for (const auto& target : referenced(table, (*it)[1])) {
          locks.Add("ACCESS EXCLUSIVE", target);
        }
      }
    }
  } else if (
      Match(
          text,
          R"(^DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?([^;]*?)(?:\s+(?:CASCADE|RESTRICT))?$)",
          &m)) {
    std::string names = m[1];
    static const std::regex kName(NAME, kFlags);
    for (std::sregex_iterator it(names.begin(), names.end(), kName), end;
         it != end; ++it) {
      locks.Add("ACCESS EXCLUSIVE", (*it)[1]);
      for (const auto& target : referenced((*it)[1], "")) {
        locks.Add("ACCESS EXCLUSIVE", target);
      }
    }
  } else if (
      Match(text,
            R"(^DROP\s+(?:MATERIALIZED\s+)?VIEW\s+(?:IF\s+EXISTS\s+)?)" NAME,
            &m)) {
    locks.Add("ACCESS EXCLUSIVE", m[1]);
  } else if (
      Match(
          text,
          R"(^CREATE\s+(?:OR\s+REPLACE\s+)?(?:MATERIALIZED\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?)" NAME,
          &m)) {
    locks.Add("ACCESS EXCLUSIVE", m[1]);
    locks.AddReads(text);
  } else if (Match(
                 text,
                 R"(^REFRESH\s+MATERIALIZED\s+VIEW\s+(CONCURRENTLY\s+)?)" NAME,
                 &m)) {
    locks.Add(m[1].matched ? "EXCLUSIVE" : "ACCESS EXCLUSIVE", m[2]);
  } else if (
      Match(text,
            R"(^(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:ONLY\s+)?)" NAME,
            &m)) {
    const std::string target = m[1];
    locks.Add("ROW EXCLUSIVE", target);
    locks.AddReads(m.suffix());
  } else if (
      Match(
          text,
          R"(^CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?TRIGGER\s.*?\sON\s+)" NAME,
          &m)) {
    locks.Add("SHARE ROW EXCLUSIVE", m[1]);
  } else if (Match(text,
                   R"(^DROP\s+TRIGGER\s+(?:IF\s+EXISTS\s+)?\S+\s+ON\s+)" NAME,
                   &m)) {
    locks.Add("ACCESS EXCLUSIVE", m[1]);
  } else if (
      Match(
          text,
          R"((?:^|\s)(?:CREATE|DROP|ALTER)\s+POLICY\s+(?:IF\s+EXISTS\s+)?\S+\s+ON\s+)" NAME,
          &m)) {
    // Also inside a DO block (an idempotent CREATE POLICY).
    locks.Add("ACCESS EXCLUSIVE", m[1]);
  } else if (Match(text, R"(^(?:SELECT|WITH)\b)", &m)) {
    locks.AddReads(text);
  } else if (Match(text, R"(^DO\b)", &m)) {
    locks.Add("depends on the block", "(PL/pgSQL)");
  }
  return locks.Take();
}

const char* BlockedTraffic(const std::string& mode) {
  switch (Strength(mode)) {
    case 0:
    case 1:
    case 2:
    case 3:
      return "nothing";  // conflicts only with DDL, VACUUM and each other
    case 4:
    case 5:
    case 6:
      return "writes";
    case 7:
      return "reads and writes";
    default:
      return "unknown";
  }
}

#undef NAME

}  // namespace goodbuy::store::pg::migrate
