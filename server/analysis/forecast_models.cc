#include "server/analysis/forecast_models.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "server/analysis/seasonal.h"

namespace goodbuy::analysis {
namespace {

constexpr int kPeriod = kMonthsPerYear;  // m = 12 (§3.2 step 1)

double Finite(double v) { return std::isfinite(v) ? v : 0.0; }

// True when every value equals the first to within 1e-10 of its size: the
// likelihood of a constant series is degenerate (log 0), so such series get
// flat forecasts without a fit.
bool IsConstant(const std::vector<double>& x) {
  if (x.empty()) return true;
  const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  const double scale = std::max({std::fabs(*lo), std::fabs(*hi), 1e-300});
  return *hi - *lo <= 1e-10 * scale;
}

// Student-t quantiles t_{0.90, ν} and t_{0.975, ν} for the mean model's
// intervals (textbook values, ν = 1..10); beyond 10 the Cornish-Fisher
// expansion of the normal quantile, accurate to ~1e-3 there.
double StudentT(double z, int df) {
  static constexpr double kT90[] = {3.077684, 1.885618, 1.637744, 1.533206,
                                    1.475884, 1.439756, 1.414924, 1.396815,
                                    1.383029, 1.372184};
  static constexpr double kT975[] = {12.706205, 4.302653, 3.182446, 2.776445,
                                     2.570582,  2.446912, 2.364624, 2.306004,
                                     2.262157,  2.228139};
  if (df >= 1 && df <= 10) return z == kZ80 ? kT90[df - 1] : kT975[df - 1];
  const double v = std::max(df, 1);
  const double z3 = z * z * z, z5 = z3 * z * z;
  return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v);
}

// Symmetric normal intervals mean ± z·sd, every value finite.
void SetSymmetric(const MeanSd& f, ModelRun& m, double z80 = kZ80,
                  double z95 = kZ95) {
  const size_t h = f.mean.size();
  m.mean.resize(h);
  m.lower80.resize(h);
  m.upper80.resize(h);
  m.lower95.resize(h);
  m.upper95.resize(h);
  for (size_t i = 0; i < h; ++i) {
    const double mu = Finite(f.mean[i]);
    const double sd = std::max(0.0, Finite(f.sd[i]));
    m.mean[i] = mu;
    m.lower80[i] = mu - z80 * sd;
    m.upper80[i] = mu + z80 * sd;
    m.lower95[i] = mu - z95 * sd;
    m.upper95[i] = mu + z95 * sd;
  }
}

// False (and `m` untouched) when the forecast is not `horizon` long.
bool SetFromEts(const EtsForecast& f, int horizon, ModelRun& m) {
  const size_t h = static_cast<size_t>(horizon);
  if (f.mean.size() != h || f.lower80.size() != h || f.upper80.size() != h ||
      f.lower95.size() != h || f.upper95.size() != h) {
    return false;
  }
  m.mean = f.mean;
  m.lower80 = f.lower80;
  m.upper80 = f.upper80;
  m.lower95 = f.lower95;
  m.upper95 = f.upper95;
  for (size_t i = 0; i < h; ++i) {
    m.mean[i] = Finite(m.mean[i]);
    // Keep the order even if a bound came back non-finite.
    const auto lower = [](double v, double inner) {
      return std::isfinite(v) ? std::min(v, inner) : inner;
    };
    const auto upper = [](double v, double inner) {
      return std::isfinite(v) ? std::max(v, inner) : inner;
    };
    m.lower80[i] = lower(m.lower80[i], m.mean[i]);
    m.upper80[i] = upper(m.upper80[i], m.mean[i]);
    m.lower95[i] = lower(m.lower95[i], m.lower80[i]);
    m.upper95[i] = upper(m.upper95[i], m.upper80[i]);
  }
  return true;
}

// Maps values of the deseasonalised series back to the original scale.
class Seasonaliser {
 public:
  Seasonaliser(bool seasonal, bool multiplicative,
               const std::vector<double>* figure)
      : seasonal_(seasonal), multiplicative_(multiplicative), figure_(figure) {}

