// Monthly revenue forecast (analysis-methods.md §3): the M4 benchmark
// pipeline plus auto-ETS (forecast_models.h), with the model chosen by a
// rolling-origin backtest on the business's own history.
//
//  * Candidates (§3.2 step 5): fewer than 8 months, naive and the mean;
//    otherwise naive, snaive (24+ months), naive2 (when seasonal), ses,
//    holt, damped, theta, thetaf, comb, ets (when its fit succeeds) and the
//    ensemble (median of ets, theta, damped). Seasonality is tested only with
//    36+ months (§3.2 step 1); ETS may be seasonal from 24 months; any month
//    <= 0 makes everything additive.
//  * Backtest: up to 6 origins ending at the last month, horizon min(h, 6)
//    (shortened so at least 4 months train). The seasonal specification and
//    the ETS spec are decided once on the whole history and held fixed; each
//    fold re-estimates the decomposition and every model's parameters on its
//    training window (the ETS spec warm-started from the full-history fit
//    with a capped number of evaluations; AutoEts is not re-run). sMAPE and
//    MASE as in §3.5, MASE scaled by the training window's in-sample
//    seasonal-naive MAE, lag 12 (lag 1 for windows of 12 months or fewer).
//  * Selection: the lowest backtest OWA, ½(sMAPE / sMAPE_naive2 + MASE /
//    MASE_naive2) (§3.5, the M4 ranking criterion, so both errors count
//    relative to the benchmark). Ties go to the ensemble first, then theta,
//    comb, damped, ets, thetaf, ses, holt, naive2, snaive, naive, mean.
//  * Points: the chosen model's mean and its own 80% / 95% intervals
//    (§3.4, see forecast_models.h), every value truncated at 0.
//  * confidence_score = 100 x min(1, 1 / MASE) of the chosen model, clamped
//    to 10..95 (10 when there was no backtest).
//
// Partials: "model/<name>" for each candidate (stage = the name) with its
// backtest, AICc (likelihood models) and parameters, then the chosen model's
// points in chunks of 6 months ("forecast/<first month>", stage
// "forecast"), percents increasing and below 100.
// Errors: INVALID_ARGUMENT for fewer than kMinForecastMonths months (field
// "history.periods") or a non-finite revenue (field
// "history.periods[i].revenue"); CANCELLED when the sink returns false.
// Pure; runs on the calling thread.
#ifndef GOODBUY_SERVER_ANALYSIS_FORECAST_ANALYZER_H_
#define GOODBUY_SERVER_ANALYSIS_FORECAST_ANALYZER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "server/analysis/analyzer.h"

namespace goodbuy::analysis {

// Backtest shape and chunk size are [DESIGN] choices (not from §3): six
// origins of up to six months keep the backtest within the 10 ms budget and
// still need only 16 months of history.
inline constexpr int kMaxBacktestOrigins = 6;
inline constexpr int kMaxBacktestHorizon = 6;
inline constexpr int kForecastChunkMonths = 6;
// Likelihood evaluations allowed when the chosen ETS spec is refitted on a
// backtest window from the full-history optimum [DESIGN, speed]: a warm
// start converges in far fewer than FitEts's default 2000.
inline constexpr int kBacktestEtsEvaluations = 300;

// sMAPE (percent) and MASE of forecasts against actuals, as in the M4
// evaluation (§3.5); `scale` is the MASE denominator. Points where
// |Y| + |F| = 0 count as perfect.
double Smape(const std::vector<double>& actual,
             const std::vector<double>& forecast);
double Mase(const std::vector<double>& actual,
            const std::vector<double>& forecast, double scale);

// In-sample mean absolute error of the seasonal naive forecast with `lag`,
// (1/(n−lag)) Σ_{t>lag} |y_t − y_{t−lag}| (§3.5); falls back to the mean |y|
// and then 1 so it can always divide.
double MaseScale(const std::vector<double>& y, int lag);

absl::StatusOr<v1::AnalysisResult> AnalyzeForecast(const AnalysisInput& in,
                                                   ProgressSink& sink);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_FORECAST_ANALYZER_H_
