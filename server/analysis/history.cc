#include "server/analysis/history.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/analysis/ttm.h"
#include "server/common/errors.h"

namespace goodbuy::analysis {
namespace {

struct DoubleField {
  const char* name;
  PeriodField get;
  bool non_negative;
};

// Every double of MonthlyPeriod; only retained earnings and equity may be
// negative (accumulated losses, negative book value).
const DoubleField kDoubleFields[] = {
    {"revenue", &v1::MonthlyPeriod::revenue, true},
    {"cost_of_goods_sold", &v1::MonthlyPeriod::cost_of_goods_sold, true},
    {"operating_expenses", &v1::MonthlyPeriod::operating_expenses, true},
    {"owner_compensation", &v1::MonthlyPeriod::owner_compensation, true},
    {"interest_expense", &v1::MonthlyPeriod::interest_expense, true},
    {"debt_principal_paid", &v1::MonthlyPeriod::debt_principal_paid, true},
    {"cash", &v1::MonthlyPeriod::cash, true},
    {"total_debt", &v1::MonthlyPeriod::total_debt, true},
    {"current_assets", &v1::MonthlyPeriod::current_assets, true},
    {"current_liabilities", &v1::MonthlyPeriod::current_liabilities, true},
    {"total_assets", &v1::MonthlyPeriod::total_assets, true},
    {"retained_earnings", &v1::MonthlyPeriod::retained_earnings, false},
    {"equity", &v1::MonthlyPeriod::equity, false},
    {"accounts_receivable", &v1::MonthlyPeriod::accounts_receivable, true},
};

struct IntField {
  const char* name;
  int32_t (v1::MonthlyPeriod::*get)() const;
};

const IntField kIntFields[] = {
    {"customers", &v1::MonthlyPeriod::customers},
    {"new_customers", &v1::MonthlyPeriod::new_customers},
    {"churned_customers", &v1::MonthlyPeriod::churned_customers},
};

void AddOptionViolations(const v1::AnalysisOptions& options,
                         FieldViolations& violations) {
  const int h = options.forecast_horizon_months();
  if (h < 0 || h > kMaxForecastHorizonMonths) {
    violations.Add(
        "options.forecast_horizon_months",
        absl::StrCat("must be 0 (default ", kDefaultForecastHorizonMonths,
                     ") or 1..", kMaxForecastHorizonMonths, ", got ", h));
  }
  const double r = options.discount_rate();
  bool rates_ok = true;
  if (!std::isfinite(r) || r < 0 || r > 1) {
    violations.Add("options.discount_rate",
                   absl::StrCat("must be 0 (default ", kDefaultDiscountRate,
                                ") or in (0, 1], got ", r));
    rates_ok = false;
  }
  const double g = options.terminal_growth_rate();
  if (!std::isfinite(g) || g < kMinTerminalGrowthRate ||
      g > kMaxTerminalGrowthRate) {
    violations.Add("options.terminal_growth_rate",
                   absl::StrCat("must be in [", kMinTerminalGrowthRate, ", ",
                                kMaxTerminalGrowthRate, "], got ", g));
    rates_ok = false;
  }
  if (rates_ok &&
      EffectiveDiscountRate(options) <= EffectiveTerminalGrowthRate(options)) {
    violations.Add(
        "options.discount_rate",
        absl::StrCat("must be greater than the terminal growth rate (",
                     EffectiveDiscountRate(options),
                     " <= ", EffectiveTerminalGrowthRate(options), ")"));
  }
}

std::string DescribeMissing(int from, int to) {
  if (from == to) return absl::StrCat("month ", FormatMonthIndex(from));
  return absl::StrCat(to - from + 1, " months ", FormatMonthIndex(from), " to ",
                      FormatMonthIndex(to));
}

}  // namespace

absl::Status ValidateOptions(const v1::AnalysisOptions& options) {
  FieldViolations violations;
  AddOptionViolations(options, violations);
  return violations.ToStatus();
}

int EffectiveHorizonMonths(const v1::AnalysisOptions& options) {
  const int h = options.forecast_horizon_months();
  return h > 0 ? std::min(h, kMaxForecastHorizonMonths)
               : kDefaultForecastHorizonMonths;
}

double EffectiveDiscountRate(const v1::AnalysisOptions& options) {
  const double r = options.discount_rate();
  return r > 0 && std::isfinite(r) ? r : kDefaultDiscountRate;
}

double EffectiveTerminalGrowthRate(const v1::AnalysisOptions& options) {
  const double g = options.terminal_growth_rate();
  return g != 0 && std::isfinite(g) ? g : kDefaultTerminalGrowthRate;
}

absl::Status RequireMonths(int months, int minimum,
                           absl::string_view analysis) {
  if (months >= minimum) return absl::OkStatus();
  return InvalidField("history.periods",
                      absl::StrCat(analysis, " needs at least ", minimum,
                                   " months of history, got ", months));
}

absl::StatusOr<AnalysisInput> PrepareHistory(
    const v1::FinancialHistory& history, const v1::AnalysisOptions& options) {
  FieldViolations violations;
  const int n = history.periods_size();
  if (n == 0) {
    violations.Add("history.periods", "at least one month is required");
  } else if (n > kMaxHistoryMonths) {
    violations.Add("history.periods",
                   absl::StrCat("at most ", kMaxHistoryMonths,
                                " months are accepted, got ", n));
  }

  // Month index -> caller's index of its first occurrence.
  std::map<int, int> months;
  for (int i = 0; i < n; ++i) {
    const v1::MonthlyPeriod& p = history.periods(i);
    const std::string prefix = absl::StrCat("history.periods[", i, "].");
    std::optional<int> month = ParseMonthIndex(p.month());
    if (!month.has_value()) {
      violations.Add(
          prefix + "month",
          absl::StrCat("must be \"YYYY-MM\" with month 01-12 and year ",
                       kMinYear, "-", kMaxYear, ", got \"", p.month(), "\""));
    } else if (auto [it, inserted] = months.emplace(*month, i); !inserted) {
      violations.Add(prefix + "month",
                     absl::StrCat("duplicate month ", p.month(),
                                  " (also history.periods[", it->second, "])"));
    }
    for (const DoubleField& f : kDoubleFields) {
      const double v = (p.*f.get)();
      if (!std::isfinite(v)) {
        violations.Add(prefix + f.name, "must be a finite number");
      } else if (f.non_negative && v < 0) {
        violations.Add(prefix + f.name, absl::StrCat("must be >= 0, got ", v));
      }
    }
    for (const IntField& f : kIntFields) {
      const int32_t v = (p.*f.get)();
      if (v < 0) {
        violations.Add(prefix + f.name, absl::StrCat("must be >= 0, got ", v));
      }
    }
  }

  // Gaps between the valid months (std::map iterates ascending).
  int previous = -1;
  bool first = true;
  for (const auto& [month, index] : months) {
    if (!first && month != previous + 1) {
      violations.Add(
          "history.periods",
          absl::StrCat("months must be contiguous: ",
                       DescribeMissing(previous + 1, month - 1),
                       " missing between ", FormatMonthIndex(previous), " and ",
                       FormatMonthIndex(month)));
    }
    previous = month;
    first = false;
  }

  AddOptionViolations(options, violations);
  if (!violations.empty()) return violations.ToStatus();

  AnalysisInput input;
  input.options = options;
  input.periods.reserve(n);
  for (const auto& [month, index] : months) {
    input.periods.push_back(history.periods(index));
  }
  return input;
}

}  // namespace goodbuy::analysis
