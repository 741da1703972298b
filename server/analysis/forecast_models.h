// The M4 benchmark forecasting recipe (analysis-methods.md §3.2) for one
// monthly series, with per-model 80% / 95% prediction intervals (§3.4):
//
//   1. Seasonality test (90%, only when n >= 3m; seasonal.h).
//   2. Classical multiplicative decomposition (additive when any value is
//      <= 0, §3.2 step 5); x = the deseasonalised series.
//   3. On x: Naive2, SES = ETS(A,N,N), Holt = ETS(A,A,N), Damped =
//      ETS(A,Ad,N) (maximum likelihood, ets.h), Theta classic (M4: OLS line
//      L, Z = 2x - L, SES on Z, 0.5 / 0.5, truncated at 0), thetaf (the
//      Hyndman-Billah closed form) and Comb = mean(SES, Holt, Damped); each
//      re-seasonalised with the last 12 indices repeated.
//   4. On the raw series: Naive, sNaive, the mean (for very short
//      histories), auto-ETS chosen by AICc (§3.2 step 4), and the ensemble =
//      median of ETS, Theta and Damped.
//
// Intervals. Naive / sNaive / mean: §3.4's fixed formulas. SES, Holt,
// Damped and Naive2: class-1 ETS (or naive) intervals of x, then scaled by
// the seasonal index of the target month, like the mean: the error is taken
// to be proportional to the seasonal level, which is what a multiplicative
// decomposition asserts. thetaf: SD = σ_SES·√(1 + α²(h − 1)) (§3.4), scaled
// the same way. R's thetaf adds the *unscaled* SD to the re-seasonalised mean
// (§3.4 "quirk"); ThetafForecast below returns the unscaled SD so a caller can
// reproduce R exactly. Theta classic: its one-step errors are exactly half
// of the SES errors on Z (x − (Z̃ + L)/2 = (Z − Z̃)/2), so SD =
// ½·σ_Z·√(1 + α_Z²(h − 1)), the same formula on the theta line. Comb and the
// ensemble: the combined mean ± the average of the members' distances to
// their bounds (nested and widening because every member's are). With an
// additive decomposition the index is added to the mean and both bounds.
//
// Degenerate inputs: a constant series gives every model a flat forecast
// with zero-width intervals; a likelihood fit that fails (too short, data
// the optimiser cannot handle) falls back to the naive forecast of the same
// series and says so with parameters["fallback"] = 1. Every number returned
// is finite for finite input.
//
// Pure functions, no I/O, no clock; any thread.
#ifndef GOODBUY_SERVER_ANALYSIS_FORECAST_MODELS_H_
#define GOODBUY_SERVER_ANALYSIS_FORECAST_MODELS_H_

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/analysis/ets.h"