  // Value at absolute position t (t >= n for forecasts).
  double At(int t, double value) const {
    if (!seasonal_) return value;
    const double s = (*figure_)[t % figure_->size()];
    return multiplicative_ ? value * s : value + s;
  }
  // A forecast made at the end of n observations: mean and every bound.
  void Apply(int n, ModelRun& m) const {
    for (size_t i = 0; i < m.mean.size(); ++i) {
      const int t = n + static_cast<int>(i);
      for (std::vector<double>* v :
           {&m.mean, &m.lower80, &m.upper80, &m.lower95, &m.upper95}) {
        (*v)[i] = Finite(At(t, (*v)[i]));
      }
    }
  }
  std::vector<double> InSample(const std::vector<double>& fitted) const {
    std::vector<double> out(fitted.size());
    for (size_t t = 0; t < fitted.size(); ++t) {
      out[t] = At(static_cast<int>(t), fitted[t]);
    }
    return out;
  }

 private:
  bool seasonal_;
  bool multiplicative_;
  const std::vector<double>* figure_;
};

// RMS of y_t − fitted_t over t >= first (original scale).
double RmsError(const std::vector<double>& y, const std::vector<double>& fitted,
                int first) {
  double ss = 0;
  int count = 0;
  for (int t = std::max(first, 0);
       t < static_cast<int>(std::min(y.size(), fitted.size())); ++t) {
    const double e = y[t] - fitted[t];
    ss += e * e;
    ++count;
  }
  return count > 0 ? Finite(std::sqrt(ss / count)) : 0;
}

std::vector<double> NaiveFitted(const std::vector<double>& x, int lag) {
  std::vector<double> fitted(x.size(), 0.0);
  for (size_t t = lag; t < x.size(); ++t) fitted[t] = x[t - lag];
  return fitted;
}

void PutEtsParameters(const EtsFit& fit, bool with_spec, ModelRun& m) {
  const EtsSpec& s = fit.spec;
  const EtsParams& p = fit.params;
  m.parameters["alpha"] = p.alpha;
  m.parameters["level0"] = p.level0;
  if (s.trend != EtsTrend::kNone) {
    m.parameters["beta"] = p.beta;
    m.parameters["trend0"] = p.trend0;
  }
  if (s.trend == EtsTrend::kDamped) m.parameters["phi"] = p.phi;
  if (s.season != EtsSeason::kNone) m.parameters["gamma"] = p.gamma;
  m.parameters["sigma2"] = fit.sigma2;
  if (with_spec) {
    m.parameters["error"] = s.error == EtsError::kMultiplicative ? 1 : 0;
    m.parameters["trend"] = static_cast<int>(s.trend);
    m.parameters["season"] = static_cast<int>(s.season);
  }
  m.aicc = Finite(fit.aicc);
}

// Median of three (or fewer) values.
double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t k = v.size() / 2;
  return v.size() % 2 == 1 ? v[k] : (v[k - 1] + v[k]) / 2;
}

// A combination: `centre` (mean or median of the members' means) ± the
// average of the members' distances from their means to their bounds.
void Combine(const std::vector<const ModelRun*>& members, bool median,
             ModelRun& out) {
  const size_t h = members.front()->mean.size();
  const double k = static_cast<double>(members.size());
  out.mean.assign(h, 0);
  out.lower80.assign(h, 0);
  out.upper80.assign(h, 0);
  out.lower95.assign(h, 0);
  out.upper95.assign(h, 0);
  for (size_t i = 0; i < h; ++i) {
    std::vector<double> means;
    double d_lo80 = 0, d_hi80 = 0, d_lo95 = 0, d_hi95 = 0;
    for (const ModelRun* m : members) {
      means.push_back(m->mean[i]);
      d_lo80 += (m->mean[i] - m->lower80[i]) / k;
      d_hi80 += (m->upper80[i] - m->mean[i]) / k;
      d_lo95 += (m->mean[i] - m->lower95[i]) / k;
      d_hi95 += (m->upper95[i] - m->mean[i]) / k;
    }
    double centre = 0;
    if (median) {
      centre = Median(means);
    } else {
      for (double v : means) centre += v / k;
    }
    out.mean[i] = centre;
    out.lower80[i] = centre - d_lo80;
    out.upper80[i] = centre + d_hi80;
    out.lower95[i] = centre - d_lo95;
    out.upper95[i] = centre + d_hi95;
  }
}

}  // namespace

