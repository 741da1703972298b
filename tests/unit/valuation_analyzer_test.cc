#include "server/analysis/valuation_analyzer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "server/analysis/history.h"
#include "server/analysis/market_data.h"
#include "tests/unit/analysis_test_util.h"

namespace goodbuy::analysis {
namespace {

using analysis_testing::ExpectAllFinite;
using analysis_testing::HealthyBusiness;
using analysis_testing::RecordingSink;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<double> kFcf = {100, 110, 121, 133.1, 146.41};

TEST(DcfTest, MatchesReferenceAtTwentyPercent) {
  absl::StatusOr<DcfResult> r = DiscountedCashFlow(kFcf, 0.20, 0.03);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->pv_cash_flows, 352.772151, 1e-6);
  EXPECT_NEAR(r->terminal_value, 887.072353, 1e-6);
  EXPECT_NEAR(r->pv_terminal_value, 356.494483, 1e-6);
  EXPECT_NEAR(r->enterprise_value, 709.266635, 1e-6);
}

TEST(DcfTest, MatchesReferenceAtTwelvePercent) {
  absl::StatusOr<DcfResult> r = DiscountedCashFlow(kFcf, 0.12, 0.025);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->pv_cash_flows, 430.766873, 1e-6);
  EXPECT_NEAR(r->terminal_value, 1579.686842, 1e-6);
  EXPECT_NEAR(r->pv_terminal_value, 896.356738, 1e-6);
  EXPECT_NEAR(r->enterprise_value, 1327.123611, 1e-6);
}

