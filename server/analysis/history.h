// Validation of a caller's FinancialHistory and AnalysisOptions into an
// AnalysisInput the analyzers can trust: months sorted ascending, contiguous,
// unique, every number finite and in range.
//
// PrepareHistory reports every problem at once as INVALID_ARGUMENT with a
// google.rpc.BadRequest payload (server/common/errors.h). Field paths use the
// caller's indices, e.g. "history.periods[3].month",
// "history.periods[0].revenue", "options.forecast_horizon_months"; problems
// with the list as a whole (count, missing months) use "history.periods".
// The minimum history lengths are exposed so the request validator can reject
// a too-short history before anything is written (RequireMonths).
// Pure functions; any thread.
#ifndef GOODBUY_SERVER_ANALYSIS_HISTORY_H_
#define GOODBUY_SERVER_ANALYSIS_HISTORY_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/analysis/analyzer.h"

namespace goodbuy::analysis {

inline constexpr int kMinHealthMonths = 3;
inline constexpr int kMinValuationMonths = 6;
inline constexpr int kMinForecastMonths = 6;
inline constexpr int kMaxHistoryMonths = 600;

inline constexpr int kDefaultForecastHorizonMonths = 12;
inline constexpr int kMaxForecastHorizonMonths = 36;
// Small-business equity rates land around 20-35% (build-up method practice,
// analysis-methods.md §2.3); 25% is the [DESIGN] default, also the
// build_up_target_rate row of data/market_multiples.csv, which the default
// build-up (BuildUp below) sums to.
inline constexpr double kDefaultDiscountRate = 0.25;
inline constexpr double kDefaultTerminalGrowthRate = 0.03;
inline constexpr double kMinTerminalGrowthRate = -0.05;
inline constexpr double kMaxTerminalGrowthRate = 0.10;
// [DESIGN] accepted ranges of the build-up overrides (options.*).
inline constexpr double kMaxRiskFreeRate = 0.20;
inline constexpr double kMaxEquityRiskPremium = 0.20;
inline constexpr double kMaxSizePremium = 0.50;
inline constexpr double kMaxAbsIndustryPremium = 0.10;
inline constexpr double kMaxCompanySpecificPremium = 0.50;
inline constexpr double kMaxOwnerReplacementSalary = 1e12;

// Validates and sorts. INVALID_ARGUMENT (all violations) when:
//  * there are 0 or more than 600 periods;
//  * a month is not "YYYY-MM" (month 01-12, year 1900-2200) or repeats;
//  * months are not contiguous (the description names the missing months);
//  * a number is NaN or infinite;
//  * revenue, cost_of_goods_sold, operating_expenses, owner_compensation,
//    interest_expense, debt_principal_paid, total_debt, cash,
//    current_assets, current_liabilities, total_assets,
//    accounts_receivable or a customer count is negative (retained_earnings
//    and equity may be negative);
//  * options.forecast_horizon_months is not 0 (default) or 1..36;
//  * options.discount_rate is not 0 (default) or in (0, 1];
//  * options.terminal_growth_rate is outside [-0.05, 0.10];
//  * a build-up component, when set, is not finite or outside its range:
//    risk_free_rate [0, 0.20], equity_risk_premium [0, 0.20], size_premium
//    [0, 0.50], industry_premium [-0.10, 0.10], company_specific_premium
//    [0, 0.50]; or owner_replacement_salary is negative or not finite;
//  * the effective discount rate (options.discount_rate, else the build-up
//    sum) is not in (0, 1] or not above the effective terminal growth rate
//    (reported on "options.discount_rate"; always fine with the defaults).
// The options are copied unchanged (zeros stay zeros; use the Effective*
// helpers below).
absl::StatusOr<AnalysisInput> PrepareHistory(
    const v1::FinancialHistory& history, const v1::AnalysisOptions& options);

// The option rules of PrepareHistory alone, for requests without an inline
// history. INVALID_ARGUMENT with BadRequest details, or OK.
absl::Status ValidateOptions(const v1::AnalysisOptions& options);

// INVALID_ARGUMENT on "history.periods" when `months` < `minimum`, naming the
// analysis (e.g. "valuation") in the description; OK otherwise.
absl::Status RequireMonths(int months, int minimum, absl::string_view analysis);

// The same checks on an AnalysisInput built without PrepareHistory (tests,
// benchmarks, other callers): INVALID_ARGUMENT with BadRequest details when
// there are fewer than `minimum` months or more than 600, when a number is
// not finite or a non-negative field is negative, or when the options are
// invalid. Month labels are not re-checked. The analyzers call it first, so
// bad data never reaches the arithmetic.
absl::Status CheckAnalysisInput(const AnalysisInput& input, int minimum,
                                absl::string_view analysis);

// The build-up discount rate of analysis-methods.md §2.3:
// r = risk-free + equity risk premium + size premium + industry premium +
// company-specific premium. Unset components take the dated defaults of
// data/market_multiples.csv (Market()); with none set the sum is exactly
// kDefaultDiscountRate.
struct BuildUpRate {
  double risk_free_rate = 0;
  double equity_risk_premium = 0;
  double size_premium = 0;
  double industry_premium = 0;
  double company_specific_premium = 0;
  double Sum() const;
};
BuildUpRate BuildUp(const v1::AnalysisOptions& options);
// True when options.discount_rate replaces the build-up.
bool DiscountRateOverridden(const v1::AnalysisOptions& options);

// Options with the defaults applied. EffectiveDiscountRate is
// options.discount_rate when set, else BuildUp(options).Sum() (exactly
// kDefaultDiscountRate when no component is set).
int EffectiveHorizonMonths(const v1::AnalysisOptions& options);
double EffectiveDiscountRate(const v1::AnalysisOptions& options);
double EffectiveTerminalGrowthRate(const v1::AnalysisOptions& options);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_HISTORY_H_
