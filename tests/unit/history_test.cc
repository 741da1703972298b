#include "server/analysis/history.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "server/analysis/ttm.h"
#include "server/common/errors.h"

namespace goodbuy::analysis {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::SizeIs;

v1::FinancialHistory Months(const std::vector<std::string>& months) {
  v1::FinancialHistory h;
  for (const auto& m : months) {
    v1::MonthlyPeriod* p = h.add_periods();
    p->set_month(m);
    p->set_revenue(1000);
  }
  return h;
}

v1::FinancialHistory Contiguous(int n) {
  v1::FinancialHistory h;
  for (int i = 0; i < n; ++i) {
    v1::MonthlyPeriod* p = h.add_periods();
    p->set_month(FormatMonthIndex(2020 * 12 + i));
    p->set_revenue(1000 + i);
  }
  return h;
}

struct Violation {
  std::string field;
  std::string description;
};

std::vector<Violation> Violations(const absl::Status& status) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  google::rpc::BadRequest br;
  EXPECT_TRUE(GetBadRequest(status, &br)) << status;
  std::vector<Violation> out;
  for (const auto& v : br.field_violations()) {
    out.push_back({v.field(), v.description()});
  }
  return out;
}

std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const auto& v : Violations(status)) fields.push_back(v.field);
  return fields;
}

absl::Status Check(const v1::FinancialHistory& h,
                   const v1::AnalysisOptions& o = {}) {
  return PrepareHistory(h, o).status();
}

TEST(PrepareHistoryTest, SortsValidHistoryAndKeepsOptions) {
  v1::FinancialHistory h = Months({"2024-03", "2024-01", "2024-02"});
  h.mutable_periods(0)->set_revenue(3);
  h.mutable_periods(1)->set_revenue(1);
  h.mutable_periods(2)->set_revenue(2);
  v1::AnalysisOptions o;
  o.set_forecast_horizon_months(24);
  absl::StatusOr<AnalysisInput> in = PrepareHistory(h, o);
  ASSERT_TRUE(in.ok()) << in.status();
  ASSERT_THAT(in->periods, SizeIs(3));
  EXPECT_EQ(in->periods[0].month(), "2024-01");
  EXPECT_EQ(in->periods[1].month(), "2024-02");
  EXPECT_EQ(in->periods[2].month(), "2024-03");
  EXPECT_EQ(in->periods[2].revenue(), 3);
  EXPECT_EQ(in->options.forecast_horizon_months(), 24);
}

TEST(PrepareHistoryTest, AcceptsYearBoundaryAndNegativeEquity) {
  v1::FinancialHistory h = Months({"2023-12", "2024-01"});
  h.mutable_periods(0)->set_retained_earnings(-5000);
  h.mutable_periods(0)->set_equity(-100);
  EXPECT_TRUE(Check(h).ok());
}

TEST(PrepareHistoryTest, RejectsMalformedMonths) {
  const std::vector<std::string> bad = {
      "2024-13", "24-01",   "",        "2024-00", "2024-1",
      "2024/01", "1899-12", "2201-01", "abcd-ef", "2024-011"};
  for (const std::string& month : bad) {
    v1::FinancialHistory h = Months({"2024-01", month});
    absl::Status s = Check(h);
    EXPECT_THAT(Fields(s), Contains("history.periods[1].month"))
        << "month \"" << month << "\": " << s;
  }
  EXPECT_TRUE(Check(Months({"1900-01"})).ok());
  EXPECT_TRUE(Check(Months({"2200-12"})).ok());
}

TEST(PrepareHistoryTest, RejectsDuplicateMonths) {
  absl::Status s = Check(Months({"2024-01", "2024-02", "2024-01"}));
  std::vector<Violation> v = Violations(s);
  ASSERT_THAT(v, SizeIs(1));
  EXPECT_EQ(v[0].field, "history.periods[2].month");
  EXPECT_THAT(v[0].description,
              AllOf(HasSubstr("duplicate"), HasSubstr("history.periods[0]")));
}

TEST(PrepareHistoryTest, RejectsGapsNamingTheMissingMonths) {
  absl::Status s = Check(Months({"2024-01", "2024-02", "2024-04", "2024-08"}));
  std::vector<Violation> v = Violations(s);
  ASSERT_THAT(v, SizeIs(2));
  EXPECT_EQ(v[0].field, "history.periods");
  EXPECT_THAT(v[0].description, HasSubstr("month 2024-03"));
  EXPECT_THAT(v[1].description, HasSubstr("2024-05 to 2024-07"));
  // The top-level message names the first problem.
  EXPECT_THAT(std::string(s.message()), HasSubstr("2024-03"));
}

