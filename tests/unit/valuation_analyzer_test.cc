#include "server/analysis/valuation_analyzer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/analysis/history.h"
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
  EXPECT_DOUBLE_EQ(v.confidence_factors(3).value(), 0.5);
  EXPECT_DOUBLE_EQ(v.confidence_factors(0).value(), 1.0);
  EXPECT_EQ(r->confidence_score(), std::lround(100 * product));

  EXPECT_THAT(sink.Keys(), ElementsAre("method/market", "method/income",
                                       "method/capitalization"));
  sink.ExpectPercentsIncreasing();
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
  for (int stop_at : {0, 2, 4}) {
    RecordingSink stopper;
    stopper.stop_at = stop_at;
    EXPECT_EQ(AnalyzeValuation(HealthyBusiness(12), stopper).status().code(),
              absl::StatusCode::kCancelled);
    EXPECT_EQ(static_cast<int>(stopper.events.size()), stop_at + 1);
  }
}

}  // namespace
}  // namespace goodbuy::analysis
