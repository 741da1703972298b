// Small-business valuation (analysis-methods.md §2): three methods, each
// with a low/base/high range, reconciled with weights 0.5 / 0.3 / 0.2
// (§2.4), plus a revenue-multiple cross-check with its own range.
//
//  * market (§2.2, §2.4 step 1): TTM SDE x the size-adjusted BizBuySell
//    cash-flow multiple (1.9x at <= $100k rising to 4x at $1M, linear in
//    log SDE), low / high at 0.8 / 1.2 of it (the §2.4 2.0 / 2.5 / 3.0
//    spread). EBITDA view (§2.1: a business run by hired management): the
//    normalised EBITDA (SDE - replacement salary) x the [DESIGN] EBITDA
//    curve of the table; the method's low is the lower of the SDE low and
//    the EBITDA base. A deal above the §2.1 $2M EBITDA-pricing edge gets a
//    warning pointing at the EBITDA figures. All figures come from the dated,
//    cited table data/market_multiples.csv (market_data.h).
//  * revenue cross-check (§2.4 step 1): TTM revenue x 0.5 / 0.6 / 0.7; own
//    range, weight 0 (Valuation.revenue_cross_check).
//  * income (§2.3, §2.4 step 2): 5-year DCF on the revenue forecast — the
//    M4 Theta model (forecast_models.h; the mean of the history when it has
//    fewer than 8 months, §3.2 step 5) on the monthly revenue, summed into
//    annual revenues, x the normalised cash-flow margin (SDE - replacement
//    salary) / TTM revenue — with a Gordon-growth terminal value. Low uses
//    the forecast's lower 80% bounds at r + 3 pp, high the upper 80% bounds
//    at r - 3 pp (kept 1 pp above g).
//  * capitalisation (§2.3, §2.4 step 3): the normalised cash flow
//    x (1 + g) / (r - g), at r, r + 3 pp and r - 3 pp.
// The discount rate is the build-up of §2.3 (history.h BuildUp) unless
// options.discount_rate overrides it; g = options.terminal_growth_rate
// (default 3%). The replacement salary is options.owner_replacement_salary,
// else the owner's own TTM compensation floored at 25% of SDE ([DESIGN]
// default until a salary table exists). Values are enterprise values
// floored at 0; equity_value_base = base - debt + cash (§2.3). Warnings:
// TV > 75% of the DCF value, r - g < 5 pp (§2.3).
// Confidence = 100 x product of the §2.4 factors, each reported: history
// min(1, months / 36), earnings stability 1 - min(1, CV(monthly SDE) / 0.5),
// method agreement 1 - min(1, (max - min) / median), forecast skill
// min(1, 1 / MASE) of the same forecast on a 12-month holdout (0.5 with
// fewer than 24 months), data completeness.
//
// Errors: INVALID_ARGUMENT (BadRequest) for fewer than kMinValuationMonths
// months or data PrepareHistory would reject (CheckAnalysisInput); CANCELLED
// when the sink returns false. Pure; runs on the calling thread.
#ifndef GOODBUY_SERVER_ANALYSIS_VALUATION_ANALYZER_H_
#define GOODBUY_SERVER_ANALYSIS_VALUATION_ANALYZER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "server/analysis/analyzer.h"

namespace goodbuy::analysis {

// §2.4 step 4 weights and step 2 spread.
inline constexpr double kMarketWeight = 0.5;
inline constexpr double kIncomeWeight = 0.3;
inline constexpr double kCapitalizationWeight = 0.2;
inline constexpr double kDiscountRateSpread = 0.03;  // ±3 pp for low/high
inline constexpr int kDcfYears = 5;                  // §2.3 examples: N = 5

struct DcfResult {
  double pv_cash_flows = 0;
  double terminal_value = 0;     // TV_N = FCF_N (1 + g) / (r - g)
  double pv_terminal_value = 0;  // TV_N / (1 + r)^N
  double enterprise_value = 0;
};

// §2.3: EV = sum_t FCF_t / (1+r)^t + TV_N / (1+r)^N, end-of-year
// discounting. INVALID_ARGUMENT when the cash flows are empty, r <= -1 or
// r <= g.
absl::StatusOr<DcfResult> DiscountedCashFlow(
    const std::vector<double>& cash_flows, double discount_rate,
    double terminal_growth);

// §2.3 single-period capitalisation: V = CF0 (1 + g) / (r - g).
// INVALID_ARGUMENT when r <= g.
absl::StatusOr<double> CapitalizedValue(double cash_flow, double discount_rate,
                                        double terminal_growth);

// §2.2 size effect: 1.9x at SDE <= $100k rising to 4.0x at $1M, linear in
// log(SDE) in between, flat beyond (BizBuySell via akela-partners.com).
double SizeAdjustedSdeMultiple(double sde);

// [DESIGN] the same curve applied to EBITDA (data/market_multiples.csv rows
// ebitda_small_multiple / ebitda_large_multiple; §2.2 publishes no small-firm
// EBITDA multiples).
double SizeAdjustedEbitdaMultiple(double ebitda);

// §2.3 level payment of a loan: P = L i / (1 - (1 + i)^-n) with
// i = annual_rate / payments_per_year and n = years x payments_per_year;
// L / n at a zero rate. 0 when n <= 0 or an input is not finite.
double AnnuityPayment(double principal, double annual_rate, int years,
                      int payments_per_year = 12);

// Sums of consecutive 12-month blocks of `monthly`, `years` of them (a
// missing month counts 0).
std::vector<double> AnnualTotals(const std::vector<double>& monthly, int years);

// Runs the valuation. Progress(10, "prepare"); partials "method/market"
// (30), "method/revenue_cross_check" (35), "method/income" (55),
// "method/capitalization" (75), each with stage = the method; then
// Progress(90, "reconcile").
absl::StatusOr<v1::AnalysisResult> AnalyzeValuation(const AnalysisInput& in,
                                                    ProgressSink& sink);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_VALUATION_ANALYZER_H_
