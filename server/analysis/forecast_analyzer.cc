#include "server/analysis/forecast_analyzer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/analysis/forecast_models.h"
#include "server/analysis/history.h"
#include "server/analysis/seasonal.h"
#include "server/analysis/ttm.h"
#include "server/common/status_macros.h"

namespace goodbuy::analysis {
namespace {

constexpr int kMinTrainMonths = 4;
constexpr int kShortSeriesMonths = 8;  // §3.2 step 5: naive or mean below ~8
// Selection order on ties: the M4 monthly ranking (Theta, Comb, Damped, SES,
// Holt, Naive2).
constexpr ModelId kPreference[] = {ModelId::kTheta,  ModelId::kComb,
                                   ModelId::kDamped, ModelId::kSes,
                                   ModelId::kHolt,   ModelId::kNaive2};

struct Score {
  double abs_pct_sum = 0;  // sum of sMAPE terms
  double scaled_sum = 0;   // sum of MASE terms
  int points = 0;
  double smape() const { return points > 0 ? abs_pct_sum / points : 0; }
  double mase() const { return points > 0 ? scaled_sum / points : 0; }
};

double SmapeTerm(double y, double f) {
  const double denom = std::fabs(y) + std::fabs(f);
  return denom > 0 ? 200 * std::fabs(y - f) / denom : 0;
}

}  // namespace

double Smape(const std::vector<double>& actual,
             const std::vector<double>& forecast) {
  const size_t n = std::min(actual.size(), forecast.size());
  if (n == 0) return 0;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += SmapeTerm(actual[i], forecast[i]);
  return sum / n;
}

double Mase(const std::vector<double>& actual,
            const std::vector<double>& forecast, double scale) {
  const size_t n = std::min(actual.size(), forecast.size());
  if (n == 0 || !(scale > 0)) return 0;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += std::fabs(actual[i] - forecast[i]);
  return sum / n / scale;
}

double MaseScale(const std::vector<double>& y, int lag) {
  const int n = static_cast<int>(y.size());
  double sum = 0;
  int count = 0;
  for (int t = lag; t < n; ++t) {
    sum += std::fabs(y[t] - y[t - lag]);
    ++count;
  }
  if (count > 0 && sum > 0) return sum / count;
  double abs_sum = 0;
  for (double v : y) abs_sum += std::fabs(v);
  if (n > 0 && abs_sum > 0) return abs_sum / n;
  return 1;
}

absl::StatusOr<v1::AnalysisResult> AnalyzeForecast(const AnalysisInput& in,
                                                   ProgressSink& sink) {
  const std::vector<v1::MonthlyPeriod>& p = in.periods;
  const int n = static_cast<int>(p.size());
  RETURN_IF_ERROR(RequireMonths(n, kMinForecastMonths, "forecast"));
  const auto cancelled = [] {
    return absl::CancelledError("forecast cancelled");
  };
  const int horizon = EffectiveHorizonMonths(in.options);
  const std::vector<double> y = Column(p, &v1::MonthlyPeriod::revenue);
  std::vector<std::string> warnings;

  std::vector<ModelId> candidates;
  if (n < kShortSeriesMonths) {
    candidates = {ModelId::kNaive2, ModelId::kSes};
    warnings.push_back(absl::StrFormat(
        "Only %d months of history: only the naive and simple exponential "
        "smoothing models were considered.",
        n));
  } else {
    candidates.assign(kAllModels.begin(), kAllModels.end());
  }
  if (n < 3 * kMonthsPerYear) {
    warnings.push_back(
        "Fewer than 36 months of history: seasonality was not tested, so no "
        "seasonal pattern is applied.");
  }
  if (!sink.Progress(5, "seasonality")) return cancelled();

  // The seasonal specification is decided once, on the whole history, and
  // held fixed in the backtest: the backtest scores the pipeline that makes
  // the reported forecast. Re-running the ACF test on each (shorter)
  // training window made it flip to non-seasonal on clearly seasonal
  // series (the limit grows as 1/sqrt(n) while r_12 shrinks with n), so
  // flat forecasts were scored against a seasonal history.
  const PipelineRun run = RunPipeline(y, horizon);
  const PipelineOptions spec{run.seasonal, run.multiplicative};

  // ---- Rolling-origin backtest --------------------------------------------
  const int backtest_h =
      std::min({horizon, kMaxBacktestHorizon, n - kMinTrainMonths});
  const int origins = std::max(
      0, std::min(kMaxBacktestOrigins, n - backtest_h - kMinTrainMonths + 1));
  std::array<Score, kModelCount> scores{};
  for (int k = 0; k < origins; ++k) {
    const int origin = n - backtest_h - k;
    const std::vector<double> train(y.begin(), y.begin() + origin);
    const std::vector<double> actual(y.begin() + origin,
                                     y.begin() + origin + backtest_h);
    const double scale =
        MaseScale(train, origin > kMonthsPerYear ? kMonthsPerYear : 1);
    const PipelineRun fold = RunPipeline(train, backtest_h, spec);
    for (ModelId id : candidates) {
      Score& s = scores[static_cast<int>(id)];
      const std::vector<double>& mean = fold.model(id).mean;
      for (int j = 0; j < backtest_h; ++j) {
        const double f = std::max(0.0, mean[j]);
        s.abs_pct_sum += SmapeTerm(actual[j], f);
        s.scaled_sum += std::fabs(actual[j] - f) / scale;
        s.points += 1;
      }
    }
    if (!sink.Progress(10 + 30 * (k + 1) / std::max(1, origins), "backtest")) {
      return cancelled();
    }
  }

  // ---- Report candidates (fit on the whole history above) ------------------
  if (run.seasonal && !run.multiplicative) {
    warnings.push_back(
        "Some months have zero or negative revenue: the seasonal pattern is "
        "additive instead of multiplicative.");
  }
  std::optional<ModelId> chosen;
  for (ModelId id : kPreference) {
    if (std::find(candidates.begin(), candidates.end(), id) ==
        candidates.end()) {
      continue;
    }
    if (!chosen || scores[static_cast<int>(id)].smape() <
                       scores[static_cast<int>(*chosen)].smape() - 1e-12) {
      chosen = id;
    }
  }
  v1::AnalysisResult result;
  v1::Forecast& forecast = *result.mutable_forecast();
  forecast.set_horizon_months(horizon);
  forecast.set_seasonal(run.seasonal);
  int percent = 45;
  for (ModelId id : candidates) {
    const Score& s = scores[static_cast<int>(id)];
    v1::ForecastModel model;
    model.set_name(ModelName(id));
    model.mutable_backtest()->set_smape(s.smape());
    model.mutable_backtest()->set_mase(s.mase());
    model.mutable_backtest()->set_origins(origins);
    model.mutable_backtest()->set_horizon_months(backtest_h);
    for (const auto& [name, value] : run.model(id).parameters) {
      (*model.mutable_parameters())[name] = std::isfinite(value) ? value : 0;
    }
    *forecast.add_candidates() = model;
    if (id == *chosen) *forecast.mutable_backtest() = model.backtest();
    v1::PartialResult partial;
    partial.set_key(absl::StrCat("model/", ModelName(id)));
    *partial.mutable_forecast_model() = std::move(model);
    if (!sink.Partial(percent, ModelName(id), std::move(partial))) {
      return cancelled();
    }
    percent += 3;
  }
  forecast.set_model_used(ModelName(*chosen));

  // ---- Points, intervals and chunks ---------------------------------------
  const ModelRun& best = run.model(*chosen);
  const double sigma = std::isfinite(best.sigma) ? best.sigma : 0;
  for (int h = 1; h <= horizon; ++h) {
    ASSIGN_OR_RETURN(std::string month, AddMonths(p.back().month(), h));
    const double mean = best.mean[h - 1];
    const double d80 = kZ80 * sigma * std::sqrt(static_cast<double>(h));
    const double d95 = kZ95 * sigma * std::sqrt(static_cast<double>(h));
    v1::ForecastPoint* point = forecast.add_points();
    point->set_month(std::move(month));
    point->set_value(std::max(0.0, mean));
    point->set_lower_80(std::max(0.0, mean - d80));
    point->set_upper_80(std::max(0.0, mean + d80));
    point->set_lower_95(std::max(0.0, mean - d95));
    point->set_upper_95(std::max(0.0, mean + d95));
  }
  const int chunks =
      (horizon + kForecastChunkMonths - 1) / kForecastChunkMonths;
  for (int c = 0; c < chunks; ++c) {
    v1::PartialResult partial;
    partial.set_key(absl::StrCat(
        "forecast/", forecast.points(c * kForecastChunkMonths).month()));
    v1::ForecastChunk& chunk = *partial.mutable_forecast_chunk();
    chunk.set_model(forecast.model_used());
    for (int i = c * kForecastChunkMonths;
         i < std::min(horizon, (c + 1) * kForecastChunkMonths); ++i) {
      *chunk.add_points() = forecast.points(i);
    }
    if (!sink.Partial(70 + 25 * c / chunks, "forecast", std::move(partial))) {
      return cancelled();
    }
  }

  const double mase = forecast.backtest().mase();
  const double confidence =
      origins == 0 ? 10 : (mase > 0 ? 100 * std::min(1.0, 1 / mase) : 95);
  result.set_confidence_score(
      static_cast<int>(std::lround(Clamp(confidence, 10, 95))));
  for (auto& w : warnings) result.add_warnings(std::move(w));
  return result;
}

}  // namespace goodbuy::analysis
