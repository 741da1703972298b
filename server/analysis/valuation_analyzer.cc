#include "server/analysis/valuation_analyzer.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/analysis/history.h"
#include "server/analysis/ttm.h"
#include "server/common/status_macros.h"

namespace goodbuy::analysis {
namespace {

// ---- Market multiples: the one cited table ---------------------------------
// Every figure below is quoted from analysis-methods.md §2.2 / §2.4:
//  * BizBuySell Insight Report, 2022 full year (9,054 closed US main-street
//    transactions; press copies at nuwireinvestor.com and gabb.org): average
//    cash-flow (SDE) multiple 2.53x (2.55x in 2021), average revenue multiple
//    0.65x (0.67x in 2021).
//  * Size effect, BizBuySell annual data as summarised by akela-partners.com:
//    cash flow under $100k sells at about 1.9x, around $1M at almost 4x.
//  * The p25 / median / p75 spread 2.0 / 2.5 / 3.0 (SDE) and 0.5 / 0.6 / 0.7
//    (revenue) is the reference's [DESIGN] default; we keep its +-20% width
//    around the size-adjusted median.
struct MarketMultiples {
  double bizbuysell_2022_sde_multiple;
  double bizbuysell_2022_revenue_multiple;
  double small_sde;           // "under $100k"
  double small_sde_multiple;  // "about 1.9x"
  double large_sde;           // "around $1M"
  double large_sde_multiple;  // "almost 4x"
  double default_sde_low, default_sde_median, default_sde_high;
  double revenue_low, revenue_median, revenue_high;
};
constexpr MarketMultiples kMultiples = {
    /*bizbuysell_2022_sde_multiple=*/2.53,
    /*bizbuysell_2022_revenue_multiple=*/0.65,
    /*small_sde=*/100'000,
    /*small_sde_multiple=*/1.9,
    /*large_sde=*/1'000'000,
    /*large_sde_multiple=*/4.0,
    /*default_sde_low=*/2.0,
    /*default_sde_median=*/2.5,
    /*default_sde_high=*/3.0,
    /*revenue_low=*/0.5,
    /*revenue_median=*/0.6,
    /*revenue_high=*/0.7,
};

constexpr double kMinOwnerSalaryShareOfSde = 0.25;  // [DESIGN] default
constexpr double kMinProjectionGrowth = -0.10;
constexpr double kMaxProjectionGrowth = 0.15;
constexpr double kMinRateOverGrowth = 0.01;  // keeps r - 3 pp above g
constexpr double kSmbMinSpread = 0.05;       // §2.3: r - g >= 5 pp for SMBs
constexpr double kMaxTerminalShare = 0.75;   // §2.3: warn if TV/EV > 75%
constexpr int kStabilityMonths = 36;

void AddInput(v1::ValuationMethod& m, const char* name, double value,
              const char* unit) {
  v1::Ratio* r = m.add_inputs();
  r->set_name(name);
  r->set_value(std::isfinite(value) ? value : 0.0);
  r->set_unit(unit);
}

double Floor0(double x) { return std::isfinite(x) && x > 0 ? x : 0.0; }

std::vector<double> ProjectCashFlows(double cf0, double growth) {
  std::vector<double> flows;
  double cf = cf0;
  for (int t = 0; t < kDcfYears; ++t) {
    cf *= 1 + growth;
    flows.push_back(cf);
  }
  return flows;
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
  if (!(sde > kMultiples.small_sde)) return kMultiples.small_sde_multiple;
  if (sde >= kMultiples.large_sde) return kMultiples.large_sde_multiple;
  const double t = std::log(sde / kMultiples.small_sde) /
                   std::log(kMultiples.large_sde / kMultiples.small_sde);
  return kMultiples.small_sde_multiple +
         t * (kMultiples.large_sde_multiple - kMultiples.small_sde_multiple);
}

absl::StatusOr<v1::AnalysisResult> AnalyzeValuation(const AnalysisInput& in,
                                                    ProgressSink& sink) {
  const std::vector<v1::MonthlyPeriod>& p = in.periods;
  const int n = static_cast<int>(p.size());
  RETURN_IF_ERROR(RequireMonths(n, kMinValuationMonths, "valuation"));
  const auto cancelled = [] {
    return absl::CancelledError("valuation cancelled");
  };
  if (!sink.Progress(10, "prepare")) return cancelled();

  std::vector<std::string> warnings;
  const std::vector<double> revenue = Column(p, &v1::MonthlyPeriod::revenue);
  const std::vector<double> owner =
      Column(p, &v1::MonthlyPeriod::owner_compensation);
  std::vector<double> ebitda(n), sde(n);
  for (int i = 0; i < n; ++i) {
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
  const double r = EffectiveDiscountRate(in.options);
  const double g = EffectiveTerminalGrowthRate(in.options);
  const double r_low_value =
      r + kDiscountRateSpread;  // higher rate, lower value
  const double r_high_value =
      std::max(r - kDiscountRateSpread, g + kMinRateOverGrowth);
  if (r - g < kSmbMinSpread) {
    warnings.push_back(absl::StrFormat(
        "Discount rate %.1f%% is less than 5 points above the terminal growth "
        "rate %.1f%%; small-business values are very sensitive to this.",
        100 * r, 100 * g));
  }

  v1::AnalysisResult result;
  v1::Valuation& v = *result.mutable_valuation();
  v.set_currency(in.currency);
  v.set_sde_ttm(sde_ttm);
  v.set_ebitda_ttm(ebitda_ttm);
  v.set_revenue_ttm(revenue_ttm);
  if (!(sde_ttm > 0)) {
    warnings.push_back(
        "Seller's discretionary earnings are not positive: earnings-based "
        "methods give no value (see the revenue cross-check).");
  }

  // ---- Market method --------------------------------------------------------
  v1::ValuationMethod market;
  market.set_method("market");
  market.set_weight(kMarketWeight);
  const double multiple = SizeAdjustedSdeMultiple(sde_ttm);
  const double spread_low =
      kMultiples.default_sde_low / kMultiples.default_sde_median;
  const double spread_high =
      kMultiples.default_sde_high / kMultiples.default_sde_median;
  market.set_low(Floor0(sde_ttm * multiple * spread_low));
  market.set_base(Floor0(sde_ttm * multiple));
  market.set_high(Floor0(sde_ttm * multiple * spread_high));
  AddInput(market, "sde_ttm", sde_ttm, "currency");
  AddInput(market, "sde_multiple_low", multiple * spread_low, "x");
  AddInput(market, "sde_multiple_base", multiple, "x");
  AddInput(market, "sde_multiple_high", multiple * spread_high, "x");
  AddInput(market, "bizbuysell_2022_avg_sde_multiple",
           kMultiples.bizbuysell_2022_sde_multiple, "x");
  AddInput(market, "revenue_ttm", revenue_ttm, "currency");
  AddInput(market, "revenue_cross_check_low",
           Floor0(revenue_ttm * kMultiples.revenue_low), "currency");
  AddInput(market, "revenue_cross_check_base",
           Floor0(revenue_ttm * kMultiples.revenue_median), "currency");
  AddInput(market, "revenue_cross_check_high",
           Floor0(revenue_ttm * kMultiples.revenue_high), "currency");
  AddInput(market, "bizbuysell_2022_avg_revenue_multiple",
           kMultiples.bizbuysell_2022_revenue_multiple, "x");
  const double cash = p.back().cash();
  const double debt = p.back().total_debt();
  AddInput(market, "cash", cash, "currency");
  AddInput(market, "total_debt", debt, "currency");
  AddInput(market, "equity_value_base", market.base() - debt + cash,
           "currency");
  market.set_explanation(absl::StrFormat(
      "TTM SDE %.0f x %.2f (size-adjusted BizBuySell multiple; 2022 average "
      "2.53x); revenue cross-check %.0f-%.0f at 0.5-0.7x revenue. Enterprise "
      "value: equity = EV - debt %.0f + cash %.0f.",
      sde_ttm, multiple, revenue_ttm * kMultiples.revenue_low,
      revenue_ttm * kMultiples.revenue_high, debt, cash));
  {
    v1::PartialResult partial;
    partial.set_key("method/market");
    *partial.mutable_valuation_method() = market;
    if (!sink.Partial(30, "market", std::move(partial))) return cancelled();
  }

  // ---- Income method (DCF)
  // ---------------------------------------------------
  const double salary =
      std::max(owner_ttm, kMinOwnerSalaryShareOfSde * std::max(0.0, sde_ttm));
  const double cf0 = sde_ttm - salary;
  double growth = 0;
  if (std::optional<Growth> gr = RecentGrowth(revenue)) {
    growth = Clamp(gr->rate, kMinProjectionGrowth, kMaxProjectionGrowth);
  }
  const std::vector<double> flows = ProjectCashFlows(cf0, growth);
  v1::ValuationMethod income;
  income.set_method("income");
  income.set_weight(kIncomeWeight);
  ASSIGN_OR_RETURN(DcfResult base_dcf, DiscountedCashFlow(flows, r, g));
  ASSIGN_OR_RETURN(DcfResult low_dcf,
                   DiscountedCashFlow(flows, r_low_value, g));
  ASSIGN_OR_RETURN(DcfResult high_dcf,
                   DiscountedCashFlow(flows, r_high_value, g));
  income.set_low(Floor0(low_dcf.enterprise_value));
  income.set_base(Floor0(base_dcf.enterprise_value));
  income.set_high(Floor0(high_dcf.enterprise_value));
  const double tv_share =
      SafeDiv(base_dcf.pv_terminal_value, base_dcf.enterprise_value);
  AddInput(income, "normalised_cash_flow", cf0, "currency");
  AddInput(income, "replacement_owner_salary", salary, "currency");
  AddInput(income, "projection_growth", 100 * growth, "percent");
  AddInput(income, "discount_rate", 100 * r, "percent");
  AddInput(income, "discount_rate_low_value", 100 * r_low_value, "percent");
  AddInput(income, "discount_rate_high_value", 100 * r_high_value, "percent");
  AddInput(income, "terminal_growth", 100 * g, "percent");
  AddInput(income, "terminal_value_share", 100 * tv_share, "percent");
  income.set_explanation(absl::StrFormat(
      "%d-year DCF of SDE less a %.0f replacement salary (%.0f), growing "
      "%.1f%% a year, discounted at %.1f%% (low %.1f%%, high %.1f%%) with a "
      "%.1f%% Gordon-growth terminal value.",
      kDcfYears, salary, cf0, 100 * growth, 100 * r, 100 * r_low_value,
      100 * r_high_value, 100 * g));
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
  {
    v1::PartialResult partial;
    partial.set_key("method/income");
    *partial.mutable_valuation_method() = income;
    if (!sink.Partial(55, "income", std::move(partial))) return cancelled();
  }

  // ---- Capitalisation of earnings
  // --------------------------------------------
  v1::ValuationMethod cap;
  cap.set_method("capitalization");
  cap.set_weight(kCapitalizationWeight);
  ASSIGN_OR_RETURN(double cap_base, CapitalizedValue(cf0, r, g));
  ASSIGN_OR_RETURN(double cap_low, CapitalizedValue(cf0, r_low_value, g));
  ASSIGN_OR_RETURN(double cap_high, CapitalizedValue(cf0, r_high_value, g));
  cap.set_low(Floor0(cap_low));
  cap.set_base(Floor0(cap_base));
  cap.set_high(Floor0(cap_high));
  AddInput(cap, "normalised_cash_flow", cf0, "currency");
  AddInput(cap, "capitalization_multiple", 1 / (r - g), "x");
  AddInput(cap, "discount_rate", 100 * r, "percent");
  AddInput(cap, "terminal_growth", 100 * g, "percent");
  cap.set_explanation(absl::StrFormat(
      "Normalised cash flow %.0f x (1 + %.1f%%) / (%.1f%% - %.1f%%), a "
      "%.2fx multiple of next year's cash flow.",
      cf0, 100 * g, 100 * r, 100 * g, (1 + g) / (r - g)));
  {
    v1::PartialResult partial;
    partial.set_key("method/capitalization");
    *partial.mutable_valuation_method() = cap;
    if (!sink.Partial(75, "capitalization", std::move(partial))) {
      return cancelled();
    }
  }

  // ---- Reconcile ---------------------------------------------------------
  double low = 0, base = 0, high = 0;
  for (const v1::ValuationMethod* m : {&market, &income, &cap}) {
    low += m->weight() * m->low();
    base += m->weight() * m->base();
    high += m->weight() * m->high();
  }
  v.set_low(low);
  v.set_base(base);
  v.set_high(high);

  std::vector<double> bases = {market.base(), income.base(), cap.base()};
  std::sort(bases.begin(), bases.end());
  const double agreement =
      bases[1] > 0 ? 1 - std::min(1.0, (bases[2] - bases[0]) / bases[1]) : 0;
  const std::vector<double> recent_sde(
      sde.end() - std::min(n, kStabilityMonths), sde.end());
  std::optional<double> cv = CoefficientOfVariation(recent_sde);
  const double stability = cv ? 1 - std::min(1.0, *cv / 0.5) : 0;
  const std::pair<const char*, double> factors[] = {
      {"history", std::min(1.0, n / 36.0)},
      {"earnings_stability", stability},
      {"method_agreement", agreement},
      {"forecast_skill", 0.5},  // §2.4: 0.5 when not computed
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
