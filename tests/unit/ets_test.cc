// ETS engine tests. Unless a test says otherwise its numbers come from
// ../shared/reference/r_ets_reference.txt (R 4.2.2, forecast 8.20), as
// summarised in ../shared/reference/analysis-methods.md §3.6.
#include "server/analysis/ets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "tests/unit/analysis_test_util.h"

namespace goodbuy::analysis {
namespace {

using analysis_testing::AirPassengers;

// |actual − expected| within `rel` of |expected| (the reference values are
// printed to 10–15 significant digits, so 1e-8 relative is above their
// rounding).
void ExpectRel(double actual, double expected, double rel, const char* what) {
  EXPECT_NEAR(actual, expected, rel * std::abs(expected)) << what;
}
constexpr double kExact = 1e-8;

EtsSpec Spec(EtsError e, EtsTrend t, EtsSeason s) {
  return EtsSpec{e, t, s, s == EtsSeason::kNone ? 1 : 12};
}
const EtsSpec kAAA =
    Spec(EtsError::kAdditive, EtsTrend::kAdditive, EtsSeason::kAdditive);
const EtsSpec kMAM = Spec(EtsError::kMultiplicative, EtsTrend::kAdditive,
                          EtsSeason::kMultiplicative);
const EtsSpec kMAdM = Spec(EtsError::kMultiplicative, EtsTrend::kDamped,
                           EtsSeason::kMultiplicative);
const EtsSpec kAAdN =
    Spec(EtsError::kAdditive, EtsTrend::kDamped, EtsSeason::kNone);
const EtsSpec kANN =
    Spec(EtsError::kAdditive, EtsTrend::kNone, EtsSeason::kNone);

EtsParams AaaParams() {
  EtsParams p;
  p.alpha = 0.993480362872374;
  p.beta = 1.91179159524254e-4;
  p.gamma = 5.80032514321104e-4;
  p.level0 = 120.960762545579;
  p.trend0 = 1.39339982901592;
  p.season0 = {-29.1815695929270, -54.3841662192089, -20.7168716370162,
               15.0726618966834,  65.1553960287441,  66.1846393963355,
               33.5822290602453,  -4.23202989396608, -8.09460700792780,
               -3.82047037350508, -34.3364218104466};
  return p;
}

EtsParams MamParams() {
  EtsParams p;
  p.alpha = 0.3949968504950142;
  p.beta = 0.0107004419033437;
  p.gamma = 0.3995392024005587;
  p.level0 = 122.3754260164763;
  p.trend0 = 1.1073665820835703;
  p.season0 = {0.9000411199468437, 0.7826691070680643, 0.9013680438688542,
               1.0476177697608089, 1.1537067990618175, 1.1830314019678256,
               1.0839951214625223, 0.9786588987832853, 1.0331616425763399,
               1.0807569099010852, 0.9522478841868149};
  return p;
}

EtsParams MadmParams() {
  EtsParams p;
  p.alpha = 0.709551916208791;
  p.beta = 0.0204089193322359;
  p.gamma = 1.00468309718653e-4;
  p.phi = 0.979999926683986;
  p.level0 = 120.993935507203;
  p.trend0 = 1.77054019711165;
  p.season0 = {0.894447475688874, 0.799322028291066, 0.921659598397272,
               1.05920192983827,  1.22030069724042,  1.23179850716711,
               1.11050018094692,  0.978612760760472, 0.980382073471814,
               1.01103008804154,  0.886892287222608};
  return p;
}

EtsParams AadnParams() {
  EtsParams p;
  p.alpha = 0.999899475835426;
  p.beta = 1.00015563586359e-4;
  p.phi = 0.979999688964894;
  p.level0 = 118.471909466453;
  p.trend0 = 1.95160849634788;
  return p;
}

EtsParams AnnParams() {
  EtsParams p;
  p.alpha = 0.999899807696804;
  p.level0 = 112.094750851185;
  return p;
}

struct Row {
  int h;
  double mean, lo80, hi80, lo95, hi95;
};

void ExpectRows(const EtsForecast& f, const std::vector<Row>& rows,
                double rel) {
  for (const Row& r : rows) {
    SCOPED_TRACE(testing::Message() << "h = " << r.h);
    ExpectRel(f.mean[r.h - 1], r.mean, rel, "mean");
    ExpectRel(f.lower80[r.h - 1], r.lo80, rel, "lo80");
    ExpectRel(f.upper80[r.h - 1], r.hi80, rel, "hi80");
    ExpectRel(f.lower95[r.h - 1], r.lo95, rel, "lo95");
    ExpectRel(f.upper95[r.h - 1], r.hi95, rel, "hi95");
  }
}

void ExpectSeries(const std::vector<double>& actual,
                  const std::vector<double>& expected, double rel,
                  const char* what) {
  ASSERT_GE(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(testing::Message() << what << "[" << i << "]");
    ExpectRel(actual[i], expected[i], rel, what);
  }
}

// Intervals are finite, nested (95% ⊇ 80% ∋ mean) and widen with the
// horizon: in absolute terms for additive seasonality, relative to the
// mean for a multiplicative season (whose width follows the seasonal
// index, as in R's class-3 table for MAM, h = 10 → 11).
void ExpectWellFormed(const EtsForecast& f, bool relative_width) {
  double last_width = 0;
  for (size_t h = 0; h < f.mean.size(); ++h) {
    SCOPED_TRACE(testing::Message() << "h = " << h + 1);
    for (double v :
         {f.mean[h], f.lower80[h], f.upper80[h], f.lower95[h], f.upper95[h]}) {
      ASSERT_TRUE(std::isfinite(v));
    }
    EXPECT_LE(f.lower95[h], f.lower80[h]);
    EXPECT_LE(f.lower80[h], f.mean[h]);
    EXPECT_LE(f.mean[h], f.upper80[h]);
    EXPECT_LE(f.upper80[h], f.upper95[h]);
    double width = f.upper95[h] - f.lower95[h];
    if (relative_width) width /= std::abs(f.mean[h]);
    EXPECT_GE(width, last_width * (1 - 1e-9));
    last_width = width;
  }
}

// ---------------------------------------------------------------------------
// Fixed parameters: §3.6.2, exact to 1e-8.

TEST(EtsEvaluateTest, AaaMatchesR) {
  auto fit = EvaluateEts(AirPassengers(), kAAA, AaaParams());
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->k, 17);
  ExpectRel(fit->loglik, -765.93584751167, kExact, "logLik");
  ExpectRel(fit->aic, 1565.87169502, kExact, "AIC");
  ExpectRel(fit->aicc, 1570.72883788, kExact, "AICc");
  ExpectRel(fit->bic, 1616.35852112, kExact, "BIC");
  ExpectRel(fit->sigma2, 325.697038067, kExact, "sigma2");
  ExpectSeries(fit->fitted,
               {97.1253725276, 104.1916344108, 149.8248093235, 129.2375503417,
                134.2595561288},
               kExact, "fitted");
  ExpectRel(fit->level, 461.074889534, kExact, "l");
  ExpectRel(fit->trend, 1.41993372927, kExact, "b");
  ExpectSeries(fit->season,
               {-29.1647622735, -54.3946112441, -20.7266865898, 15.072288522,
                65.1511213774, 66.2239901893, 33.5866196002, -4.23560883831,
                -8.0959342067, -3.79757070688, -34.3297920564, -25.2085506216},
               kExact, "s");
  const EtsForecast f = ForecastEts(*fit, 12);
  ExpectRows(
      f,
      {{1, 437.2862726, 414.1580111, 460.4145342, 401.9146490, 472.6578963},
       {2, 429.5849649, 396.9799961, 462.1899338, 379.7199681, 479.4499617},
       {3, 461.5371200, 421.6440785, 501.4301615, 400.5259779, 522.5482621},
       {11, 422.2995493, 345.9729958, 498.6261028, 305.5681590, 539.0309396},
       {12, 448.9493320, 369.2251538, 528.6735102, 327.0217231, 570.8769409}},
      kExact);
  ExpectWellFormed(f, false);
}

TEST(EtsEvaluateTest, MamMatchesRIncludingClass3Intervals) {
  auto fit = EvaluateEts(AirPassengers(), kMAM, MamParams());
  ASSERT_TRUE(fit.ok()) << fit.status();
  ExpectRel(fit->loglik, -682.403619057806, kExact, "logLik");
  ExpectRel(fit->aic, 1398.80723812, kExact, "AIC");
  ExpectRel(fit->aicc, 1403.66438097, kExact, "AICc");
  ExpectRel(fit->bic, 1449.29406421, kExact, "BIC");
  ExpectRel(fit->sigma2, 0.00158214813524, kExact, "sigma2");
  ExpectSeries(fit->fitted,
               {111.473510824, 118.866023327, 135.712169723, 129.436352864,
                123.484810830},
               kExact, "fitted");
  ExpectRel(fit->level, 485.385003636, kExact, "l");
  ExpectRel(fit->trend, 3.17744080079, kExact, "b");
  ExpectSeries(fit->season,
               {0.890745031602, 0.808520328369, 0.949930165574, 1.08041740715,
                1.31170033136, 1.34048092141, 1.1767028243, 1.03564940726,
                1.01308246118, 0.978372924142, 0.864741360298, 0.918969053557},
               kExact, "s");
  // Class 3 (multiplicative error and season): the exact Gaussian moments
  // reproduce R's analytic intervals at every horizon.
  const EtsForecast f = ForecastEts(*fit, 12);
  ExpectRows(
      f,
      {{1, 448.9737672, 426.0872017, 471.8603326, 413.9717858, 483.9757486},
       {2, 425.2278173, 401.8545064, 448.6011282, 389.4814230, 460.9742116},
       {3, 484.2137115, 455.7264333, 512.7009896, 440.6461792, 527.7812438},
       {4, 504.6110723, 473.0243083, 536.1978362, 456.3032855, 552.9188590},
       {5, 519.1422647, 484.7347597, 553.5497697, 466.5205268, 571.7640026},
       {6, 593.5873260, 552.1013899, 635.0732621, 530.1400619, 657.0345901},
       {7, 680.4644283, 630.4876317, 730.4412250, 604.0315136, 756.8973430},
       {8, 670.0224713, 618.4634081, 721.5815346, 591.1696887, 748.8752539},
       {9, 555.3150683, 510.6590011, 599.9711354, 487.0195071, 623.6106294},
       {10, 491.2653255, 450.0754386, 532.4552124, 428.2708296, 554.2598214},
       {11, 420.7029228, 383.9997926, 457.4060530, 364.5703291, 476.8355165},
       {12, 466.3177557, 424.0630391, 508.5724722, 401.6947433, 530.9407680}},
      kExact);
  ExpectWellFormed(f, true);
}

TEST(EtsEvaluateTest, MadmMatchesRWithTextbookDampedMeans) {
  auto fit = EvaluateEts(AirPassengers(), kMAdM, MadmParams());
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->k, 18);
  ExpectRel(fit->loglik, -679.583216236956, kExact, "logLik");
  ExpectRel(fit->aic, 1395.16643247, kExact, "AIC");
  ExpectRel(fit->aicc, 1400.63843247, kExact, "AICc");
  ExpectRel(fit->bic, 1448.62307187, kExact, "BIC");
  ExpectRel(fit->sigma2, 0.00153407634959, kExact, "sigma2");
  ExpectSeries(fit->fitted,
               {111.174414550, 110.945257510, 134.044262263, 130.305772938,
                130.813427925},
               kExact, "fitted");
  ExpectRel(fit->level, 485.912552397, kExact, "l");
  ExpectRel(fit->trend, 1.801197508814, kExact, "b");
  // Point forecasts with φ_h = φ + … + φ^h (§3.6.2, damped-forecast
  // pitfall): R's class-3 means use a different damping sum.
  const EtsForecast f = ForecastEts(*fit, 12);
  ExpectRel(f.mean[0], 441.769214, 1e-8, "h1");
  ExpectRel(f.mean[1], 434.055360, 1e-8, "h2");
  ExpectRel(f.mean[2], 496.522953, 1e-8, "h3");
  ExpectRel(f.mean[3], 483.100391, 1e-8, "h4");
  ExpectRel(f.mean[11], 451.622531, 1e-8, "h12");
  // R's class-3 intervals are centred on its own means (which damp with
  // 1 + φ + … + φ^{h−1}): they agree to 1e-3 at h = 1 and 2e-3 at h = 12.
  ExpectRows(
      f, {{1, 441.8018473, 419.6256488, 463.9780458, 407.8862784, 475.7174161}},
      1e-3);
  ExpectRows(
      f,
      {{12, 451.9693731, 386.7749667, 517.1637795, 352.2631326, 551.6756136}},
      2e-3);
  ExpectWellFormed(f, true);
}