namespace goodbuy::analysis {

// Normal quantiles for the two interval levels (§3.4).
inline constexpr double kZ80 = 1.281551566;
inline constexpr double kZ95 = 1.959963985;

// Every model the pipeline can produce. The order is the order in which the
// analyzer reports candidates.
enum class ModelId {
  kNaive = 0,
  kSNaive,
  kNaive2,
  kSes,
  kHolt,
  kDamped,
  kTheta,  // M4 "Theta classic"
  kThetaf,
  kComb,
  kEts,       // auto-ETS on the raw series
  kEnsemble,  // median of ETS, Theta, Damped
  kMean,
};
inline constexpr int kModelCount = 12;
inline constexpr std::array<ModelId, kModelCount> kAllModels = {
    ModelId::kNaive, ModelId::kSNaive, ModelId::kNaive2,   ModelId::kSes,
    ModelId::kHolt,  ModelId::kDamped, ModelId::kTheta,    ModelId::kThetaf,
    ModelId::kComb,  ModelId::kEts,    ModelId::kEnsemble, ModelId::kMean};

// Stable names, used as ForecastModel.name and in "model/<name>" keys:
// "naive", "snaive", "naive2", "ses", "holt", "damped", "theta", "thetaf",
// "comb", "ets", "ensemble", "mean".
const char* ModelName(ModelId id);
std::optional<ModelId> ModelFromName(std::string_view name);

// One model's forecast for h = 1..horizon on the original scale.
struct ModelRun {
  bool available = false;  // false when not requested (or ETS failed)
  // Re-seasonalised point forecasts. Not truncated at 0, except Theta
  // classic, which the M4 recipe truncates.
  std::vector<double> mean;
  // Prediction intervals, lower95 <= lower80 <= mean <= upper80 <= upper95.
  std::vector<double> lower80, upper80, lower95, upper95;
  // RMS of the in-sample one-step errors on the original scale,
  // y_t − (re-seasonalised fitted value); for Comb and the ensemble the
  // average of the members' values.
  double sigma = 0;
  // AICc of the likelihood fit behind the model (ETS on x for SES / Holt /
  // Damped, on y for ETS); 0 when there is none.
  double aicc = 0;
  // Fitted parameters. Smoothing models: "alpha", "beta", "gamma", "phi",
  // "level0", "trend0", "sigma2" as applicable. ETS also gives its spec as
  // numbers: "error" (0 A, 1 M), "trend" (0 N, 1 A, 2 Ad), "season" (0 N,
  // 1 A, 2 M). Theta: "alpha" (SES on Z), "line_intercept",
  // "line_slope" (L_t = intercept + slope·t, t = 1..n). thetaf: "alpha",
  // "drift" (slope / 2). Every model: "seasonal", "multiplicative" (the
  // decomposition used) and "fallback" (1 when a fit failed).
  std::map<std::string, double> parameters;
};

struct PipelineOptions {
  // Overrides for the seasonal specification, so a backtest can score the
  // specification chosen on the whole history on shorter windows (the ACF
  // test is conservative for short series and would flip to non-seasonal).
  // Unset: decided from the series. Seasonal needs n >= 24 (decompose).
  std::optional<bool> seasonal;
  // Honoured only when every value is > 0.
  std::optional<bool> multiplicative;
  // Models to compute; empty = all. The members a combination needs are
  // computed (and available) too: Comb needs SES, Holt and Damped, the
  // ensemble ETS, Theta and Damped, thetaf SES.
  std::vector<ModelId> models;
  // ETS: when set, this spec is fitted alone (no AutoEts), starting from
  // `ets_start` when given, with at most `ets_max_evaluations` likelihood
  // evaluations when > 0. The backtest uses this to refit the chosen spec.
  std::optional<EtsSpec> ets_spec;
  std::optional<EtsParams> ets_start;
  int ets_max_evaluations = 0;
  // False: no ETS at all (the ensemble is then the median of Theta and
  // Damped); a backtest sets it when the full-history ETS fit failed.
  bool fit_ets = true;
};

// The pipeline on a whole series, forecasting h = 1..horizon. Seasonal
// indices are indexed from the first value of `y`, so forecasts continue the
// cycle from its last value (= the last 12 indices repeated).
struct PipelineRun {
  bool seasonal = false;
  bool multiplicative = false;
  // 12 indices when seasonal, else empty.
  std::vector<double> figure;
  // The series the non-seasonal models saw (y itself when not seasonal).
  std::vector<double> adjusted;
  // The ETS fit behind ModelId::kEts, when computed.
  std::optional<EtsFit> ets;
  std::array<ModelRun, kModelCount> models;
  const ModelRun& model(ModelId id) const {
    return models[static_cast<int>(id)];
  }
  ModelRun& model(ModelId id) { return models[static_cast<int>(id)]; }
};
PipelineRun RunPipeline(const std::vector<double>& y, int horizon,
                        const PipelineOptions& options = {});

// ---- Building blocks (exposed for tests) ----------------------------------

// OLS line x_t ≈ intercept + slope·t with t = 1..n (R's lm on 1:n).
struct OlsLine {
  double intercept = 0;
  double slope = 0;
  double At(double t) const { return intercept + slope * t; }
};
OlsLine FitOlsLine(const std::vector<double>& x);

// Means and standard deviations on the series' own scale.
struct MeanSd {
  std::vector<double> mean;
  std::vector<double> sd;
};

// thetaf (Hyndman & Billah 2003, §3.2): from an ETS(A,N,N) fit of x,
// mean_h = ℓ_n + (b/2)·[(h − 1) + (1 − (1 − α)^n)/α] with b the OLS slope of
// x, and SD_h = σ·√(1 + α²(h − 1)) with σ² the fit's sigma2 (§3.4).
MeanSd ThetafForecast(const std::vector<double>& x, const EtsFit& ses,
                      int horizon);

// Naive: σ̂ = √(mean of squared one-step differences) (no mean removed),
// SD_h = σ̂·√h. sNaive with period m: σ̂ from y_t − y_{t−m},
// SD_h = σ̂·√(⌊(h − 1)/m⌋ + 1) (§3.4). 0 when there are no differences.
double NaiveSigma(const std::vector<double>& y, int lag);
MeanSd NaiveForecast(const std::vector<double>& y, int horizon);
MeanSd SeasonalNaiveForecast(const std::vector<double>& y, int m, int horizon);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_FORECAST_MODELS_H_
