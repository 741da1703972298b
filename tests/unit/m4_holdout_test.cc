// The M4-style holdout on AirPassengers (analysis-methods.md §3.6.3 and
// r_m4_holdout_reference.txt): train on the first 126 (132) months, forecast
// the last 18 (12) with every benchmark of the M4 recipe, and score sMAPE and
// MASE (§3.5, scale = in-sample mean |y_t − y_{t−12}|) against R's numbers.
//
// Deterministic rows (seasonality test, indices, MASE scale, theta line,
// Naive / sNaive / Naive2) are checked at 1e-8; rows that depend on a
// likelihood optimiser at 1e-3 relative (§3.6.3) where ours lands where R's
// does. Where it lands elsewhere the row says so and asserts two things: a
// looser tolerance on the errors, and that our fit's AICc is no worse than
// R's (so "elsewhere" means a better optimum, not a failed fit). R's AICc
// values are not in the reference files; they were produced with the
// reference's R 4.2.2 / forecast 8.20 exactly as holdout.R fits the models
// (holt(x), holt(x, damped = TRUE), ses(x) on the deseasonalised train,
// ets(train)), reading $model$aicc. Each test prints the table
// "method sMAPE MASE | R sMAPE R MASE".
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "server/analysis/forecast_analyzer.h"
#include "server/analysis/forecast_models.h"
#include "server/analysis/seasonal.h"
#include "tests/unit/analysis_test_util.h"