TEST(EtsEvaluateTest, AadnMatchesR) {
  auto fit = EvaluateEts(AirPassengers(), kAAdN, AadnParams());
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->k, 6);
  ExpectRel(fit->loglik, -863.796068067338, kExact, "logLik");
  ExpectRel(fit->aicc, 1740.20527482, kExact, "AICc");
  ExpectRel(fit->sigma2, 1167.58603551, kExact, "sigma2");
  ExpectSeries(fit->fitted,
               {120.384485186, 113.874344646, 119.836020833, 133.799675760,
                130.764892045},
               kExact, "fitted");
  ExpectRel(fit->level, 431.995789646, kExact, "l");
  ExpectRel(fit->trend, 0.113043090525, kExact, "b");
  const EtsForecast f = ForecastEts(*fit, 12);
  ExpectRows(
      f,
      {{1, 432.1065718, 388.3160086, 475.8971351, 365.1346846, 499.0784590},
       {2, 432.2151384, 370.2860076, 494.1442692, 337.5027060, 526.9275707},
       {3, 432.3215335, 356.4717513, 508.1713157, 316.3193020, 548.3237650},
       {12, 433.1882653, 281.4307140, 584.9458167, 201.0951190, 665.2814117}},
      kExact);
  ExpectWellFormed(f, false);
}

