#include "server/store/pg/migrate/sql_script.h"

#include <cctype>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace goodbuy::store::pg::migrate {
namespace {

enum class Kind {
  kCode,
  kQuoted,
  kLineComment,
  kBlockComment,
  kSemicolon,
  kMeta
};

struct Piece {
  Kind kind;
  std::string text;
  int line;
};

bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Cuts SQL text into code, quoted text, comments, semicolons and psql
// meta-command lines, so callers never look inside strings or comments.
absl::StatusOr<std::vector<Piece>> Tokenize(const std::string& sql) {
  std::vector<Piece> pieces;
  int line = 1;
  bool line_start = true;  // only whitespace since the last newline
  size_t i = 0;
  const size_t n = sql.size();

  auto code = [&](char c) {
    if (pieces.empty() || pieces.back().kind != Kind::kCode) {
      pieces.push_back({Kind::kCode, "", line});
    }
    pieces.back().text += c;
  };
  // Appends sql[from, to) as one piece, counting its newlines.
  auto take = [&](Kind kind, size_t from, size_t to) {
    pieces.push_back({kind, sql.substr(from, to - from), line});
    for (size_t k = from; k < to; ++k) line += sql[k] == '\n';
  };
  auto unterminated = [&](const char* what) {
    return absl::InvalidArgumentError(
        absl::StrCat("unterminated ", what, " starting on line ", line));
  };

  while (i < n) {
    const char c = sql[i];
    const char next = i + 1 < n ? sql[i + 1] : '\0';
    if (c == '\\' && line_start) {
      const size_t end = std::min(sql.find('\n', i), n);
      take(Kind::kMeta, i, end);
      i = end;
      continue;
    }
    if (c == '-' && next == '-') {
      const size_t end = std::min(sql.find('\n', i), n);
      take(Kind::kLineComment, i, end);
      i = end;
      continue;
    }
    if (c == '/' && next == '*') {
      int depth = 0;
      size_t k = i;
      for (; k < n; ++k) {
        if (sql.compare(k, 2, "/*") == 0)
          ++depth, ++k;
        else if (sql.compare(k, 2, "*/") == 0 && --depth == 0)
          break;
      }
      if (k >= n) return unterminated("comment");
      take(Kind::kBlockComment, i, k + 2);
      i = k + 2;
      line_start = false;
      continue;
    }
    if (c == '\'' || c == '"') {
      // E'…' strings take backslash escapes.
      const bool escapes = c == '\'' && !pieces.empty() &&
                           pieces.back().kind == Kind::kCode &&
                           !pieces.back().text.empty() &&
                           (pieces.back().text.back() | 0x20) == 'e' &&
                           (pieces.back().text.size() == 1 ||
                            !IsIdentChar(pieces.back().text.end()[-2]));
      size_t k = i + 1;
      for (; k < n; ++k) {
        if (escapes && sql[k] == '\\') {
          ++k;
        } else if (sql[k] == c) {
          if (k + 1 < n && sql[k + 1] == c) {
            ++k;
          } else {
            break;
          }
        }
      }
      if (k >= n) return unterminated(c == '"' ? "identifier" : "string");
      take(Kind::kQuoted, i, k + 1);
      i = k + 1;
      line_start = false;
      continue;
    }
    if (c == '$' && (pieces.empty() || pieces.back().kind != Kind::kCode ||
                     pieces.back().text.empty() ||
                     !IsIdentChar(pieces.back().text.back()))) {
      size_t k = i + 1;
      while (k < n && (IsIdentChar(sql[k]) &&
                       !(k == i + 1 &&
                         std::isdigit(static_cast<unsigned char>(sql[k])))))
        ++k;
      if (k < n && sql[k] == '$') {
        const std::string tag = sql.substr(i, k - i + 1);
        const size_t close = sql.find(tag, k + 1);
        if (close == std::string::npos) return unterminated("$-quoted body");
        take(Kind::kQuoted, i, close + tag.size());
        i = close + tag.size();
        line_start = false;
        continue;
      }
    }
    if (c == ';') {
      pieces.push_back({Kind::kSemicolon, ";", line});
      ++i;
      line_start = false;
      continue;
    }
    code(c);
    if (c == '\n') {
      ++line;
      line_start = true;
    } else if (!std::isspace(static_cast<unsigned char>(c))) {
      line_start = false;
    }
    ++i;
  }
  return pieces;
}

// `-- key: value` -> value, if the comment is that label.
bool Label(const std::string& comment, const char* key, std::string* value) {
  std::string body(absl::StripAsciiWhitespace(comment.substr(2)));
  const std::string prefix = absl::StrCat(key, ":");
  if (!absl::StartsWith(body, prefix)) return false;
  *value = std::string(absl::StripAsciiWhitespace(body.substr(prefix.size())));
  return true;
}

std::string QuoteLiteral(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

}  // namespace

absl::StatusOr<std::vector<SqlStatement>> SplitStatements(
    const std::string& sql) {
  auto pieces = Tokenize(sql);
  if (!pieces.ok()) return pieces.status();
  std::vector<SqlStatement> statements;
  SqlStatement current;
  auto blank = [&] { return absl::StripAsciiWhitespace(current.text).empty(); };
  auto finish = [&] {
    if (!blank()) {
      current.text = std::string(absl::StripAsciiWhitespace(current.text));
      statements.push_back(std::move(current));
    }
    current = SqlStatement{};
  };
  for (const Piece& piece : *pieces) {
    switch (piece.kind) {
      case Kind::kMeta:
        break;
      case Kind::kLineComment:
        if (blank()) {
          std::string value;
          if (Label(piece.text, "step", &value)) current.step = value;
          if (Label(piece.text, "rule", &value)) current.rule = value;
          if (Label(piece.text, "query", &value)) current.query = value;
          if (Label(piece.text, "needs", &value)) current.needs = value;
        }
        break;
      case Kind::kBlockComment:
        current.text += ' ';
        break;
      case Kind::kSemicolon:
        finish();
        break;
      case Kind::kCode:
      case Kind::kQuoted: {
        if (blank()) {
          // The statement starts at its first non-blank character.
          int line = piece.line;
          size_t k = 0;
          while (k < piece.text.size() &&
                 std::isspace(static_cast<unsigned char>(piece.text[k]))) {
            line += piece.text[k] == '\n';
            ++k;
          }
          if (k == piece.text.size()) break;  // whitespace only
          current.line = line;
          current.text = piece.text.substr(k);
        } else {
          current.text += piece.text;
        }
        break;
      }
    }
  }
  finish();
  return statements;
}

std::vector<SqlStep> GroupSteps(const std::vector<SqlStatement>& statements) {
  std::vector<SqlStep> steps;
  for (const SqlStatement& statement : statements) {
    const bool alone = RequiresNoTransaction(statement.text);
    const bool new_step = steps.empty() || !statement.step.empty() || alone ||
                          !steps.back().transactional;
    if (new_step) {
      SqlStep step;
      step.title = statement.step.empty()
                       ? absl::StrCat("step ", steps.size() + 1)
                       : statement.step;
      step.transactional = !alone;
      steps.push_back(std::move(step));
    }
    steps.back().statements.push_back(statement);
  }
  return steps;
}

bool RequiresNoTransaction(const std::string& statement) {
  static const std::regex kPattern(
      R"(^\s*(CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY|DROP\s+INDEX\s+CONCURRENTLY|REINDEX\s[^;]*CONCURRENTLY|VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM)\b)",
      std::regex::icase);
  return std::regex_search(statement, kPattern);
}

std::string SubstituteVariables(
    const std::string& sql, const std::map<std::string, std::string>& values) {
  auto pieces = Tokenize(sql);
  if (!pieces.ok()) return sql;  // the caller's SplitStatements reports it
  std::string out;
  for (size_t p = 0; p < pieces->size(); ++p) {
    const Piece& piece = (*pieces)[p];
    if (piece.kind != Kind::kCode) {
      out += piece.text;
      continue;
    }
    const std::string& t = piece.text;
    for (size_t i = 0; i < t.size(); ++i) {
      const bool colon = t[i] == ':' && (i == 0 || t[i - 1] != ':') &&
                         (i + 1 >= t.size() || t[i + 1] != ':');
      if (!colon) {
        out += t[i];
        continue;
      }
      // :'name' — the quoted part is the next piece.
      if (i + 1 == t.size() && p + 1 < pieces->size() &&
          (*pieces)[p + 1].kind == Kind::kQuoted &&
          (*pieces)[p + 1].text.front() == '\'') {
        const std::string& quoted = (*pieces)[p + 1].text;
        auto it = values.find(quoted.substr(1, quoted.size() - 2));
        if (it != values.end()) {
          out += QuoteLiteral(it->second);
          ++p;
          break;
        }
      }
      size_t end = i + 1;
      while (end < t.size() && IsIdentChar(t[end])) ++end;
      auto it = values.find(t.substr(i + 1, end - i - 1));
      if (end > i + 1 && it != values.end()) {
        out += it->second;
        i = end - 1;
      } else {
        out += t[i];
      }
    }
  }
  return out;
}

std::string Summarize(const std::string& statement, size_t max) {
  std::string out;
  bool space = false;
  for (char c : statement) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > max) out = out.substr(0, max - 1) + "…";
  return out;
}

}  // namespace goodbuy::store::pg::migrate
