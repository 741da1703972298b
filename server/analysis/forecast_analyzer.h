// Monthly revenue forecast (analysis-methods.md §3): the M4 benchmark
// pipeline (forecast_models.h) with the model chosen on the business's own
// history.
//
//  * Candidates: naive2, ses, holt, damped (phi 0.98), theta, comb. With
//    fewer than 8 months only naive2 and ses are considered (§3.2 step 5);
//    seasonality is tested only with 36+ months; months <= 0 switch the
//    decomposition to additive.
//  * Selection: lowest sMAPE in a rolling-origin backtest — up to 6 origins
//    ending at the last month, horizon min(h, 6) (shortened so at least 4
//    months train), each origin re-running the whole pipeline on its
//    training data; ties go to theta, comb, damped, ses, holt, naive2 in
//    that order. MASE scales by the training set's in-sample seasonal-naive
//    MAE (lag 12 when it has more than 12 months, else lag 1).
//  * Seasonality: tested (and additive vs multiplicative decided) once on the
//    whole history; the backtest re-estimates the decomposition on each
//    training window but keeps that specification, so it scores the same
//    pipeline that produces the forecast.
//  * Intervals: mean +- z sigma sqrt(h), z = 1.2816 (80%) and 1.96 (95%),
//    sigma the RMS in-sample one-step error of the chosen model's
//    re-seasonalised fit on the original scale (ModelRun::sigma), so
//    intervals nest and widen; every value is truncated at 0.
//  * confidence_score = 100 x min(1, 1 / MASE), clamped to 10..95.
//
// Partials: "model/<name>" for each candidate (stage = the name), then the
// chosen model's points in chunks of 6 months ("forecast/<first month>",
// stage "forecast"), percents increasing and below 100.
// Errors: INVALID_ARGUMENT for fewer than kMinForecastMonths months (field
// "history.periods"); CANCELLED when the sink returns false. Pure; runs on
// the calling thread.
#ifndef GOODBUY_SERVER_ANALYSIS_FORECAST_ANALYZER_H_
#define GOODBUY_SERVER_ANALYSIS_FORECAST_ANALYZER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "server/analysis/analyzer.h"

namespace goodbuy::analysis {

inline constexpr int kMaxBacktestOrigins = 6;
inline constexpr int kMaxBacktestHorizon = 6;
inline constexpr int kForecastChunkMonths = 6;
inline constexpr double kZ80 = 1.281551566;
inline constexpr double kZ95 = 1.959963985;

// sMAPE (percent) and MASE of forecasts against actuals, as in the M4
// evaluation; `scale` is the MASE denominator. Points where |Y| + |F| = 0
// count as perfect.
double Smape(const std::vector<double>& actual,
             const std::vector<double>& forecast);
double Mase(const std::vector<double>& actual,
            const std::vector<double>& forecast, double scale);

// In-sample mean absolute error of the seasonal naive forecast with `lag`;
// falls back to the mean |y| and then 1 so it can always divide.
double MaseScale(const std::vector<double>& y, int lag);

absl::StatusOr<v1::AnalysisResult> AnalyzeForecast(const AnalysisInput& in,
                                                   ProgressSink& sink);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_FORECAST_ANALYZER_H_