TEST(EtsEvaluateTest, AnnMatchesR) {
  auto fit = EvaluateEts(AirPassengers(), kANN, AnnParams());
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->k, 3);
  ExpectRel(fit->loglik, -863.893377599251, kExact, "logLik");
  ExpectRel(fit->aic, 1733.7867552, kExact, "AIC");
  ExpectRel(fit->aicc, 1733.95818377, kExact, "AICc");
  ExpectRel(fit->bic, 1742.6961951, kExact, "BIC");
  ExpectRel(fit->sigma2, 1144.46444818, kExact, "sigma2");
  ExpectSeries(fit->fitted,
               {112.094750851, 112.000009493, 117.999398847, 131.998597248,
                129.000300436},
               kExact, "fitted");
  ExpectRel(fit->level, 431.995792636, kExact, "l");
  const EtsForecast f = ForecastEts(*fit, 12);
  ExpectRows(
      f,
      {{1, 431.9957926, 388.6409875, 475.3505978, 365.6903400, 498.3012453},
       {2, 431.9957926, 370.6859107, 493.3056746, 338.2304197, 525.7611656},
       {12, 431.9957926, 281.8241355, 582.1674497, 202.3280623, 661.6635230}},
      kExact);
  ExpectWellFormed(f, false);
}

// §3.6.4: statsmodels' Holt–Winters test expectations that are ETS
// recursions with given states.
TEST(EtsEvaluateTest, OildataSesMatchesStatsmodels) {
  const std::vector<double> oil = {446.6565229, 454.4733065, 455.662974,
                                   423.6322388, 456.2713279, 440.5880501,
                                   425.3325201, 485.1494479, 506.0481621,
                                   526.7919833, 514.268889,  494.2110193};
  EtsParams p;
  p.alpha = 0.2;
  p.level0 = oil[0];
  auto fit = EvaluateEts(oil, kANN, p);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(ForecastEts(*fit, 1).mean[0], 484.802468, 5e-7);
  EXPECT_NEAR(fit->level, 484.802468, 5e-7);  // SES: forecast = last level
  EXPECT_NEAR(fit->fitted[1], 446.65652290, 5e-9);
  EXPECT_NEAR(fit->fitted[2], 448.21987962, 5e-9);
  EXPECT_NEAR(fit->fitted[3], 449.7084985, 5e-8);
  p.alpha = 0.6;
  fit = EvaluateEts(oil, kANN, p);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(ForecastEts(*fit, 1).mean[0], 501.837461, 5e-7);
}

