// Small numeric helpers shared by the three analyses: calendar-month
// arithmetic on "YYYY-MM" labels, trailing-twelve-month (TTM) sums over a
// validated history, guarded division and piecewise-linear score mapping.
//
// Everything here is a pure function of its arguments (no state, any thread).
// None of it returns NaN or infinity for finite inputs: divisions go through
// SafeDiv and statistics of empty or degenerate series return the fallback.
// Only AddMonths can fail: INVALID_ARGUMENT for a malformed label.
#ifndef GOODBUY_SERVER_ANALYSIS_TTM_H_
#define GOODBUY_SERVER_ANALYSIS_TTM_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/analysis/analyzer.h"

namespace goodbuy::analysis {

// ---- Months ---------------------------------------------------------------

inline constexpr int kMinYear = 1900;
inline constexpr int kMaxYear = 2200;

// "YYYY-MM" -> year * 12 + (month - 1); nullopt unless exactly 4 digits, '-',
// 2 digits, month 01..12 and year kMinYear..kMaxYear.
std::optional<int> ParseMonthIndex(absl::string_view month);

// Inverse of ParseMonthIndex.
std::string FormatMonthIndex(int index);

// `month` + n months, e.g. AddMonths("2024-11", 3) == "2025-02".
absl::StatusOr<std::string> AddMonths(absl::string_view month, int n);

// ---- Series ---------------------------------------------------------------

// Accessor of one double field of MonthlyPeriod, e.g. &MonthlyPeriod::revenue.
using PeriodField = double (v1::MonthlyPeriod::*)() const;

// The field's value for every period, in order.
std::vector<double> Column(const std::vector<v1::MonthlyPeriod>& periods,
                           PeriodField field);

// Sum of values[end - months, end), clipped at the start of the series.
double WindowSum(const std::vector<double>& values, int end, int months);

// Trailing-12-month sum ending at the last value. With fewer than 12 values
// the available months are scaled up to a year (annualised) so ratios that
// mix TTM flows with balances stay comparable; `annualised` says so.
double TtmSum(const std::vector<double>& values, bool* annualised = nullptr);

// Months in the TTM window: min(12, n).
int TtmMonths(int n);

// Revenue growth between the latest window and the one before it.
// With >= 24 months: TTM_t / TTM_{t-12} - 1 (year over year). With fewer the
// series is split into two equal halves of k = n / 2 months (k <= 11) and the
// growth of the later half over the earlier one is returned, compounded to an
// annual rate when k >= 6 (raw when shorter, where compounding would explode
// noise). nullopt when the earlier window sums to <= 0 or n < 2. The result is
// clamped to [-1, 10].
struct Growth {
  double rate = 0;        // e.g. 0.12 for +12%
  int window_months = 0;  // 12 for YoY TTM, k otherwise
  bool year_over_year = false;
  bool annualised = false;
};
std::optional<Growth> RecentGrowth(const std::vector<double>& values);

// ---- Numbers --------------------------------------------------------------

// a / b, or `fallback` when b is 0 or the quotient is not finite.
double SafeDiv(double a, double b, double fallback = 0.0);

// Arithmetic mean; 0 for an empty series.
double Mean(const std::vector<double>& v);

// Sample standard deviation (n - 1); 0 for fewer than two values.
double SampleStdDev(const std::vector<double>& v);

// Coefficient of variation sd / mean; nullopt when the mean is <= 0.
std::optional<double> CoefficientOfVariation(const std::vector<double>& v);

// Linear interpolation between anchors (x ascending), flat beyond the ends.
// Anchors may map to rising or falling y.
double PiecewiseLinear(double x,
                       const std::vector<std::pair<double, double>>& anchors);

double Clamp(double x, double lo, double hi);

// Fraction 0..1 of the ten optional inputs the history reports anywhere:
// revenue, COGS, operating expenses, owner compensation, cash, customers,
// current assets + current liabilities, total assets, equity or retained
// earnings, accounts receivable. Debt fields are not counted: zero debt is a
// legitimate value, not a missing one. Shared by health and valuation.
double DataCompleteness(const std::vector<v1::MonthlyPeriod>& periods);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_TTM_H_
