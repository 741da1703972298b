// Exponential smoothing state-space models, ETS(E,T,S), as in Hyndman et al.
// (2008) and R forecast 8.20's `ets` (the reference is
// ../shared/reference/analysis-methods.md §3.3–3.4): the error-correction
// recursions, R's likelihood, AIC/AICc/BIC, maximum-likelihood fits with
// NLopt under R's bounds and admissibility, automatic model selection by
// AICc, and point forecasts with 80% / 95% prediction intervals.
//
// Pure functions of their inputs: no I/O, no clock, no randomness (the one
// simulated interval, for additive error with a multiplicative season, uses
// a fixed seed). Thread-safe. Errors are INVALID_ARGUMENT; outputs never
// hold NaN or infinity.
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
  // Likelihood evaluations the optimiser spent (0 from EvaluateEts).
  int evaluations = 0;
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
  // Cap on likelihood evaluations per fit (speed against precision); one
  // evaluation costs about 0.5 µs per 100 observations.
  int max_evaluations = 2000;
  // Optional warm start (e.g. the previous fit in a backtest), refined
  // directly; when null, R's heuristic start plus, for seasonal specs with
  // n >= 4m, a second start near γ = 0 (see ets.cc).
  const EtsParams* start = nullptr;
  // When false the m - 1 seasonal initial states stay at the start values
  // (still counted in k, as R counts them): a cheaper, slightly worse fit.
  bool optimize_seasonal_states = true;
};

// Maximum-likelihood fit of one spec: smoothing parameters and initial
// states, under R 8.20's default bounds ("both": usual + admissible). The
// likelihood reached is at least as good as R's on the reference fits, and
// sometimes much better (R's Nelder–Mead stops in poorer local optima).
absl::StatusOr<EtsFit> FitEts(const std::vector<double>& y, const EtsSpec& spec,
                              const EtsFitOptions& options = {});

struct AutoEtsOptions {
  int period = 12;
  bool allow_multiplicative = true;  // forced off when any y <= 0
  bool allow_damped = true;
  // Selection runs in two passes for speed. Pass 1 fits every spec with
  // its seasonal initial states fixed at the decomposition heuristic, from
  // each starting point (R's, and a near-zero-γ one for seasonal specs), at
  // most `selection_max_evaluations` likelihood evaluations per start
  // (non-seasonal specs are then complete fits, capped by
  // `fit.max_evaluations`). Pass 2 frees the seasonal states of the
  // `polish_candidates` best seasonal specs by AICc, at most
  // `polish_max_evaluations` each; the lowest AICc wins. The defaults keep
  // a 120-month series at about 4 ms (release build).
  int selection_max_evaluations = 200;
  int polish_candidates = 3;
  int polish_max_evaluations = 800;
  EtsFitOptions fit;
};

// Fits every admissible spec (R's restrict=TRUE set, no multiplicative
// trend) and returns the one with the lowest AICc. `candidates`, when not
// null, receives every successful fit.
absl::StatusOr<EtsFit> AutoEts(const std::vector<double>& y,
                               const AutoEtsOptions& options = {},
                               std::vector<EtsFit>* candidates = nullptr);

// Point forecasts (damped trend: ℓ + (φ + … + φ^h)·b) and 80% / 95%
// intervals, mean ± z·sd with the exact Gaussian-error variance: class 1
// (additive error, A/N season), class 2 (multiplicative error, A/N season)
// and class 3 (multiplicative error and season; equals R's analytic
// intervals). Additive error with a multiplicative season: quantiles of
// 2000 seeded simulated paths. Empty for horizon <= 0.
EtsForecast ForecastEts(const EtsFit& fit, int horizon);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_ETS_H_