TEST(EtsEvaluateTest, AusairHoltMatchesStatsmodels) {
  const std::vector<double> ausair = {
      17.5534,   21.8601,   23.8866,   26.9293,   26.8885,
      28.8314,   30.0751,   30.9535,   30.1857,   31.5797,
      32.577569, 33.477398, 39.021581, 41.386432, 41.596552};
  EtsParams p;
  p.alpha = 0.8;
  p.beta = 0.8 * 0.2;  // state-space β = α·β*
  p.level0 = ausair[0];
  p.trend0 = ausair[1] - ausair[0];
  auto fit = EvaluateEts(
      ausair, Spec(EtsError::kAdditive, EtsTrend::kAdditive, EtsSeason::kNone),
      p);
  ASSERT_TRUE(fit.ok()) << fit.status();
  const EtsForecast f = ForecastEts(*fit, 5);
  const double expected[] = {43.76, 45.59, 47.43, 49.27, 51.10};
  for (int h = 0; h < 5; ++h) EXPECT_NEAR(f.mean[h], expected[h], 0.005);
}

TEST(EtsEvaluateTest, LivestockDampedMatchesRAndStatsmodels) {
  const std::vector<double> livestock = {
      263.917747, 268.307222, 260.662556, 266.639419, 277.515778, 283.834045,
      290.309028, 292.474198, 300.830694, 309.286657, 318.331081, 329.37239,
      338.883998, 339.244126, 328.600632, 314.255385, 314.459695, 321.413779,
      329.789292, 346.385165, 352.297882, 348.37051,  417.562922, 417.12357,
      417.749459, 412.233904, 411.946817, 394.697075, 401.49927,  408.270468,
      414.2428};
  EtsParams p;
  p.alpha = 0.97402626;
  p.beta = 0.00010006;
  p.phi = 0.98;
  p.level0 = 252.59039965;
  p.trend0 = 6.90265918;
  auto fit = EvaluateEts(livestock, kAAdN, p);
  ASSERT_TRUE(fit.ok()) << fit.status();
  double sse = 0;
  for (double e : fit->residuals) sse += e * e;
  // The parameters are quoted to 8 digits, which moves the MSE in its 7th.
  ExpectRel(sse / livestock.size(), 195.4397924865, 1e-6, "MSE");
  ExpectRel(fit->fitted[0], 259.3550056, 1e-8, "fitted[1]");
  ExpectSeries(
      ForecastEts(*fit, 10).mean,
      {417.7982003, 421.3426083, 424.8161281, 428.2201775, 431.5561459,
       434.8253949, 438.0292590, 441.1690458, 444.2460368, 447.2614881},
      1e-8, "forecast");
}

