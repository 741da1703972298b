#include "server/analysis/holt_winters.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/analysis/optimizer.h"

namespace goodbuy::analysis {
namespace {

struct StartValues {
  double level = 0;
  double trend = 0;
  std::vector<double> season;  // by cycle position, y[0] at position 0
};

// R's default start: classical decomposition of y[0..2m), then an OLS line
// through the m defined moving-average values against 1..m.
bool RStart(const std::vector<double>& y, int m, bool multiplicative,
            StartValues* out) {
  const int len = 2 * m;
  const int half = m / 2;
  std::vector<double> trend;
  std::vector<double> sum(m, 0.0);
  std::vector<int> count(m, 0);
  for (int t = half; t + half < len; ++t) {
    double ma = 0;
    if (m % 2 == 0) {
      ma = 0.5 * (y[t - half] + y[t + half]);
      for (int j = -half + 1; j < half; ++j) ma += y[t + j];
    } else {
      for (int j = -half; j <= half; ++j) ma += y[t + j];
    }
    ma /= m;
    if (multiplicative && !(ma > 0)) return false;
    trend.push_back(ma);
    sum[t % m] += multiplicative ? y[t] / ma : y[t] - ma;
    ++count[t % m];
  }
  out->season.assign(m, 0.0);
  double mean = 0;
  for (int i = 0; i < m; ++i) {
    if (count[i] == 0) return false;
    out->season[i] = sum[i] / count[i];
    mean += out->season[i] / m;
  }
  for (double& s : out->season) {
    if (multiplicative) {
      s /= mean;
    } else {
      s -= mean;
    }
  }
  const int k = static_cast<int>(trend.size());
  const double xbar = (k + 1) / 2.0;
  double ybar = 0;
  for (double v : trend) ybar += v / k;
  double sxy = 0, sxx = 0;
  for (int i = 0; i < k; ++i) {
    sxy += (i + 1 - xbar) * (trend[i] - ybar);
    sxx += (i + 1 - xbar) * (i + 1 - xbar);
  }
  out->trend = sxx > 0 ? sxy / sxx : 0;
  out->level = ybar - out->trend * xbar;
  return true;
}

struct FilterResult {
  double sse = 0;
  double level = 0;
  double trend = 0;
};

// Filters y[m..n) from the start values; `season` (m values by cycle
// position) is updated in place, `fitted` (if not null) gets n − m values.
FilterResult Filter(const std::vector<double>& y, int m, bool multiplicative,
                    const HoltWintersParams& p, const StartValues& start,
                    double* season, double* fitted) {
  const int n = static_cast<int>(y.size());
  std::copy(start.season.begin(), start.season.end(), season);
  double level = start.level;
  double trend = start.trend;
  double sse = 0;
  int pos = 0;  // y[m] sits at cycle position 0
  for (int t = m; t < n; ++t) {
    const double base = level + trend;
    const double s = season[pos];
    const double xhat = multiplicative ? base * s : base + s;
    const double e = y[t] - xhat;
    sse += e * e;
    if (fitted != nullptr) fitted[t - m] = xhat;
    const double new_level =
        p.alpha * (multiplicative ? y[t] / s : y[t] - s) + (1 - p.alpha) * base;
    trend = p.beta * (new_level - level) + (1 - p.beta) * trend;
    level = new_level;
    season[pos] = p.gamma * (multiplicative ? y[t] / level : y[t] - level) +
                  (1 - p.gamma) * s;
    if (++pos == m) pos = 0;
  }
  return {sse, level, trend};
}

}  // namespace

absl::StatusOr<HoltWintersFit> FitHoltWinters(const std::vector<double>& y,
                                              int period,
                                              HoltWintersSeason season,
                                              const HoltWintersParams* fixed) {
  const int n = static_cast<int>(y.size());
  const int m = period;
  if (m < 2 || n < 2 * m + 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HoltWinters: needs period >= 2 and at least 2m + 1 observations, "
        "got period ",
        m, " and ", n));
  }
  const bool mult = season == HoltWintersSeason::kMultiplicative;
  for (double v : y) {
    if (!std::isfinite(v) || (mult && !(v > 0))) {
      return absl::InvalidArgumentError(
          "HoltWinters: observations must be finite (and positive for the "
          "multiplicative form)");
    }
  }
  if (fixed != nullptr) {
    for (double v : {fixed->alpha, fixed->beta, fixed->gamma}) {
      if (!(v >= 0 && v <= 1)) {
        return absl::InvalidArgumentError(
            "HoltWinters: parameters must lie in [0, 1]");
      }
    }
  }
  StartValues start;
  if (!RStart(y, m, mult, &start)) {
    return absl::InvalidArgumentError(
        "HoltWinters: the start decomposition failed");
  }
  std::vector<double> ring(m);
  HoltWintersParams params;
  if (fixed != nullptr) {
    params = *fixed;
  } else {
    // R minimises the SSE with L-BFGS-B from (0.3, 0.1, 0.1) in [0, 1]³;
    // Subplex with a restart lands on the same optimum or a lower SSE.
    auto sse = [&](const double* x) {
      const HoltWintersParams p{x[0], x[1], x[2]};
      const double v = Filter(y, m, mult, p, start, ring.data(), nullptr).sse;
      return std::isfinite(v) ? v : kMinimizePenalty;
    };
    MinimizeOptions mo;
    mo.algorithm = OptimizerAlgorithm::kSubplex;
    mo.max_evaluations = 3000;
    mo.ftol_rel = 1e-12;
    mo.initial_step = {0.1, 0.05, 0.1};
    std::vector<double> x = {params.alpha, params.beta, params.gamma};
    double best = sse(x.data());
    for (int round = 0; round < 3; ++round) {
      auto r = Minimize(sse, x, {0, 0, 0}, {1, 1, 1}, mo);
      if (!r.ok()) return r.status();
      const bool improved = r->value < best * (1 - 1e-10);
      if (r->value <= best) {
        best = r->value;
        x = r->x;
      }
      if (!improved) break;
    }
    params = {x[0], x[1], x[2]};
  }
  HoltWintersFit fit;
  fit.fitted.resize(n - m);
  const FilterResult r =
      Filter(y, m, mult, params, start, ring.data(), fit.fitted.data());
  if (!std::isfinite(r.sse) || !std::isfinite(r.level) ||
      !std::isfinite(r.trend)) {
    return absl::InvalidArgumentError("HoltWinters: the filter diverged");
  }
  fit.season = season;
  fit.period = m;
  fit.params = params;
  fit.sse = r.sse;
  fit.level_start = start.level;
  fit.trend_start = start.trend;
  fit.season_start = start.season;
  fit.level = r.level;
  fit.trend = r.trend;
  // s_h is the state of the cycle position of observation n − 1 + h.
  fit.seasonal.resize(m);
  for (int h = 1; h <= m; ++h) fit.seasonal[h - 1] = ring[(n - 1 + h) % m];
  return fit;
}

std::vector<double> ForecastHoltWinters(const HoltWintersFit& fit,
                                        int horizon) {
  std::vector<double> out;
  const int m = static_cast<int>(fit.seasonal.size());
  if (horizon <= 0 || m == 0) return out;
  out.reserve(horizon);
  for (int h = 1; h <= horizon; ++h) {
    const double base = fit.level + h * fit.trend;
    const double s = fit.seasonal[(h - 1) % m];
    out.push_back(fit.season == HoltWintersSeason::kMultiplicative ? base * s
                                                                   : base + s);
  }
  return out;
}

}  // namespace goodbuy::analysis
