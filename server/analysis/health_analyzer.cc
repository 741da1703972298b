#include "server/analysis/health_analyzer.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/analysis/history.h"
#include "server/analysis/seasonal.h"
#include "server/analysis/ttm.h"
#include "server/common/status_macros.h"

namespace goodbuy::analysis {
namespace {

using Anchors = std::vector<std::pair<double, double>>;

// ---- Anchors (analysis-methods.md §1.3 / §1.4) -----------------------------
// Each table maps a raw ratio to 0..100, linear between anchors and flat
// beyond the ends (PiecewiseLinear).
//
// §1.4 liquidity: buffer days 0 at <= 7, 50 at 27 (JPMorgan Chase Institute,
// "Cash is King", 2016: median small business holds 27 days, §1.3), 100 at
// >= 90.
const Anchors kBufferDaysAnchors = {{7, 0}, {27, 50}, {90, 100}};
// §1.4: current ratio 0 at <= 0.8, 50 at 1.2, 100 at >= 2.0.
const Anchors kCurrentRatioAnchors = {{0.8, 0}, {1.2, 50}, {2.0, 100}};
// §1.4: runway 0 at <= 3 months, 100 at >= 18 (not burning: 100).
const Anchors kRunwayAnchors = {{3, 0}, {18, 100}};
// §1.4 profitability: 0 at <= -10%, 50 at the industry median (10% when
// none is known), 100 at >= 2x the median. EBITDA and net margin use the
// 10% fallback. [DESIGN] Gross margin with a 10% median would score nearly
// every business 100, so it uses an all-industry default median of 30%
// (100 at 60%) until an industry table exists.
const Anchors kEbitdaMarginAnchors = {{-0.10, 0}, {0.10, 50}, {0.20, 100}};
const Anchors kNetMarginAnchors = {{-0.10, 0}, {0.10, 50}, {0.20, 100}};
const Anchors kGrossMarginAnchors = {{-0.10, 0}, {0.30, 50}, {0.60, 100}};
// §1.4 / §1.3 DSCR: 0 at <= 1.0, 60 at 1.15 (SBA SOP 50 10 5(F) minimum),
// 80 at 1.25 (common bank covenant), 100 at >= 2.0; no debt -> 100.
const Anchors kDscrAnchors = {{1.0, 0}, {1.15, 60}, {1.25, 80}, {2.0, 100}};
// §1.4 / §1.3 Debt / EBITDA: 100 at <= 1x, 60 at 3x, 40 at 4x ("leveraged",
// Interagency Guidance on Leveraged Lending 2013), 0 at >= 6x ("raises
// concerns"); EBITDA <= 0 with debt -> 0.
const Anchors kDebtToEbitdaAnchors = {{1, 100}, {3, 60}, {4, 40}, {6, 0}};
// §1.4 efficiency is "relative to own history or peers"; the anchors are
// [DESIGN]. DSO: net-30 terms score 100, 60 days 50, 120 days 0.
const Anchors kDsoAnchors = {{30, 100}, {60, 50}, {120, 0}};
// [DESIGN] Change of opex / revenue against the business's own earlier
// window: 5 points lower scores 100, unchanged 70, 10 points higher 0.
const Anchors kOpexRatioChangeAnchors = {{-0.05, 100}, {0, 70}, {0.10, 0}};
// [DESIGN] Change of revenue per customer against the earlier window:
// -10% scores 0, unchanged 50, +10% 100.
const Anchors kRevenuePerCustomerChangeAnchors = {
    {-0.10, 0}, {0, 50}, {0.10, 100}};
// §1.4 growth (YoY TTM and, [DESIGN], the 3-year CAGR): 0 at <= -20%, 50 at
// 0%, 100 at >= +25%.
const Anchors kGrowthAnchors = {{-0.20, 0}, {0, 50}, {0.25, 100}};
// §1.4 stability: CV of deseasonalised monthly revenue, 100 at <= 5%, 0 at
// >= 40%.
const Anchors kCvAnchors = {{0.05, 100}, {0.40, 0}};
// [DESIGN] Annual customer retention (§1.4 names the metric, no anchors).
const Anchors kRetentionAnchors = {{0.5, 0}, {0.8, 50}, {0.95, 100}};

// [DESIGN] weights inside the growth & stability pillar.
constexpr double kYoyGrowthShare = 0.35;
constexpr double kCagrShare = 0.15;
constexpr double kCvShare = 0.30;
constexpr double kRetentionShare = 0.20;
constexpr int kCagrMonths = 48;  // TTM now and TTM three years earlier

constexpr double kMaxBufferDays = 3650;      // reported cap: ten years
constexpr double kMaxRunwayMonths = 120;     // reported cap; "not burning"
constexpr double kMaxLeverageMultiple = 99;  // Debt/EBITDA when EBITDA <= 0
constexpr double kVolatileCv = 0.25;
constexpr double kTrendGrowth = 0.05;
constexpr double kMarginDrop = 0.05;
constexpr double kMarginRise = 0.03;
constexpr int kMaxCvMonths = 36;

double Finite(double x) { return std::isfinite(x) ? x : 0.0; }

void AddRatio(v1::HealthPillar& pillar, const char* name, double value,
              double score, const char* unit) {
  v1::Ratio* r = pillar.add_ratios();
  r->set_name(name);
  r->set_value(Finite(value));
  r->set_score(Clamp(Finite(score), 0, 100));
  r->set_unit(unit);
}

// Weighted mean over (score, weight) pairs; nullopt when all weights are 0.
std::optional<double> WeightedMean(
    const std::vector<std::pair<double, double>>& parts) {
  double sum = 0, weights = 0;
  for (const auto& [score, weight] : parts) {
    sum += score * weight;
    weights += weight;
  }
  if (!(weights > 0)) return std::nullopt;
  return Clamp(sum / weights, 0, 100);
}

struct Columns {
  std::vector<double> revenue, cogs, opex, owner, interest, principal;
  std::vector<double> ebitda, outflows, debt_service;
};

Columns Extract(const std::vector<v1::MonthlyPeriod>& p) {
  Columns c;
  c.revenue = Column(p, &v1::MonthlyPeriod::revenue);
  c.cogs = Column(p, &v1::MonthlyPeriod::cost_of_goods_sold);
  c.opex = Column(p, &v1::MonthlyPeriod::operating_expenses);
  c.owner = Column(p, &v1::MonthlyPeriod::owner_compensation);
  c.interest = Column(p, &v1::MonthlyPeriod::interest_expense);
  c.principal = Column(p, &v1::MonthlyPeriod::debt_principal_paid);
  const size_t n = p.size();
  c.ebitda.resize(n);
  c.outflows.resize(n);
  c.debt_service.resize(n);
  for (size_t i = 0; i < n; ++i) {
    c.ebitda[i] = c.revenue[i] - c.cogs[i] - c.opex[i] - c.owner[i];
    c.debt_service[i] = c.interest[i] + c.principal[i];
    c.outflows[i] = c.cogs[i] + c.opex[i] + c.owner[i] + c.debt_service[i];
  }
  return c;
}

// The two windows compared by growth-style metrics: the latest TTM and the
// one before with 24+ months, else the two halves of k = min(11, n/2).
struct Windows {
  int months = 0;
  int later_end = 0;
  int earlier_end = 0;
};
std::optional<Windows> ComparisonWindows(int n) {
  Windows w;
  w.later_end = n;
  w.months = n >= 24 ? 12 : std::min(11, n / 2);
  w.earlier_end = n - w.months;
  if (w.months < 1) return std::nullopt;
  return w;
}

std::optional<double> MarginChange(const Columns& c, const Windows& w,
                                   const std::vector<double>& numerator) {
  const double rev_later = WindowSum(c.revenue, w.later_end, w.months);
  const double rev_earlier = WindowSum(c.revenue, w.earlier_end, w.months);
  if (!(rev_later > 0) || !(rev_earlier > 0)) return std::nullopt;
  return WindowSum(numerator, w.later_end, w.months) / rev_later -
         WindowSum(numerator, w.earlier_end, w.months) / rev_earlier;
}

// Revenue for the stability measures: the last <= 36 months, deseasonalised
// multiplicatively when there are 24+ of them and all are positive.
std::vector<double> StabilitySeries(const std::vector<double>& revenue,
                                    bool* deseasonalised) {
  const int n = static_cast<int>(revenue.size());
  const int k = std::min(n, kMaxCvMonths);
  std::vector<double> x(revenue.end() - k, revenue.end());
  *deseasonalised = false;
  if (k >= 2 * kMonthsPerYear &&
      std::all_of(x.begin(), x.end(), [](double v) { return v > 0; })) {
    x = ClassicalDecompose(x, /*multiplicative=*/true).adjusted;
    *deseasonalised = true;
  }
  return x;
}

// Residual standard deviation around an OLS line, over the mean.
std::optional<double> DetrendedCv(const std::vector<double>& x) {
  const int n = static_cast<int>(x.size());
  const double mean = Mean(x);
  if (n < 6 || !(mean > 0)) return std::nullopt;
  double tm = (n - 1) / 2.0, sxy = 0, sxx = 0;
  for (int t = 0; t < n; ++t) {
    sxy += (t - tm) * (x[t] - mean);
    sxx += (t - tm) * (t - tm);
  }
  const double slope = SafeDiv(sxy, sxx);
  double ss = 0;
  for (int t = 0; t < n; ++t) {
    const double e = x[t] - (mean + slope * (t - tm));
    ss += e * e;
  }
  return std::sqrt(ss / (n - 2)) / mean;
}

v1::HealthPillar Liquidity(const std::vector<v1::MonthlyPeriod>& p,
                           const Columns& c) {
  v1::HealthPillar pillar;
  pillar.set_name("liquidity");
  pillar.set_has_data(true);
  const v1::MonthlyPeriod& last = p.back();
  const double daily_outflows = TtmSum(c.outflows) / 365.0;
  double buffer_days = daily_outflows > 0
                           ? last.cash() / daily_outflows
                           : (last.cash() > 0 ? kMaxBufferDays : 0);
  buffer_days = Clamp(buffer_days, 0, kMaxBufferDays);
  std::vector<double> scores;
  scores.push_back(PiecewiseLinear(buffer_days, kBufferDaysAnchors));
  AddRatio(pillar, "cash_buffer_days", buffer_days, scores.back(), "days");
  std::vector<std::string> text = {absl::StrFormat(
      "cash covers %.0f days of outflows (median small business: 27)",
      buffer_days)};

  if (last.current_assets() > 0 && last.current_liabilities() > 0) {
    const double cr = last.current_assets() / last.current_liabilities();
    scores.push_back(PiecewiseLinear(cr, kCurrentRatioAnchors));
    AddRatio(pillar, "current_ratio", cr, scores.back(), "ratio");
    text.push_back(absl::StrFormat("current ratio %.2f", cr));
  }

  const int n = static_cast<int>(p.size());
  const int k = std::min(3, n);
  const double burn =
      (WindowSum(c.outflows, n, k) - WindowSum(c.revenue, n, k)) / k;
  if (burn > 0) {
    const double runway = Clamp(last.cash() / burn, 0, kMaxRunwayMonths);
    scores.push_back(PiecewiseLinear(runway, kRunwayAnchors));
    AddRatio(pillar, "runway_months", runway, scores.back(), "months");
    text.push_back(absl::StrFormat(
        "burning %.0f a month: %.1f months of runway", burn, runway));
  } else {
    AddRatio(pillar, "runway_months", kMaxRunwayMonths, 100, "months");
    text.push_back("not burning cash");
  }
  pillar.set_score(Clamp(Mean(scores), 0, 100));
  pillar.set_explanation(
      absl::StrCat("Liquidity: ", absl::StrJoin(text, "; "), "."));
  return pillar;
}

v1::HealthPillar Profitability(const Columns& c) {
  v1::HealthPillar pillar;
  pillar.set_name("profitability");
  const double revenue = TtmSum(c.revenue);
  const double ebitda = TtmSum(c.ebitda);
  const double costs = revenue - ebitda;
  if (!(revenue > 0)) {
    pillar.set_has_data(costs > 0);
    pillar.set_score(0);
    if (costs > 0) {
      AddRatio(pillar, "revenue_ttm", revenue, 0, "currency");
      pillar.set_explanation(
          "Profitability: no revenue in the last 12 months while costs were "
          "incurred.");
    } else {
      pillar.set_explanation("Profitability: no revenue or costs reported.");
    }
    return pillar;
  }
  const double ebitda_margin = ebitda / revenue;
  const double net_margin = (ebitda - TtmSum(c.interest)) / revenue;
  const double gross_margin = (revenue - TtmSum(c.cogs)) / revenue;
  const double s_ebitda = PiecewiseLinear(ebitda_margin, kEbitdaMarginAnchors);
  const double s_net = PiecewiseLinear(net_margin, kNetMarginAnchors);
  const double s_gross = PiecewiseLinear(gross_margin, kGrossMarginAnchors);
  AddRatio(pillar, "ebitda_margin", 100 * ebitda_margin, s_ebitda, "percent");
  AddRatio(pillar, "net_margin", 100 * net_margin, s_net, "percent");
  AddRatio(pillar, "gross_margin", 100 * gross_margin, s_gross, "percent");
  pillar.set_has_data(true);
  pillar.set_score(Clamp(0.5 * s_ebitda + 0.3 * s_net + 0.2 * s_gross, 0, 100));
  pillar.set_explanation(absl::StrFormat(
      "Profitability: EBITDA margin %.1f%% (after owner pay), net margin "
      "%.1f%%, gross margin %.1f%%.",
      100 * ebitda_margin, 100 * net_margin, 100 * gross_margin));
  return pillar;
}

v1::HealthPillar Leverage(const std::vector<v1::MonthlyPeriod>& p,
                          const Columns& c) {
  v1::HealthPillar pillar;
  pillar.set_name("leverage");
  pillar.set_has_data(true);
  const double debt = p.back().total_debt();
  const double service = TtmSum(c.debt_service);
  const double ebitda = TtmSum(c.ebitda);
  if (!(debt > 0) && !(service > 0)) {
    AddRatio(pillar, "total_debt", 0, 100, "currency");
    pillar.set_score(100);
    pillar.set_explanation("Leverage: no debt and no debt service.");
    return pillar;
  }
  std::vector<double> scores;
  std::vector<std::string> text;
  if (service > 0) {
    const double dscr = Clamp(ebitda / service, -100, 100);
    scores.push_back(PiecewiseLinear(dscr, kDscrAnchors));
    AddRatio(pillar, "dscr", dscr, scores.back(), "x");
    text.push_back(
        absl::StrFormat("DSCR %.2fx (SBA minimum 1.15x, banks 1.25x)", dscr));
  }
  if (debt > 0) {
    if (ebitda > 0) {
      const double multiple = std::min(debt / ebitda, kMaxLeverageMultiple);
      scores.push_back(PiecewiseLinear(multiple, kDebtToEbitdaAnchors));
      AddRatio(pillar, "debt_to_ebitda", multiple, scores.back(), "x");
      text.push_back(absl::StrFormat(
          "debt is %.1fx EBITDA (over 4x is leveraged, over 6x a concern)",
          multiple));
    } else {
      scores.push_back(0);
      AddRatio(pillar, "debt_to_ebitda", kMaxLeverageMultiple, 0, "x");
      text.push_back("debt outstanding with no positive EBITDA to carry it");
    }
  }
  pillar.set_score(Clamp(Mean(scores), 0, 100));
  pillar.set_explanation(
      absl::StrCat("Leverage: ", absl::StrJoin(text, "; "), "."));
  return pillar;
}

v1::HealthPillar Efficiency(const std::vector<v1::MonthlyPeriod>& p,
                            const Columns& c) {
  v1::HealthPillar pillar;
  pillar.set_name("efficiency");
  std::vector<double> scores;
  std::vector<std::string> text;
  const double revenue = TtmSum(c.revenue);
  const double ar = p.back().accounts_receivable();
  if (ar > 0 && revenue > 0) {
    const double dso = Clamp(ar / revenue * 365.0, 0, kMaxBufferDays);
    scores.push_back(PiecewiseLinear(dso, kDsoAnchors));
    AddRatio(pillar, "dso_days", dso, scores.back(), "days");
    text.push_back(absl::StrFormat("customers pay in %.0f days", dso));
  }
  const int n = static_cast<int>(p.size());
  std::optional<Windows> w = ComparisonWindows(n);
  if (n >= 6 && w.has_value()) {
    if (std::optional<double> change = MarginChange(c, *w, c.opex)) {
      const double now = WindowSum(c.opex, w->later_end, w->months) /
                         WindowSum(c.revenue, w->later_end, w->months);
      scores.push_back(PiecewiseLinear(*change, kOpexRatioChangeAnchors));
      AddRatio(pillar, "opex_ratio", 100 * now, scores.back(), "percent");
      AddRatio(pillar, "opex_ratio_change", 100 * *change, scores.back(),
               "percent");
      text.push_back(absl::StrFormat(
          "operating expenses are %.1f%% of revenue, %+.1f points against the "
          "previous %d months",
          100 * now, 100 * *change, w->months));
    }
  }
  if (n >= 6 && w.has_value()) {
    // Average month-end customers in each window; both must be positive.
    double later_customers = 0, earlier_customers = 0;
    for (int i = w->later_end - w->months; i < w->later_end; ++i) {
      later_customers += p[i].customers();
    }
    for (int i = w->earlier_end - w->months; i < w->earlier_end; ++i) {
      earlier_customers += p[i].customers();
    }
    const double rev_later = WindowSum(c.revenue, w->later_end, w->months);
    const double rev_earlier = WindowSum(c.revenue, w->earlier_end, w->months);
    if (later_customers > 0 && earlier_customers > 0 && rev_earlier > 0) {
      const double change = Clamp(
          (rev_later / later_customers) / (rev_earlier / earlier_customers) - 1,
          -1, 10);
      scores.push_back(
          PiecewiseLinear(change, kRevenuePerCustomerChangeAnchors));
      AddRatio(pillar, "revenue_per_customer_change", 100 * change,
               scores.back(), "percent");
      text.push_back(absl::StrFormat(
          "revenue per customer %+.1f%% against the previous %d months",
          100 * change, w->months));
    }
  }
  pillar.set_has_data(!scores.empty());
  pillar.set_score(scores.empty() ? 0 : Clamp(Mean(scores), 0, 100));
  pillar.set_explanation(
      scores.empty()
          ? "Efficiency: no receivables or customer counts reported and too "
            "little history to compare the expense ratio."
          : absl::StrCat("Efficiency: ", absl::StrJoin(text, "; "), "."));
  return pillar;
}

struct GrowthParts {
  std::optional<double> growth_score;
  std::optional<double> cv_score;
};

v1::HealthPillar GrowthPillar(const std::vector<v1::MonthlyPeriod>& p,
                              const Columns& c,
                              const std::vector<double>& stability_series,
                              bool deseasonalised, GrowthParts& parts,
                              std::vector<std::string>& warnings) {
  v1::HealthPillar pillar;
  pillar.set_name("growth");
  std::vector<std::pair<double, double>> weighted;
  std::vector<std::string> text;
  if (std::optional<Growth> g = RecentGrowth(c.revenue)) {
    parts.growth_score = PiecewiseLinear(g->rate, kGrowthAnchors);
    weighted.emplace_back(*parts.growth_score, kYoyGrowthShare);
    AddRatio(pillar, "revenue_growth", 100 * g->rate, *parts.growth_score,
             "percent");
    if (g->year_over_year) {
      text.push_back(
          absl::StrFormat("TTM revenue %+.1f%% year over year", 100 * g->rate));
    } else {
      text.push_back(absl::StrFormat(
          "revenue %+.1f%%%s comparing the last %d months with the %d before "
          "(24 months are needed for year-over-year TTM growth)",
          100 * g->rate, g->annualised ? " a year" : "", g->window_months,
          g->window_months));
      warnings.push_back(absl::StrFormat(
          "Growth uses %d-month windows: 24 months of history are needed for "
          "year-over-year TTM growth.",
          g->window_months));
    }
  }
  // §1.4 "3y CAGR": TTM revenue now against TTM three years earlier.
  const int n_months = static_cast<int>(c.revenue.size());
  if (n_months >= kCagrMonths) {
    const double now = WindowSum(c.revenue, n_months, 12);
    const double then = WindowSum(c.revenue, n_months - 36, 12);
    if (then > 0 && now >= 0) {
      const double cagr = Clamp(std::cbrt(now / then) - 1, -1, 10);
      const double score = PiecewiseLinear(cagr, kGrowthAnchors);
      weighted.emplace_back(score, kCagrShare);
      AddRatio(pillar, "revenue_cagr_3y", 100 * cagr, score, "percent");
      text.push_back(
          absl::StrFormat("%+.1f%% a year over three years", 100 * cagr));
    }
  }
  if (std::optional<double> cv = CoefficientOfVariation(stability_series)) {
    parts.cv_score = PiecewiseLinear(*cv, kCvAnchors);
    weighted.emplace_back(*parts.cv_score, kCvShare);
    AddRatio(pillar, "revenue_cv", *cv, *parts.cv_score, "ratio");
    text.push_back(absl::StrFormat("revenue varies by %.0f%% (CV%s)", 100 * *cv,
                                   deseasonalised ? ", deseasonalised" : ""));
  }
  // Retention over the TTM window: customers at the start of it (month-end
  // count of the month before, else its first month) against the churn
  // during it, compounded to a year when the window is shorter.
  const int n = static_cast<int>(p.size());
  const int w = TtmMonths(n);
  const int start_index = std::max(0, n - w - 1);
  const double start_customers = p[start_index].customers();
  if (start_customers > 0) {
    double churned = 0;
    for (int i = n - w; i < n; ++i) churned += p[i].churned_customers();
    double retention = Clamp(1.0 - churned / start_customers, 0, 1);
    if (w < 12) retention = std::pow(retention, 12.0 / w);
    const double score = PiecewiseLinear(retention, kRetentionAnchors);
    weighted.emplace_back(score, kRetentionShare);
    AddRatio(pillar, "customer_retention", 100 * retention, score, "percent");
    text.push_back(absl::StrFormat("%.0f%% of customers retained per year",
                                   100 * retention));
  }
  std::optional<double> score = WeightedMean(weighted);
  pillar.set_has_data(score.has_value());
  pillar.set_score(score.value_or(0));
  pillar.set_explanation(
      score.has_value()
          ? absl::StrCat("Growth & stability: ", absl::StrJoin(text, "; "), ".")
          : "Growth & stability: no revenue to measure.");
  return pillar;
}

v1::Trajectory ComputeTrajectory(const Columns& c,
                                 const std::vector<double>& stability_series) {
  if (std::optional<double> cv = DetrendedCv(stability_series);
      cv && *cv > kVolatileCv) {
    return v1::TRAJECTORY_VOLATILE;
  }
  std::optional<Growth> g = RecentGrowth(c.revenue);
  std::optional<double> dm;
  if (std::optional<Windows> w =
          ComparisonWindows(static_cast<int>(c.revenue.size()))) {
    dm = MarginChange(c, *w, c.ebitda);
  }
  if ((g && g->rate < -kTrendGrowth) || (dm && *dm < -kMarginDrop)) {
    return v1::TRAJECTORY_DECLINING;
  }
  if ((g && g->rate > kTrendGrowth) || (dm && *dm > kMarginRise)) {
    return v1::TRAJECTORY_IMPROVING;
  }
  return v1::TRAJECTORY_STABLE;
}

}  // namespace

double AltmanZ(AltmanModel model, const AltmanInputs& in) {
  if (!(in.total_assets > 0)) return 0;
  constexpr double kMaxX4 = 10;
  const double ta = in.total_assets;
  const double x1 = in.working_capital / ta;
  const double x2 = in.retained_earnings / ta;
  const double x3 = in.ebit / ta;
  const double x4 = in.total_liabilities > 0
                        ? std::min(in.equity / in.total_liabilities, kMaxX4)
                        : kMaxX4;
  const double x5 = in.sales / ta;
  // Coefficients: analysis-methods.md §1.1 (Altman 2000; 2018).
  double z = 0;
  switch (model) {
    case AltmanModel::kZ:
      z = 1.2 * x1 + 1.4 * x2 + 3.3 * x3 + 0.6 * x4 + 1.0 * x5;
      break;
    case AltmanModel::kZPrime:
      z = 0.717 * x1 + 0.847 * x2 + 3.107 * x3 + 0.420 * x4 + 0.998 * x5;
      break;
    case AltmanModel::kZDoublePrime:
      z = 6.56 * x1 + 3.26 * x2 + 6.72 * x3 + 1.05 * x4;
      break;
    case AltmanModel::kZDoublePrimeEm:
      z = 6.56 * x1 + 3.26 * x2 + 6.72 * x3 + 1.05 * x4 + 3.25;
      break;
  }
  return Finite(z);
}

AltmanZones ZonesOf(AltmanModel model) {
  // §1.1 zone table (Z'' uses 1.10 / 2.60, not creditguru's 1.23 / 2.90).
  switch (model) {
    case AltmanModel::kZ:
      return {1.81, 2.99};
    case AltmanModel::kZPrime:
      return {1.23, 2.90};
    case AltmanModel::kZDoublePrime:
      return {kAltmanDistressBelow, kAltmanSafeAbove};
    case AltmanModel::kZDoublePrimeEm:
      return {4.35, 5.85};
  }
  return {kAltmanDistressBelow, kAltmanSafeAbove};
}

const char* AltmanZone(AltmanModel model, double z) {
  const AltmanZones zones = ZonesOf(model);
  if (z < zones.distress_below) return "distress";
  if (z > zones.safe_above) return "safe";
  return "grey";
}

const char* AltmanModelName(AltmanModel model) {
  switch (model) {
    case AltmanModel::kZ:
      return "z";
    case AltmanModel::kZPrime:
      return "z_prime";
    case AltmanModel::kZDoublePrime:
      return "z_double_prime";
    case AltmanModel::kZDoublePrimeEm:
      return "z_double_prime_em";
  }
  return "unknown";
}

double AltmanZDoublePrime(double working_capital, double retained_earnings,
                          double ebit, double book_equity,
                          double total_liabilities, double total_assets) {
  AltmanInputs in;
  in.working_capital = working_capital;
  in.retained_earnings = retained_earnings;
  in.ebit = ebit;
  in.equity = book_equity;
  in.total_liabilities = total_liabilities;
  in.total_assets = total_assets;
  return AltmanZ(AltmanModel::kZDoublePrime, in);
}

const char* HealthBand(int overall_score) {
  if (overall_score >= 80) return "strong";
  if (overall_score >= 60) return "healthy";
  if (overall_score >= 40) return "watch";
  return "at_risk";
}

absl::StatusOr<v1::AnalysisResult> AnalyzeHealth(const AnalysisInput& in,
                                                 ProgressSink& sink) {
  const std::vector<v1::MonthlyPeriod>& p = in.periods;
  const int n = static_cast<int>(p.size());
  RETURN_IF_ERROR(CheckAnalysisInput(in, kMinHealthMonths, "health analysis"));
  const auto cancelled = [] {
    return absl::CancelledError("health analysis cancelled");
  };
  if (!sink.Progress(5, "prepare")) return cancelled();

  const Columns c = Extract(p);
  bool deseasonalised = false;
  const std::vector<double> stability =
      StabilitySeries(c.revenue, &deseasonalised);
  std::vector<std::string> warnings;
  if (n < 12) {
    warnings.push_back(absl::StrFormat(
        "Only %d months of history: trailing-12-month figures are annualised.",
        n));
  }

  GrowthParts growth_parts;
  struct Step {
    int percent;
    double weight;
  };
  const Step steps[] = {{10, kLiquidityWeight},
                        {25, kProfitabilityWeight},
                        {40, kLeverageWeight},
                        {55, kEfficiencyWeight},
                        {70, kGrowthWeight}};
  std::vector<v1::HealthPillar> pillars;
  for (int i = 0; i < 5; ++i) {
    v1::HealthPillar pillar;
    switch (i) {
      case 0:
        pillar = Liquidity(p, c);
        break;
      case 1:
        pillar = Profitability(c);
        break;
      case 2:
        pillar = Leverage(p, c);
        break;
      case 3:
        pillar = Efficiency(p, c);
        break;
      default:
        pillar = GrowthPillar(p, c, stability, deseasonalised, growth_parts,
                              warnings);
        break;
    }
    pillar.set_weight(steps[i].weight);
    v1::PartialResult partial;
    partial.set_key(absl::StrCat("pillar/", pillar.name()));
    *partial.mutable_health_pillar() = pillar;
    const std::string stage = pillar.name();
    pillars.push_back(std::move(pillar));
    if (!sink.Partial(steps[i].percent, stage, std::move(partial))) {
      return cancelled();
    }
  }

  // Renormalise the weights over the pillars with data.
  double total_weight = 0;
  for (const auto& pillar : pillars) {
    if (pillar.has_data()) total_weight += pillar.weight();
  }
  double overall = 0;
  for (auto& pillar : pillars) {
    const double w = pillar.has_data() && total_weight > 0
                         ? pillar.weight() / total_weight
                         : 0.0;
    pillar.set_weight(w);
    overall += w * pillar.score();
  }
  overall = Clamp(overall, 0, 100);
  const auto score_of = [&](int i) {
    return std::make_pair(pillars[i].score(),
                          pillars[i].has_data() ? steps[i].weight : 0.0);
  };

  v1::AnalysisResult result;
  v1::HealthAnalysis& h = *result.mutable_health();
  // §1.4 distress override from Altman Z'' when balance-sheet data exists;
  // every §1.1 variant is reported.
  double cap = 100;
  const v1::MonthlyPeriod& last = p.back();
  if (last.total_assets() > 0 && last.current_assets() > 0) {
    AltmanInputs ai;
    ai.working_capital = last.current_assets() - last.current_liabilities();
    ai.retained_earnings = last.retained_earnings();
    ai.ebit = TtmSum(c.ebitda);  // no depreciation reported: EBIT = EBITDA
    ai.equity = last.equity();
    ai.total_liabilities = last.total_assets() - last.equity();
    ai.total_assets = last.total_assets();
    ai.sales = TtmSum(c.revenue);
    for (AltmanModel model : kAltmanModels) {
      const double value = AltmanZ(model, ai);
      const AltmanZones zones = ZonesOf(model);
      v1::AltmanScore* a = h.add_altman_scores();
      a->set_model(AltmanModelName(model));
      a->set_value(value);
      a->set_zone(AltmanZone(model, value));
      a->set_distress_below(zones.distress_below);
      a->set_safe_above(zones.safe_above);
      switch (model) {
        case AltmanModel::kZ:
          a->set_note(
              "1968 model for public manufacturers; book equity stands in for "
              "market value; uses asset turnover (industry-sensitive).");
          break;
        case AltmanModel::kZPrime:
          a->set_note("Private-firm model; uses asset turnover.");
          break;
        case AltmanModel::kZDoublePrime:
          a->set_note(
              "Non-manufacturer / private model recommended for small "
              "businesses; sets the score cap.");
          break;
        case AltmanModel::kZDoublePrimeEm:
          a->set_note("Emerging-market score: Z'' + 3.25.");
          break;
      }
    }
    const double z = AltmanZ(AltmanModel::kZDoublePrime, ai);
    h.set_altman_z_double_prime(z);
    h.set_has_altman_z(true);
    h.set_altman_zone(AltmanZone(AltmanModel::kZDoublePrime, z));
    if (z < kAltmanDistressBelow) {
      cap = kDistressCap;
      warnings.push_back(absl::StrFormat(
          "Altman Z'' = %.2f is in the distress zone (< 1.10): the score is "
          "capped at 40.",
          z));
    } else if (z <= kAltmanSafeAbove) {
      cap = kGreyCap;
      warnings.push_back(absl::StrFormat(
          "Altman Z'' = %.2f is in the grey zone (1.10-2.60): the score is "
          "capped at 70.",
          z));
    }
  }
  h.set_score_cap(cap);
  overall = std::min(overall, cap);

  const double completeness = DataCompleteness(p);
  const double history_factor = std::min(1.0, n / 24.0);
  const double record_quality =
      100 * (0.5 * completeness + 0.5 * std::min(1.0, n / 36.0));
  std::vector<std::pair<double, double>> readiness = {
      {pillars[1].score(), pillars[1].has_data() ? 0.35 : 0.0},
      {record_quality, 0.20}};
  if (growth_parts.growth_score) {
    readiness.emplace_back(*growth_parts.growth_score, 0.25);
  }
  if (growth_parts.cv_score)
    readiness.emplace_back(*growth_parts.cv_score, 0.20);

  h.set_overall_score(static_cast<int>(std::lround(overall)));
  h.set_growth_score(static_cast<int>(std::lround(pillars[4].score())));
  h.set_operational_score(static_cast<int>(
      std::lround(WeightedMean({score_of(3), score_of(0)}).value_or(0))));
  h.set_financial_score(static_cast<int>(
      std::lround(WeightedMean({score_of(1), score_of(2)}).value_or(0))));
  h.set_sale_readiness_score(static_cast<int>(
      std::lround(std::min(cap, WeightedMean(readiness).value_or(0)))));
  h.set_confidence_level(static_cast<int>(std::lround(
      Clamp(100 * (0.6 * history_factor + 0.4 * completeness), 0, 100))));
  h.set_trajectory(ComputeTrajectory(c, stability));
  h.set_band(HealthBand(h.overall_score()));
  h.set_data_completeness(completeness);
  h.set_months_used(n);
  for (auto& pillar : pillars) *h.add_pillars() = std::move(pillar);
  result.set_confidence_score(h.confidence_level());
  for (auto& w : warnings) result.add_warnings(std::move(w));
  if (!sink.Progress(90, "overall")) return cancelled();
  return result;
}

}  // namespace goodbuy::analysis