TEST(EtsEvaluateTest, RejectsBadInput) {
  const std::vector<double>& y = AirPassengers();
  EXPECT_EQ(EvaluateEts({}, kANN, AnnParams()).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<double> with_nan = y;
  with_nan[5] = std::nan("");
  EXPECT_EQ(EvaluateEts(with_nan, kANN, AnnParams()).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<double> with_zero = y;
  with_zero[5] = 0;
  EXPECT_EQ(EvaluateEts(with_zero, kMAM, MamParams()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(EvaluateEts(with_zero, kAAA, AaaParams()).ok());
  EtsParams short_season = MamParams();
  short_season.season0.pop_back();
  EXPECT_EQ(EvaluateEts(y, kMAM, short_season).status().code(),
            absl::StatusCode::kInvalidArgument);
  // 17 parameters need n − k − 1 > 0, i.e. at least 19 observations.
  const std::vector<double> head(y.begin(), y.begin() + 18);
  EXPECT_EQ(EvaluateEts(head, kAAA, AaaParams()).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<double> head19(y.begin(), y.begin() + 19);
  EXPECT_TRUE(EvaluateEts(head19, kAAA, AaaParams()).ok());
  EtsSpec weekly = kAAA;
  weekly.period = 52;  // R's ets refuses seasonal periods above 24
  EXPECT_EQ(EvaluateEts(y, weekly, AaaParams()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EtsSpecTest, NamesAsR) {
  EXPECT_EQ(kMAdM.Name(), "ETS(M,Ad,M)");
  EXPECT_EQ(kANN.Name(), "ETS(A,N,N)");
  EXPECT_EQ(kAAA.Name(), "ETS(A,A,A)");
}

// ---------------------------------------------------------------------------
// Intervals of the multiplicative classes against a seeded simulation of
// the model itself (no R reference for class 2; class 3 beyond h = m).

// Simulated standard deviation of y_{n+h} given the fitted states.
std::vector<double> SimulatedSd(const EtsFit& fit, int horizon, int paths) {
  std::mt19937_64 rng(12345);
  std::normal_distribution<double> normal(0.0, std::sqrt(fit.sigma2));
  const EtsSpec& s = fit.spec;
  const bool trend = s.trend != EtsTrend::kNone;
  const double phi = s.trend == EtsTrend::kDamped ? fit.params.phi : 1.0;
  const int m = s.season == EtsSeason::kNone ? 1 : s.period;
  std::vector<double> sum(horizon, 0.0), sum2(horizon, 0.0);
  for (int p = 0; p < paths; ++p) {
    double l = fit.level, b = trend ? fit.trend : 0.0;
    std::vector<double> season = fit.season;  // [0] most recent
    for (int h = 0; h < horizon; ++h) {
      const double q = l + (trend ? phi * b : 0.0);
      double so = 0;
      if (s.season != EtsSeason::kNone) so = season[m - 1];
      const double yhat = s.season == EtsSeason::kMultiplicative ? q * so
                          : s.season == EtsSeason::kAdditive     ? q + so
                                                                 : q;
      const double eps = normal(rng);
      const double y = yhat * (1 + eps);  // multiplicative error
      sum[h] += y;
      sum2[h] += y * y;
      const double r = y - yhat;
      const double rho = s.season == EtsSeason::kMultiplicative ? r / so : r;
      l = q + fit.params.alpha * rho;
      if (trend) b = phi * b + fit.params.beta * rho;
      if (s.season != EtsSeason::kNone) {
        const double ns = s.season == EtsSeason::kMultiplicative
                              ? so + fit.params.gamma * r / q
                              : so + fit.params.gamma * r;
        season.pop_back();
        season.insert(season.begin(), ns);
      }
    }
  }
  std::vector<double> sd(horizon);
  for (int h = 0; h < horizon; ++h) {
    const double mean = sum[h] / paths;
    sd[h] = std::sqrt(sum2[h] / paths - mean * mean);
  }
  return sd;
}

void ExpectMatchesSimulation(const EtsFit& fit, int horizon) {
  const EtsForecast f = ForecastEts(fit, horizon);
  const std::vector<double> sim = SimulatedSd(fit, horizon, 20000);
  for (int h = 0; h < horizon; ++h) {
    SCOPED_TRACE(testing::Message() << fit.spec.Name() << " h = " << h + 1);
    // The intervals are mean ± z·sd with the exact Gaussian-error sd; the
    // simulated sd from 20000 paths is within about 1% of it.
    const double sd = (f.upper95[h] - f.lower95[h]) / (2 * 1.959963984540054);
    EXPECT_NEAR(sd, sim[h], 0.03 * sim[h]);
  }
}

TEST(EtsForecastTest, Class2MatchesSimulation) {
  // MAN and MNA on AirPassengers with hand-picked parameters.
  EtsParams p;
  p.alpha = 0.6;
  p.beta = 0.05;
  p.level0 = 110;
  p.trend0 = 2;
  auto man = EvaluateEts(
      AirPassengers(),
      Spec(EtsError::kMultiplicative, EtsTrend::kAdditive, EtsSeason::kNone),
      p);
  ASSERT_TRUE(man.ok()) << man.status();
  const EtsForecast f = ForecastEts(*man, 18);
  // h = 1: Var = μ²σ² exactly.
  EXPECT_NEAR((f.upper95[0] - f.mean[0]) / 1.959963984540054,
              f.mean[0] * std::sqrt(man->sigma2), 1e-9 * f.mean[0]);
  ExpectMatchesSimulation(*man, 18);
  ExpectWellFormed(f, false);

  EtsParams q = AaaParams();
  q.alpha = 0.5;
  q.gamma = 0.2;
  auto mna = EvaluateEts(
      AirPassengers(),
      Spec(EtsError::kMultiplicative, EtsTrend::kNone, EtsSeason::kAdditive),
      q);
  ASSERT_TRUE(mna.ok()) << mna.status();
  ExpectMatchesSimulation(*mna, 18);
}

TEST(EtsForecastTest, Class3BeyondOneSeasonMatchesSimulation) {
  // h = 13..24 exercise the seasonal states updated within the horizon.
  EtsParams p = MamParams();
  p.gamma = 0.3;  // a visible seasonal shock
  auto fit = EvaluateEts(AirPassengers(), kMAM, p);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ExpectMatchesSimulation(*fit, 24);
  auto madm = EvaluateEts(AirPassengers(), kMAdM, MadmParams());
  ASSERT_TRUE(madm.ok()) << madm.status();
  ExpectMatchesSimulation(*madm, 24);
  ExpectWellFormed(ForecastEts(*madm, 24), true);
}

TEST(EtsForecastTest, AdditiveErrorMultiplicativeSeasonIsSimulated) {
  // ETS(A,A,M) has no analytic intervals; a fixed-seed simulation is used:
  // deterministic, nested, centred near the point forecast.
  EtsParams p = MamParams();
  auto fit = EvaluateEts(AirPassengers(),
                         Spec(EtsError::kAdditive, EtsTrend::kAdditive,
                              EtsSeason::kMultiplicative),
                         p);
  ASSERT_TRUE(fit.ok()) << fit.status();
  const EtsForecast a = ForecastEts(*fit, 12);
  const EtsForecast b = ForecastEts(*fit, 12);
  EXPECT_EQ(a.lower95, b.lower95);
  EXPECT_EQ(a.upper80, b.upper80);
  for (int h = 0; h < 12; ++h) {
    EXPECT_LT(a.lower95[h], a.lower80[h]);
    EXPECT_LT(a.lower80[h], a.mean[h]);
    EXPECT_LT(a.mean[h], a.upper80[h]);
    EXPECT_LT(a.upper80[h], a.upper95[h]);
  }
  // h = 1 is exactly normal: ŷ ± z·σ, up to simulation noise.
  const double sigma = std::sqrt(fit->sigma2);
  EXPECT_NEAR(a.upper95[0] - a.lower95[0], 2 * 1.959963984540054 * sigma,
              0.06 * 2 * 1.959963984540054 * sigma);
}

TEST(EtsForecastTest, ZeroHorizonIsEmpty) {
  auto fit = EvaluateEts(AirPassengers(), kANN, AnnParams());
  ASSERT_TRUE(fit.ok());
  EXPECT_TRUE(ForecastEts(*fit, 0).mean.empty());
}

// ---------------------------------------------------------------------------
// Maximum likelihood: §3.6.3, 1e-3 relative on the likelihood reached. Our
// optimiser may find a better optimum than R's Nelder–Mead (for AAA and
// MAM it does, by a wide margin), so the honest check is
// lik <= R's lik · (1 + 1e-3) (equivalently AICc, same k).

void ExpectInBounds(const EtsFit& fit) {
  const EtsParams& p = fit.params;
  EXPECT_GE(p.alpha, 1e-4);
  EXPECT_LE(p.alpha, 0.9999);
  if (fit.spec.trend != EtsTrend::kNone) {
    EXPECT_GE(p.beta, 1e-4 * (1 - 1e-12));
    EXPECT_LE(p.beta, p.alpha * (1 + 1e-12));
  }
  if (fit.spec.season != EtsSeason::kNone) {
    EXPECT_GE(p.gamma, 1e-4 * (1 - 1e-12));
    EXPECT_LE(p.gamma, 1 - p.alpha + 1e-12);
  }
  if (fit.spec.trend == EtsTrend::kDamped) {
    EXPECT_GE(p.phi, 0.8);
    EXPECT_LE(p.phi, 0.98);
  }
}

TEST(EtsFitTest, ReachesRsLikelihoodOrBetter) {
  struct Case {
    EtsSpec spec;
    double r_aicc;
  };
  const Case cases[] = {{kAAA, 1570.728838},
                        {kMAM, 1403.664381},
                        {kMAdM, 1400.638432},
                        {kANN, 1733.958184},
                        {kAAdN, 1740.20527482}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec.Name());
    auto fit = FitEts(AirPassengers(), c.spec);
    ASSERT_TRUE(fit.ok()) << fit.status();
    EXPECT_LE(fit->aicc, c.r_aicc * (1 + 1e-3));
    EXPECT_GT(fit->evaluations, 0);
    EXPECT_LE(fit->evaluations, EtsFitOptions().max_evaluations);
    ExpectInBounds(*fit);
    ExpectWellFormed(ForecastEts(*fit, 18),
                     c.spec.season == EtsSeason::kMultiplicative);
  }
}

TEST(EtsFitTest, AnnReachesTheBoundLikeR) {
  // R: α = 0.9999 (the upper bound), ℓ0 = 112.09, logLik −863.893377599.
  auto fit = FitEts(AirPassengers(), kANN);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(fit->params.alpha, 0.9999, 1e-6);
  ExpectRel(fit->loglik, -863.893377599251, 1e-6, "logLik");
}

TEST(EtsFitTest, MadmForecastCloseToR) {
  // §3.6.3: ets(AirPassengers) = MAdM, h = 1 441.8018473 [419.6256488,
  // 463.9780458 / 407.8862784, 475.7174161]; h = 12 451.9693731.
  auto fit = FitEts(AirPassengers(), kMAdM);
  ASSERT_TRUE(fit.ok()) << fit.status();
  const EtsForecast f = ForecastEts(*fit, 12);
  ExpectRows(
      f, {{1, 441.8018473, 419.6256488, 463.9780458, 407.8862784, 475.7174161}},
      5e-3);
  ExpectRel(f.mean[11], 451.9693731, 1e-2, "h12");
}

TEST(EtsFitTest, StartAndFixedSeasonalStatesAreHonoured) {
  EtsFitOptions options;
  const EtsParams start = MamParams();
  options.start = &start;
  options.optimize_seasonal_states = false;
  auto fit = FitEts(AirPassengers(), kMAM, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->params.season0, start.season0);
  // From R's optimum the likelihood can only improve.
  EXPECT_LE(fit->lik, -2 * -682.403619057806 + 1e-9);
}

TEST(EtsFitTest, WarmStartIsRefinedWithinTheBudget) {
  // As the backtest uses it: a previous fit as the start, a small budget.
  EtsFitOptions options;
  const EtsParams start = MamParams();
  options.start = &start;
  options.max_evaluations = 300;
  auto fit = FitEts(AirPassengers(), kMAM, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_LE(fit->lik, -2 * -682.403619057806 + 1e-9);
  EXPECT_LE(fit->evaluations, 300);
  const std::vector<double> head(AirPassengers().begin(),
                                 AirPassengers().begin() + 120);
  auto shorter = FitEts(head, kMAM, options);
  ASSERT_TRUE(shorter.ok()) << shorter.status();
  ExpectInBounds(*shorter);
}

TEST(EtsFitTest, RejectsBadInput) {
  EXPECT_EQ(FitEts({1, 2, 3}, kAAdN).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<double> y = AirPassengers();
  y[3] = -1;
  EXPECT_EQ(FitEts(y, kMAM).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(FitEts(y, kAAA).ok());
}

TEST(EtsFitTest, ConstantSeriesStaysFinite) {
  const std::vector<double> flat(40, 100.0);
  for (const EtsSpec& spec : {kANN, kAAdN, kMAM}) {
    SCOPED_TRACE(spec.Name());
    auto fit = FitEts(flat, spec);
    ASSERT_TRUE(fit.ok()) << fit.status();
    EXPECT_TRUE(std::isfinite(fit->aicc));
    const EtsForecast f = ForecastEts(*fit, 6);
    for (int h = 0; h < 6; ++h) {
      EXPECT_NEAR(f.mean[h], 100.0, 1e-3);
      EXPECT_TRUE(std::isfinite(f.lower95[h]));
      EXPECT_TRUE(std::isfinite(f.upper95[h]));
    }
  }
}

// ---------------------------------------------------------------------------
// Automatic selection.

TEST(EtsAutoTest, AirPassengersBeatsRsChoice) {
  // R picks ETS(M,Ad,M) with AICc 1400.638432 (§3.6.3). Our optimiser finds
  // a better MAM optimum (β, γ ≈ 1e-4; AICc ≈ 1390.9) that R's start and
  // Nelder–Mead miss (R's MAM: AICc 1403.664381), so the selection is a
  // multiplicative-season model at least as good as R's.
  std::vector<EtsFit> candidates;
  auto best = AutoEts(AirPassengers(), {}, &candidates);
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_EQ(best->spec.season, EtsSeason::kMultiplicative);
  EXPECT_EQ(best->spec.error, EtsError::kMultiplicative);
  EXPECT_LE(best->aicc, 1400.638432 * (1 + 1e-3));
  EXPECT_EQ(candidates.size(), 15u);
  for (const EtsFit& c : candidates) {
    EXPECT_GE(c.aicc, best->aicc) << c.spec.Name();
    ExpectInBounds(c);
  }
  auto find = [&candidates](const EtsSpec& s) {
    return std::find_if(
        candidates.begin(), candidates.end(),
        [&s](const EtsFit& f) { return f.spec.Name() == s.Name(); });
  };
  EXPECT_LE(find(kMAdM)->aicc, 1400.638432 * (1 + 1e-3));
  EXPECT_LE(find(kMAM)->aicc, 1403.664381 * (1 + 1e-3));
  EXPECT_LE(find(kANN)->aicc, 1733.958184 * (1 + 1e-3));
  ExpectWellFormed(ForecastEts(*best, 18), true);
}

TEST(EtsAutoTest, NonPositiveDataKeepsAdditiveModels) {
  std::vector<double> y(AirPassengers().begin(), AirPassengers().begin() + 120);
  for (double& v : y) v -= 200;  // some months negative
  std::vector<EtsFit> candidates;
  auto best = AutoEts(y, {}, &candidates);
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_EQ(candidates.size(), 6u);
  for (const EtsFit& c : candidates) {
    EXPECT_EQ(c.spec.error, EtsError::kAdditive) << c.spec.Name();
    EXPECT_NE(c.spec.season, EtsSeason::kMultiplicative) << c.spec.Name();
  }
}

TEST(EtsAutoTest, ShortAndNonSeasonalSeries) {
  const std::vector<double>& air = AirPassengers();
  // n <= m: no seasonal specs at all.
  std::vector<EtsFit> candidates;
  auto best = AutoEts(std::vector<double>(air.begin(), air.begin() + 12), {},
                      &candidates);
  ASSERT_TRUE(best.ok()) << best.status();
  for (const EtsFit& c : candidates) {
    EXPECT_EQ(c.spec.season, EtsSeason::kNone);
  }
  EXPECT_EQ(candidates.size(), 6u);
  // period = 1: non-seasonal.
  AutoEtsOptions options;
  options.period = 1;
  best = AutoEts(air, options, &candidates);
  ASSERT_TRUE(best.ok());
  EXPECT_EQ(best->spec.season, EtsSeason::kNone);
  // 18 months: seasonal specs need #params < n − 1 and n − k − 1 > 0, so
  // only ANA/MNA/MNM (14 parameters) qualify among the seasonal ones.
  best = AutoEts(std::vector<double>(air.begin(), air.begin() + 18), {},
                 &candidates);
  ASSERT_TRUE(best.ok());
  for (const EtsFit& c : candidates) {
    if (c.spec.season != EtsSeason::kNone) {
      EXPECT_EQ(c.spec.trend, EtsTrend::kNone) << c.spec.Name();
    }
  }
  // Too short for anything.
  EXPECT_EQ(AutoEts({5, 6, 7}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AutoEts({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EtsAutoTest, DampedCanBeDisabled) {
  AutoEtsOptions options;
  options.allow_damped = false;
  std::vector<EtsFit> candidates;
  auto best = AutoEts(AirPassengers(), options, &candidates);
  ASSERT_TRUE(best.ok());
  EXPECT_EQ(candidates.size(), 10u);
  for (const EtsFit& c : candidates) {
    EXPECT_NE(c.spec.trend, EtsTrend::kDamped);
  }
}

}  // namespace
}  // namespace goodbuy::analysis