TEST(PrepareHistoryTest, RejectsNonFiniteNumbers) {
  v1::FinancialHistory h = Contiguous(3);
  h.mutable_periods(1)->set_revenue(std::nan(""));
  h.mutable_periods(2)->set_cash(std::numeric_limits<double>::infinity());
  h.mutable_periods(0)->set_equity(-std::numeric_limits<double>::infinity());
  EXPECT_THAT(Fields(Check(h)),
              ::testing::UnorderedElementsAre("history.periods[1].revenue",
                                              "history.periods[2].cash",
                                              "history.periods[0].equity"));
}

TEST(PrepareHistoryTest, RejectsNegativeAmountsAndCounts) {
  v1::FinancialHistory h = Contiguous(2);
  h.mutable_periods(0)->set_revenue(-1);
  h.mutable_periods(1)->set_total_debt(-5);
  h.mutable_periods(1)->set_accounts_receivable(-0.5);
  h.mutable_periods(1)->set_churned_customers(-2);
  h.mutable_periods(1)->set_retained_earnings(-100);  // allowed
  EXPECT_THAT(Fields(Check(h)),
              ::testing::UnorderedElementsAre(
                  "history.periods[0].revenue", "history.periods[1].total_debt",
                  "history.periods[1].accounts_receivable",
                  "history.periods[1].churned_customers"));
}

TEST(PrepareHistoryTest, RejectsEmptyAndTooLongHistories) {
  EXPECT_THAT(Fields(Check(v1::FinancialHistory())),
              ::testing::ElementsAre("history.periods"));
  EXPECT_TRUE(Check(Contiguous(600)).ok());
  EXPECT_THAT(Fields(Check(Contiguous(601))),
              ::testing::ElementsAre("history.periods"));
}

TEST(PrepareHistoryTest, ValidatesOptions) {
  const v1::FinancialHistory h = Contiguous(3);
  v1::AnalysisOptions o;
  for (int bad : {-1, 37}) {
    o.set_forecast_horizon_months(bad);
    EXPECT_THAT(Fields(Check(h, o)),
                ::testing::ElementsAre("options.forecast_horizon_months"));
  }
  for (int good : {0, 1, 36}) {
    o.set_forecast_horizon_months(good);
    EXPECT_TRUE(Check(h, o).ok()) << good;
  }
  o = {};
  for (double bad : {-0.1, 1.5, std::nan("")}) {
    o.set_discount_rate(bad);
    EXPECT_THAT(Fields(Check(h, o)),
                ::testing::ElementsAre("options.discount_rate"));
  }
  o.set_discount_rate(1.0);
  EXPECT_TRUE(Check(h, o).ok());
  o = {};
  for (double bad : {-0.06, 0.11}) {
    o.set_terminal_growth_rate(bad);
    EXPECT_THAT(Fields(Check(h, o)),
                ::testing::ElementsAre("options.terminal_growth_rate"));
  }
  o.set_terminal_growth_rate(0.10);
  EXPECT_TRUE(Check(h, o).ok());  // default r = 0.25 > 0.10
  o.set_discount_rate(0.08);
  EXPECT_THAT(Fields(Check(h, o)),
              ::testing::ElementsAre("options.discount_rate"));
  o.set_terminal_growth_rate(0);  // default g = 0.03 < 0.08
  EXPECT_TRUE(Check(h, o).ok());
}

TEST(PrepareHistoryTest, ValidatesBuildUpOptions) {
  const v1::FinancialHistory h = Contiguous(3);
  struct Case {
    const char* field;
    void (v1::AnalysisOptions::*set)(double);
    double bad_low, bad_high, good;
  };
  const Case cases[] = {
      {"options.risk_free_rate", &v1::AnalysisOptions::set_risk_free_rate,
       -0.01, 0.21, 0.045},
      {"options.equity_risk_premium",
       &v1::AnalysisOptions::set_equity_risk_premium, -0.01, 0.21, 0.055},
      {"options.size_premium", &v1::AnalysisOptions::set_size_premium, -0.01,
       0.51, 0.06},
      {"options.industry_premium", &v1::AnalysisOptions::set_industry_premium,
       -0.11, 0.11, -0.02},
      {"options.company_specific_premium",
       &v1::AnalysisOptions::set_company_specific_premium, -0.01, 0.51, 0.05},
      {"options.owner_replacement_salary",
       &v1::AnalysisOptions::set_owner_replacement_salary, -1, 2e12, 80000},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    for (double bad : {c.bad_low, c.bad_high, std::nan(""),
                       std::numeric_limits<double>::infinity()}) {
      v1::AnalysisOptions o;
      (o.*c.set)(bad);
      std::vector<Violation> v = Violations(Check(h, o));
      ASSERT_THAT(v, SizeIs(1)) << bad;
      EXPECT_EQ(v[0].field, c.field);
      EXPECT_THAT(v[0].description, HasSubstr("when set"));
    }
    v1::AnalysisOptions o;
    (o.*c.set)(c.good);
    EXPECT_TRUE(Check(h, o).ok());
    EXPECT_TRUE(ValidateOptions(o).ok());
  }
  // Zero is a legitimate component value (optional fields have presence).
  v1::AnalysisOptions zero;
  zero.set_industry_premium(0);
  zero.set_company_specific_premium(0);
  EXPECT_TRUE(Check(h, zero).ok());
}

