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
// analysis-methods.md §2.3); 25% is the [DESIGN] default.
inline constexpr double kDefaultDiscountRate = 0.25;
inline constexpr double kDefaultTerminalGrowthRate = 0.03;
inline constexpr double kMinTerminalGrowthRate = -0.05;
inline constexpr double kMaxTerminalGrowthRate = 0.10;

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
//  * the effective discount rate is not above the effective terminal growth
//    rate (defaults filled in; always true when both are defaulted).
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

// Options with the defaults applied.
int EffectiveHorizonMonths(const v1::AnalysisOptions& options);
double EffectiveDiscountRate(const v1::AnalysisOptions& options);
double EffectiveTerminalGrowthRate(const v1::AnalysisOptions& options);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_HISTORY_H_
