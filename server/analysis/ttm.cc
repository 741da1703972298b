#include "server/analysis/ttm.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace goodbuy::analysis {

std::optional<int> ParseMonthIndex(absl::string_view month) {
  if (month.size() != 7 || month[4] != '-') return std::nullopt;
  int year = 0;
  for (int i = 0; i < 4; ++i) {
    if (month[i] < '0' || month[i] > '9') return std::nullopt;
    year = year * 10 + (month[i] - '0');
  }
  if (month[5] < '0' || month[5] > '9' || month[6] < '0' || month[6] > '9') {
    return std::nullopt;
  }
  const int m = (month[5] - '0') * 10 + (month[6] - '0');
  if (m < 1 || m > 12 || year < kMinYear || year > kMaxYear) {
    return std::nullopt;
  }
  return year * 12 + (m - 1);
}

std::string FormatMonthIndex(int index) {
  return absl::StrFormat("%04d-%02d", index / 12, index % 12 + 1);
}

absl::StatusOr<std::string> AddMonths(absl::string_view month, int n) {
  std::optional<int> index = ParseMonthIndex(month);
  if (!index.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a month \"YYYY-MM\": \"", month, "\""));
  }
  return FormatMonthIndex(*index + n);
}

std::vector<double> Column(const std::vector<v1::MonthlyPeriod>& periods,
                           PeriodField field) {
  std::vector<double> out;
  out.reserve(periods.size());
  for (const auto& p : periods) out.push_back((p.*field)());
  return out;
}

double WindowSum(const std::vector<double>& values, int end, int months) {
  end = std::min<int>(end, static_cast<int>(values.size()));
  double sum = 0;
  for (int i = std::max(0, end - months); i < end; ++i) sum += values[i];
  return sum;
}

int TtmMonths(int n) { return std::min(12, std::max(0, n)); }

double TtmSum(const std::vector<double>& values, bool* annualised) {
  const int n = static_cast<int>(values.size());
  const int w = TtmMonths(n);
  if (annualised != nullptr) *annualised = w < 12;
  if (w == 0) return 0;
  return WindowSum(values, n, w) * 12.0 / w;
}

std::optional<Growth> RecentGrowth(const std::vector<double>& values) {
  const int n = static_cast<int>(values.size());
  Growth g;
  double later = 0;
  double earlier = 0;
  if (n >= 24) {
    g.window_months = 12;
    g.year_over_year = true;
    later = WindowSum(values, n, 12);
    earlier = WindowSum(values, n - 12, 12);
  } else {
    const int k = std::min(11, n / 2);
    if (k < 1) return std::nullopt;
    g.window_months = k;
    later = WindowSum(values, n, k);
    earlier = WindowSum(values, n - k, k);
  }
  if (earlier <= 0) return std::nullopt;
  double ratio = std::max(0.0, later / earlier);
  if (!g.year_over_year && g.window_months >= 6) {
    ratio = std::pow(ratio, 12.0 / g.window_months);
    g.annualised = true;
  }
  g.rate = Clamp(ratio - 1.0, -1.0, 10.0);
  return g;
}

double SafeDiv(double a, double b, double fallback) {
  if (b == 0) return fallback;
  const double q = a / b;
  return std::isfinite(q) ? q : fallback;
}

double Mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

double SampleStdDev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = Mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

std::optional<double> CoefficientOfVariation(const std::vector<double>& v) {
  const double m = Mean(v);
  if (!(m > 0)) return std::nullopt;
  const double cv = SampleStdDev(v) / m;
  if (!std::isfinite(cv)) return std::nullopt;
  return cv;
}

double PiecewiseLinear(double x,
                       const std::vector<std::pair<double, double>>& anchors) {
  if (anchors.empty()) return 0;
  if (!std::isfinite(x)) {
    // +inf and -inf map to the ends; NaN is never passed by our callers but
    // maps to the low end rather than poisoning a score.
    return x > 0 ? anchors.back().second : anchors.front().second;
  }
  if (x <= anchors.front().first) return anchors.front().second;
  if (x >= anchors.back().first) return anchors.back().second;
  for (size_t i = 1; i < anchors.size(); ++i) {
    const auto& [x1, y1] = anchors[i];
    if (x <= x1) {
      const auto& [x0, y0] = anchors[i - 1];
      const double t = SafeDiv(x - x0, x1 - x0, 1.0);
      return y0 + t * (y1 - y0);
    }
  }
  return anchors.back().second;
}

double Clamp(double x, double lo, double hi) {
  if (!(x >= lo)) return lo;  // also catches NaN
  if (x > hi) return hi;
  return x;
}

double DataCompleteness(const std::vector<v1::MonthlyPeriod>& periods) {
  bool revenue = false, cogs = false, opex = false, owner = false, cash = false,
       customers = false, current = false, assets = false, equity = false,
       receivables = false;
  for (const auto& p : periods) {
    revenue |= p.revenue() != 0;
    cogs |= p.cost_of_goods_sold() != 0;
    opex |= p.operating_expenses() != 0;
    owner |= p.owner_compensation() != 0;
    cash |= p.cash() != 0;
    customers |= p.customers() != 0;
    current |= p.current_assets() != 0 && p.current_liabilities() != 0;
    assets |= p.total_assets() != 0;
    equity |= p.equity() != 0 || p.retained_earnings() != 0;
    receivables |= p.accounts_receivable() != 0;
  }
  const int present = revenue + cogs + opex + owner + cash + customers +
                      current + assets + equity + receivables;
  return present / 10.0;
}

}  // namespace goodbuy::analysis
