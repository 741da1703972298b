// The dated, cited market table of analysis-methods.md §2.2-§2.4, shipped as
// data: server/analysis/data/market_multiples.csv is embedded at build time
// (server/analysis/CMakeLists.txt writes it into a generated .cc) and parsed
// once, on first use.
//
// CSV columns: key, value, unit, as_of, source, url, notes (RFC 4180 quoting;
// a header row first). Every row must carry a date ("YYYY-MM-DD") and a
// source; figures the reference labels [DESIGN] say so in their source.
//
// Thread-safe: MarketTable() and Market() build their static values once
// (C++11 magic statics) and return const references.
#ifndef GOODBUY_SERVER_ANALYSIS_MARKET_DATA_H_
#define GOODBUY_SERVER_ANALYSIS_MARKET_DATA_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace goodbuy::analysis {

struct MarketRow {
  std::string key;
  double value = 0;
  std::string unit;
  std::string as_of;
  std::string source;
  std::string url;
  std::string notes;
};

// The embedded CSV text.
absl::string_view MarketMultiplesCsv();

// Parses the CSV. INVALID_ARGUMENT (naming the line) for a wrong header, a
// row with the wrong number of columns, a value that is not a finite number,
// an as_of that is not YYYY-MM-DD, an empty source, or a repeated key.
absl::StatusOr<std::vector<MarketRow>> ParseMarketCsv(absl::string_view csv);

// The parsed embedded table (empty if it failed to parse; a unit test
// guarantees it does not).
const std::vector<MarketRow>& MarketTable();

// The figures the analyzers use, by name. Keys are those of the CSV.
struct MarketFigures {
  // BizBuySell averages, 2022 full year (§2.2).
  double bizbuysell_sde_multiple = 0;
  double bizbuysell_revenue_multiple = 0;
  // Size effect (§2.2): 1.9x below $100k of cash flow, 4x around $1M.
  double size_small_cash_flow = 0;
  double size_small_sde_multiple = 0;
  double size_large_cash_flow = 0;
  double size_large_sde_multiple = 0;
  // [DESIGN] §2.4 spread around the median.
  double sde_multiple_low = 0;
  double sde_multiple_median = 0;
  double sde_multiple_high = 0;
  // [DESIGN] derived EBITDA curve (no published small-firm figures).
  double ebitda_small_multiple = 0;
  double ebitda_large_multiple = 0;
  // [DESIGN] §2.4 revenue cross-check.
  double revenue_multiple_low = 0;
  double revenue_multiple_median = 0;
  double revenue_multiple_high = 0;
  // §2.1 rule of thumb: SDE pricing below ~$1M deals, EBITDA above ~$2M.
  double sde_pricing_max_deal = 0;
  double ebitda_pricing_min_deal = 0;
  // §2.3 build-up defaults.
  double risk_free_rate = 0;
  double equity_risk_premium = 0;
  double build_up_target_rate = 0;
  double industry_premium = 0;
  double company_specific_premium = 0;
  // Residual: target - risk-free - ERP - industry - company-specific.
  double size_premium = 0;
  // as_of of bizbuysell_sde_multiple, the market method's anchor.
  std::string multiples_as_of;
};
const MarketFigures& Market();

// Keys Market() reads; all must be in the table.
const std::vector<std::string>& RequiredMarketKeys();

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_MARKET_DATA_H_