const char* ModelName(ModelId id) {
  switch (id) {
    case ModelId::kNaive:
      return "naive";
    case ModelId::kSNaive:
      return "snaive";
    case ModelId::kNaive2:
      return "naive2";
    case ModelId::kSes:
      return "ses";
    case ModelId::kHolt:
      return "holt";
    case ModelId::kDamped:
      return "damped";
    case ModelId::kTheta:
      return "theta";
    case ModelId::kThetaf:
      return "thetaf";
    case ModelId::kComb:
      return "comb";
    case ModelId::kEts:
      return "ets";
    case ModelId::kEnsemble:
      return "ensemble";
    case ModelId::kMean:
      return "mean";
  }
  return "unknown";
}

std::optional<ModelId> ModelFromName(std::string_view name) {
  for (ModelId id : kAllModels) {
    if (name == ModelName(id)) return id;
  }
  return std::nullopt;
}

OlsLine FitOlsLine(const std::vector<double>& x) {
  const int n = static_cast<int>(x.size());
  OlsLine line;
  if (n == 0) return line;
  double mean = 0;
  for (double v : x) mean += v;
  mean /= n;
  line.intercept = mean;
  if (n < 2) return line;
  const double tm = (n + 1) / 2.0;  // mean of t = 1..n
  double sxy = 0, sxx = 0;
  for (int i = 0; i < n; ++i) {
    const double dt = (i + 1) - tm;
    sxy += dt * (x[i] - mean);
    sxx += dt * dt;
  }
  line.slope = Finite(sxy / sxx);
  line.intercept = Finite(mean - line.slope * tm);
  return line;
}

MeanSd ThetafForecast(const std::vector<double>& x, const EtsFit& ses,
                      int horizon) {
  MeanSd out;
  // §3.2: R floors α at 1e-10 before dividing by it.
  const double alpha = std::max(ses.params.alpha, 1e-10);
  const double drift = FitOlsLine(x).slope / 2;
  const double n = static_cast<double>(x.size());
  const double tail = (1 - std::pow(1 - alpha, n)) / alpha;
  const double sigma = std::sqrt(std::max(0.0, ses.sigma2));
  for (int h = 1; h <= horizon; ++h) {
    out.mean.push_back(Finite(ses.level + drift * ((h - 1) + tail)));
    out.sd.push_back(Finite(sigma * std::sqrt(1 + alpha * alpha * (h - 1))));
  }
  return out;
}

double NaiveSigma(const std::vector<double>& y, int lag) {
  const int n = static_cast<int>(y.size());
  if (lag < 1 || n <= lag) return 0;
  double ss = 0;
  for (int t = lag; t < n; ++t) ss += (y[t] - y[t - lag]) * (y[t] - y[t - lag]);
  return Finite(std::sqrt(ss / (n - lag)));
}

MeanSd NaiveForecast(const std::vector<double>& y, int horizon) {
  MeanSd out;
  const double last = y.empty() ? 0 : y.back();
  const double sigma = NaiveSigma(y, 1);
  for (int h = 1; h <= horizon; ++h) {
    out.mean.push_back(last);
    out.sd.push_back(sigma * std::sqrt(static_cast<double>(h)));
  }
  return out;
}

MeanSd SeasonalNaiveForecast(const std::vector<double>& y, int m, int horizon) {
  MeanSd out;
  const int n = static_cast<int>(y.size());
  const double sigma = NaiveSigma(y, m);
  for (int h = 1; h <= horizon; ++h) {
    // The same month of the last observed cycle.
    const int t = n - m + (h - 1) % m;
    out.mean.push_back(t >= 0 ? y[t] : (n > 0 ? y.back() : 0));
    out.sd.push_back(sigma * std::sqrt(static_cast<double>((h - 1) / m + 1)));
  }
  return out;
}

