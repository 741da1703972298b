// Small-business valuation (analysis-methods.md §2): three methods, each
// with a low/base/high range, reconciled with weights 0.5 / 0.3 / 0.2.
//
//  * market: TTM SDE x a size-adjusted cash-flow multiple (BizBuySell), with
//    revenue x 0.5 / 0.6 / 0.7 reported as a cross-check input;
//  * income: 5-year DCF with a Gordon-growth terminal value; the cash flow is
//    TTM SDE minus a replacement owner salary, grown at the recent revenue
//    growth rate (clamped to [-10%, +15%]); base at r, low at r + 3 pp, high
//    at r - 3 pp (kept at least 1 pp above g);
//  * capitalization: the same normalised cash flow x (1 + g) / (r - g).
// The replacement owner salary is the owner's own TTM compensation, floored
// at 25% of SDE when the owner draws less ([DESIGN] default until a
// salary table exists). All values are enterprise values floored at 0; cash
// and debt are reported as market-method inputs (equity = EV - debt + cash).
// Confidence = 100 x product of the §2.4 factors (history, earnings
// stability, method agreement, forecast skill = 0.5 as it is not computed
// here, data completeness), each reported.
//
// Errors: INVALID_ARGUMENT for fewer than kMinValuationMonths months (field
// "history.periods") or for DCF/capitalisation inputs with r <= g; CANCELLED
// when the sink returns false. Pure; runs on the calling thread.
#ifndef GOODBUY_SERVER_ANALYSIS_VALUATION_ANALYZER_H_
#define GOODBUY_SERVER_ANALYSIS_VALUATION_ANALYZER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "server/analysis/analyzer.h"

namespace goodbuy::analysis {

inline constexpr double kMarketWeight = 0.5;
inline constexpr double kIncomeWeight = 0.3;
inline constexpr double kCapitalizationWeight = 0.2;
inline constexpr double kDiscountRateSpread = 0.03;  // ±3 pp for low/high
inline constexpr int kDcfYears = 5;

struct DcfResult {
  double pv_cash_flows = 0;
  double terminal_value = 0;     // TV_N = FCF_N (1 + g) / (r - g)
  double pv_terminal_value = 0;  // TV_N / (1 + r)^N
  double enterprise_value = 0;
};

// EV = sum_t FCF_t / (1+r)^t + TV_N / (1+r)^N, end-of-year discounting.
// INVALID_ARGUMENT when the cash flows are empty, r <= -1 or r <= g.
absl::StatusOr<DcfResult> DiscountedCashFlow(
    const std::vector<double>& cash_flows, double discount_rate,
    double terminal_growth);

// Single-period capitalisation: V = CF0 (1 + g) / (r - g).
// INVALID_ARGUMENT when r <= g.
absl::StatusOr<double> CapitalizedValue(double cash_flow, double discount_rate,
                                        double terminal_growth);

// Size-adjusted median SDE multiple: 1.9x at SDE <= $100k rising to 4.0x at
// $1M, linear in log(SDE) in between (BizBuySell via akela-partners.com).
double SizeAdjustedSdeMultiple(double sde);

// Runs the valuation. Partials "method/market", "method/income",
// "method/capitalization" at 30, 55, 75 percent, then
// Progress(90, "reconcile").
absl::StatusOr<v1::AnalysisResult> AnalyzeValuation(const AnalysisInput& in,
                                                    ProgressSink& sink);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_VALUATION_ANALYZER_H_
