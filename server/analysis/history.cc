#include "server/analysis/history.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/analysis/market_data.h"
#include "server/analysis/ttm.h"
#include "server/common/errors.h"
#include "server/common/status_macros.h"

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

struct RateOption {
  const char* name;
  bool (v1::AnalysisOptions::*has)() const;
  double (v1::AnalysisOptions::*get)() const;
  double min;
  double max;
};

// The build-up overrides and their [DESIGN] ranges (history.h).
const RateOption kRateOptions[] = {
    {"risk_free_rate", &v1::AnalysisOptions::has_risk_free_rate,
     &v1::AnalysisOptions::risk_free_rate, 0, kMaxRiskFreeRate},
    {"equity_risk_premium", &v1::AnalysisOptions::has_equity_risk_premium,
     &v1::AnalysisOptions::equity_risk_premium, 0, kMaxEquityRiskPremium},
    {"size_premium", &v1::AnalysisOptions::has_size_premium,
     &v1::AnalysisOptions::size_premium, 0, kMaxSizePremium},
    {"industry_premium", &v1::AnalysisOptions::has_industry_premium,
     &v1::AnalysisOptions::industry_premium, -kMaxAbsIndustryPremium,
     kMaxAbsIndustryPremium},
    {"company_specific_premium",
     &v1::AnalysisOptions::has_company_specific_premium,
     &v1::AnalysisOptions::company_specific_premium, 0,
     kMaxCompanySpecificPremium},
    {"owner_replacement_salary",
     &v1::AnalysisOptions::has_owner_replacement_salary,
     &v1::AnalysisOptions::owner_replacement_salary, 0,
     kMaxOwnerReplacementSalary},
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
  for (const RateOption& o : kRateOptions) {
    if (!(options.*o.has)()) continue;
    const double v = (options.*o.get)();
    if (!std::isfinite(v) || v < o.min || v > o.max) {
      violations.Add(absl::StrCat("options.", o.name),
                     absl::StrCat("must be in [", o.min, ", ", o.max,
                                  "] when set, got ", v));
      rates_ok = false;
    }
  }
  if (!rates_ok) return;
  const double effective_r = EffectiveDiscountRate(options);
  const double effective_g = EffectiveTerminalGrowthRate(options);
  const char* what = DiscountRateOverridden(options)
                         ? "discount rate"
                         : "build-up discount rate (risk_free_rate + "
                           "equity_risk_premium + size_premium + "
                           "industry_premium + company_specific_premium)";
  if (!(effective_r > 0) || effective_r > 1) {
    violations.Add(
        "options.discount_rate",
        absl::StrCat("the ", what, " must be in (0, 1], got ", effective_r));
  } else if (effective_r <= effective_g) {
    // §2.3: the Gordon-growth terminal value requires r > g.
    violations.Add(
        "options.discount_rate",
        absl::StrCat("the ", what,
                     " must be greater than the terminal growth rate (",
                     effective_r, " <= ", effective_g, ")"));
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

double BuildUpRate::Sum() const {
  return risk_free_rate + equity_risk_premium + size_premium +
         industry_premium + company_specific_premium;
}

BuildUpRate BuildUp(const v1::AnalysisOptions& o) {
  const MarketFigures& m = Market();
  BuildUpRate b;
  b.risk_free_rate =
      o.has_risk_free_rate() ? o.risk_free_rate() : m.risk_free_rate;
  b.equity_risk_premium = o.has_equity_risk_premium() ? o.equity_risk_premium()
                                                      : m.equity_risk_premium;
  b.size_premium = o.has_size_premium() ? o.size_premium() : m.size_premium;
  b.industry_premium =
      o.has_industry_premium() ? o.industry_premium() : m.industry_premium;
  b.company_specific_premium = o.has_company_specific_premium()
                                   ? o.company_specific_premium()
                                   : m.company_specific_premium;
  return b;
}

bool DiscountRateOverridden(const v1::AnalysisOptions& options) {
  const double r = options.discount_rate();
  return r > 0 && std::isfinite(r);
}

double EffectiveDiscountRate(const v1::AnalysisOptions& options) {
  if (DiscountRateOverridden(options)) return options.discount_rate();
  if (!options.has_risk_free_rate() && !options.has_equity_risk_premium() &&
      !options.has_size_premium() && !options.has_industry_premium() &&
      !options.has_company_specific_premium()) {
    return kDefaultDiscountRate;  // the table's components sum to it
  }
  return BuildUp(options).Sum();
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

absl::Status CheckAnalysisInput(const AnalysisInput& input, int minimum,
                                absl::string_view analysis) {
  const int n = static_cast<int>(input.periods.size());
  if (n > kMaxHistoryMonths) {
    return InvalidField("history.periods",
                        absl::StrCat("at most ", kMaxHistoryMonths,
                                     " months are accepted, got ", n));
  }
  RETURN_IF_ERROR(RequireMonths(n, minimum, analysis));
  FieldViolations violations;
  for (int i = 0; i < n; ++i) {
    const v1::MonthlyPeriod& p = input.periods[i];
    for (const DoubleField& f : kDoubleFields) {
      const double v = (p.*f.get)();
      if (!std::isfinite(v)) {
        violations.Add(absl::StrCat("history.periods[", i, "].", f.name),
                       "must be a finite number");
      } else if (f.non_negative && v < 0) {
        violations.Add(absl::StrCat("history.periods[", i, "].", f.name),
                       absl::StrCat("must be >= 0, got ", v));
      }
    }
    for (const IntField& f : kIntFields) {
      if ((p.*f.get)() < 0) {
        violations.Add(absl::StrCat("history.periods[", i, "].", f.name),
                       absl::StrCat("must be >= 0, got ", (p.*f.get)()));
      }
    }
  }
  AddOptionViolations(input.options, violations);
  return violations.ToStatus();
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
