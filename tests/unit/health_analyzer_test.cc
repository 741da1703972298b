#include "server/analysis/health_analyzer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
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

AltmanInputs WorkedExample() {
  // analysis-methods.md §1.1 worked example: TA 500k, WC 80k, RE 150k,
  // EBIT 60k, BVE 250k, TL 250k, Sales 900k.
  AltmanInputs in;
  in.working_capital = 80e3;
  in.retained_earnings = 150e3;
  in.ebit = 60e3;
  in.equity = 250e3;
  in.total_liabilities = 250e3;
  in.total_assets = 500e3;
  in.sales = 900e3;
  return in;
}

TEST(AltmanTest, EveryVariantMatchesTheReference) {
  const AltmanInputs in = WorkedExample();
  EXPECT_NEAR(AltmanZ(AltmanModel::kZPrime, in), 2.958060, 1e-6);
  EXPECT_NEAR(AltmanZ(AltmanModel::kZDoublePrime, in), 3.884000, 1e-6);
  EXPECT_NEAR(AltmanZ(AltmanModel::kZDoublePrimeEm, in), 7.134000, 1e-6);
  EXPECT_NEAR(AltmanZ(AltmanModel::kZ, in), 3.408000, 1e-6);  // MVE := BVE
  for (AltmanModel m : kAltmanModels) {
    EXPECT_EQ(AltmanZ(m, AltmanInputs()), 0) << AltmanModelName(m);
  }
}

TEST(AltmanTest, ZonesFollowTheReferenceTable) {
  // §1.1: Z 1.81 / 2.99, Z' 1.23 / 2.90, Z'' 1.10 / 2.60, Z''-EM 4.35 / 5.85.
  struct Case {
    AltmanModel model;
    double distress, safe;
  };
  const Case cases[] = {{AltmanModel::kZ, 1.81, 2.99},
                        {AltmanModel::kZPrime, 1.23, 2.90},
                        {AltmanModel::kZDoublePrime, 1.10, 2.60},
                        {AltmanModel::kZDoublePrimeEm, 4.35, 5.85}};
  for (const Case& c : cases) {
    SCOPED_TRACE(AltmanModelName(c.model));
    EXPECT_DOUBLE_EQ(ZonesOf(c.model).distress_below, c.distress);
    EXPECT_DOUBLE_EQ(ZonesOf(c.model).safe_above, c.safe);
    EXPECT_STREQ(AltmanZone(c.model, c.distress - 0.01), "distress");
    EXPECT_STREQ(AltmanZone(c.model, c.distress), "grey");
    EXPECT_STREQ(AltmanZone(c.model, c.safe), "grey");
    EXPECT_STREQ(AltmanZone(c.model, c.safe + 0.01), "safe");
  }
  // The worked example is safe on every variant but Z' (2.958 > 2.90 too).
  for (AltmanModel m : kAltmanModels) {
    EXPECT_STREQ(AltmanZone(m, AltmanZ(m, WorkedExample())), "safe")
        << AltmanModelName(m);
  }
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
  const v1::HealthAnalysis h = RunHealth(in);
  EXPECT_FALSE(h.has_altman_z());
  EXPECT_EQ(h.altman_scores_size(), 0);
  EXPECT_EQ(h.altman_zone(), "");
  EXPECT_EQ(h.score_cap(), 100);
}

