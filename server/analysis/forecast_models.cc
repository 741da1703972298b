#include "server/analysis/forecast_models.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "server/analysis/seasonal.h"

namespace goodbuy::analysis {
namespace {

constexpr double kMinParam = 1e-4;
constexpr double kMaxParam = 0.9999;

double Finite(double x) { return std::isfinite(x) ? x : 0.0; }

// Golden-section search for the minimum of f on [lo, hi].
double GoldenSection(const std::function<double(double)>& f, double lo,
                     double hi, int iterations = 40) {
  const double ratio = (std::sqrt(5.0) - 1) / 2;
  double a = lo, b = hi;
  double c = b - ratio * (b - a), d = a + ratio * (b - a);
  double fc = f(c), fd = f(d);
  for (int i = 0; i < iterations && b - a > 1e-9; ++i) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - ratio * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + ratio * (b - a);
      fd = f(d);
    }
  }
  return fc <= fd ? c : d;
}

// SSE as the objective; non-finite (divergent) fits lose.
double Objective(const SmoothingFit& fit) {
  return std::isfinite(fit.sse) ? fit.sse : 1e300;
}

double RmsResiduals(const std::vector<double>& x,
                    const std::vector<double>& fitted) {
  if (x.size() < 2) return 0;
  double ss = 0;
  for (size_t t = 1; t < x.size(); ++t) {
    const double e = x[t] - fitted[t];
    ss += e * e;
  }
  return Finite(std::sqrt(ss / static_cast<double>(x.size() - 1)));
}

}  // namespace

double SmoothingFit::Forecast(int h) const {
  double damp = 0, power = 1;
  for (int j = 1; j <= h; ++j) {
    power *= phi;
    damp += power;
  }
  return level + damp * trend;
}

SmoothingFit FitSmoothing(const std::vector<double>& x, double alpha,
                          double beta, double phi, bool trended,
                          std::optional<InitialStates> init) {
  SmoothingFit fit;
  fit.alpha = alpha;
  fit.beta = trended ? beta : 0;
  fit.phi = trended ? phi : 1;
  const size_t n = x.size();
  if (n == 0) return fit;
  double level = init ? init->level : x[0];
  double trend = 0;
  if (trended) trend = init ? init->trend : (n > 1 ? x[1] - x[0] : 0.0);
  fit.fitted.resize(n);
  for (size_t t = 0; t < n; ++t) {
    const double prediction = level + fit.phi * trend;
    fit.fitted[t] = prediction;
    const double e = x[t] - prediction;
    fit.sse += e * e;
    const double new_level = alpha * x[t] + (1 - alpha) * prediction;
    if (trended) {
      trend = fit.beta * (new_level - level) + (1 - fit.beta) * fit.phi * trend;
    }
    level = new_level;
  }
  fit.level = level;
  fit.trend = trend;
  return fit;
}

SmoothingFit OptimizeSes(const std::vector<double>& x) {
  const auto sse = [&](double a) {
    return Objective(FitSmoothing(x, a, 0, 1, false));
  };
  double best = 0.5, best_sse = 1e301;
  for (int i = 1; i <= 49; ++i) {
    const double a = i * 0.02;
    const double s = sse(a);
    if (s < best_sse) {
      best_sse = s;
      best = a;
    }
  }
  const double alpha = GoldenSection(sse, std::max(kMinParam, best - 0.02),
                                     std::min(kMaxParam, best + 0.02));
  const double chosen = sse(alpha) <= best_sse ? alpha : best;
  return FitSmoothing(x, chosen, 0, 1, false);
}

SmoothingFit OptimizeHolt(const std::vector<double>& x, double phi) {
  const auto sse = [&](double a, double b) {
    return Objective(FitSmoothing(x, a, b, phi, true));
  };
  double best_a = 0.5, best_b = 0.1, best_sse = 1e301;
  for (int i = 0; i < 10; ++i) {
    for (int j = 0; j < 10; ++j) {
      const double a = 0.05 + 0.1 * i, b = 0.05 + 0.1 * j;
      const double s = sse(a, b);
      if (s < best_sse) {
        best_sse = s;
        best_a = a;
        best_b = b;
      }
    }
  }
  // Coordinate-wise refinement around the grid point.
  double width = 0.1;
  for (int round = 0; round < 3; ++round) {
    const double a = GoldenSection([&](double v) { return sse(v, best_b); },
                                   std::max(kMinParam, best_a - width),
                                   std::min(kMaxParam, best_a + width), 25);
    if (const double s = sse(a, best_b); s < best_sse) {
      best_sse = s;
      best_a = a;
    }
    const double b = GoldenSection([&](double v) { return sse(best_a, v); },
                                   std::max(kMinParam, best_b - width),
                                   std::min(kMaxParam, best_b + width), 25);
    if (const double s = sse(best_a, b); s < best_sse) {
      best_sse = s;
      best_b = b;
    }
    width /= 2;
  }
  return FitSmoothing(x, best_a, best_b, phi, true);
}

double OlsSlope(const std::vector<double>& x) {
  const int n = static_cast<int>(x.size());
  if (n < 2) return 0;
  const double tm = (n - 1) / 2.0;
  double mean = 0;
  for (double v : x) mean += v;
  mean /= n;
  double sxy = 0, sxx = 0;
  for (int t = 0; t < n; ++t) {
    sxy += (t - tm) * (x[t] - mean);
    sxx += (t - tm) * (t - tm);
  }
  return Finite(sxy / sxx);
}

