// Holt–Winters seasonal smoothing as R's stats::HoltWinters does it (the
// reference is ../shared/reference/analysis-methods.md §3.6.2–3.6.3): the
// original Winters recurrences with a trend, SSE as the criterion, and R's
// default start — a classical decomposition of the first two seasons gives
// the seasonal figure, an OLS line through its moving-average trend gives
// ℓ and b, and filtering starts at observation m + 1.
//
// Multiplicative: ℓ_t = α y_t/s_{t−m} + (1−α)(ℓ_{t−1}+b_{t−1}),
// b_t = β(ℓ_t−ℓ_{t−1}) + (1−β)b_{t−1}, s_t = γ y_t/ℓ_t + (1−γ)s_{t−m};
// additive: differences instead of ratios. Note the seasonal update uses the
// new level ℓ_t (statsmodels uses ℓ_{t−1}+b_{t−1}; the SSEs differ).
//
// Pure functions, thread-safe; INVALID_ARGUMENT for unusable input.
#ifndef GOODBUY_SERVER_ANALYSIS_HOLT_WINTERS_H_
#define GOODBUY_SERVER_ANALYSIS_HOLT_WINTERS_H_

#include <vector>

#include "absl/status/statusor.h"

namespace goodbuy::analysis {

enum class HoltWintersSeason { kAdditive, kMultiplicative };

struct HoltWintersParams {
  double alpha = 0.3;
  double beta = 0.1;
  double gamma = 0.1;
};

struct HoltWintersFit {
  HoltWintersSeason season = HoltWintersSeason::kMultiplicative;
  int period = 12;
  HoltWintersParams params;
  double sse = 0;
  // R's start values.
  double level_start = 0;
  double trend_start = 0;
  std::vector<double> season_start;  // m values, cycle position of y[0] first
  // Final coefficients as R prints them: a, b and s1..sm, where s_h is the
  // seasonal state for the h-th period ahead.
  double level = 0;
  double trend = 0;
  std::vector<double> seasonal;
  // One-step fitted values for observations m + 1 … n (R's fitted xhat).
  std::vector<double> fitted;
};

// With `fixed` the parameters are used as given (each in [0, 1]);
// otherwise α, β, γ minimise the SSE over [0, 1]³ from R's start (0.3, 0.1,
// 0.1). Needs n >= 2m + 1 and, multiplicatively, positive data.
absl::StatusOr<HoltWintersFit> FitHoltWinters(
    const std::vector<double>& y, int period, HoltWintersSeason season,
    const HoltWintersParams* fixed = nullptr);

// (a + h·b)·s_h or a + h·b + s_h, h = 1 … horizon (seasons recycle).
std::vector<double> ForecastHoltWinters(const HoltWintersFit& fit, int horizon);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_HOLT_WINTERS_H_
