// Seasonality test and classical decomposition for monthly series, shared
// by the forecast (M4 benchmark pipeline, analysis-methods.md §3.2) and the
// health score (coefficient of variation of deseasonalised revenue).
//
// Pure functions, any thread, no errors: callers check the length
// preconditions documented on each function.
#ifndef GOODBUY_SERVER_ANALYSIS_SEASONAL_H_
#define GOODBUY_SERVER_ANALYSIS_SEASONAL_H_

#include <vector>

namespace goodbuy::analysis {

inline constexpr int kMonthsPerYear = 12;

// Sample autocorrelation r_1..r_max_lag (index 0 holds lag 1), as R's acf():
// r_k = sum_{t<n-k} (y_t - m)(y_{t+k} - m) / sum (y_t - m)^2. Zeros for a
// constant series.
std::vector<double> Autocorrelation(const std::vector<double>& y, int max_lag);

// The M4 test: seasonal when n >= 3m and |r_m| > 1.645/sqrt(n) *
// sqrt(1 + 2 * sum_{j<m} r_j^2). Writes r_m and the limit when given.
bool SeasonalityTest(const std::vector<double>& y, int m = kMonthsPerYear,
                     double* r_m = nullptr, double* limit = nullptr);

// R's decompose(): trend = centred 2 x m moving average (defined for
// positions m/2 .. n-1-m/2), detrended = y / trend (multiplicative) or
// y - trend (additive), figure[j] = mean of the detrended values at positions
// j, j+m, ... normalised to average 1 (multiplicative) or 0 (additive).
// Positions are relative to the start of the series (figure[0] belongs to
// y[0]). Requires n >= 2m and, for multiplicative, a non-zero trend.
struct Decomposition {
  bool multiplicative = true;
  std::vector<double> figure;    // m seasonal indices
  std::vector<double> trend;     // n values; 0 where undefined
  std::vector<double> adjusted;  // y / s or y - s
  // Seasonal index for absolute position t (t may be >= n for forecasts).
  double Index(int t) const { return figure[t % figure.size()]; }
};
Decomposition ClassicalDecompose(const std::vector<double>& y,
                                 bool multiplicative, int m = kMonthsPerYear);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_SEASONAL_H_
