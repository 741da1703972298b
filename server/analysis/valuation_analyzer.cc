#include "server/analysis/valuation_analyzer.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/analysis/forecast_analyzer.h"
#include "server/analysis/forecast_models.h"
#include "server/analysis/history.h"
#include "server/analysis/market_data.h"
#include "server/analysis/seasonal.h"
#include "server/analysis/ttm.h"
#include "server/common/status_macros.h"

namespace goodbuy::analysis {
namespace {

constexpr double kMinOwnerSalaryShareOfSde = 0.25;  // [DESIGN] default
constexpr double kMinRateOverGrowth = 0.01;         // keeps r - 3 pp above g
constexpr double kSmbMinSpread = 0.05;      // §2.3: r - g >= 5 pp for SMBs
constexpr double kMaxTerminalShare = 0.75;  // §2.3: warn if TV/EV > 75%
constexpr int kStabilityMonths = 36;
constexpr double kHistoryFullMonths = 36;    // §2.4: min(1, months / 36)
constexpr double kStabilityCvScale = 0.5;    // §2.4: CV / 0.5
constexpr double kSkillNotComputable = 0.5;  // §2.4: 0.5 if not computable
constexpr int kShortSeriesMonths = 8;        // §3.2 step 5: mean below ~8
constexpr int kHoldoutMonths = 12;           // forecast-skill holdout
constexpr int kMinSkillMonths = 24;          // 12 to train, 12 to test

void AddInput(v1::ValuationMethod& m, const char* name, double value,
              const char* unit) {
  v1::Ratio* r = m.add_inputs();
  r->set_name(name);
  r->set_value(std::isfinite(value) ? value : 0.0);
  r->set_unit(unit);
}

double Floor0(double x) { return std::isfinite(x) && x > 0 ? x : 0.0; }

// Orders low <= base <= high after flooring at 0.
void SetRange(v1::ValuationMethod& m, double low, double base, double high) {
  base = Floor0(base);
  m.set_low(std::min(Floor0(low), base));
  m.set_base(base);
  m.set_high(std::max(Floor0(high), base));
}

double LogInterpolated(double x, double x0, double y0, double x1, double y1) {
  if (!(x > x0) || !(x1 > x0)) return y0;
  if (x >= x1) return y1;
  const double t = std::log(x / x0) / std::log(x1 / x0);
  return y0 + t * (y1 - y0);
}

// The monthly revenue forecast behind the income method, h = 1..60, each
// path floored at 0.
struct RevenuePaths {
  ModelId model = ModelId::kTheta;
  bool seasonal = false;
  bool multiplicative = false;
  std::vector<double> mean, lower80, upper80;
};

RevenuePaths ForecastRevenue(const std::vector<double>& revenue, int horizon) {
  RevenuePaths out;
  out.model = static_cast<int>(revenue.size()) < kShortSeriesMonths
                  ? ModelId::kMean
                  : ModelId::kTheta;
  PipelineOptions options;
  options.models = {out.model};
  const PipelineRun run = RunPipeline(revenue, horizon, options);
  const ModelRun& m = run.model(out.model);
  out.seasonal = run.seasonal;
  out.multiplicative = run.multiplicative;
  const auto floored = [horizon](const std::vector<double>& v,
                                 double fallback) {
    std::vector<double> x(horizon, fallback);
    for (int h = 0; h < horizon && h < static_cast<int>(v.size()); ++h) {
      x[h] = Floor0(v[h]);
    }
    return x;
  };
  // A model that is not available (it should always be) degrades to a flat
  // path at the mean month, with no interval.
  const double flat = Floor0(Mean(revenue));
  const bool ok = m.available && static_cast<int>(m.mean.size()) >= horizon;
  out.mean = floored(ok ? m.mean : std::vector<double>(), flat);
  out.lower80 = floored(ok ? m.lower80 : std::vector<double>(), flat);
  out.upper80 = floored(ok ? m.upper80 : std::vector<double>(), flat);
  for (int h = 0; h < horizon; ++h) {
    out.lower80[h] = std::min(out.lower80[h], out.mean[h]);
    out.upper80[h] = std::max(out.upper80[h], out.mean[h]);
  }
  return out;
}

// §2.4 forecast skill: min(1, 1 / MASE) of the same model and seasonal
// specification on a 12-month holdout; nullopt with fewer than 24 months.
std::optional<double> ForecastSkill(const std::vector<double>& revenue,
                                    const RevenuePaths& paths) {
  const int n = static_cast<int>(revenue.size());
  if (n < kMinSkillMonths) return std::nullopt;
  const int train_n = n - kHoldoutMonths;
  const std::vector<double> train(revenue.begin(), revenue.begin() + train_n);
  const std::vector<double> actual(revenue.begin() + train_n, revenue.end());
  PipelineOptions options;
  options.models = {paths.model};
  options.seasonal = paths.seasonal;
  options.multiplicative = paths.multiplicative;
  const PipelineRun run = RunPipeline(train, kHoldoutMonths, options);
  const ModelRun& m = run.model(paths.model);
  if (!m.available || static_cast<int>(m.mean.size()) < kHoldoutMonths) {
    return std::nullopt;
  }
  std::vector<double> forecast(kHoldoutMonths);
  for (int h = 0; h < kHoldoutMonths; ++h) forecast[h] = Floor0(m.mean[h]);
  const double scale =
      MaseScale(train, train_n > kMonthsPerYear ? kMonthsPerYear : 1);
  const double mase = Mase(actual, forecast, scale);
  if (!std::isfinite(mase)) return std::nullopt;
  return mase > 0 ? std::min(1.0, 1 / mase) : 1.0;
}

bool Emit(ProgressSink& sink, int percent, const v1::ValuationMethod& method) {
  v1::PartialResult partial;
  partial.set_key(absl::StrCat("method/", method.method()));
  *partial.mutable_valuation_method() = method;
  return sink.Partial(percent, method.method(), std::move(partial));
}

}  // namespace

absl::StatusOr<DcfResult> DiscountedCashFlow(
    const std::vector<double>& cash_flows, double discount_rate,
    double terminal_growth) {
  if (cash_flows.empty()) {
    return absl::InvalidArgumentError("DCF needs at least one cash flow");
  }
  if (!(discount_rate > -1) || !(discount_rate > terminal_growth)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "DCF needs a discount rate above the terminal growth rate, got r = ",
        discount_rate, ", g = ", terminal_growth));
  }
  DcfResult out;
  double factor = 1;
  for (double cf : cash_flows) {
    factor *= 1 + discount_rate;
    out.pv_cash_flows += cf / factor;
  }
  out.terminal_value = cash_flows.back() * (1 + terminal_growth) /
                       (discount_rate - terminal_growth);
  out.pv_terminal_value = out.terminal_value / factor;
  out.enterprise_value = out.pv_cash_flows + out.pv_terminal_value;
  return out;
}

