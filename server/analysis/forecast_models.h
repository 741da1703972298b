// Exponential-smoothing and Theta forecasts for one (deseasonalised) series,
// and the M4 benchmark pipeline that wraps them (analysis-methods.md §3.2):
// seasonality test -> classical decomposition -> Naive2, SES, Holt, Damped,
// Theta, Comb -> re-seasonalise.
//
// Conventions (documented because R and statsmodels differ):
//  * Initial states are heuristic, as statsmodels' legacy init: level
//    l0 = x[0] and, for trended models, b0 = x[1] - x[0]; they are the states
//    *before* the first observation, so x[0] is the first value filtered.
//    Explicit initial states can be passed (used to check against R's ets).
//  * Component form: l_t = a x_t + (1 - a)(l + phi b),
//    b_t = b* (l_t - l) + (1 - b*) phi b; h-step forecast
//    l + (phi + ... + phi^h) b (the textbook damped sum; phi = 1 is Holt).
//  * Parameters minimise the in-sample one-step SSE: a grid, then
//    golden-section refinement (coordinate-wise for two parameters), on
//    [1e-4, 0.9999]. Damped uses a fixed phi = 0.98 (R's upper bound).
//  * Theta is the Hyndman-Billah closed form (forecast::thetaf):
//    SES_{n+h} + (b/2) [(h - 1) + (1 - (1 - a)^n) / a], b the OLS slope.
// Pure functions, any thread, no errors (degenerate inputs give flat
// forecasts; nothing returns NaN for finite input).
#ifndef GOODBUY_SERVER_ANALYSIS_FORECAST_MODELS_H_
#define GOODBUY_SERVER_ANALYSIS_FORECAST_MODELS_H_

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace goodbuy::analysis {

inline constexpr double kDampedPhi = 0.98;

struct SmoothingFit {
  double alpha = 0;
  double beta = 0;  // b* (component form); 0 for SES
  double phi = 1;
  double level = 0;  // final states
  double trend = 0;
  double sse = 0;              // sum of squared one-step errors
  std::vector<double> fitted;  // one-step predictions, x.size() values
  // Point forecast for h = 1, 2, ...
  double Forecast(int h) const;
};

struct InitialStates {
  double level = 0;
  double trend = 0;
};

// SES / Holt / damped Holt with the given parameters. `trended` false is SES.
SmoothingFit FitSmoothing(const std::vector<double>& x, double alpha,
                          double beta, double phi, bool trended,
                          std::optional<InitialStates> init = std::nullopt);

// Least-squares parameters (see header comment).
SmoothingFit OptimizeSes(const std::vector<double>& x);
SmoothingFit OptimizeHolt(const std::vector<double>& x, double phi = 1.0);

// OLS slope of x on t = 0..n-1 (0 for fewer than two points).
double OlsSlope(const std::vector<double>& x);

// Theta (Hyndman-Billah) forecasts h = 1..horizon from an SES fit of x.
std::vector<double> ThetaForecast(const std::vector<double>& x,
                                  const SmoothingFit& ses, int horizon);

// Theta's in-sample one-step predictions (x.size() values): the closed form
// applied to the first t values, SES fitted_t + (b/2)(1 - (1-a)^t)/a, with
// b the OLS slope of the whole of x.
std::vector<double> ThetaFitted(const std::vector<double>& x,
                                const SmoothingFit& ses);

enum class ModelId { kNaive2 = 0, kSes, kHolt, kDamped, kTheta, kComb };
inline constexpr int kModelCount = 6;
inline constexpr std::array<ModelId, kModelCount> kAllModels = {
    ModelId::kNaive2, ModelId::kSes,   ModelId::kHolt,
    ModelId::kDamped, ModelId::kTheta, ModelId::kComb};
// "naive2", "ses", "holt", "damped", "theta", "comb".
const char* ModelName(ModelId id);

struct ModelRun {
  std::vector<double> mean;  // re-seasonalised, not truncated
  // RMS of the in-sample one-step errors of the re-seasonalised fit, on the
  // original scale: y_t - reseasonalise(fitted x_t) (first observation
  // excluded). Theta's fitted values are the closed form's one-step
  // forecasts, SES_t + (b/2)(1 - (1-a)^t)/a.
  double sigma = 0;
  std::map<std::string, double> parameters;
};

// Overrides for the seasonal specification, so a backtest can score the
// specification chosen on the whole history on shorter training windows
// (the ACF test is conservative for short series and would otherwise flip
// to non-seasonal on them). Unset fields are decided from the series.
struct PipelineOptions {
  std::optional<bool> seasonal;
  // Honoured only when every value is > 0.
  std::optional<bool> multiplicative;
};

// The pipeline on a whole series. Seasonal when n >= 36 and the M4 ACF test
// passes (or options.seasonal says so and n >= 24, the decomposition's
// minimum); decomposition is multiplicative when every value is > 0,
// additive otherwise (zero or negative months make ratios meaningless).
// Seasonal indices are indexed from the first value of `y`, so forecasts
// continue the cycle from its last value.
struct PipelineRun {
  bool seasonal = false;
  bool multiplicative = false;
  std::vector<double> figure;  // 12 indices when seasonal, else empty
  std::array<ModelRun, kModelCount> models;
  const ModelRun& model(ModelId id) const {
    return models[static_cast<int>(id)];
  }
};
PipelineRun RunPipeline(const std::vector<double>& y, int horizon,
                        const PipelineOptions& options = {});

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_FORECAST_MODELS_H_
