// Exponential smoothing state-space models, ETS(E,T,S), as in Hyndman et al.
// (2008) and R forecast 8.20's `ets` (the reference is
// ../shared/reference/analysis-methods.md §3.3–3.4): the error-correction
// recursions, R's likelihood, AIC/AICc/BIC, maximum-likelihood fits with
// NLopt under R's bounds and admissibility, automatic model selection by
// AICc, and point forecasts with 80% / 95% prediction intervals.
//
// Pure functions of their inputs: no I/O, no clock, no randomness (class 3
// intervals, if simulated, use a fixed seed). Thread-safe.
#ifndef GOODBUY_SERVER_ANALYSIS_ETS_H_
#define GOODBUY_SERVER_ANALYSIS_ETS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace goodbuy::analysis {

enum class EtsError { kAdditive, kMultiplicative };
enum class EtsTrend { kNone, kAdditive, kDamped };
enum class EtsSeason { kNone, kAdditive, kMultiplicative };

struct EtsSpec {
  EtsError error = EtsError::kAdditive;
  EtsTrend trend = EtsTrend::kNone;
  EtsSeason season = EtsSeason::kNone;
  int period = 12;  // used only when season != kNone
  // "ETS(M,Ad,M)", as R prints it.
  std::string Name() const;
};

// Smoothing parameters (state-space form: β and γ as R reports them) and
// the initial states, R's convention: season0[0] = s_0 (the most recent),
// season0[1] = s_{-1}, …, season0[m-2] = s_{-(m-2)}; the m-th state is
// implied (−Σ additive, m − Σ multiplicative). Unused fields are ignored.
struct EtsParams {
  double alpha = 0;
  double beta = 0;
  double gamma = 0;
  double phi = 1;
  double level0 = 0;
  double trend0 = 0;
  std::vector<double> season0;  // m - 1 values
};

struct EtsFit {
  EtsSpec spec;
  EtsParams params;
  int n = 0;          // observations
  int k = 0;          // parameters counted by AIC (smoothing + states + σ)
  double lik = 0;     // R's -2·logLik without constants
  double loglik = 0;  // -lik / 2
  double aic = 0;
  double aicc = 0;
  double bic = 0;
  double sigma2 = 0;              // Σe² / (n − #par)
  std::vector<double> fitted;     // one-step-ahead ŷ_t
  std::vector<double> residuals;  // e_t (ε_t for multiplicative error)
  // States after the last observation, same conventions as EtsParams.
  double level = 0;
  double trend = 0;
  std::vector<double> season;  // m values, season[0] = most recent
};

struct EtsForecast {
  std::vector<double> mean;
  std::vector<double> lower80, upper80, lower95, upper95;
};

// Runs the recursions with the given parameters and states (no
// optimisation) and fills every field of the fit. INVALID_ARGUMENT when the
// data are too short for the spec, non-finite, or not positive for a
// multiplicative component.
absl::StatusOr<EtsFit> EvaluateEts(const std::vector<double>& y,
                                   const EtsSpec& spec,
                                   const EtsParams& params);

struct EtsFitOptions {
  // Cap on likelihood evaluations per fit (speed against precision).
  int max_evaluations = 2000;
  // Optional start; when null R's heuristic starting values are used.
  const EtsParams* start = nullptr;
};

// Maximum-likelihood fit of one spec: smoothing parameters and initial
// states, under R 8.20's default bounds ("both": usual + admissible).
absl::StatusOr<EtsFit> FitEts(const std::vector<double>& y, const EtsSpec& spec,
                              const EtsFitOptions& options = {});

struct AutoEtsOptions {
  int period = 12;
  bool allow_multiplicative = true;  // forced off when any y <= 0
  bool allow_damped = true;
  EtsFitOptions fit;
};

// Fits every admissible spec (R's restrict=TRUE set, no multiplicative
// trend) and returns the one with the lowest AICc. `candidates`, when not
// null, receives every successful fit.
absl::StatusOr<EtsFit> AutoEts(const std::vector<double>& y,
                               const AutoEtsOptions& options = {},
                               std::vector<EtsFit>* candidates = nullptr);

// Point forecasts (damped trend: Σφ^j) and 80% / 95% intervals: class 1
// analytic for additive error, class 2 / 3 for multiplicative error.
EtsForecast ForecastEts(const EtsFit& fit, int horizon);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_ETS_H_