TEST(HealthAnalyzerTest, ReportsEveryAltmanVariant) {
  const AnalysisInput in = HealthyBusiness(24);
  const v1::HealthAnalysis h = RunHealth(in);
  ASSERT_EQ(h.altman_scores_size(), 4);
  const v1::MonthlyPeriod& last = in.periods.back();
  double revenue = 0, ebitda = 0;
  for (int i = 12; i < 24; ++i) {
    const v1::MonthlyPeriod& p = in.periods[i];
    revenue += p.revenue();
    ebitda += p.revenue() - p.cost_of_goods_sold() - p.operating_expenses() -
              p.owner_compensation();
  }
  AltmanInputs ai;
  ai.working_capital = last.current_assets() - last.current_liabilities();
  ai.retained_earnings = last.retained_earnings();
  ai.ebit = ebitda;
  ai.equity = last.equity();
  ai.total_liabilities = last.total_assets() - last.equity();
  ai.total_assets = last.total_assets();
  ai.sales = revenue;
  const char* names[] = {"z", "z_prime", "z_double_prime", "z_double_prime_em"};
  for (int i = 0; i < 4; ++i) {
    const v1::AltmanScore& a = h.altman_scores(i);
    EXPECT_EQ(a.model(), names[i]);
    EXPECT_NEAR(a.value(), AltmanZ(kAltmanModels[i], ai), 1e-9);
    EXPECT_EQ(a.zone(), AltmanZone(kAltmanModels[i], a.value()));
    EXPECT_FALSE(a.note().empty());
  }
  EXPECT_DOUBLE_EQ(h.altman_scores(2).value(), h.altman_z_double_prime());
  EXPECT_NEAR(h.altman_scores(3).value(), h.altman_z_double_prime() + 3.25,
              1e-12);
  EXPECT_EQ(h.altman_zone(), "safe");
  EXPECT_EQ(h.score_cap(), 100);

  const v1::HealthAnalysis bad = RunHealth(DistressedBusiness(24));
  EXPECT_EQ(bad.altman_zone(), "distress");
  EXPECT_EQ(bad.score_cap(), 40);
}

TEST(HealthAnalyzerTest, LongHistoryAddsThreeYearCagrAndCustomerTrend) {
  const v1::HealthAnalysis h = RunHealth(HealthyBusiness(60));
  bool cagr = false, per_customer = false;
  for (const auto& r : Pillar(h, "growth").ratios()) {
    if (r.name() == "revenue_cagr_3y") {
      cagr = true;
      // 1% a month compounds to 12.68% a year.
      EXPECT_NEAR(r.value(), 100 * (std::pow(1.01, 12) - 1), 0.5);
    }
  }
  for (const auto& r : Pillar(h, "efficiency").ratios()) {
    per_customer |= r.name() == "revenue_per_customer_change";
  }
  EXPECT_TRUE(cagr);
  EXPECT_TRUE(per_customer);
  EXPECT_FALSE(Pillar(h, "efficiency").explanation().empty());
  // Under 48 months: no CAGR.
  const v1::HealthAnalysis shorter = RunHealth(HealthyBusiness(47));
  for (const auto& r : Pillar(shorter, "growth").ratios()) {
    EXPECT_NE(r.name(), "revenue_cagr_3y");
  }
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

// ---- Properties
// --------------------------------------------------------------

// A random but valid history: revenue with trend, season and noise (zero
// months included), random costs that may exceed revenue, optional debt and
// balance sheet (negative equity included).
AnalysisInput RandomHistory(std::mt19937_64& rng, int months) {
  std::uniform_real_distribution<double> u(0, 1);
  AnalysisInput in;
  const double level = std::exp(7 + 7 * u(rng));
  const double trend = -0.04 + 0.08 * u(rng);
  const double season = 0.5 * u(rng);
  const double noise = u(rng);
  const bool balance_sheet = u(rng) < 0.5;
  const bool debt = u(rng) < 0.6;
  const bool customers = u(rng) < 0.7;
  for (int i = 0; i < months; ++i) {
    v1::MonthlyPeriod p;
    p.set_month(analysis_testing::MonthLabel(i));
    double rev = level * std::pow(1 + trend, i) *
                 (1 + season * std::sin(2 * M_PI * i / 12.0)) *
                 std::max(0.0, 1 + noise * (u(rng) - 0.5));
    if (u(rng) < 0.05) rev = 0;
    p.set_revenue(rev);
    p.set_cost_of_goods_sold(rev * u(rng));
    p.set_operating_expenses(level * 0.8 * u(rng));
    p.set_owner_compensation(u(rng) < 0.8 ? level * 0.1 * u(rng) : 0);
    if (debt) {
      p.set_interest_expense(level * 0.03 * u(rng));
      p.set_debt_principal_paid(level * 0.1 * u(rng));
      p.set_total_debt(level * 30 * u(rng));
    }
    p.set_cash(u(rng) < 0.1 ? 0 : level * 4 * u(rng));
    if (customers) {
      p.set_customers(static_cast<int>(800 * u(rng)));
      p.set_new_customers(static_cast<int>(30 * u(rng)));
      p.set_churned_customers(static_cast<int>(30 * u(rng)));
    }
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

TEST(HealthPropertiesTest, RandomHistoriesScoreWithinRange) {
  std::mt19937_64 rng(20240601);
  std::uniform_int_distribution<int> months(kMinHealthMonths, 120);
  for (int trial = 0; trial < 300; ++trial) {
    SCOPED_TRACE(trial);
    RecordingSink sink;
    absl::StatusOr<v1::AnalysisResult> r =
        AnalyzeHealth(RandomHistory(rng, months(rng)), sink);
    ASSERT_TRUE(r.ok()) << r.status();
    ExpectAllFinite(*r);
    const v1::HealthAnalysis& h = r->health();
    ExpectScoresInRange(h);
    EXPECT_LE(h.overall_score(), h.score_cap() + 0.5);
    EXPECT_LE(h.sale_readiness_score(), h.score_cap() + 0.5);
    EXPECT_GE(h.data_completeness(), 0);
    EXPECT_LE(h.data_completeness(), 1);
    double total = 0;
    for (const auto& p : h.pillars()) {
      EXPECT_FALSE(p.explanation().empty()) << p.name();
      total += p.weight();
    }
    EXPECT_NEAR(total, 1.0, 1e-9);
    for (const auto& e : sink.events) {
      if (!e.key.empty()) ExpectAllFinite(e.partial);
    }
  }
}

TEST(HealthPropertiesTest, MoreCashNeverLowersLiquidity) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 60; ++trial) {
    SCOPED_TRACE(trial);
    const AnalysisInput in = RandomHistory(rng, 3 + trial);
    double previous = -1;
    for (double add : {0.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e9}) {
      AnalysisInput richer = in;
      richer.periods.back().set_cash(in.periods.back().cash() + add);
      const double score = Pillar(RunHealth(richer), "liquidity").score();
      EXPECT_GE(score, previous - 1e-9) << add;
      previous = score;
    }
  }
}

TEST(HealthPropertiesTest, HigherDscrNeverLowersLeverage) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 60; ++trial) {
    SCOPED_TRACE(trial);
    AnalysisInput in = RandomHistory(rng, 3 + trial);
    for (auto& p : in.periods) {
      if (p.debt_principal_paid() == 0) p.set_debt_principal_paid(500);
    }
    double previous = -1;
    // Less debt service for the same EBITDA: DSCR rises.
    for (double keep : {1.0, 0.7, 0.4, 0.2, 0.05}) {
      AnalysisInput lighter = in;
      for (auto& p : lighter.periods) {
        p.set_interest_expense(p.interest_expense() * keep);
        p.set_debt_principal_paid(p.debt_principal_paid() * keep);
      }
      const double score = Pillar(RunHealth(lighter), "leverage").score();
      EXPECT_GE(score, previous - 1e-9) << keep;
      previous = score;
    }
  }
}