TEST(DcfTest, RejectsRateNotAboveGrowthAndEmptyFlows) {
  EXPECT_EQ(DiscountedCashFlow(kFcf, 0.03, 0.03).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DiscountedCashFlow(kFcf, 0.02, 0.03).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DiscountedCashFlow({}, 0.2, 0.03).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CapitalizationTest, MatchesReference) {
  absl::StatusOr<double> v = CapitalizedValue(100, 0.25, 0.03);
  ASSERT_TRUE(v.ok());
  EXPECT_NEAR(*v, 468.181818, 1e-6);
  EXPECT_EQ(CapitalizedValue(100, 0.03, 0.05).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SizeEffectTest, MultipleRisesFrom19To4) {
  EXPECT_DOUBLE_EQ(SizeAdjustedSdeMultiple(50'000), 1.9);
  EXPECT_DOUBLE_EQ(SizeAdjustedSdeMultiple(100'000), 1.9);
  EXPECT_DOUBLE_EQ(SizeAdjustedSdeMultiple(1'000'000), 4.0);
  EXPECT_DOUBLE_EQ(SizeAdjustedSdeMultiple(5'000'000), 4.0);
  EXPECT_DOUBLE_EQ(SizeAdjustedSdeMultiple(-10), 1.9);
  double previous = 0;
  for (double sde = 100'000; sde <= 1'000'000; sde += 50'000) {
    const double m = SizeAdjustedSdeMultiple(sde);
    EXPECT_GT(m, previous);
    previous = m;
  }
  // Near the BizBuySell average around the typical deal size.
  EXPECT_NEAR(SizeAdjustedSdeMultiple(193'000), 2.5, 0.01);
}

const v1::ValuationMethod& Method(const v1::Valuation& v,
                                  const std::string& name) {
  for (const auto& m : v.methods()) {
    if (m.method() == name) return m;
  }
  ADD_FAILURE() << "no method " << name;
  static const v1::ValuationMethod kEmpty;
  return kEmpty;
}

double Input(const v1::ValuationMethod& m, const std::string& name) {
  for (const auto& r : m.inputs()) {
    if (r.name() == name) return r.value();
  }
  ADD_FAILURE() << "no input " << name;
  return 0;
}

TEST(ValuationAnalyzerTest, HealthyBusinessGetsAConsistentRange) {
  AnalysisInput in = HealthyBusiness(36);
  in.currency = "EUR";
  RecordingSink sink;
  absl::StatusOr<v1::AnalysisResult> r = AnalyzeValuation(in, sink);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectAllFinite(*r);
  const v1::Valuation& v = r->valuation();
  EXPECT_EQ(v.currency(), "EUR");
  ASSERT_EQ(v.methods_size(), 3);
  double wsum = 0, base = 0;
  for (const auto& m : v.methods()) {
    EXPECT_LE(m.low(), m.base()) << m.method();
    EXPECT_LE(m.base(), m.high()) << m.method();
    EXPECT_GT(m.base(), 0) << m.method();
    wsum += m.weight();
    base += m.weight() * m.base();
  }
  EXPECT_NEAR(wsum, 1.0, 1e-12);
  EXPECT_NEAR(v.base(), base, 1e-6);
  EXPECT_LE(v.low(), v.base());
  EXPECT_LE(v.base(), v.high());
  EXPECT_DOUBLE_EQ(Method(v, "market").weight(), 0.5);
  EXPECT_DOUBLE_EQ(Method(v, "income").weight(), 0.3);
  EXPECT_DOUBLE_EQ(Method(v, "capitalization").weight(), 0.2);

  // SDE = EBITDA + owner compensation; market base = SDE x size multiple.
  EXPECT_NEAR(v.sde_ttm(), v.ebitda_ttm() + 12 * 8000, 1e-6);
  const v1::ValuationMethod& market = Method(v, "market");
  EXPECT_NEAR(market.base(), v.sde_ttm() * SizeAdjustedSdeMultiple(v.sde_ttm()),
              1e-6);
  EXPECT_NEAR(Input(market, "revenue_cross_check_base"), 0.6 * v.revenue_ttm(),
              1e-6);
  EXPECT_DOUBLE_EQ(Input(market, "bizbuysell_2022_avg_sde_multiple"), 2.53);
  EXPECT_DOUBLE_EQ(Input(market, "bizbuysell_2022_avg_revenue_multiple"), 0.65);
  EXPECT_DOUBLE_EQ(Input(market, "cash"), in.periods.back().cash());

  // Capitalisation = CF0 (1 + g) / (r - g) at the defaults.
  const v1::ValuationMethod& cap = Method(v, "capitalization");
  const double cf0 = Input(cap, "normalised_cash_flow");
  EXPECT_NEAR(cap.base(), cf0 * 1.03 / 0.22, 1e-6);
  EXPECT_NEAR(cap.low(), cf0 * 1.03 / 0.25, 1e-6);
  EXPECT_NEAR(cap.high(), cf0 * 1.03 / 0.19, 1e-6);

  std::vector<std::string> names;
  double product = 1;
  for (const auto& f : v.confidence_factors()) {
    names.push_back(f.name());
    EXPECT_GE(f.value(), 0);
    EXPECT_LE(f.value(), 1);
    product *= f.value();
  }
  EXPECT_THAT(names,
              ElementsAre("history", "earnings_stability", "method_agreement",
                          "forecast_skill", "data_completeness"));
  // 36 months: the forecast is backtested on a 12-month holdout, and this
  // smooth series is forecast well.
  EXPECT_GT(v.confidence_factors(3).value(), 0.5);
  EXPECT_DOUBLE_EQ(v.confidence_factors(0).value(), 1.0);
  EXPECT_EQ(r->confidence_score(), std::lround(100 * product));

  // The revenue cross-check has its own range and no weight.
  const v1::ValuationMethod& cross = v.revenue_cross_check();
  EXPECT_EQ(cross.method(), "revenue_cross_check");
  EXPECT_EQ(cross.weight(), 0);
  EXPECT_NEAR(cross.low(), 0.5 * v.revenue_ttm(), 1e-6);
  EXPECT_NEAR(cross.base(), 0.6 * v.revenue_ttm(), 1e-6);
  EXPECT_NEAR(cross.high(), 0.7 * v.revenue_ttm(), 1e-6);
  // Build-up defaults and the dated table.
  EXPECT_EQ(v.discount_rate().source(), "build_up");
  EXPECT_DOUBLE_EQ(v.discount_rate().rate(), 0.25);
  EXPECT_NEAR(v.discount_rate().risk_free_rate() +
                  v.discount_rate().equity_risk_premium() +
                  v.discount_rate().size_premium() +
                  v.discount_rate().industry_premium() +
                  v.discount_rate().company_specific_premium(),
              0.25, 1e-12);
  EXPECT_EQ(v.multiples_as_of(), "2022-12-31");
  EXPECT_NEAR(
      v.equity_value_base(),
      v.base() - in.periods.back().total_debt() + in.periods.back().cash(),
      1e-6);
  // The market low is the lower of the SDE low and the EBITDA view.
  EXPECT_NEAR(market.low(),
              std::min(0.8 * market.base(), Input(market, "ebitda_value_base")),
              1e-6);

  EXPECT_THAT(sink.Keys(),
              ElementsAre("method/market", "method/revenue_cross_check",
                          "method/income", "method/capitalization"));
  sink.ExpectPercentsIncreasing();
  for (const auto& e : sink.events) {
    if (!e.key.empty()) {
      EXPECT_EQ(e.key, "method/" + e.stage);
    }
  }
}

TEST(ValuationAnalyzerTest, IncomeMethodDiscountsTheRevenueForecast) {
  // A flat business: Theta forecasts a flat 100k a month (zero-width
  // intervals), so every year's cash flow is 1.2M x margin.
  AnalysisInput in =
      analysis_testing::RevenueOnly(std::vector<double>(30, 1e5));
  for (auto& p : in.periods) {
    p.set_cost_of_goods_sold(40000);
    p.set_operating_expenses(30000);
    p.set_owner_compensation(5000);
  }
  RecordingSink sink;
  absl::StatusOr<v1::AnalysisResult> r = AnalyzeValuation(in, sink);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectAllFinite(*r);
  const v1::ValuationMethod& income = Method(r->valuation(), "income");
  // SDE 360k; salary max(60k, 25% x 360k = 90k) = 90k; CF 270k a year.
  EXPECT_NEAR(Input(income, "normalised_cash_flow"), 270000, 1e-6);
  EXPECT_NEAR(Input(income, "forecast_revenue_year_1"), 1.2e6, 1e-3);
  EXPECT_NEAR(Input(income, "forecast_revenue_year_5"), 1.2e6, 1e-3);
  const std::vector<double> flows(kDcfYears, 270000);
  EXPECT_NEAR(income.base(),
              DiscountedCashFlow(flows, 0.25, 0.03)->enterprise_value, 1e-3);
  EXPECT_NEAR(income.low(),
              DiscountedCashFlow(flows, 0.28, 0.03)->enterprise_value, 1e-3);
  EXPECT_NEAR(income.high(),
              DiscountedCashFlow(flows, 0.22, 0.03)->enterprise_value, 1e-3);
  // A perfect forecast: skill 1.
  EXPECT_DOUBLE_EQ(r->valuation().confidence_factors(3).value(), 1.0);
}

// Strong but regular seasonality (±40% every year) is not earnings risk:
// with two years or more the stability factor is measured after removing the
// seasonal component, and stays high; a business whose earnings jump around
// without a pattern scores low.
TEST(ValuationAnalyzerTest, SeasonalityIsNotEarningsInstability) {
  std::vector<double> seasonal, erratic;
  for (int i = 0; i < 48; ++i) {
    seasonal.push_back(1e5 * (1 + 0.4 * std::sin(2 * M_PI * i / 12.0)));
    erratic.push_back(1e5 * (1 + 0.4 * ((i * 7919) % 13 - 6) / 6.0));
  }
  auto stability = [](const std::vector<double>& revenue) {
    AnalysisInput in = analysis_testing::RevenueOnly(revenue);
    for (auto& p : in.periods) {
      p.set_cost_of_goods_sold(0.4 * p.revenue());
      p.set_operating_expenses(20000);
    }
    RecordingSink sink;
    absl::StatusOr<v1::AnalysisResult> r = AnalyzeValuation(in, sink);
    EXPECT_TRUE(r.ok()) << r.status();
    for (const auto& f : r->valuation().confidence_factors()) {
      if (f.name() == "earnings_stability") return f.value();
    }
    ADD_FAILURE() << "no earnings_stability factor";
    return -1.0;
  };
  EXPECT_GT(stability(seasonal), 0.9);
  EXPECT_LT(stability(erratic), 0.3);
}

TEST(ValuationAnalyzerTest, IncomeRangeComesFromForecastBoundsAndRate) {
  // A noisy series: the 80% bounds are wide, so the income range is wider
  // than the rate spread alone gives.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 8000);
  std::vector<double> revenue;
  for (int i = 0; i < 48; ++i) revenue.push_back(100000 + noise(rng));
  AnalysisInput in = analysis_testing::RevenueOnly(revenue);
  for (auto& p : in.periods) p.set_operating_expenses(60000);
  RecordingSink sink;
  absl::StatusOr<v1::AnalysisResult> r = AnalyzeValuation(in, sink);
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::ValuationMethod& income = Method(r->valuation(), "income");
  const v1::ValuationMethod& cap = Method(r->valuation(), "capitalization");
  EXPECT_LT(income.low(), income.base());
  EXPECT_GT(income.high(), income.base());
  EXPECT_GT(income.high() / income.low(), cap.high() / cap.low());
}

TEST(ValuationAnalyzerTest, BuildUpOptionsSetTheDiscountRate) {
  AnalysisInput in = HealthyBusiness(24);
  in.options.set_risk_free_rate(0.04);
  in.options.set_equity_risk_premium(0.05);
  in.options.set_size_premium(0.06);
  in.options.set_industry_premium(-0.01);
  in.options.set_company_specific_premium(0.08);
  RecordingSink sink;
  absl::StatusOr<v1::AnalysisResult> r = AnalyzeValuation(in, sink);
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::DiscountRate& dr = r->valuation().discount_rate();
  EXPECT_EQ(dr.source(), "build_up");
  EXPECT_NEAR(dr.rate(), 0.22, 1e-12);
  EXPECT_DOUBLE_EQ(dr.industry_premium(), -0.01);
  const v1::ValuationMethod& cap = Method(r->valuation(), "capitalization");
  EXPECT_NEAR(cap.base(), Input(cap, "normalised_cash_flow") * 1.03 / 0.19,
              1e-6);

  // options.discount_rate overrides the build-up, with a warning.
  in.options.set_discount_rate(0.30);
  RecordingSink sink2;
  r = AnalyzeValuation(in, sink2);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->valuation().discount_rate().source(), "override");
  EXPECT_DOUBLE_EQ(r->valuation().discount_rate().rate(), 0.30);
  std::string all;
  for (const auto& w : r->warnings()) all += w;
  EXPECT_THAT(all, HasSubstr("build-up components"));

  // A replacement salary option replaces the owner's own pay.
  AnalysisInput salaried = HealthyBusiness(24);
  salaried.options.set_owner_replacement_salary(50000);
  RecordingSink sink3;
  r = AnalyzeValuation(salaried, sink3);
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::ValuationMethod& c3 = Method(r->valuation(), "capitalization");
  EXPECT_NEAR(Input(c3, "normalised_cash_flow"),
              r->valuation().sde_ttm() - 50000, 1e-6);
}

TEST(ValuationAnalyzerTest, WarnsWhenTerminalValueDominates) {
  AnalysisInput in = HealthyBusiness(24);
  in.options.set_discount_rate(0.06);
  in.options.set_terminal_growth_rate(0.04);
  RecordingSink sink;
  absl::StatusOr<v1::AnalysisResult> r = AnalyzeValuation(in, sink);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(Input(Method(r->valuation(), "income"), "terminal_value_share"),
            75);
  std::string all;
  for (const auto& w : r->warnings()) all += w + "\n";
  EXPECT_THAT(all, HasSubstr("Terminal value"));
  EXPECT_THAT(all, HasSubstr("less than 5 points"));
  // r - 3 pp would fall below g: the high case keeps r 1 pp above g.
  EXPECT_NEAR(
      Input(Method(r->valuation(), "income"), "discount_rate_high_value"), 5.0,
      1e-9);
}

TEST(ValuationAnalyzerTest, LossMakingBusinessIsWorthZeroNotNegative) {
  AnalysisInput in = analysis_testing::DistressedBusiness(12);
  RecordingSink sink;
  absl::StatusOr<v1::AnalysisResult> r = AnalyzeValuation(in, sink);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectAllFinite(*r);
  EXPECT_LT(r->valuation().sde_ttm(), 0);
  EXPECT_EQ(r->valuation().base(), 0);
  EXPECT_EQ(r->valuation().low(), 0);
  EXPECT_EQ(r->valuation().high(), 0);
  EXPECT_GE(r->confidence_score(), 0);
  EXPECT_FALSE(r->warnings().empty());
}

TEST(ValuationAnalyzerTest, AllZeroHistoryIsFinite) {
  RecordingSink sink;
  absl::StatusOr<v1::AnalysisResult> r = AnalyzeValuation(
      analysis_testing::RevenueOnly(std::vector<double>(8, 0.0)), sink);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectAllFinite(*r);
  EXPECT_EQ(r->valuation().base(), 0);
}

TEST(ValuationAnalyzerTest, RejectsShortHistoryAndCancels) {
  RecordingSink sink;
  EXPECT_EQ(AnalyzeValuation(HealthyBusiness(5), sink).status().code(),
            absl::StatusCode::kInvalidArgument);
  for (int stop_at : {0, 1, 2, 3, 4, 5}) {
    RecordingSink stopper;
    stopper.stop_at = stop_at;
    EXPECT_EQ(AnalyzeValuation(HealthyBusiness(12), stopper).status().code(),
              absl::StatusCode::kCancelled);
    EXPECT_EQ(static_cast<int>(stopper.events.size()), stop_at + 1);
  }
}

// ---- Reference values (analysis-methods.md §2.3) ----------------------------

TEST(AnnuityTest, MatchesReferenceDebtService) {
  // 500k at 10% for 10 years, monthly.
  const double payment = AnnuityPayment(500000, 0.10, 10);
  EXPECT_NEAR(payment, 6607.536844, 1e-6);
  EXPECT_NEAR(12 * payment, 79290.442129, 1e-6);
  EXPECT_NEAR(AnnuityPayment(1200, 0, 1), 100, 1e-12);
  EXPECT_EQ(AnnuityPayment(1000, 0.1, 0), 0);
  EXPECT_EQ(AnnuityPayment(std::nan(""), 0.1, 5), 0);
}

TEST(AnnualTotalsTest, SumsTwelveMonthBlocks) {
  std::vector<double> m(30, 1.0);
  EXPECT_THAT(AnnualTotals(m, 3), ElementsAre(12, 12, 6));
  EXPECT_THAT(AnnualTotals({}, 2), ElementsAre(0, 0));
}

// ---- The multiples table (data/market_multiples.csv)
// --------------------------

TEST(MultiplesTableTest, EveryRowIsDatedAndSourced) {
  absl::StatusOr<std::vector<MarketRow>> rows =
      ParseMarketCsv(MarketMultiplesCsv());
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_FALSE(rows->empty());
  EXPECT_EQ(rows->size(), MarketTable().size());
  std::set<std::string> keys;
  for (const MarketRow& row : *rows) {
    SCOPED_TRACE(row.key);
    keys.insert(row.key);
    ASSERT_EQ(row.as_of.size(), 10u);
    EXPECT_TRUE(ParseMonthIndex(row.as_of.substr(0, 7)).has_value());
    EXPECT_FALSE(row.source.empty());
    EXPECT_FALSE(row.url.empty());
    EXPECT_FALSE(row.unit.empty());
    EXPECT_TRUE(std::isfinite(row.value));
  }
  for (const std::string& key : RequiredMarketKeys()) {
    EXPECT_TRUE(keys.count(key)) << key;
  }
}

TEST(MultiplesTableTest, HoldsTheReferenceFigures) {
  // analysis-methods.md §2.2 / §2.4.
  const MarketFigures& m = Market();
  EXPECT_DOUBLE_EQ(m.bizbuysell_sde_multiple, 2.53);
  EXPECT_DOUBLE_EQ(m.bizbuysell_revenue_multiple, 0.65);
  EXPECT_DOUBLE_EQ(m.size_small_cash_flow, 100000);
  EXPECT_DOUBLE_EQ(m.size_small_sde_multiple, 1.9);
  EXPECT_DOUBLE_EQ(m.size_large_cash_flow, 1000000);
  EXPECT_DOUBLE_EQ(m.size_large_sde_multiple, 4.0);
  EXPECT_DOUBLE_EQ(m.sde_multiple_low, 2.0);
  EXPECT_DOUBLE_EQ(m.sde_multiple_median, 2.5);
  EXPECT_DOUBLE_EQ(m.sde_multiple_high, 3.0);
  EXPECT_DOUBLE_EQ(m.revenue_multiple_low, 0.5);
  EXPECT_DOUBLE_EQ(m.revenue_multiple_median, 0.6);
  EXPECT_DOUBLE_EQ(m.revenue_multiple_high, 0.7);
  EXPECT_DOUBLE_EQ(m.build_up_target_rate, kDefaultDiscountRate);
  EXPECT_NEAR(m.risk_free_rate + m.equity_risk_premium + m.size_premium +
                  m.industry_premium + m.company_specific_premium,
              0.25, 1e-12);
  EXPECT_GT(m.size_premium, 0);
  // No small-firm EBITDA multiple is published (§2.2): the EBITDA rows must
  // say they are [DESIGN] derivations.
  for (const MarketRow& row : MarketTable()) {
    if (row.key.rfind("ebitda_", 0) == 0 &&
        row.key.find("multiple") != std::string::npos) {
      EXPECT_THAT(row.source, HasSubstr("[DESIGN]")) << row.key;
    }
  }
}

TEST(MultiplesTableTest, ParserRejectsUndatedOrUnsourcedRows) {
  const std::string header = "key,value,unit,as_of,source,url,notes\n";
  EXPECT_TRUE(
      ParseMarketCsv(header + "a,1,x,2024-01-31,src,u,\"n, with comma\"\n")
          .ok());
  EXPECT_EQ(ParseMarketCsv(header + "a,1,x,,src,u,n\n").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ParseMarketCsv(header + "a,1,x,2024-13-01,src,u,n\n").status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMarketCsv(header + "a,1,x,2024-01-31, ,u,n\n").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ParseMarketCsv(header + "a,nan,x,2024-01-31,s,u,n\n").status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMarketCsv(header + "a,1,x,2024-01-31,s,u\n").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMarketCsv(header +
                           "a,1,x,2024-01-31,s,u,n\na,2,x,2024-01-31,s,u,n\n")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMarketCsv("k,v\n").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ParseMarketCsv(header + "a,1,x,2024-01-31,\"s,u,n\n").status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(SizeEffectTest, EbitdaCurveIsTheDerivedOne) {
  EXPECT_DOUBLE_EQ(SizeAdjustedEbitdaMultiple(50'000), 1.9);
  EXPECT_DOUBLE_EQ(SizeAdjustedEbitdaMultiple(2'000'000), 4.0);
  EXPECT_NEAR(SizeAdjustedEbitdaMultiple(316'227.766), 2.95, 1e-6);
}

// ---- Properties
// --------------------------------------------------------------

// A random but valid history: revenue with trend, season and noise (zeros
// and loss months included), random cost structure, debt, cash, customers
// and, half the time, a balance sheet.
AnalysisInput RandomHistory(std::mt19937_64& rng, int months) {
  std::uniform_real_distribution<double> u(0, 1);
  AnalysisInput in;
  const double level = std::exp(8 + 6 * u(rng));  // ~3k .. 1.2M a month
  const double trend = -0.03 + 0.06 * u(rng);
  const double season = 0.4 * u(rng);
  const double noise = 0.5 * u(rng);
  const double cost_share = 0.3 + 0.9 * u(rng);
  const bool balance_sheet = u(rng) < 0.5;
  const bool debt = u(rng) < 0.6;
  for (int i = 0; i < months; ++i) {
    v1::MonthlyPeriod p;
    p.set_month(analysis_testing::MonthLabel(i));
    double rev = level * std::pow(1 + trend, i) *
                 (1 + season * std::sin(2 * M_PI * i / 12.0)) *
                 std::max(0.0, 1 + noise * (u(rng) - 0.5));
    if (u(rng) < 0.05) rev = 0;
    p.set_revenue(rev);
    p.set_cost_of_goods_sold(cost_share * 0.5 * rev * u(rng) * 2);
    p.set_operating_expenses(cost_share * 0.5 * level * u(rng) * 2);
    p.set_owner_compensation(u(rng) < 0.8 ? level * 0.1 * u(rng) : 0);
    if (debt) {
      p.set_interest_expense(level * 0.02 * u(rng));
      p.set_debt_principal_paid(level * 0.05 * u(rng));
      p.set_total_debt(level * 20 * u(rng));
    }
    p.set_cash(u(rng) < 0.1 ? 0 : level * 3 * u(rng));
    p.set_customers(static_cast<int>(500 * u(rng)));
    p.set_new_customers(static_cast<int>(20 * u(rng)));
    p.set_churned_customers(static_cast<int>(20 * u(rng)));
    if (balance_sheet) {
      p.set_current_assets(level * 4 * u(rng) + 1);
      p.set_current_liabilities(level * 4 * u(rng));
      p.set_total_assets(level * 12 * u(rng) + 1);
      p.set_retained_earnings(level * (8 * u(rng) - 4));
      p.set_equity(level * (10 * u(rng) - 3));
      p.set_accounts_receivable(level * u(rng));
    }
    in.periods.push_back(p);
  }
  return in;
}

void ExpectOrderedRanges(const v1::Valuation& v) {
  for (const auto& m : v.methods()) {
    EXPECT_GE(m.low(), 0) << m.method();
    EXPECT_LE(m.low(), m.base()) << m.method();
    EXPECT_LE(m.base(), m.high()) << m.method();
  }
  EXPECT_LE(v.revenue_cross_check().low(), v.revenue_cross_check().base());
  EXPECT_LE(v.revenue_cross_check().base(), v.revenue_cross_check().high());
  EXPECT_GE(v.low(), 0);
  EXPECT_LE(v.low(), v.base());
  EXPECT_LE(v.base(), v.high());
}

TEST(ValuationPropertiesTest, RandomHistoriesGiveFiniteOrderedRanges) {
  std::mt19937_64 rng(20240601);
  std::uniform_int_distribution<int> months(kMinValuationMonths, 120);
  for (int trial = 0; trial < 150; ++trial) {
    SCOPED_TRACE(trial);
    const AnalysisInput in = RandomHistory(rng, months(rng));
    RecordingSink sink;
    absl::StatusOr<v1::AnalysisResult> r = AnalyzeValuation(in, sink);
    ASSERT_TRUE(r.ok()) << r.status();
    ExpectAllFinite(*r);
    ExpectOrderedRanges(r->valuation());
    EXPECT_GE(r->confidence_score(), 0);
    EXPECT_LE(r->confidence_score(), 100);
    for (const auto& f : r->valuation().confidence_factors()) {
      EXPECT_GE(f.value(), 0);
      EXPECT_LE(f.value(), 1);
    }
    for (const auto& e : sink.events) {
      if (!e.key.empty()) ExpectAllFinite(e.partial);
    }
  }
}

TEST(ValuationPropertiesTest, HigherSdeNeverLowersTheValue) {
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 40; ++trial) {
    SCOPED_TRACE(trial);
    const AnalysisInput in = RandomHistory(rng, 12 + trial * 2);
    v1::Valuation previous;
    bool first = true;
    // Cut operating expenses step by step: SDE and EBITDA rise together.
    for (double keep : {1.0, 0.8, 0.6, 0.4, 0.2, 0.0}) {
      AnalysisInput cheaper = in;
      for (auto& p : cheaper.periods) {
        p.set_operating_expenses(p.operating_expenses() * keep);
      }
      RecordingSink sink;
      absl::StatusOr<v1::AnalysisResult> r = AnalyzeValuation(cheaper, sink);
      ASSERT_TRUE(r.ok()) << r.status();
      const v1::Valuation& v = r->valuation();
      if (!first) {
        const double tol = 1e-9 * (1 + previous.base());
        EXPECT_GE(v.sde_ttm(), previous.sde_ttm());
        EXPECT_GE(v.base(), previous.base() - tol) << keep;
        EXPECT_GE(v.low(), previous.low() - tol) << keep;
        EXPECT_GE(v.high(), previous.high() - tol) << keep;
        for (int m = 0; m < v.methods_size(); ++m) {
          EXPECT_GE(v.methods(m).base(), previous.methods(m).base() - tol)
              << v.methods(m).method() << " at " << keep;
        }
      }
      previous = v;
      first = false;
    }
  }
}

TEST(ValuationPropertiesTest, HigherDiscountRateLowersTheDcf) {
  std::vector<double> flows = {100, 120, 90, 130, 150};
  double previous = std::numeric_limits<double>::infinity();
  for (double r = 0.05; r <= 0.60; r += 0.01) {
    const double ev = DiscountedCashFlow(flows, r, 0.03)->enterprise_value;
    EXPECT_LT(ev, previous) << r;
    previous = ev;
  }
  // And through the analyzer, for a profitable business.
  const AnalysisInput base = HealthyBusiness(36);
  previous = std::numeric_limits<double>::infinity();
  for (double r : {0.10, 0.15, 0.20, 0.25, 0.30, 0.40}) {
    AnalysisInput in = base;
    in.options.set_discount_rate(r);
    RecordingSink sink;
    absl::StatusOr<v1::AnalysisResult> res = AnalyzeValuation(in, sink);
    ASSERT_TRUE(res.ok()) << res.status();
    const double dcf = Method(res->valuation(), "income").base();
    EXPECT_GT(dcf, 0);
    EXPECT_LT(dcf, previous) << r;
    previous = dcf;
  }
}

// ---- Bad data
// ----------------------------------------------------------------

TEST(ValuationBadDataTest, NonFiniteOrNegativeInputIsInvalidArgument) {
  analysis_testing::ExpectBadRevenueRejected(AnalyzeValuation, 24, 5);
  AnalysisInput in = HealthyBusiness(24);
  in.periods[0].set_cash(std::nan(""));
  in.options.set_size_premium(-0.2);
  RecordingSink sink;
  absl::Status s = AnalyzeValuation(in, sink).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("history.periods[0].cash"));
}

TEST(ValuationBadDataTest, EmptyAndOneMonthAreInvalidArgument) {
  RecordingSink sink;
  EXPECT_EQ(AnalyzeValuation(AnalysisInput(), sink).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AnalyzeValuation(HealthyBusiness(1), sink).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(sink.events.empty());
}

TEST(ValuationBadDataTest, AllZerosAndZeroRevenueMonthsAreFinite) {
  for (int months : {6, 7, 12, 24, 60}) {
    RecordingSink sink;
    absl::StatusOr<v1::AnalysisResult> r = AnalyzeValuation(
        analysis_testing::RevenueOnly(std::vector<double>(months, 0.0)), sink);
    ASSERT_TRUE(r.ok()) << r.status();
    ExpectAllFinite(*r);
    ExpectOrderedRanges(r->valuation());
    EXPECT_EQ(r->valuation().base(), 0);
  }
  // Alternate zero months: additive seasonality, still finite.
  std::vector<double> revenue;
  for (int i = 0; i < 48; ++i) revenue.push_back(i % 2 ? 0 : 50000);
  RecordingSink sink;
  absl::StatusOr<v1::AnalysisResult> r =
      AnalyzeValuation(analysis_testing::RevenueOnly(revenue), sink);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectAllFinite(*r);
  ExpectOrderedRanges(r->valuation());
}

}  // namespace
}  // namespace goodbuy::analysis