namespace goodbuy::analysis {
namespace {

const std::vector<double> kAirPassengers = analysis_testing::AirPassengers();

struct Row {
  const char* label;
  ModelId id;
  double r_smape;
  double r_mase;
  double r_first;  // R's first forecast step, 4 decimals (0 = not printed)
  // Relative tolerance for sMAPE / MASE: 1e-8 absolute is used instead for
  // the deterministic rows.
  bool deterministic;
  double rel_tol;
  // R's AICc of the same fit (0 = no likelihood); ours must not exceed it
  // by more than 1e-3 (a negligible likelihood difference).
  double r_aicc = 0;
};

struct Holdout {
  int train;
  int horizon;
  double r12, limit;
  double indices[12];  // the seasonal indices of the last 12 train months
  double mase_scale;
  double theta_alpha, line_intercept, line_slope;
  double ses_alpha, ses_level0;
  std::vector<Row> rows;
};

void RunHoldout(const Holdout& ho) {
  SCOPED_TRACE(ho.horizon);
  const std::vector<double> train(kAirPassengers.begin(),
                                  kAirPassengers.begin() + ho.train);
  const std::vector<double> test(
      kAirPassengers.begin() + ho.train,
      kAirPassengers.begin() + ho.train + ho.horizon);
  ASSERT_EQ(static_cast<int>(test.size()), ho.horizon);

  // ---- Deterministic: seasonality test, decomposition, scale, line ------
  double r12 = 0, limit = 0;
  EXPECT_TRUE(SeasonalityTest(train, 12, &r12, &limit));
  EXPECT_NEAR(r12, ho.r12, 1e-8);
  EXPECT_NEAR(limit, ho.limit, 1e-8);
  const PipelineRun run = RunPipeline(train, ho.horizon);
  ASSERT_TRUE(run.seasonal);
  ASSERT_TRUE(run.multiplicative);
  for (int j = 0; j < 12; ++j) {
    EXPECT_NEAR(run.figure[(ho.train - 12 + j) % 12], ho.indices[j], 1e-8) << j;
  }
  const double scale = MaseScale(train, 12);
  // R prints the scale to 7 decimals; it is a sum of integers over 114 or 120.
  EXPECT_NEAR(scale, ho.mase_scale, 5e-8);
  const ModelRun& theta = run.model(ModelId::kTheta);
  EXPECT_NEAR(theta.parameters.at("line_intercept"), ho.line_intercept, 1e-8);
  EXPECT_NEAR(theta.parameters.at("line_slope"), ho.line_slope, 1e-8);

  // ---- Optimiser-dependent parameters (1e-3 relative) -------------------
  const auto rel = [](double a, double b) { return std::fabs(a - b) / b; };
  EXPECT_LT(rel(theta.parameters.at("alpha"), ho.theta_alpha), 1e-3)
      << theta.parameters.at("alpha") << " vs R " << ho.theta_alpha;
  const ModelRun& ses = run.model(ModelId::kSes);
  EXPECT_LT(rel(ses.parameters.at("alpha"), ho.ses_alpha), 1e-3)
      << ses.parameters.at("alpha") << " vs R " << ho.ses_alpha;
  EXPECT_LT(rel(ses.parameters.at("level0"), ho.ses_level0), 1e-3)
      << ses.parameters.at("level0") << " vs R " << ho.ses_level0;

  // ---- The table -------------------------------------------------------
  std::printf(
      "\nM4-style holdout on AirPassengers: train %d, h = %d, "
      "MASE scale %.7f (R %.7f)\n",
      ho.train, ho.horizon, scale, ho.mase_scale);
  std::printf("%-10s %10s %9s  | %10s %9s | %9s %9s\n", "method", "sMAPE",
              "MASE", "R sMAPE", "R MASE", "step 1", "R step 1");
  for (const Row& row : ho.rows) {
    const ModelRun& m = run.model(row.id);
    ASSERT_TRUE(m.available) << row.label;
    ASSERT_EQ(static_cast<int>(m.mean.size()), ho.horizon);
    const double smape = Smape(test, m.mean);
    const double mase = Mase(test, m.mean, scale);
    std::printf("%-10s %10.6f %9.6f  | %10.6f %9.6f | %9.4f %9.4f", row.label,
                smape, mase, row.r_smape, row.r_mase, m.mean[0], row.r_first);
    if (row.r_aicc > 0) {
      std::printf(" | AICc %.4f (R %.4f)", m.aicc, row.r_aicc);
      EXPECT_LE(m.aicc, row.r_aicc + 1e-3) << row.label;
    }
    std::printf("\n");
    if (row.deterministic) {
      EXPECT_NEAR(smape, row.r_smape, 1e-8) << row.label;
      EXPECT_NEAR(mase, row.r_mase, 1e-8) << row.label;
      if (row.r_first > 0) {
        EXPECT_NEAR(m.mean[0], row.r_first, 5e-5) << row.label;
      }
    } else {
      EXPECT_LT(rel(smape, row.r_smape), row.rel_tol)
          << row.label << " sMAPE " << smape << " vs R " << row.r_smape;
      EXPECT_LT(rel(mase, row.r_mase), row.rel_tol)
          << row.label << " MASE " << mase << " vs R " << row.r_mase;
      if (row.r_first > 0) {
        EXPECT_LT(rel(m.mean[0], row.r_first), row.rel_tol)
            << row.label << " step 1 " << m.mean[0] << " vs R " << row.r_first;
      }
    }
  }
  std::printf("(auto.arima, R only: not implemented here)\n");
  std::printf("auto-ETS spec: %s (R: ETS(M,Ad,M))\n",
              run.ets ? run.ets->spec.Name().c_str() : "none");
}

TEST(M4HoldoutTest, AirPassengersH18Train126) {
  Holdout ho;
  ho.train = 126;
  ho.horizon = 18;
  ho.r12 = 0.74502397;
  ho.limit = 0.5352456129;
  const double indices[12] = {1.2211169994, 1.2125736809, 1.0600230472,
                              0.9209904614, 0.7995390699, 0.8982042921,
                              0.9107710656, 0.8916991463, 1.0207217261,
                              0.9770618734, 0.9766465499, 1.1106520879};
  std::copy(indices, indices + 12, ho.indices);
  ho.mase_scale = 29.0877193;
  ho.theta_alpha = 0.851465352;
  ho.line_intercept = 95.03751038;
  ho.line_slope = 2.494679135;
  ho.ses_alpha = 0.9170382143;
  ho.ses_level0 = 123.7248349;
  ho.rows = {
      {"Naive", ModelId::kNaive, 13.218177135, 2.1582227583, 472, true, 0},
      {"sNaive", ModelId::kSNaive, 16.031974928, 2.3874145557, 491, true, 0},
      {"Naive2", ModelId::kNaive2, 9.500932465, 1.5092584158, 518.9449, true,
       0},
      {"SES", ModelId::kSes, 9.449833239, 1.5017338402, 519.2442, false, 1e-3,
       1166.44512464},
      // Holt and Damped: our likelihood is higher than R's (R's Nelder-Mead
      // stops early along the flat ℓ0 / b0 direction), so the forecasts
      // differ by a few 1e-3; Comb inherits it.
      {"Holt", ModelId::kHolt, 4.887912791, 0.8145196318, 522.6165, false, 3e-3,
       1158.17435400},
      {"Damped", ModelId::kDamped, 6.280299758, 1.0310802602, 521.7411, false,
       1.5e-2, 1166.00720743},
      {"Theta", ModelId::kTheta, 6.979221473, 1.1367192458, 520.9484, false,
       1e-3},
      {"Comb", ModelId::kComb, 6.788393606, 1.1080194896, 521.2006, false,
       6e-3},
      {"thetaf", ModelId::kThetaf, 6.986398586, 1.1378044309, 520.9052, false,
       1e-3},
      // Auto-ETS: R picks ETS(M,Ad,M) at AICc 1184.24; our fits reach lower
      // AICc (a different spec may win), so the forecasts differ by ~10%.
      {"ETS", ModelId::kEts, 6.091953492, 1.0033922937, 521.6586, false, 0.12,
       1184.24370326},
  };
  RunHoldout(ho);
}

TEST(M4HoldoutTest, AirPassengersH12Train132) {
  Holdout ho;
  ho.train = 132;
  ho.horizon = 12;
  ho.r12 = 0.7480904518;
  ho.limit = 0.5148994979;
  const double indices[12] = {0.9100037095, 0.8873765017, 1.0182037036,
                              0.9754119765, 0.9798128274, 1.1115898119,
                              1.2221466258, 1.2135961038, 1.0609168418,
                              0.9217670259, 0.8002132285, 0.8989616436};
  std::copy(indices, indices + 12, ho.indices);
  ho.mase_scale = 30.45;
  ho.theta_alpha = 0.8363661069;
  ho.line_intercept = 92.49410917;
  ho.line_slope = 2.553885933;
  ho.ses_alpha = 0.9070285137;
  ho.ses_level0 = 123.9648636;
  ho.rows = {
      {"Naive", ModelId::kNaive, 16.120844671, 2.4958949097, 405, true, 0},
      {"sNaive", ModelId::kSNaive, 10.571808257, 1.5708812261, 360, true, 0},
      {"Naive2", ModelId::kNaive2, 7.029592260, 1.1077334626, 409.9747, true,
       0},
      {"SES", ModelId::kSes, 7.018244987, 1.1060119649, 410.0446, false, 1e-3,
       1236.73306043},
      {"Holt", ModelId::kHolt, 3.908608611, 0.6320471204, 412.7452, false, 1e-3,
       1227.54252945},
      // Damped: our likelihood is higher than R's (see h = 18); φ sits at its
      // 0.98 bound in both, α and β differ, and over 12 months that moves
      // sMAPE by ~5%. Comb inherits a third of it.
      {"Damped", ModelId::kDamped, 4.495218202, 0.7226582078, 412.3785, false,
       0.07, 1235.92757243},
      {"Theta", ModelId::kTheta, 5.408905596, 0.8637429092, 411.3705, false,
       1e-3},
      {"Comb", ModelId::kComb, 5.121024291, 0.8194714226, 411.7228, false,
       0.025},
      {"thetaf", ModelId::kThetaf, 5.416016510, 0.8648470678, 411.3257, false,
       1e-3},
      // Auto-ETS: as for h = 18 (R: ETS(M,Ad,M), AICc 1250.51).
      {"ETS", ModelId::kEts, 4.687181150, 0.7489163329, 411.9115, false, 0.12,
       1250.51109164},
  };
  RunHoldout(ho);
}

}  // namespace
}  // namespace goodbuy::analysis