// ---- Bad data
// ----------------------------------------------------------------

TEST(HealthBadDataTest, NonFiniteOrNegativeInputIsInvalidArgument) {
  analysis_testing::ExpectBadRevenueRejected(AnalyzeHealth, 12, 3);
  // Negative equity is allowed; NaN equity is not.
  AnalysisInput in = HealthyBusiness(12);
  in.periods[0].set_equity(-1e6);
  RunHealth(in);
  in.periods[0].set_equity(std::nan(""));
  RecordingSink sink;
  EXPECT_EQ(AnalyzeHealth(in, sink).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HealthBadDataTest, EmptyAndOneMonthAreInvalidArgument) {
  RecordingSink sink;
  EXPECT_EQ(AnalyzeHealth(AnalysisInput(), sink).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AnalyzeHealth(HealthyBusiness(1), sink).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(sink.events.empty());
}

TEST(HealthBadDataTest, DegenerateHistoriesStayFinite) {
  // All zeros, of several lengths; one giant month; costs without revenue.
  for (int months : {3, 4, 12, 24, 48, 120}) {
    ExpectScoresInRange(RunHealth(
        analysis_testing::RevenueOnly(std::vector<double>(months, 0.0))));
  }
  std::vector<double> spike(30, 0.0);
  spike[29] = 1e12;
  ExpectScoresInRange(RunHealth(analysis_testing::RevenueOnly(spike)));
  AnalysisInput zero_assets = HealthyBusiness(12);
  for (auto& p : zero_assets.periods) {
    p.set_equity(p.total_assets());  // no liabilities: X4 capped
  }
  ExpectScoresInRange(RunHealth(zero_assets));
}

}  // namespace
}  // namespace goodbuy::analysis
