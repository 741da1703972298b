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
#include "server/common/errors.h"
#include "server/common/status_macros.h"

namespace goodbuy::analysis {
namespace {

constexpr int kMinTrainMonths = 4;     // [DESIGN] shortest backtest window
constexpr int kShortSeriesMonths = 8;  // §3.2 step 5: naive or mean below ~8
// Selection order on ties: the combinations first (M4: 12 of the 17 most
// accurate methods were combinations, §3.1), then the M4 monthly ranking.
constexpr ModelId kPreference[] = {
    ModelId::kEnsemble, ModelId::kTheta,  ModelId::kComb,  ModelId::kDamped,
    ModelId::kEts,      ModelId::kThetaf, ModelId::kSes,   ModelId::kHolt,
    ModelId::kNaive2,   ModelId::kSNaive, ModelId::kNaive, ModelId::kMean};

struct Score {
  double abs_pct_sum = 0;  // sum of sMAPE terms
  double scaled_sum = 0;   // sum of MASE terms
  int points = 0;
  int origins = 0;
  double smape() const { return points > 0 ? abs_pct_sum / points : 0; }
  double mase() const { return points > 0 ? scaled_sum / points : 0; }
};

double SmapeTerm(double y, double f) {
  const double denom = std::fabs(y) + std::fabs(f);
  return denom > 0 ? 200 * std::fabs(y - f) / denom : 0;
}

// §3.5 OWA of one model against Naive2 over the same folds. A perfect
// Naive2 (both errors 0) leaves only perfect models at the minimum.
double Owa(const Score& s, const Score& naive2) {
  constexpr double kTiny = 1e-12;
  return 0.5 * (s.smape() / std::max(naive2.smape(), kTiny) +
                s.mase() / std::max(naive2.mase(), kTiny));
}

double FiniteOr0(double v) { return std::isfinite(v) ? v : 0; }

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
  // PrepareHistory rejects these already; a direct caller gets the same
  // answer instead of a NaN forecast.
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(y[i])) {
      return InvalidField(absl::StrCat("history.periods[", i, "].revenue"),
                          "revenue must be a finite number");
    }
  }
  std::vector<std::string> warnings;
  if (!sink.Progress(5, "seasonality")) return cancelled();

  // ---- Every model on the whole history -----------------------------------
  const PipelineRun run = RunPipeline(y, horizon);
  std::vector<ModelId> candidates;
  if (n < kShortSeriesMonths) {
    candidates = {ModelId::kNaive, ModelId::kMean};
    warnings.push_back(absl::StrFormat(
        "Only %d months of history: only the naive and mean forecasts were "
        "considered.",
        n));
  } else {
    for (ModelId id : kAllModels) {
      if (id == ModelId::kMean || !run.model(id).available) continue;
      if (id == ModelId::kSNaive && n < 2 * kMonthsPerYear) continue;
      // Without a decomposition Naive2 is Naive.
      if (id == ModelId::kNaive2 && !run.seasonal) continue;
      candidates.push_back(id);
    }
  }
  if (n < 3 * kMonthsPerYear) {
    warnings.push_back(
        "Fewer than 36 months of history: seasonality was not tested, so no "
        "seasonal decomposition is applied.");
  }
  if (run.seasonal && !run.multiplicative) {
    warnings.push_back(
        "Some months have zero or negative revenue: the seasonal pattern is "
        "additive instead of multiplicative.");
  }
  if (!sink.Progress(10, "models")) return cancelled();

  // ---- Rolling-origin backtest --------------------------------------------
  // The seasonal specification and the ETS spec are fixed from the whole
  // history, so the backtest scores the pipeline that makes the forecast.
  // Re-running the ACF test on each (shorter) window made it flip to
  // non-seasonal on clearly seasonal series (the limit grows as 1/sqrt(n)),
  // and re-running AutoEts per origin would cost 15 fits each.
  PipelineOptions fold_options;
  fold_options.seasonal = run.seasonal;
  fold_options.multiplicative = run.multiplicative;
  fold_options.models = candidates;
  if (std::find(candidates.begin(), candidates.end(), ModelId::kNaive2) ==
      candidates.end()) {
    fold_options.models.push_back(ModelId::kNaive2);  // OWA's reference
  }
  if (run.ets) {
    fold_options.ets_spec = run.ets->spec;
    fold_options.ets_start = run.ets->params;
    fold_options.ets_max_evaluations = kBacktestEtsEvaluations;
  } else {
    fold_options.fit_ets = false;
  }
  const int backtest_h =
      std::min({horizon, kMaxBacktestHorizon, n - kMinTrainMonths});
  const int origins = std::max(
      0, std::min(kMaxBacktestOrigins, n - backtest_h - kMinTrainMonths + 1));
  std::array<Score, kModelCount> scores{};
  for (int k = 0; k < origins; ++k) {
    const int origin = n - backtest_h - k;
    const std::vector<double> train(y.begin(), y.begin() + origin);
    // §3.5: MASE scale lag m = 12 (lag 1 when the window has no full year
    // to difference against).
    const double scale =
        MaseScale(train, origin > kMonthsPerYear ? kMonthsPerYear : 1);
    const PipelineRun fold = RunPipeline(train, backtest_h, fold_options);
    for (ModelId id : fold_options.models) {
      const ModelRun& m = fold.model(id);
      if (!m.available) continue;
      Score& s = scores[static_cast<int>(id)];
      for (int j = 0; j < backtest_h; ++j) {
        const double actual = y[origin + j];
        const double f = std::max(0.0, m.mean[j]);
        s.abs_pct_sum += SmapeTerm(actual, f);
        s.scaled_sum += std::fabs(actual - f) / scale;
        s.points += 1;
      }
      s.origins += 1;
    }
    if (!sink.Progress(10 + 30 * (k + 1) / std::max(1, origins), "backtest")) {
      return cancelled();
    }
  }

  // ---- Choice: lowest OWA, ties by preference -----------------------------
  const Score& naive2 = scores[static_cast<int>(ModelId::kNaive2)];
  std::optional<ModelId> chosen;
  double best_owa = 0;
  for (ModelId id : kPreference) {
    if (std::find(candidates.begin(), candidates.end(), id) ==
        candidates.end()) {
      continue;
    }
    const Score& s = scores[static_cast<int>(id)];
    // A model that could not be scored (its fit failed on every window)
    // is reported but only chosen when nothing was scored.
    const double owa = s.points > 0 ? Owa(s, naive2) : 1e300;
    if (!chosen || owa < best_owa - 1e-12) {
      chosen = id;
      best_owa = owa;
    }
  }

  // ---- Report candidates (fitted on the whole history) ---------------------
  v1::AnalysisResult result;
  v1::Forecast& forecast = *result.mutable_forecast();
  forecast.set_horizon_months(horizon);
  forecast.set_seasonal(run.seasonal);
  int percent = 42;
  for (ModelId id : candidates) {
    const Score& s = scores[static_cast<int>(id)];
    const ModelRun& m = run.model(id);
    v1::ForecastModel model;
    model.set_name(ModelName(id));
    model.set_aicc(FiniteOr0(m.aicc));
    model.mutable_backtest()->set_smape(s.smape());
    model.mutable_backtest()->set_mase(s.mase());
    model.mutable_backtest()->set_origins(s.origins);
    model.mutable_backtest()->set_horizon_months(backtest_h);
    for (const auto& [name, value] : m.parameters) {
      (*model.mutable_parameters())[name] = FiniteOr0(value);
    }
    *forecast.add_candidates() = model;
    if (id == *chosen) *forecast.mutable_backtest() = model.backtest();
    v1::PartialResult partial;
    partial.set_key(absl::StrCat("model/", ModelName(id)));
    *partial.mutable_forecast_model() = std::move(model);
    if (!sink.Partial(percent, ModelName(id), std::move(partial))) {
      return cancelled();
    }
    percent += 2;
  }
  forecast.set_model_used(ModelName(*chosen));

  // ---- Points, intervals and chunks ---------------------------------------
  const ModelRun& best = run.model(*chosen);
  for (int h = 1; h <= horizon; ++h) {
    ASSIGN_OR_RETURN(std::string month, AddMonths(p.back().month(), h));
    const int i = h - 1;
    v1::ForecastPoint* point = forecast.add_points();
    point->set_month(std::move(month));
    point->set_value(std::max(0.0, FiniteOr0(best.mean[i])));
    point->set_lower_80(std::max(0.0, FiniteOr0(best.lower80[i])));
    point->set_upper_80(std::max(0.0, FiniteOr0(best.upper80[i])));
    point->set_lower_95(std::max(0.0, FiniteOr0(best.lower95[i])));
    point->set_upper_95(std::max(0.0, FiniteOr0(best.upper95[i])));
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