absl::StatusOr<double> CapitalizedValue(double cash_flow, double discount_rate,
                                        double terminal_growth) {
  if (!(discount_rate > terminal_growth)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "capitalisation needs a discount rate above the growth rate, got r = ",
        discount_rate, ", g = ", terminal_growth));
  }
  return cash_flow * (1 + terminal_growth) / (discount_rate - terminal_growth);
}

double SizeAdjustedSdeMultiple(double sde) {
  const MarketFigures& m = Market();
  return LogInterpolated(sde, m.size_small_cash_flow, m.size_small_sde_multiple,
                         m.size_large_cash_flow, m.size_large_sde_multiple);
}

double SizeAdjustedEbitdaMultiple(double ebitda) {
  const MarketFigures& m = Market();
  return LogInterpolated(ebitda, m.size_small_cash_flow,
                         m.ebitda_small_multiple, m.size_large_cash_flow,
                         m.ebitda_large_multiple);
}

double AnnuityPayment(double principal, double annual_rate, int years,
                      int payments_per_year) {
  const int n = years * payments_per_year;
  if (n <= 0 || payments_per_year <= 0 || !std::isfinite(principal) ||
      !std::isfinite(annual_rate)) {
    return 0;
  }
  const double i = annual_rate / payments_per_year;
  if (i == 0) return principal / n;
  const double payment = principal * i / (1 - std::pow(1 + i, -n));
  return std::isfinite(payment) ? payment : 0;
}

std::vector<double> AnnualTotals(const std::vector<double>& monthly,
                                 int years) {
  std::vector<double> out(std::max(0, years), 0.0);
  const int n = static_cast<int>(monthly.size());
  for (int i = 0; i < n && i / 12 < years; ++i) out[i / 12] += monthly[i];
  return out;
}

