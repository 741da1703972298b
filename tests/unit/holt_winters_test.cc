// R stats::HoltWinters on AirPassengers: the numbers come from
// ../shared/reference/r_ets_reference.txt and analysis-methods.md §3.6.2
// (fixed parameters, exact) and §3.6.3 (optimised, 1e-3 on the SSE).
#include "server/analysis/holt_winters.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/unit/analysis_test_util.h"

namespace goodbuy::analysis {
namespace {

using analysis_testing::AirPassengers;

void ExpectRel(double actual, double expected, double rel) {
  EXPECT_NEAR(actual, expected, rel * std::abs(expected));
}

void ExpectAll(const std::vector<double>& actual,
               const std::vector<double>& expected, double rel) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "index " << i);
    ExpectRel(actual[i], expected[i], rel);
  }
}

TEST(HoltWintersTest, MultiplicativeFixedParametersMatchR) {
  const HoltWintersParams p{0.3, 0.1, 0.2};
  auto fit = FitHoltWinters(AirPassengers(), 12,
                            HoltWintersSeason::kMultiplicative, &p);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ExpectRel(fit->level_start, 124.3169192, 1e-9);
  ExpectRel(fit->trend_start, 1.145687646, 1e-9);
  ExpectAll(fit->season_start,
            {0.8853778150, 0.9567026620, 1.0560479001, 0.9999918086,
             0.9191803060, 1.0851340318, 1.1795086010, 1.1752602072,
             1.0739905029, 0.9351739242, 0.8146550169, 0.9189772244},
            1e-9);
  ExpectRel(fit->sse, 34270.37772, 1e-9);
  ExpectRel(fit->level, 497.5052393871, 1e-10);
  ExpectRel(fit->trend, 4.0537805776, 1e-9);
  ExpectAll(fit->seasonal,
            {0.9083800050, 0.8878479535, 1.0201493506, 1.0082069314,
             1.0049425854, 1.1373138095, 1.2554919732, 1.2269083675,
             1.0440139611, 0.9148845233, 0.7934085823, 0.8880219826},
            1e-9);
  ExpectAll(ForecastHoltWinters(*fit, 12),
            {455.6061851, 448.9072902, 519.9360317, 517.9364294, 520.3332852,
             593.4821029, 660.2402575, 650.1822796, 557.4922473, 492.2472549,
             430.1042740, 484.9937442},
            1e-9);
  EXPECT_EQ(fit->fitted.size(), 144u - 12u);
}

TEST(HoltWintersTest, AdditiveFixedParametersMatchR) {
  const HoltWintersParams p{0.3, 0.1, 0.2};
  auto fit =
      FitHoltWinters(AirPassengers(), 12, HoltWintersSeason::kAdditive, &p);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ExpectRel(fit->level_start, 124.316919192, 1e-10);
  ExpectRel(fit->trend_start, 1.14568764569, 1e-10);
  const std::vector<double> s = {-14.819444, -5.652778, 7.513889,   0.013889,
                                 -10.986111, 11.680556, 22.638889,  22.180556,
                                 9.472222,   -8.152778, -23.569444, -10.319444};
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_NEAR(fit->season_start[i], s[i], 5e-7) << i;
  }
  ExpectRel(fit->sse, 98448.993, 1e-8);
  ExpectRel(fit->level, 495.247697971, 1e-10);
  ExpectRel(fit->trend, 3.182510199, 1e-9);
  ExpectAll(ForecastHoltWinters(*fit, 12),
            {474.4577723, 469.8018109, 513.0073260, 515.4537421, 521.3474024,
             564.1378152, 601.8066102, 588.0593582, 521.4744881, 484.5155736,
             453.1348448, 493.5165993},
            1e-9);
}

TEST(HoltWintersTest, OptimisedMultiplicativeReachesRsSse) {
  // R: α 0.2755924747, β 0.03269295273, γ 0.8707292223, SSE 16570.77787.
  auto fit =
      FitHoltWinters(AirPassengers(), 12, HoltWintersSeason::kMultiplicative);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_LE(fit->sse, 16570.77787 * (1 + 1e-3));
  EXPECT_NEAR(fit->params.alpha, 0.2755924747, 0.02);
  EXPECT_NEAR(fit->params.beta, 0.03269295273, 0.01);
  EXPECT_NEAR(fit->params.gamma, 0.8707292223, 0.05);
  // R's forecasts at its optimum, 1e-3.
  ExpectAll(ForecastHoltWinters(*fit, 3),
            {447.0559313, 419.7122799, 464.8671311}, 1e-3);
}

TEST(HoltWintersTest, OptimisedAdditiveReachesRsSse) {
  // R: α 0.2479594897, β 0.03453372965, γ 1, SSE 21860.18462.
  auto fit = FitHoltWinters(AirPassengers(), 12, HoltWintersSeason::kAdditive);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_LE(fit->sse, 21860.18462 * (1 + 1e-3));
  EXPECT_NEAR(fit->params.gamma, 1.0, 0.02);
}

TEST(HoltWintersTest, RejectsBadInput) {
  const std::vector<double> short_series(24, 100.0);
  EXPECT_FALSE(
      FitHoltWinters(short_series, 12, HoltWintersSeason::kAdditive).ok());
  std::vector<double> y = AirPassengers();
  y[7] = 0;
  EXPECT_FALSE(FitHoltWinters(y, 12, HoltWintersSeason::kMultiplicative).ok());
  EXPECT_TRUE(FitHoltWinters(y, 12, HoltWintersSeason::kAdditive).ok());
  const HoltWintersParams bad{1.5, 0.1, 0.1};
  EXPECT_FALSE(
      FitHoltWinters(AirPassengers(), 12, HoltWintersSeason::kAdditive, &bad)
          .ok());
}

}  // namespace
}  // namespace goodbuy::analysis
