#include "server/analysis/market_data.h"

#include <cmath>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace goodbuy::analysis {

// Defined in the .cc generated from data/market_multiples.csv.
extern const char kMarketMultiplesCsv[];

namespace {

constexpr const char* kHeader[] = {"key",    "value", "unit", "as_of",
                                   "source", "url",   "notes"};
constexpr size_t kColumns = 7;

// Splits one CSV record starting at `pos` (RFC 4180: quoted fields may hold
// commas, doubled quotes and newlines). Advances `pos` past the record's
// line end. False on an unterminated quote.
bool NextRecord(absl::string_view csv, size_t& pos,
                std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool quoted = false;
  while (pos < csv.size()) {
    const char c = csv[pos++];
    if (quoted) {
      if (c != '"') {
        field.push_back(c);
      } else if (pos < csv.size() && csv[pos] == '"') {
        field.push_back('"');
        ++pos;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      field.push_back(c);
    }
  }
  if (quoted) return false;
  fields.push_back(std::move(field));
  return true;
}

bool IsIsoDate(absl::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  const int month = (s[5] - '0') * 10 + (s[6] - '0');
  const int day = (s[8] - '0') * 10 + (s[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

double Get(const std::vector<MarketRow>& rows, absl::string_view key) {
  for (const MarketRow& r : rows) {
    if (r.key == key) return r.value;
  }
  return 0;
}

}  // namespace

absl::string_view MarketMultiplesCsv() { return kMarketMultiplesCsv; }

absl::StatusOr<std::vector<MarketRow>> ParseMarketCsv(absl::string_view csv) {
  std::vector<MarketRow> rows;
  std::vector<std::string> f;
  std::set<std::string> keys;
  size_t pos = 0;
  int line = 0;
  bool header = true;
  while (pos < csv.size()) {
    ++line;
    if (!NextRecord(csv, pos, f)) {
      return absl::InvalidArgumentError(
          absl::StrCat("market table line ", line, ": unterminated quote"));
    }
    if (f.size() == 1 && absl::StripAsciiWhitespace(f[0]).empty()) continue;
    const auto error = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat("market table line ", line, ": ", what));
    };
    if (f.size() != kColumns) {
      return error(
          absl::StrCat("expected ", kColumns, " columns, got ", f.size()));
    }
    if (header) {
      for (size_t i = 0; i < kColumns; ++i) {
        if (f[i] != kHeader[i]) {
          return error(
              absl::StrCat("header must be ", absl::StrJoin(kHeader, ",")));
        }
      }
      header = false;
      continue;
    }
    MarketRow row;
    row.key = f[0];
    if (row.key.empty()) return error("empty key");
    if (!absl::SimpleAtod(f[1], &row.value) || !std::isfinite(row.value)) {
      return error(absl::StrCat("value of ", row.key, " is not a number"));
    }
    row.unit = f[2];
    row.as_of = f[3];
    if (!IsIsoDate(row.as_of)) {
      return error(absl::StrCat("as_of of ", row.key, " must be YYYY-MM-DD"));
    }
    row.source = f[4];
    if (absl::StripAsciiWhitespace(row.source).empty()) {
      return error(absl::StrCat(row.key, " has no source"));
    }
    row.url = f[5];
    row.notes = f[6];
    if (!keys.insert(row.key).second) {
      return error(absl::StrCat("repeated key ", row.key));
    }
    rows.push_back(std::move(row));
  }
  if (header) return absl::InvalidArgumentError("market table is empty");
  return rows;
}

const std::vector<MarketRow>& MarketTable() {
  static const std::vector<MarketRow>* const kTable = [] {
    absl::StatusOr<std::vector<MarketRow>> rows =
        ParseMarketCsv(MarketMultiplesCsv());
    return new std::vector<MarketRow>(rows.ok() ? *std::move(rows)
                                                : std::vector<MarketRow>());
  }();
  return *kTable;
}

const std::vector<std::string>& RequiredMarketKeys() {
  static const std::vector<std::string>* const kKeys =
      new std::vector<std::string>{
          "bizbuysell_sde_multiple_2022",
          "bizbuysell_revenue_multiple_2022",
          "size_small_cash_flow",
          "size_small_sde_multiple",
          "size_large_cash_flow",
          "size_large_sde_multiple",
          "sde_multiple_low",
          "sde_multiple_median",
          "sde_multiple_high",
          "ebitda_small_multiple",
          "ebitda_large_multiple",
          "revenue_multiple_low",
          "revenue_multiple_median",
          "revenue_multiple_high",
          "sde_pricing_max_deal",
          "ebitda_pricing_min_deal",
          "risk_free_rate",
          "equity_risk_premium",
          "build_up_target_rate",
          "industry_premium",
          "company_specific_premium",
      };
  return *kKeys;
}

const MarketFigures& Market() {
  static const MarketFigures* const kFigures = [] {
    const std::vector<MarketRow>& t = MarketTable();
    auto* m = new MarketFigures;
    m->bizbuysell_sde_multiple = Get(t, "bizbuysell_sde_multiple_2022");
    m->bizbuysell_revenue_multiple = Get(t, "bizbuysell_revenue_multiple_2022");
    m->size_small_cash_flow = Get(t, "size_small_cash_flow");
    m->size_small_sde_multiple = Get(t, "size_small_sde_multiple");
    m->size_large_cash_flow = Get(t, "size_large_cash_flow");
    m->size_large_sde_multiple = Get(t, "size_large_sde_multiple");
    m->sde_multiple_low = Get(t, "sde_multiple_low");
    m->sde_multiple_median = Get(t, "sde_multiple_median");
    m->sde_multiple_high = Get(t, "sde_multiple_high");
    m->ebitda_small_multiple = Get(t, "ebitda_small_multiple");
    m->ebitda_large_multiple = Get(t, "ebitda_large_multiple");
    m->revenue_multiple_low = Get(t, "revenue_multiple_low");
    m->revenue_multiple_median = Get(t, "revenue_multiple_median");
    m->revenue_multiple_high = Get(t, "revenue_multiple_high");
    m->sde_pricing_max_deal = Get(t, "sde_pricing_max_deal");
    m->ebitda_pricing_min_deal = Get(t, "ebitda_pricing_min_deal");
    m->risk_free_rate = Get(t, "risk_free_rate");
    m->equity_risk_premium = Get(t, "equity_risk_premium");
    m->build_up_target_rate = Get(t, "build_up_target_rate");
    m->industry_premium = Get(t, "industry_premium");
    m->company_specific_premium = Get(t, "company_specific_premium");
    m->size_premium = m->build_up_target_rate - m->risk_free_rate -
                      m->equity_risk_premium - m->industry_premium -
                      m->company_specific_premium;
    for (const MarketRow& r : t) {
      if (r.key == "bizbuysell_sde_multiple_2022") m->multiples_as_of = r.as_of;
    }
    return m;
  }();
  return *kFigures;
}

}  // namespace goodbuy::analysis