std::vector<double> ThetaForecast(const std::vector<double>& x,
                                  const SmoothingFit& ses, int horizon) {
  const double drift = OlsSlope(x) / 2;
  const double a = std::max(ses.alpha, kMinParam);
  const double n = static_cast<double>(x.size());
  const double tail = (1 - std::pow(1 - a, n)) / a;
  std::vector<double> out;
  for (int h = 1; h <= horizon; ++h) {
    out.push_back(Finite(ses.Forecast(h) + drift * ((h - 1) + tail)));
  }
  return out;
}

std::vector<double> ThetaFitted(const std::vector<double>& x,
                                const SmoothingFit& ses) {
  const double drift = OlsSlope(x) / 2;
  const double a = std::max(ses.alpha, kMinParam);
  std::vector<double> out(x.size());
  for (size_t t = 0; t < x.size() && t < ses.fitted.size(); ++t) {
    const double tail = (1 - std::pow(1 - a, static_cast<double>(t))) / a;
    out[t] = Finite(ses.fitted[t] + drift * tail);
  }
  return out;
}

const char* ModelName(ModelId id) {
  switch (id) {
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
    case ModelId::kComb:
      return "comb";
  }
  return "unknown";
}

PipelineRun RunPipeline(const std::vector<double>& y, int horizon,
                        const PipelineOptions& options) {
  PipelineRun run;
  const int n = static_cast<int>(y.size());
  std::vector<double> x = y;
  const bool seasonal = options.seasonal
                            ? *options.seasonal && n >= 2 * kMonthsPerYear
                            : SeasonalityTest(y);
  if (seasonal) {
    run.seasonal = true;
    const bool positive =
        std::all_of(y.begin(), y.end(), [](double v) { return v > 0; });
    run.multiplicative = positive && options.multiplicative.value_or(true);
    Decomposition d = ClassicalDecompose(y, run.multiplicative);
    run.figure = d.figure;
    x = std::move(d.adjusted);
  }
  // Value at absolute position t (t >= n for forecasts) from a deseasonalised
  // value; the figure is indexed from y[0].
  const auto reseasonalise_at = [&](int t, double value) {
    if (!run.seasonal) return value;
    const double s = run.figure[t % run.figure.size()];
    return run.multiplicative ? value * s : value + s;
  };
  const auto reseasonalise = [&](int h, double value) {
    return reseasonalise_at(n + h - 1, value);
  };
  // RMS one-step error of a deseasonalised fit, on the original scale.
  const auto sigma_of = [&](const std::vector<double>& fitted) {
    std::vector<double> original(fitted.size());
    for (int t = 0; t < n; ++t) original[t] = reseasonalise_at(t, fitted[t]);
    return RmsResiduals(y, original);
  };

  const SmoothingFit ses = OptimizeSes(x);
  const SmoothingFit holt = OptimizeHolt(x, 1.0);
  const SmoothingFit damped = OptimizeHolt(x, kDampedPhi);
  const std::vector<double> theta = ThetaForecast(x, ses, horizon);

  std::vector<double> naive_fitted(x.size());
  for (int t = 0; t < n; ++t) naive_fitted[t] = t > 0 ? x[t - 1] : x[0];
  std::vector<double> comb_fitted(x.size());
  for (int t = 0; t < n; ++t) {
    comb_fitted[t] = (ses.fitted[t] + holt.fitted[t] + damped.fitted[t]) / 3;
  }
  const std::vector<double> theta_fitted = ThetaFitted(x, ses);

  for (ModelId id : kAllModels) {
    ModelRun& m = run.models[static_cast<int>(id)];
    for (int h = 1; h <= horizon; ++h) {
      double f = 0;
      switch (id) {
        case ModelId::kNaive2:
          f = n > 0 ? x.back() : 0;
          break;
        case ModelId::kSes:
          f = ses.Forecast(h);
          break;
        case ModelId::kHolt:
          f = holt.Forecast(h);
          break;
        case ModelId::kDamped:
          f = damped.Forecast(h);
          break;
        case ModelId::kTheta:
          f = theta[h - 1];
          break;
        case ModelId::kComb:
          f = (ses.Forecast(h) + holt.Forecast(h) + damped.Forecast(h)) / 3;
          break;
      }
      m.mean.push_back(Finite(reseasonalise(h, f)));
    }
  }
  auto& naive2 = run.models[static_cast<int>(ModelId::kNaive2)];
  naive2.sigma = sigma_of(naive_fitted);
  auto& ses_run = run.models[static_cast<int>(ModelId::kSes)];
  ses_run.sigma = sigma_of(ses.fitted);
  ses_run.parameters = {{"alpha", ses.alpha}};
  auto& holt_run = run.models[static_cast<int>(ModelId::kHolt)];
  holt_run.sigma = sigma_of(holt.fitted);
  holt_run.parameters = {{"alpha", holt.alpha}, {"beta", holt.beta}};
  auto& damped_run = run.models[static_cast<int>(ModelId::kDamped)];
  damped_run.sigma = sigma_of(damped.fitted);
  damped_run.parameters = {
      {"alpha", damped.alpha}, {"beta", damped.beta}, {"phi", damped.phi}};
  auto& theta_run = run.models[static_cast<int>(ModelId::kTheta)];
  theta_run.sigma = sigma_of(theta_fitted);
  theta_run.parameters = {{"alpha", ses.alpha}, {"drift", OlsSlope(x) / 2}};
  auto& comb_run = run.models[static_cast<int>(ModelId::kComb)];
  comb_run.sigma = sigma_of(comb_fitted);
  for (auto& m : run.models) {
    m.parameters["seasonal"] = run.seasonal ? 1 : 0;
    m.parameters["multiplicative"] = run.multiplicative ? 1 : 0;
  }
  return run;
}

}  // namespace goodbuy::analysis