PipelineRun RunPipeline(const std::vector<double>& y, int horizon,
                        const PipelineOptions& options) {
  PipelineRun run;
  const int n = static_cast<int>(y.size());
  horizon = std::max(horizon, 0);

  // Requested models plus the members their combinations need.
  std::array<bool, kModelCount> want{};
  if (options.models.empty()) {
    want.fill(true);
  } else {
    for (ModelId id : options.models) want[static_cast<int>(id)] = true;
  }
  const auto wants = [&](ModelId id) -> bool& {
    return want[static_cast<int>(id)];
  };
  if (wants(ModelId::kComb)) {
    wants(ModelId::kSes) = wants(ModelId::kHolt) = wants(ModelId::kDamped) =
        true;
  }
  if (wants(ModelId::kEnsemble)) {
    wants(ModelId::kEts) = wants(ModelId::kTheta) = wants(ModelId::kDamped) =
        true;
  }
  if (!options.fit_ets) wants(ModelId::kEts) = false;
  const bool need_ses_fit = wants(ModelId::kSes) || wants(ModelId::kThetaf);

  // ---- §3.2 steps 1-2: seasonality test, classical decomposition ----------
  const bool positive =
      std::all_of(y.begin(), y.end(), [](double v) { return v > 0; });
  run.seasonal = options.seasonal ? *options.seasonal && n >= 2 * kPeriod
                                  : SeasonalityTest(y);
  run.adjusted = y;
  if (run.seasonal) {
    // §3.2 step 5: months <= 0 make ratios meaningless; additive instead.
    run.multiplicative = positive && options.multiplicative.value_or(true);
    Decomposition d = ClassicalDecompose(y, run.multiplicative);
    run.figure = std::move(d.figure);
    run.adjusted = std::move(d.adjusted);
  }
  const std::vector<double>& x = run.adjusted;
  const Seasonaliser season(run.seasonal, run.multiplicative, &run.figure);

  const auto finish = [&](ModelId id) {
    ModelRun& m = run.model(id);
    m.available = true;
    m.parameters["seasonal"] = run.seasonal ? 1 : 0;
    m.parameters["multiplicative"] = run.multiplicative ? 1 : 0;
    m.parameters.try_emplace("fallback", 0);
    m.sigma = Finite(m.sigma);
  };

  // A constant series (or a constant deseasonalised one when no model needs
  // more) has a degenerate likelihood: flat forecasts, zero-width intervals.
  if (n == 0 || IsConstant(y)) {
    const double level = n > 0 ? y[0] : 0;
    for (ModelId id : kAllModels) {
      if (!wants(id)) continue;
      ModelRun& m = run.model(id);
      SetSymmetric({std::vector<double>(horizon, level),
                    std::vector<double>(horizon, 0.0)},
                   m);
      finish(id);
    }
    return run;
  }

  // ---- Naive, sNaive and the mean on the raw series (§3.4) ---------------
  if (wants(ModelId::kNaive)) {
    ModelRun& m = run.model(ModelId::kNaive);
    SetSymmetric(NaiveForecast(y, horizon), m);
    m.sigma = NaiveSigma(y, 1);
    finish(ModelId::kNaive);
  }
  if (wants(ModelId::kSNaive) && n > kPeriod) {
    ModelRun& m = run.model(ModelId::kSNaive);
    SetSymmetric(SeasonalNaiveForecast(y, kPeriod, horizon), m);
    m.sigma = NaiveSigma(y, kPeriod);
    finish(ModelId::kSNaive);
  }
  if (wants(ModelId::kMean)) {
    // Textbook mean forecast: ȳ ± t_{n−1}·s·√(1 + 1/n), s the sample SD.
    ModelRun& m = run.model(ModelId::kMean);
    double mean = 0;
    for (double v : y) mean += v / n;
    double ss = 0;
    for (double v : y) ss += (v - mean) * (v - mean);
    const double s = n > 1 ? std::sqrt(ss / (n - 1)) : 0;
    const double sd = s * std::sqrt(1 + 1.0 / n);
    SetSymmetric(
        {std::vector<double>(horizon, mean), std::vector<double>(horizon, sd)},
        m, StudentT(kZ80, n - 1), StudentT(kZ95, n - 1));
    m.sigma = Finite(std::sqrt(ss / n));
    finish(ModelId::kMean);
  }

  // ---- §3.2 step 3: models of the deseasonalised series ------------------
  const bool x_constant = IsConstant(x);
  // The naive forecast of x, re-seasonalised: Naive2 and every fallback.
  const auto naive_on_x = [&](ModelRun& m, bool fallback) {
    SetSymmetric(NaiveForecast(x, horizon), m);
    season.Apply(n, m);
    m.sigma = RmsError(y, season.InSample(NaiveFitted(x, 1)), 1);
    if (fallback) m.parameters["fallback"] = 1;
  };
  if (wants(ModelId::kNaive2)) {
    naive_on_x(run.model(ModelId::kNaive2), false);
    finish(ModelId::kNaive2);
  }

  // ETS(A,*,N) by maximum likelihood on x; nullopt when x is constant or the
  // fit fails (the caller then falls back to naive).
  const auto fit_x = [&](const std::vector<double>& series,
                         EtsTrend trend) -> std::optional<EtsFit> {
    if (IsConstant(series)) return std::nullopt;
    EtsSpec spec;
    spec.error = EtsError::kAdditive;
    spec.trend = trend;
    spec.season = EtsSeason::kNone;
    absl::StatusOr<EtsFit> fit = FitEts(series, spec);
    if (!fit.ok()) return std::nullopt;
    return *std::move(fit);
  };
  const auto smoothing_model = [&](ModelId id, EtsTrend trend,
                                   std::optional<EtsFit>* keep) {
    ModelRun& m = run.model(id);
    std::optional<EtsFit> fit = x_constant ? std::nullopt : fit_x(x, trend);
    if (!fit || !SetFromEts(ForecastEts(*fit, horizon), horizon, m)) {
      naive_on_x(m, true);
      fit.reset();
    } else {
      season.Apply(n, m);
      m.sigma = RmsError(y, season.InSample(fit->fitted), 0);
      PutEtsParameters(*fit, false, m);
    }
    finish(id);
    if (keep != nullptr) *keep = std::move(fit);
  };
  std::optional<EtsFit> ses_fit;
  if (need_ses_fit) smoothing_model(ModelId::kSes, EtsTrend::kNone, &ses_fit);
  if (wants(ModelId::kHolt)) {
    smoothing_model(ModelId::kHolt, EtsTrend::kAdditive, nullptr);
  }
  if (wants(ModelId::kDamped)) {
    smoothing_model(ModelId::kDamped, EtsTrend::kDamped, nullptr);
  }

  if (wants(ModelId::kThetaf)) {
    ModelRun& m = run.model(ModelId::kThetaf);
    if (!ses_fit) {
      naive_on_x(m, true);
    } else {
      SetSymmetric(ThetafForecast(x, *ses_fit, horizon), m);
      season.Apply(n, m);
      // In-sample: the closed form applied to the first t values,
      // SES fitted_t + (b/2)(1 − (1 − α)^t)/α.
      const double alpha = std::max(ses_fit->params.alpha, 1e-10);
      const double drift = FitOlsLine(x).slope / 2;
      std::vector<double> fitted(n);
      for (int t = 0; t < n; ++t) {
        fitted[t] =
            ses_fit->fitted[t] + drift * (1 - std::pow(1 - alpha, t)) / alpha;
      }
      m.sigma = RmsError(y, season.InSample(fitted), 0);
      m.parameters["alpha"] = ses_fit->params.alpha;
      m.parameters["drift"] = drift;
      m.parameters["sigma2"] = ses_fit->sigma2;
    }
    finish(ModelId::kThetaf);
  }

  if (wants(ModelId::kTheta)) {
    // M4 Theta classic on x: L_t = a + b·t (t = 1..n), Z = 2x − L, SES on Z,
    // forecast ½·SES(Z) + ½·L, truncated at 0.
    ModelRun& m = run.model(ModelId::kTheta);
    const OlsLine line = FitOlsLine(x);
    std::vector<double> z(n);
    for (int t = 0; t < n; ++t) z[t] = 2 * x[t] - line.At(t + 1);
    std::optional<EtsFit> fit = fit_x(z, EtsTrend::kNone);
    if (!fit) {
      naive_on_x(m, true);
    } else {
      const double alpha = fit->params.alpha;
      const double sigma_z = std::sqrt(std::max(0.0, fit->sigma2));
      MeanSd f;
      for (int h = 1; h <= horizon; ++h) {
        f.mean.push_back(0.5 * fit->level + 0.5 * line.At(n + h));
        f.sd.push_back(0.5 * sigma_z * std::sqrt(1 + alpha * alpha * (h - 1)));
      }
      SetSymmetric(f, m);
      season.Apply(n, m);
      std::vector<double> fitted(n);
      for (int t = 0; t < n; ++t) {
        fitted[t] = 0.5 * fit->fitted[t] + 0.5 * line.At(t + 1);
      }
      m.sigma = RmsError(y, season.InSample(fitted), 0);
      m.parameters["alpha"] = alpha;
      m.parameters["level0"] = fit->params.level0;
      m.parameters["sigma2"] = fit->sigma2;
    }
    m.parameters["line_intercept"] = line.intercept;
    m.parameters["line_slope"] = line.slope;
    for (std::vector<double>* v :
         {&m.mean, &m.lower80, &m.upper80, &m.lower95, &m.upper95}) {
      for (double& value : *v) value = std::max(0.0, value);
    }
    finish(ModelId::kTheta);
  }

  if (wants(ModelId::kComb)) {
    ModelRun& m = run.model(ModelId::kComb);
    Combine({&run.model(ModelId::kSes), &run.model(ModelId::kHolt),
             &run.model(ModelId::kDamped)},
            /*median=*/false, m);
    m.sigma =
        (run.model(ModelId::kSes).sigma + run.model(ModelId::kHolt).sigma +
         run.model(ModelId::kDamped).sigma) /
        3;
    finish(ModelId::kComb);
  }

  // ---- §3.2 step 4: auto-ETS on the raw series ----------------------------
  if (wants(ModelId::kEts)) {
    absl::StatusOr<EtsFit> fit = absl::UnknownError("not fitted");
    if (options.ets_spec) {
      EtsFitOptions fit_options;
      if (options.ets_max_evaluations > 0) {
        fit_options.max_evaluations = options.ets_max_evaluations;
      }
      if (options.ets_start) fit_options.start = &*options.ets_start;
      fit = FitEts(y, *options.ets_spec, fit_options);
    } else {
      AutoEtsOptions auto_options;
      // §3.2 step 5: below two full years, non-seasonal models only.
      auto_options.period = n >= 2 * kPeriod ? kPeriod : 1;
      auto_options.allow_multiplicative = positive;
      fit = AutoEts(y, auto_options);
    }
    ModelRun& m = run.model(ModelId::kEts);
    if (fit.ok() && SetFromEts(ForecastEts(*fit, horizon), horizon, m)) {
      m.sigma = RmsError(y, fit->fitted, 0);
      PutEtsParameters(*fit, true, m);
      finish(ModelId::kEts);
      run.ets = *std::move(fit);
    }
  }

  if (wants(ModelId::kEnsemble)) {
    std::vector<const ModelRun*> members;
    for (ModelId id : {ModelId::kEts, ModelId::kTheta, ModelId::kDamped}) {
      if (run.model(id).available) members.push_back(&run.model(id));
    }
    ModelRun& m = run.model(ModelId::kEnsemble);
    Combine(members, /*median=*/true, m);
    double sigma = 0;
    for (const ModelRun* member : members) sigma += member->sigma;
    m.sigma = sigma / static_cast<double>(members.size());
    m.parameters["members"] = static_cast<double>(members.size());
    finish(ModelId::kEnsemble);
  }
  return run;
}

}  // namespace goodbuy::analysis