TEST(PrepareHistoryTest, BuildUpSumMustBeAValidRateAboveGrowth) {
  const v1::FinancialHistory h = Contiguous(3);
  // Every component at 0: r = 0, not a rate.
  v1::AnalysisOptions o;
  o.set_risk_free_rate(0);
  o.set_equity_risk_premium(0);
  o.set_size_premium(0);
  o.set_industry_premium(0);
  o.set_company_specific_premium(0);
  std::vector<Violation> v = Violations(Check(h, o));
  ASSERT_THAT(v, SizeIs(1));
  EXPECT_EQ(v[0].field, "options.discount_rate");
  EXPECT_THAT(v[0].description, HasSubstr("build-up"));
  // A sum above 1.
  o.set_risk_free_rate(0.2);
  o.set_equity_risk_premium(0.2);
  o.set_size_premium(0.5);
  o.set_company_specific_premium(0.5);
  EXPECT_THAT(Fields(Check(h, o)),
              ::testing::ElementsAre("options.discount_rate"));
  // r <= g through the build-up: 0.02 + 0.02 + 0.01 = 5% against g = 6%.
  o = {};
  o.set_risk_free_rate(0.02);
  o.set_equity_risk_premium(0.02);
  o.set_size_premium(0.01);
  o.set_industry_premium(0);
  o.set_company_specific_premium(0);
  o.set_terminal_growth_rate(0.06);
  v = Violations(Check(h, o));
  ASSERT_THAT(v, SizeIs(1));
  EXPECT_EQ(v[0].field, "options.discount_rate");
  EXPECT_THAT(v[0].description, HasSubstr("terminal growth"));
  // An explicit discount rate wins over the components.
  o.set_discount_rate(0.2);
  EXPECT_TRUE(Check(h, o).ok());
}

TEST(PrepareHistoryTest, BuildUpDefaultsComeFromTheTable) {
  v1::AnalysisOptions o;
  const BuildUpRate b = BuildUp(o);
  EXPECT_DOUBLE_EQ(b.risk_free_rate, 0.0488);       // 20-yr UST, 2025-08-01
  EXPECT_DOUBLE_EQ(b.equity_risk_premium, 0.0433);  // Damodaran, 2025-01-01
  EXPECT_EQ(b.industry_premium, 0);
  EXPECT_EQ(b.company_specific_premium, 0);
  EXPECT_NEAR(b.Sum(), kDefaultDiscountRate, 1e-12);
  EXPECT_EQ(EffectiveDiscountRate(o), kDefaultDiscountRate);
  EXPECT_FALSE(DiscountRateOverridden(o));
  o.set_company_specific_premium(0.05);
  EXPECT_NEAR(EffectiveDiscountRate(o), 0.30, 1e-12);
  o.set_risk_free_rate(0.0388);
  EXPECT_NEAR(EffectiveDiscountRate(o), 0.29, 1e-12);
  o.set_discount_rate(0.2);
  EXPECT_TRUE(DiscountRateOverridden(o));
  EXPECT_DOUBLE_EQ(EffectiveDiscountRate(o), 0.2);
}

TEST(CheckAnalysisInputTest, RejectsWhatPrepareHistoryWould) {
  AnalysisInput in;
  for (int i = 0; i < 4; ++i) {
    v1::MonthlyPeriod p;
    p.set_month(FormatMonthIndex(2020 * 12 + i));
    p.set_revenue(100);
    in.periods.push_back(p);
  }
  EXPECT_TRUE(CheckAnalysisInput(in, 3, "health").ok());
  EXPECT_THAT(Fields(CheckAnalysisInput(in, 6, "valuation")),
              ::testing::ElementsAre("history.periods"));
  in.periods[1].set_cost_of_goods_sold(std::nan(""));
  in.periods[2].set_total_debt(-1);
  in.periods[3].set_customers(-4);
  in.options.set_terminal_growth_rate(0.5);
  EXPECT_THAT(
      Fields(CheckAnalysisInput(in, 3, "health")),
      ::testing::UnorderedElementsAre("history.periods[1].cost_of_goods_sold",
                                      "history.periods[2].total_debt",
                                      "history.periods[3].customers",
                                      "options.terminal_growth_rate"));
  EXPECT_THAT(Fields(CheckAnalysisInput(AnalysisInput(), 1, "x")),
              ::testing::ElementsAre("history.periods"));
}

