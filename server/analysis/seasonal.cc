#include "server/analysis/seasonal.h"

#include <cmath>

namespace goodbuy::analysis {

std::vector<double> Autocorrelation(const std::vector<double>& y, int max_lag) {
  const int n = static_cast<int>(y.size());
  std::vector<double> r(max_lag > 0 ? max_lag : 0, 0.0);
  if (n == 0) return r;
  double mean = 0;
  for (double v : y) mean += v;
  mean /= n;
  double denom = 0;
  for (double v : y) denom += (v - mean) * (v - mean);
  if (!(denom > 0)) return r;
  for (int k = 1; k <= max_lag && k < n; ++k) {
    double num = 0;
    for (int t = 0; t + k < n; ++t) num += (y[t] - mean) * (y[t + k] - mean);
    r[k - 1] = num / denom;
  }
  return r;
}

bool SeasonalityTest(const std::vector<double>& y, int m, double* r_m,
                     double* limit) {
  const int n = static_cast<int>(y.size());
  if (m < 2 || n < 3 * m) return false;
  const std::vector<double> r = Autocorrelation(y, m);
  double sum_sq = 0;
  for (int j = 0; j < m - 1; ++j) sum_sq += r[j] * r[j];
  const double clim =
      1.645 / std::sqrt(static_cast<double>(n)) * std::sqrt(1.0 + 2.0 * sum_sq);
  if (r_m != nullptr) *r_m = r[m - 1];
  if (limit != nullptr) *limit = clim;
  return std::fabs(r[m - 1]) > clim;
}

Decomposition ClassicalDecompose(const std::vector<double>& y,
                                 bool multiplicative, int m) {
  const int n = static_cast<int>(y.size());
  Decomposition d;
  d.multiplicative = multiplicative;
  d.trend.assign(n, 0.0);
  std::vector<bool> defined(n, false);
  // Centred moving average: weights 1/(2m) at the ends, 1/m inside (m even);
  // plain m-term average for odd m, as R's filter() with sides = 2.
  const int half = m / 2;
  for (int t = half; t + half < n; ++t) {
    double sum = 0;
    if (m % 2 == 0) {
      sum = 0.5 * y[t - half] + 0.5 * y[t + half];
      for (int j = -half + 1; j <= half - 1; ++j) sum += y[t + j];
    } else {
      for (int j = -half; j <= half; ++j) sum += y[t + j];
    }
    d.trend[t] = sum / m;
    defined[t] = true;
  }
  std::vector<double> sums(m, 0.0);
  std::vector<int> counts(m, 0);
  for (int t = 0; t < n; ++t) {
    if (!defined[t]) continue;
    double detrended;
    if (multiplicative) {
      if (d.trend[t] == 0) continue;
      detrended = y[t] / d.trend[t];
    } else {
      detrended = y[t] - d.trend[t];
    }
    if (!std::isfinite(detrended)) continue;
    sums[t % m] += detrended;
    counts[t % m] += 1;
  }
  d.figure.assign(m, multiplicative ? 1.0 : 0.0);
  double total = 0;
  for (int j = 0; j < m; ++j) {
    if (counts[j] > 0) d.figure[j] = sums[j] / counts[j];
    total += d.figure[j];
  }
  const double mean = total / m;
  for (double& f : d.figure) {
    if (multiplicative) {
      f = mean > 0 ? f / mean : 1.0;
      if (!(f > 0) || !std::isfinite(f)) f = 1.0;
    } else {
      f -= mean;
    }
  }
  d.adjusted.resize(n);
  for (int t = 0; t < n; ++t) {
    d.adjusted[t] = multiplicative ? y[t] / d.Index(t) : y[t] - d.Index(t);
  }
  return d;
}

}  // namespace goodbuy::analysis