absl::StatusOr<v1::AnalysisResult> AnalyzeValuation(const AnalysisInput& in,
                                                    ProgressSink& sink) {
  const std::vector<v1::MonthlyPeriod>& p = in.periods;
  const int n = static_cast<int>(p.size());
  RETURN_IF_ERROR(CheckAnalysisInput(in, kMinValuationMonths, "valuation"));
  const auto cancelled = [] {
    return absl::CancelledError("valuation cancelled");
  };
  if (!sink.Progress(10, "prepare")) return cancelled();

  const MarketFigures& mk = Market();
  std::vector<std::string> warnings;
  std::vector<double> revenue(n), owner(n), ebitda(n), sde(n);
  for (int i = 0; i < n; ++i) {
    revenue[i] = p[i].revenue();
    owner[i] = p[i].owner_compensation();
    ebitda[i] = p[i].revenue() - p[i].cost_of_goods_sold() -
                p[i].operating_expenses() - p[i].owner_compensation();
    sde[i] = ebitda[i] + p[i].owner_compensation();
  }
  bool annualised = false;
  const double revenue_ttm = TtmSum(revenue, &annualised);
  const double ebitda_ttm = TtmSum(ebitda);
  const double sde_ttm = TtmSum(sde);
  const double owner_ttm = TtmSum(owner);
  if (annualised) {
    warnings.push_back(absl::StrFormat(
        "Only %d months of history: TTM revenue, EBITDA and SDE are "
        "annualised.",
        n));
  }

  // ---- Discount rate (§2.3 build-up) ----------------------------------------
  const double r = EffectiveDiscountRate(in.options);
  const double g = EffectiveTerminalGrowthRate(in.options);
  if (!(r > g)) {  // CheckAnalysisInput rejects this; kept as a guard
    return absl::InvalidArgumentError("discount rate must exceed growth");
  }
  const double r_low_value = r + kDiscountRateSpread;  // higher rate, lower
  const double r_high_value =
      std::max(r - kDiscountRateSpread, g + kMinRateOverGrowth);
  if (r - g < kSmbMinSpread) {
    warnings.push_back(absl::StrFormat(
        "Discount rate %.1f%% is less than 5 points above the terminal growth "
        "rate %.1f%%; small-business values are very sensitive to this.",
        100 * r, 100 * g));
  }
  const bool overridden = DiscountRateOverridden(in.options);
  const BuildUpRate build_up = BuildUp(in.options);
  if (overridden &&
      (in.options.has_risk_free_rate() ||
       in.options.has_equity_risk_premium() || in.options.has_size_premium() ||
       in.options.has_industry_premium() ||
       in.options.has_company_specific_premium())) {
    warnings.push_back(
        "options.discount_rate is set, so the build-up components in the "
        "options were ignored.");
  }

  v1::AnalysisResult result;
  v1::Valuation& v = *result.mutable_valuation();
  v.set_currency(in.currency);
  v.set_sde_ttm(sde_ttm);
  v.set_ebitda_ttm(ebitda_ttm);
  v.set_revenue_ttm(revenue_ttm);
  v.set_multiples_as_of(mk.multiples_as_of);
  v1::DiscountRate& dr = *v.mutable_discount_rate();
  dr.set_rate(r);
  dr.set_source(overridden ? "override" : "build_up");
  dr.set_risk_free_rate(build_up.risk_free_rate);
  dr.set_equity_risk_premium(build_up.equity_risk_premium);
  dr.set_size_premium(build_up.size_premium);
  dr.set_industry_premium(build_up.industry_premium);
  dr.set_company_specific_premium(build_up.company_specific_premium);
  dr.set_terminal_growth_rate(g);
  if (!(sde_ttm > 0)) {
    warnings.push_back(
        "Seller's discretionary earnings are not positive: earnings-based "
        "methods give no value (see the revenue cross-check).");
  }
  // Normalised cash flow to a buyer who pays a manager (§2.1, §2.4 step 3).
  const double salary = in.options.has_owner_replacement_salary()
                            ? in.options.owner_replacement_salary()
                            : std::max(owner_ttm, kMinOwnerSalaryShareOfSde *
                                                      std::max(0.0, sde_ttm));
  const double cf0 = sde_ttm - salary;

  // ---- Market method (§2.2, §2.4 step 1) ------------------------------------
  v1::ValuationMethod market;
  market.set_method("market");
  market.set_weight(kMarketWeight);
  const double multiple = SizeAdjustedSdeMultiple(sde_ttm);
  const double spread_low = mk.sde_multiple_low / mk.sde_multiple_median;
  const double spread_high = mk.sde_multiple_high / mk.sde_multiple_median;
  const double sde_base = Floor0(sde_ttm * multiple);
  const double ebitda_multiple = SizeAdjustedEbitdaMultiple(cf0);
  const double ebitda_base = Floor0(cf0 * ebitda_multiple);
  SetRange(market, std::min(sde_base * spread_low, ebitda_base), sde_base,
           sde_base * spread_high);
  AddInput(market, "sde_ttm", sde_ttm, "currency");
  AddInput(market, "sde_multiple_low", multiple * spread_low, "x");
  AddInput(market, "sde_multiple_base", multiple, "x");
  AddInput(market, "sde_multiple_high", multiple * spread_high, "x");
  AddInput(market, "bizbuysell_2022_avg_sde_multiple",
           mk.bizbuysell_sde_multiple, "x");
  AddInput(market, "normalised_ebitda", cf0, "currency");
  AddInput(market, "ebitda_multiple", ebitda_multiple, "x");
  AddInput(market, "ebitda_value_base", ebitda_base, "currency");
  // Kept for readers of the first version; the cross-check has its own
  // method (Valuation.revenue_cross_check) now.
  AddInput(market, "revenue_ttm", revenue_ttm, "currency");
  AddInput(market, "revenue_cross_check_low",
           Floor0(revenue_ttm * mk.revenue_multiple_low), "currency");
  AddInput(market, "revenue_cross_check_base",
           Floor0(revenue_ttm * mk.revenue_multiple_median), "currency");
  AddInput(market, "revenue_cross_check_high",
           Floor0(revenue_ttm * mk.revenue_multiple_high), "currency");
  AddInput(market, "bizbuysell_2022_avg_revenue_multiple",
           mk.bizbuysell_revenue_multiple, "x");
  const double cash = p.back().cash();
  const double debt = p.back().total_debt();
  AddInput(market, "cash", cash, "currency");
  AddInput(market, "total_debt", debt, "currency");
  AddInput(market, "equity_value_base", market.base() - debt + cash,
           "currency");
  std::string deal_note;
  if (sde_base >= mk.ebitda_pricing_min_deal) {
    deal_note = " Above $2M, deals are usually priced on EBITDA (§2.1).";
    warnings.push_back(absl::StrFormat(
        "The SDE-based price %.0f is above the main-street range: deals of "
        "this size are usually priced on EBITDA; the EBITDA view gives %.0f.",
        sde_base, ebitda_base));
  } else if (sde_base >= mk.sde_pricing_max_deal) {
    deal_note = " Between $1M and $2M, buyers move from SDE to EBITDA pricing.";
  }
  market.set_explanation(absl::StrFormat(
      "TTM SDE %.0f x %.2f (size-adjusted BizBuySell cash-flow multiple; 2022 "
      "average %.2fx, table as of %s); a buyer hiring a manager: EBITDA %.0f x "
      "%.2f = %.0f.%s",
      sde_ttm, multiple, mk.bizbuysell_sde_multiple, mk.multiples_as_of, cf0,
      ebitda_multiple, ebitda_base, deal_note));
  if (!Emit(sink, 30, market)) return cancelled();

  // ---- Revenue cross-check (§2.4 step 1) ------------------------------------
  v1::ValuationMethod& cross = *v.mutable_revenue_cross_check();
  cross.set_method("revenue_cross_check");
  cross.set_weight(0);
  SetRange(cross, revenue_ttm * mk.revenue_multiple_low,
           revenue_ttm * mk.revenue_multiple_median,
           revenue_ttm * mk.revenue_multiple_high);
  AddInput(cross, "revenue_ttm", revenue_ttm, "currency");
  AddInput(cross, "revenue_multiple_low", mk.revenue_multiple_low, "x");
  AddInput(cross, "revenue_multiple_base", mk.revenue_multiple_median, "x");
  AddInput(cross, "revenue_multiple_high", mk.revenue_multiple_high, "x");
  AddInput(cross, "bizbuysell_2022_avg_revenue_multiple",
           mk.bizbuysell_revenue_multiple, "x");
  AddInput(cross, "market_base_over_cross_check_base",
           SafeDiv(market.base(), cross.base()), "x");
  cross.set_explanation(absl::StrFormat(
      "TTM revenue %.0f x %.2f-%.2f (BizBuySell 2022 average %.2fx): "
      "%.0f-%.0f; the market method's base is %.2fx this cross-check.",
      revenue_ttm, mk.revenue_multiple_low, mk.revenue_multiple_high,
      mk.bizbuysell_revenue_multiple, cross.low(), cross.high(),
      SafeDiv(market.base(), cross.base())));
  if (!Emit(sink, 35, cross)) return cancelled();

  // ---- Income method: DCF on the revenue forecast (§2.3, §2.4 step 2) -------
  const RevenuePaths paths = ForecastRevenue(revenue, kDcfYears * 12);
  const double margin = revenue_ttm > 0 ? cf0 / revenue_ttm : 0.0;
  std::vector<double> flows_base = AnnualTotals(paths.mean, kDcfYears);
  std::vector<double> flows_low = AnnualTotals(paths.lower80, kDcfYears);
  std::vector<double> flows_high = AnnualTotals(paths.upper80, kDcfYears);
  const double year1_revenue = flows_base.front();
  const double year5_revenue = flows_base.back();
  for (int t = 0; t < kDcfYears; ++t) {
    flows_base[t] *= margin;
    flows_low[t] *= margin;
    flows_high[t] *= margin;
  }
  v1::ValuationMethod income;
  income.set_method("income");
  income.set_weight(kIncomeWeight);
  ASSIGN_OR_RETURN(DcfResult base_dcf, DiscountedCashFlow(flows_base, r, g));
  ASSIGN_OR_RETURN(DcfResult low_dcf,
                   DiscountedCashFlow(flows_low, r_low_value, g));
  ASSIGN_OR_RETURN(DcfResult high_dcf,
                   DiscountedCashFlow(flows_high, r_high_value, g));
  SetRange(income, low_dcf.enterprise_value, base_dcf.enterprise_value,
           high_dcf.enterprise_value);
  const double tv_share =
      SafeDiv(base_dcf.pv_terminal_value, base_dcf.enterprise_value);
  AddInput(income, "normalised_cash_flow", cf0, "currency");
  AddInput(income, "replacement_owner_salary", salary, "currency");
  AddInput(income, "cash_flow_margin", 100 * margin, "percent");
  AddInput(income, "forecast_revenue_year_1", year1_revenue, "currency");
  AddInput(income, "forecast_revenue_year_5", year5_revenue, "currency");
  AddInput(income, "forecast_revenue_growth",
           100 * (SafeDiv(year1_revenue, revenue_ttm, 1.0) - 1), "percent");
  AddInput(income, "discount_rate", 100 * r, "percent");
  AddInput(income, "discount_rate_low_value", 100 * r_low_value, "percent");
  AddInput(income, "discount_rate_high_value", 100 * r_high_value, "percent");
  AddInput(income, "terminal_growth", 100 * g, "percent");
  AddInput(income, "terminal_value", base_dcf.terminal_value, "currency");
  AddInput(income, "terminal_value_share", 100 * tv_share, "percent");
  income.set_explanation(absl::StrFormat(
      "%d-year DCF of the %s revenue forecast (year 1 %.0f, year 5 %.0f) at "
      "a %.1f%% cash-flow margin (SDE less a %.0f replacement salary), "
      "discounted at %.1f%% with a %.1f%% Gordon-growth terminal value; low "
      "and high use the forecast's 80%% bounds at %.1f%% and %.1f%%.",
      kDcfYears, ModelName(paths.model), year1_revenue, year5_revenue,
      100 * margin, salary, 100 * r, 100 * g, 100 * r_low_value,
      100 * r_high_value));
  if (base_dcf.enterprise_value > 0 && tv_share > kMaxTerminalShare) {
    warnings.push_back(absl::StrFormat(
        "Terminal value is %.0f%% of the DCF value (over 75%%): the income "
        "method rests mostly on the long-run assumptions.",
        100 * tv_share));
  }
  if (!(cf0 > 0)) {
    warnings.push_back(
        "Cash flow after a replacement owner salary is not positive: the "
        "income and capitalisation methods give 0.");
  }
  if (!Emit(sink, 55, income)) return cancelled();

  // ---- Capitalisation of earnings (§2.3, §2.4 step 3) -----------------------
  v1::ValuationMethod cap;
  cap.set_method("capitalization");
  cap.set_weight(kCapitalizationWeight);
  ASSIGN_OR_RETURN(double cap_base, CapitalizedValue(cf0, r, g));
  ASSIGN_OR_RETURN(double cap_low, CapitalizedValue(cf0, r_low_value, g));
  ASSIGN_OR_RETURN(double cap_high, CapitalizedValue(cf0, r_high_value, g));
  SetRange(cap, cap_low, cap_base, cap_high);
  AddInput(cap, "normalised_cash_flow", cf0, "currency");
  AddInput(cap, "capitalization_multiple", 1 / (r - g), "x");
  AddInput(cap, "discount_rate", 100 * r, "percent");
  AddInput(cap, "terminal_growth", 100 * g, "percent");
  cap.set_explanation(absl::StrFormat(
      "Normalised cash flow %.0f x (1 + %.1f%%) / (%.1f%% - %.1f%%), a "
      "%.2fx multiple of next year's cash flow.",
      cf0, 100 * g, 100 * r, 100 * g, (1 + g) / (r - g)));
  if (!Emit(sink, 75, cap)) return cancelled();

  // ---- Reconcile (§2.4 steps 4-5) -------------------------------------------
  double low = 0, base = 0, high = 0;
  for (const v1::ValuationMethod* m : {&market, &income, &cap}) {
    low += m->weight() * m->low();
    base += m->weight() * m->base();
    high += m->weight() * m->high();
  }
  v.set_low(low);
  v.set_base(base);
  v.set_high(high);
  v.set_equity_value_base(base - debt + cash);

  double bases[] = {market.base(), income.base(), cap.base()};
  std::sort(std::begin(bases), std::end(bases));
  const double agreement =
      bases[1] > 0 ? 1 - std::min(1.0, (bases[2] - bases[0]) / bases[1]) : 0;
  // §2.4 takes the CV of monthly SDE. [DESIGN] With two years or more, the
  // additive seasonal component (§3.2 step 2's classical decomposition) is
  // removed first: a seasonal business's monthly SDE swings with its
  // seasons every year, which is predictable, not earnings risk.
  const std::vector<double> stable_sde =
      n >= 2 * kMonthsPerYear
          ? ClassicalDecompose(sde, /*multiplicative=*/false).adjusted
          : sde;
  const std::vector<double> recent_sde(
      stable_sde.end() - std::min(n, kStabilityMonths), stable_sde.end());
  std::optional<double> cv = CoefficientOfVariation(recent_sde);
  const double stability = cv ? 1 - std::min(1.0, *cv / kStabilityCvScale) : 0;
  const std::optional<double> skill = ForecastSkill(revenue, paths);
  if (!skill.has_value()) {
    warnings.push_back(
        "Fewer than 24 months: the forecast could not be backtested, so its "
        "skill counts 0.5 in the confidence.");
  }
  const std::pair<const char*, double> factors[] = {
      {"history", std::min(1.0, n / kHistoryFullMonths)},
      {"earnings_stability", stability},
      {"method_agreement", agreement},
      {"forecast_skill", skill.value_or(kSkillNotComputable)},
      {"data_completeness", DataCompleteness(p)},
  };
  double confidence = 1;
  for (const auto& [name, value] : factors) {
    v1::ConfidenceFactor* f = v.add_confidence_factors();
    f->set_name(name);
    f->set_value(Clamp(value, 0, 1));
    confidence *= f->value();
  }
  *v.add_methods() = std::move(market);
  *v.add_methods() = std::move(income);
  *v.add_methods() = std::move(cap);
  result.set_confidence_score(
      static_cast<int>(std::lround(Clamp(100 * confidence, 0, 100))));
  for (auto& w : warnings) result.add_warnings(std::move(w));
  if (!sink.Progress(90, "reconcile")) return cancelled();
  return result;
}

}  // namespace goodbuy::analysis