TEST(PrepareHistoryTest, ReportsAllViolationsAtOnce) {
  v1::FinancialHistory h = Months({"2024-01", "2024-13", "2024-01"});
  h.mutable_periods(0)->set_revenue(-1);
  v1::AnalysisOptions o;
  o.set_forecast_horizon_months(99);
  absl::Status s = Check(h, o);
  EXPECT_THAT(
      Fields(s),
      ::testing::UnorderedElementsAre(
          "history.periods[0].revenue", "history.periods[1].month",
          "history.periods[2].month", "options.forecast_horizon_months"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("and 3 more"));
}

TEST(PrepareHistoryTest, EffectiveOptionsApplyDefaults) {
  v1::AnalysisOptions o;
  EXPECT_EQ(EffectiveHorizonMonths(o), kDefaultForecastHorizonMonths);
  EXPECT_DOUBLE_EQ(EffectiveDiscountRate(o), 0.25);
  EXPECT_DOUBLE_EQ(EffectiveTerminalGrowthRate(o), 0.03);
  o.set_forecast_horizon_months(7);
  o.set_discount_rate(0.3);
  o.set_terminal_growth_rate(-0.01);
  EXPECT_EQ(EffectiveHorizonMonths(o), 7);
  EXPECT_DOUBLE_EQ(EffectiveDiscountRate(o), 0.3);
  EXPECT_DOUBLE_EQ(EffectiveTerminalGrowthRate(o), -0.01);
}

TEST(RequireMonthsTest, RejectsShortHistoriesOnThePeriodsField) {
  EXPECT_TRUE(RequireMonths(6, kMinValuationMonths, "valuation").ok());
  absl::Status s = RequireMonths(5, kMinValuationMonths, "valuation");
  EXPECT_THAT(Fields(s), ::testing::ElementsAre("history.periods"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("at least 6"));
  EXPECT_EQ(kMinHealthMonths, 3);
  EXPECT_EQ(kMinForecastMonths, 6);
}

TEST(MonthArithmeticTest, AddsAcrossYears) {
  EXPECT_EQ(*AddMonths("2024-11", 3), "2025-02");
  EXPECT_EQ(*AddMonths("2024-01", -1), "2023-12");
  EXPECT_EQ(*AddMonths("1960-12", 36), "1963-12");
  EXPECT_EQ(AddMonths("2024-13", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseMonthIndex("2000-01"), 24000);
  EXPECT_EQ(FormatMonthIndex(24011), "2000-12");
}

TEST(TtmTest, SumsAndAnnualises) {
  std::vector<double> v(18, 1.0);
  for (int i = 12; i < 18; ++i) v[i] = 2;
  bool annualised = true;
  EXPECT_DOUBLE_EQ(TtmSum(v, &annualised), 6 * 1 + 6 * 2);
  EXPECT_FALSE(annualised);
  EXPECT_DOUBLE_EQ(TtmSum({1, 2, 3}, &annualised), 6 * 4);
  EXPECT_TRUE(annualised);
  EXPECT_DOUBLE_EQ(PiecewiseLinear(17, {{7, 0}, {27, 50}, {90, 100}}), 25);
  EXPECT_DOUBLE_EQ(PiecewiseLinear(3, {{7, 0}, {27, 50}}), 0);
  EXPECT_DOUBLE_EQ(PiecewiseLinear(2.0, {{1, 100}, {3, 60}}), 80);
  EXPECT_DOUBLE_EQ(SafeDiv(1, 0, -7), -7);
}

TEST(TtmTest, RecentGrowthUsesYearOverYearWith24Months) {
  std::vector<double> v(24, 100);
  for (int i = 12; i < 24; ++i) v[i] = 110;
  std::optional<Growth> g = RecentGrowth(v);
  ASSERT_TRUE(g.has_value());
  EXPECT_TRUE(g->year_over_year);
  EXPECT_NEAR(g->rate, 0.10, 1e-12);
  std::optional<Growth> half = RecentGrowth({100, 100, 100, 121, 121, 121});
  ASSERT_TRUE(half.has_value());
  EXPECT_FALSE(half->year_over_year);
  EXPECT_EQ(half->window_months, 3);
  EXPECT_NEAR(half->rate, 0.21, 1e-12);
  EXPECT_FALSE(RecentGrowth({0, 0, 5, 5}).has_value());
}

}  // namespace
}  // namespace goodbuy::analysis
