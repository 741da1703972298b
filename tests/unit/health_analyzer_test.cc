#include "server/analysis/health_analyzer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/analysis/history.h"
#include "tests/unit/analysis_test_util.h"

namespace goodbuy::analysis {
namespace {

using analysis_testing::DistressedBusiness;
using analysis_testing::ExpectAllFinite;
using analysis_testing::HealthyBusiness;
using analysis_testing::RecordingSink;
using ::testing::ElementsAre;

v1::HealthAnalysis RunHealth(const AnalysisInput& in) {
  RecordingSink sink;
  absl::StatusOr<v1::AnalysisResult> r = AnalyzeHealth(in, sink);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return {};
  ExpectAllFinite(*r);
  EXPECT_EQ(r->confidence_score(), r->health().confidence_level());
  return r->health();
}

const v1::HealthPillar& Pillar(const v1::HealthAnalysis& h,
                               const std::string& name) {
  for (const auto& p : h.pillars()) {
    if (p.name() == name) return p;
  }
  ADD_FAILURE() << "no pillar " << name;
  static const v1::HealthPillar kEmpty;
  return kEmpty;
}

void ExpectScoresInRange(const v1::HealthAnalysis& h) {
  for (int s :
       {h.overall_score(), h.growth_score(), h.operational_score(),
        h.financial_score(), h.sale_readiness_score(), h.confidence_level()}) {
    EXPECT_GE(s, 0);
    EXPECT_LE(s, 100);
  }
  for (const auto& p : h.pillars()) {
    EXPECT_GE(p.score(), 0);
    EXPECT_LE(p.score(), 100);
    for (const auto& r : p.ratios()) {
      EXPECT_GE(r.score(), 0) << r.name();
      EXPECT_LE(r.score(), 100) << r.name();
    }
  }
}

TEST(AltmanTest, WorkedExampleGives3884) {
  // analysis-methods.md §1.1: TA 500k, WC 80k, RE 150k, EBIT 60k, BVE 250k,
  // TL 250k.
  EXPECT_NEAR(AltmanZDoublePrime(80e3, 150e3, 60e3, 250e3, 250e3, 500e3), 3.884,
              1e-9);
  EXPECT_EQ(AltmanZDoublePrime(1, 1, 1, 1, 1, 0), 0);
}

TEST(HealthBandTest, Bands) {
  EXPECT_STREQ(HealthBand(80), "strong");
  EXPECT_STREQ(HealthBand(79), "healthy");
  EXPECT_STREQ(HealthBand(60), "healthy");
  EXPECT_STREQ(HealthBand(59), "watch");
  EXPECT_STREQ(HealthBand(40), "watch");
  EXPECT_STREQ(HealthBand(39), "at_risk");
}

TEST(HealthAnalyzerTest, HealthyBusinessScoresAboveDistressedOne) {
  const v1::HealthAnalysis good = RunHealth(HealthyBusiness(36));
  const v1::HealthAnalysis bad = RunHealth(DistressedBusiness(36));
  ExpectScoresInRange(good);
  ExpectScoresInRange(bad);
  EXPECT_GT(good.overall_score(), bad.overall_score() + 30);
  EXPECT_GE(good.overall_score(), 60);
  EXPECT_THAT(good.band(), ::testing::AnyOf("strong", "healthy"));
  EXPECT_EQ(bad.band(), "at_risk");
  EXPECT_GT(good.financial_score(), bad.financial_score());
  EXPECT_GT(good.operational_score(), bad.operational_score());
  EXPECT_GT(good.growth_score(), bad.growth_score());
  EXPECT_GT(good.sale_readiness_score(), bad.sale_readiness_score());
  EXPECT_EQ(good.trajectory(), v1::TRAJECTORY_IMPROVING);
  EXPECT_EQ(bad.trajectory(), v1::TRAJECTORY_DECLINING);
  EXPECT_EQ(good.months_used(), 36);
  EXPECT_DOUBLE_EQ(good.data_completeness(), 1.0);
  EXPECT_EQ(good.confidence_level(), 100);
  // Every pillar has data for the healthy business; weights are nominal.
  ASSERT_EQ(good.pillars_size(), 5);
  EXPECT_DOUBLE_EQ(Pillar(good, "liquidity").weight(), 0.25);
  EXPECT_DOUBLE_EQ(Pillar(good, "efficiency").weight(), 0.10);
}

TEST(HealthAnalyzerTest, AltmanDistressCapsTheScore) {
  const v1::HealthAnalysis bad = RunHealth(DistressedBusiness(24));
  ASSERT_TRUE(bad.has_altman_z());
  EXPECT_LT(bad.altman_z_double_prime(), kAltmanDistressBelow);
  EXPECT_LE(bad.overall_score(), 40);

  const v1::HealthAnalysis good = RunHealth(HealthyBusiness(24));
  ASSERT_TRUE(good.has_altman_z());
  EXPECT_GT(good.altman_z_double_prime(), kAltmanSafeAbove);

  // Same healthy flows but a grey-zone balance sheet: capped at 70.
  AnalysisInput grey = HealthyBusiness(24);
  for (auto& p : grey.periods) {
    p.set_current_assets(100000);
    p.set_current_liabilities(100000);
    p.set_retained_earnings(0);
    p.set_equity(40000);
    p.set_total_assets(2000000);
  }
  const v1::HealthAnalysis capped = RunHealth(grey);
  ASSERT_TRUE(capped.has_altman_z());
  EXPECT_GE(capped.altman_z_double_prime(), kAltmanDistressBelow);
  EXPECT_LE(capped.altman_z_double_prime(), kAltmanSafeAbove);
  EXPECT_LE(capped.overall_score(), 70);
  EXPECT_GT(good.overall_score(), 70);
}

TEST(HealthAnalyzerTest, NoBalanceSheetMeansNoAltman) {
  AnalysisInput in = HealthyBusiness(12);
  for (auto& p : in.periods) {
    p.set_total_assets(0);
    p.set_current_assets(0);
  }
  EXPECT_FALSE(RunHealth(in).has_altman_z());
}

TEST(HealthAnalyzerTest, WeightsRenormaliseOverPillarsWithData) {
  // Three months, no receivables: efficiency has no data (the expense-ratio
  // trend needs six months).
  AnalysisInput in = HealthyBusiness(3);
  for (auto& p : in.periods) p.set_accounts_receivable(0);
  const v1::HealthAnalysis h = RunHealth(in);
  const v1::HealthPillar& eff = Pillar(h, "efficiency");
  EXPECT_FALSE(eff.has_data());
  EXPECT_EQ(eff.weight(), 0);
  double total = 0;
  double expected_overall = 0;
  for (const auto& p : h.pillars()) {
    total += p.weight();
    expected_overall += p.weight() * p.score();
  }
  EXPECT_NEAR(total, 1.0, 1e-12);
  EXPECT_NEAR(Pillar(h, "liquidity").weight(), 0.25 / 0.9, 1e-12);
  EXPECT_NEAR(Pillar(h, "growth").weight(), 0.20 / 0.9, 1e-12);
  EXPECT_NEAR(h.overall_score(), expected_overall, 0.5 + 1e-9);
  EXPECT_LT(h.confidence_level(), 100);
}

TEST(HealthAnalyzerTest, NoDebtScoresLeverage100) {
  AnalysisInput in = HealthyBusiness(12);
  for (auto& p : in.periods) {
    p.set_total_debt(0);
    p.set_interest_expense(0);
    p.set_debt_principal_paid(0);
  }
  EXPECT_DOUBLE_EQ(Pillar(RunHealth(in), "leverage").score(), 100);
}

TEST(HealthAnalyzerTest, LeverageUsesLenderAnchors) {
  // EBITDA 10k/month = 120k TTM; debt service 96k -> DSCR 1.25 (80 points);
  // debt 360k -> 3x EBITDA (60 points).
  AnalysisInput in;
  for (int i = 0; i < 12; ++i) {
    v1::MonthlyPeriod p;
    p.set_month(analysis_testing::MonthLabel(i));
    p.set_revenue(50000);
    p.set_cost_of_goods_sold(20000);
    p.set_operating_expenses(15000);
    p.set_owner_compensation(5000);
    p.set_interest_expense(3000);
    p.set_debt_principal_paid(5000);
    p.set_total_debt(360000);
    p.set_cash(10000);
    in.periods.push_back(p);
  }
  const v1::HealthAnalysis h = RunHealth(in);
  const v1::HealthPillar& lev = Pillar(h, "leverage");
  ASSERT_EQ(lev.ratios_size(), 2);
  EXPECT_EQ(lev.ratios(0).name(), "dscr");
  EXPECT_NEAR(lev.ratios(0).value(), 1.25, 1e-12);
  EXPECT_NEAR(lev.ratios(0).score(), 80, 1e-9);
  EXPECT_EQ(lev.ratios(1).name(), "debt_to_ebitda");
  EXPECT_NEAR(lev.ratios(1).value(), 3.0, 1e-12);
  EXPECT_NEAR(lev.ratios(1).score(), 60, 1e-9);
  EXPECT_NEAR(lev.score(), 70, 1e-9);
}

TEST(HealthAnalyzerTest, PartialsArriveInOrderWithIncreasingPercent) {
  RecordingSink sink;
  absl::StatusOr<v1::AnalysisResult> r =
      AnalyzeHealth(HealthyBusiness(30), sink);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(
      sink.Keys(),
      ElementsAre("pillar/liquidity", "pillar/profitability", "pillar/leverage",
                  "pillar/efficiency", "pillar/growth"));
  sink.ExpectPercentsIncreasing();
  for (const auto& e : sink.events) {
    if (e.key.empty()) continue;
    EXPECT_EQ(e.key, "pillar/" + e.stage);
    EXPECT_EQ(e.partial.health_pillar().name(), e.stage);
  }
  EXPECT_EQ(sink.events.back().stage, "overall");
  EXPECT_EQ(sink.events.back().percent, 90);
}

TEST(HealthAnalyzerTest, SinkReturningFalseCancels) {
  for (int stop_at : {0, 1, 3, 6}) {
    RecordingSink sink;
    sink.stop_at = stop_at;
    absl::StatusOr<v1::AnalysisResult> r =
        AnalyzeHealth(HealthyBusiness(12), sink);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << stop_at;
    // Nothing is called after the sink said stop.
    EXPECT_EQ(static_cast<int>(sink.events.size()), stop_at + 1);
  }
}

TEST(HealthAnalyzerTest, AllZeroRevenueProducesNoNaN) {
  AnalysisInput zero =
      analysis_testing::RevenueOnly(std::vector<double>(30, 0.0));
  const v1::HealthAnalysis h = RunHealth(zero);
  ExpectScoresInRange(h);
  // Zero revenue with costs: also finite, and profitability scores 0.
  AnalysisInput costs = zero;
  for (auto& p : costs.periods) {
    p.set_operating_expenses(1000);
    p.set_total_debt(5000);
    p.set_interest_expense(50);
  }
  const v1::HealthAnalysis hc = RunHealth(costs);
  ExpectScoresInRange(hc);
  EXPECT_TRUE(Pillar(hc, "profitability").has_data());
  EXPECT_EQ(Pillar(hc, "profitability").score(), 0);
  EXPECT_EQ(Pillar(hc, "leverage").score(), 0);
}

TEST(HealthAnalyzerTest, ShortHistorySaysGrowthIsNotYearOverYear) {
  RecordingSink sink;
  absl::StatusOr<v1::AnalysisResult> r =
      AnalyzeHealth(HealthyBusiness(10), sink);
  ASSERT_TRUE(r.ok());
  bool said = false;
  for (const auto& w : r->warnings()) {
    said |= w.find("24 months") != std::string::npos;
  }
  EXPECT_TRUE(said);
  EXPECT_THAT(Pillar(r->health(), "growth").explanation(),
              ::testing::HasSubstr("24 months are needed"));
}

TEST(HealthAnalyzerTest, RejectsTooShortHistory) {
  RecordingSink sink;
  EXPECT_EQ(AnalyzeHealth(HealthyBusiness(2), sink).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(sink.events.empty());
}

}  // namespace
}  // namespace goodbuy::analysis
