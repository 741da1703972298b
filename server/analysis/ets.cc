// Implementation notes.
//
// Recursions. With q_t = ℓ_{t−1} + φ_b b_{t−1} (φ_b = 0, 1 or φ for an N, A
// or Ad trend) and p_t the seasonally adjusted observation (y_t, y_t − s_{t−m}
// or y_t / s_{t−m}), the state equations in component form are
//   ŷ_t = q_t, q_t + s_{t−m} or q_t·s_{t−m}
//   ℓ_t = q_t + α(p_t − q_t),   b_t = φ_b b_{t−1} + β(p_t − q_t)
//   s_t = s_{t−m} + γ(y_t − q_t − s_{t−m})  or  s_{t−m} + γ(y_t/q_t − s_{t−m})
// which is the error-correction form of Hyndman et al. (2008) with β, γ the
// state-space parameters; the error type only changes the likelihood. The
// loop below expands ℓ_t and b_t as linear maps of (ℓ_{t−1}, b_{t−1}) so
// that their dependency chain is short, and keeps the seasonal states in a
// ring buffer: an evaluation allocates nothing.
//
// Estimation maximises R's concentrated likelihood over a box: β and γ are
// reparametrised as β = L + (α − L)·b*, γ = L + (1 − α − L)·g* with b*, g*
// in [0, 1], which turns R's "usual" bounds (β ≤ α, γ ≤ 1 − α) into box
// bounds; the remaining admissibility conditions (Hyndman et al. 2008
// ch. 10, as R 8.20 applies them) and non-positive multiplicative states
// return a penalty. A seasonal fit runs in two phases: (1) smoothing
// parameters and ℓ0/b0 with the seasonal states held at the start, from
// R's heuristic start and from a near-zero-γ start whose seasonal states
// come from the whole series (the likelihood often has one mode of each
// kind; AirPassengers MAdM and MAM have their best optimum at γ ≈ 1e-4,
// which R's single start misses for MAM); (2) everything free, from each
// phase-1 point, restarting Subplex while it improves. AutoEts runs phase 1
// for all specs and phase 2 only for the best few.
#include "server/analysis/ets.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/analysis/optimizer.h"

namespace goodbuy::analysis {
namespace {

constexpr double kSmoothLower = 1e-4;
constexpr double kSmoothUpper = 0.9999;
constexpr double kPhiLower = 0.8;
constexpr double kPhiUpper = 0.98;
constexpr int kMaxSeasonalPeriod = 24;  // R's ets refuses higher frequencies
// qnorm(0.9) and qnorm(0.975).
constexpr double kQuantile80 = 1.2815515655446004;
constexpr double kQuantile95 = 1.959963984540054;
// A multiplicative-error forecast outside (kTiny, kHuge) makes the
// likelihood meaningless; such a point is rejected.
constexpr double kTinyForecast = 1e-100;
constexpr double kHugeForecast = 1e100;
constexpr double kMinSse = 1e-300;

struct Smoothing {
  double alpha = 0;
  double beta = 0;
  double gamma = 0;
  double phi = 1;
};

struct RecursionResult {
  bool ok = false;
  double sse = 0;
  double log_forecast_sum = 0;  // Σ log ŷ_t (multiplicative error only)
  double level = 0;
  double trend = 0;
  int pos = 0;  // ring index of the oldest seasonal state after the run
};

// Runs the recursions over y[0..n). `ring` holds the m seasonal states in
// chronological order (ring[0] = s_{1−m}, the state the first observation
// uses; ring[m−1] = s_0) and is updated in place. `fitted` and `resid` may
// be null.
template <EtsError E, EtsTrend T, EtsSeason S>
RecursionResult Recurse(const double* y, int n, int m, const Smoothing& c,
                        double level, double trend, double* ring,
                        double* fitted, double* resid) {
  RecursionResult out;
  // The component form ℓ_t = q_t + α(p_t − q_t), b_t = φ_b b + β(p_t − q_t)
  // with p_t the seasonally adjusted observation, expanded so that the
  // (ℓ, b) dependency chain is one multiply-add deep.
  const double phi_b = T == EtsTrend::kNone     ? 0.0
                       : T == EtsTrend::kDamped ? c.phi
                                                : 1.0;
  const double a1 = 1 - c.alpha;
  const double ll = a1, lb = a1 * phi_b;                 // ℓ_t from ℓ, b
  const double bl = -c.beta, bb = phi_b * (1 - c.beta);  // b_t from ℓ, b
  const double g1 = 1 - c.gamma;
  double sse = 0;
  double product = 1;  // running product of ŷ, renormalised by frexp
  int exponent = 0;
  int pos = 0;
  if (T == EtsTrend::kNone) trend = 0;
  for (int t = 0; t < n; ++t) {
    const double yt = y[t];
    const double q = level + phi_b * trend;
    const double so = S == EtsSeason::kNone ? 0.0 : ring[pos];
    double yhat = q;
    double p = yt;
    double inv_q = 0;
    if (S == EtsSeason::kAdditive) {
      yhat = q + so;
      p = yt - so;
    } else if (S == EtsSeason::kMultiplicative) {
      if (!(std::abs(so) > kTinyForecast && std::abs(q) > kTinyForecast)) {
        return out;
      }
      yhat = q * so;
      p = yt / so;
      inv_q = 1 / q;
    }
    double e = yt - yhat;
    if (E == EtsError::kMultiplicative) {
      if (!(yhat > kTinyForecast && yhat < kHugeForecast)) return out;
      e = S == EtsSeason::kMultiplicative ? p * inv_q - 1 : yt / yhat - 1;
      product *= yhat;
      if (product > 1e200 || product < 1e-200) {
        int ex = 0;
        product = std::frexp(product, &ex);
        exponent += ex;
      }
    }
    sse += e * e;
    if (fitted != nullptr) fitted[t] = yhat;
    if (resid != nullptr) resid[t] = e;
    const double new_level = ll * level + lb * trend + c.alpha * p;
    if (T != EtsTrend::kNone) trend = bl * level + bb * trend + c.beta * p;
    level = new_level;
    if (S == EtsSeason::kAdditive) {
      ring[pos] = g1 * so + c.gamma * (yt - q);
    } else if (S == EtsSeason::kMultiplicative) {
      ring[pos] = g1 * so + c.gamma * yt * inv_q;
    }
    if (S != EtsSeason::kNone && ++pos == m) pos = 0;
  }
  if (!(sse < std::numeric_limits<double>::infinity()) ||
      !std::isfinite(level) || !std::isfinite(trend)) {
    return out;
  }
  out.ok = true;
  out.sse = sse;
  out.log_forecast_sum =
      E == EtsError::kMultiplicative
          ? std::log(product) + exponent * 0.69314718055994530942
          : 0.0;
  out.level = level;
  out.trend = trend;
  out.pos = pos;
  return out;
}

using RecurseFn = RecursionResult (*)(const double*, int, int, const Smoothing&,
                                      double, double, double*, double*,
                                      double*);

template <EtsError E, EtsTrend T>
RecurseFn SelectBySeason(EtsSeason s) {
  switch (s) {
    case EtsSeason::kAdditive:
      return &Recurse<E, T, EtsSeason::kAdditive>;
    case EtsSeason::kMultiplicative:
      return &Recurse<E, T, EtsSeason::kMultiplicative>;
    case EtsSeason::kNone:
      break;
  }
  return &Recurse<E, T, EtsSeason::kNone>;
}

template <EtsError E>
RecurseFn SelectByTrend(EtsTrend t, EtsSeason s) {
  switch (t) {
    case EtsTrend::kAdditive:
      return SelectBySeason<E, EtsTrend::kAdditive>(s);
    case EtsTrend::kDamped:
      return SelectBySeason<E, EtsTrend::kDamped>(s);
    case EtsTrend::kNone:
      break;
  }
  return SelectBySeason<E, EtsTrend::kNone>(s);
}

RecurseFn SelectRecursion(const EtsSpec& spec) {
  return spec.error == EtsError::kMultiplicative
             ? SelectByTrend<EtsError::kMultiplicative>(spec.trend, spec.season)
             : SelectByTrend<EtsError::kAdditive>(spec.trend, spec.season);
}

bool HasTrend(const EtsSpec& s) { return s.trend != EtsTrend::kNone; }
bool HasSeason(const EtsSpec& s) { return s.season != EtsSeason::kNone; }
bool IsDamped(const EtsSpec& s) { return s.trend == EtsTrend::kDamped; }
int Period(const EtsSpec& s) { return HasSeason(s) ? s.period : 1; }

int NumSmoothing(const EtsSpec& s) {
  return 1 + HasTrend(s) + HasSeason(s) + IsDamped(s);
}
int NumStates(const EtsSpec& s) {
  return 1 + HasTrend(s) + (HasSeason(s) ? s.period - 1 : 0);
}
// R's "np": smoothing parameters plus free initial states (k − 1).
int NumParams(const EtsSpec& s) { return NumSmoothing(s) + NumStates(s); }

// Writes the m seasonal states in chronological order (see Recurse) from
// R's season0 (m − 1 values, most recent first); the oldest is implied.
void FillRing(const double* season0, int m, bool multiplicative, double* ring) {
  double sum = 0;
  for (int j = 0; j < m - 1; ++j) {
    ring[m - 1 - j] = season0[j];
    sum += season0[j];
  }
  ring[0] = multiplicative ? m - sum : -sum;
}

double Likelihood(const EtsSpec& spec, int n, const RecursionResult& r) {
  double lik = n * std::log(std::max(r.sse, kMinSse));
  if (spec.error == EtsError::kMultiplicative) lik += 2 * r.log_forecast_sum;
  return lik;
}

// All roots of the monic Σ c[j] z^j (degree d = size − 1, c[d] = 1) have
// modulus at most `radius`. Fast path: Σ_{j<d} |c_j| < 1 puts every root
// strictly inside the unit disc (for |z| ≥ 1, |z|^d > Σ|c_j||z|^j).
// Otherwise the Schur–Cohn test on p(radius·z), which needs no root
// finding: each step keeps a_d·p(z) − a_0·p*(z), divided by z.
bool RootsWithin(const double* c, int size, double radius) {
  int d = size - 1;
  double abs_sum = 0;
  for (int j = 0; j < d; ++j) abs_sum += std::abs(c[j]);
  if (abs_sum < 1) return true;
  std::array<double, kMaxSeasonalPeriod + 4> buf_a;
  std::array<double, kMaxSeasonalPeriod + 4> buf_b;
  double* a = buf_a.data();
  double* b = buf_b.data();
  double scale = 1;
  for (int j = 0; j <= d; ++j) {
    a[j] = c[j] * scale;
    scale *= radius;
  }
  while (d > 0) {
    const double lead = a[d];
    const double tail = a[0];
    if (!(std::abs(tail) < std::abs(lead))) return false;
    for (int j = 0; j < d; ++j) b[j] = lead * a[j + 1] - tail * a[d - 1 - j];
    --d;
    // The test is scale-free; rescale only to stay clear of under/overflow
    // (b[d] = lead² − tail² > 0), which saves a division per step.
    if (!(b[d] > 1e-100 && b[d] < 1e100)) {
      const double inv = 1 / b[d];
      for (int j = 0; j <= d; ++j) b[j] *= inv;
    }
    std::swap(a, b);
  }
  return true;
}

// R 8.20's admissibility region (bounds = "both"), from Hyndman et al.
// (2008) ch. 10. For seasonal models the characteristic polynomial
//   φ(1−α−γ) + (α+β−αφ+γ−1) z + Σ_{j=2}^{m−1} (α+β−αφ) z^j
//     + (α+β−φ) z^m + z^{m+1}
// must have its roots in the closed unit disc (tolerance 1e-10).
bool Admissible(const Smoothing& c, const EtsSpec& spec) {
  const double phi = IsDamped(spec) ? c.phi : 1.0;
  const double alpha = c.alpha;
  const double beta = HasTrend(spec) ? c.beta : 0.0;
  if (phi < 0 || phi > 1 + 1e-8) return false;
  if (!HasSeason(spec)) {
    if (alpha < 1 - 1 / phi || alpha > 1 + 1 / phi) return false;
    if (HasTrend(spec) &&
        (beta < alpha * (phi - 1) || beta > (1 + phi) * (2 - alpha))) {
      return false;
    }
    return true;
  }
  const int m = spec.period;
  const double gamma = c.gamma;
  if (gamma < std::max(1 - 1 / phi - alpha, 0.0) ||
      gamma > 1 + 1 / phi - alpha) {
    return false;
  }
  if (alpha < 1 - 1 / phi - gamma * (1 - m + phi + phi * m) / (2 * phi * m)) {
    return false;
  }
  if (beta < -(1 - phi) * (gamma / m + alpha)) return false;
  std::array<double, kMaxSeasonalPeriod + 2> poly{};
  poly[0] = phi * (1 - alpha - gamma);
  poly[1] = alpha + beta - alpha * phi + gamma - 1;
  for (int j = 2; j < m; ++j) poly[j] = alpha + beta - alpha * phi;
  poly[m] = alpha + beta - phi;
  poly[m + 1] = 1;
  return RootsWithin(poly.data(), m + 2, 1 + 1e-10);
}

absl::Status ValidateData(const std::vector<double>& y, const EtsSpec& spec) {
  if (y.empty()) return absl::InvalidArgumentError("ETS: empty series");
  for (double v : y) {
    if (!std::isfinite(v)) {
      return absl::InvalidArgumentError("ETS: non-finite observation");
    }
  }
  if (HasSeason(spec) &&
      (spec.period < 2 || spec.period > kMaxSeasonalPeriod)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ETS: seasonal period must be in [2, ", kMaxSeasonalPeriod,
                     "], got ", spec.period));
  }
  if (spec.error == EtsError::kMultiplicative ||
      spec.season == EtsSeason::kMultiplicative) {
    for (double v : y) {
      if (!(v > 0)) {
        return absl::InvalidArgumentError(
            absl::StrCat(spec.Name(), " needs strictly positive data"));
      }
    }
  }
  const int n = static_cast<int>(y.size());
  const int k = NumParams(spec) + 1;
  if (n - k - 1 <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.Name(), ": ", n, " observations are too few for ", k,
                     " parameters"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Heuristic starting values (Hyndman et al. 2008 §2.6.1, as R's ets does
// it): a classical decomposition of the first three seasons for the
// seasonal states, then a regression line through the first max(10, 2m)
// seasonally adjusted points for ℓ0 and b0.

// Seasonal figure (m values, index = position in the cycle of y[0]) from a
// classical decomposition of y[0..len): centred moving average, detrended
// ratios or differences averaged per position, normalised to mean 1 / 0.
// Needs len >= 2m so every position has a detrended value.
bool DecomposeFigure(const double* y, int len, int m, bool multiplicative,
                     std::vector<double>* figure) {
  std::vector<double> sum(m, 0.0);
  std::vector<int> count(m, 0);
  const int half = m / 2;
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
    sum[t % m] += multiplicative ? y[t] / ma : y[t] - ma;
    ++count[t % m];
  }
  figure->assign(m, 0.0);
  double mean = 0;
  for (int i = 0; i < m; ++i) {
    if (count[i] == 0) return false;
    (*figure)[i] = sum[i] / count[i];
    mean += (*figure)[i] / m;
  }
  for (double& f : *figure) {
    if (multiplicative) {
      if (!(mean > 0)) return false;
      f /= mean;
    } else {
      f -= mean;
    }
  }
  return true;
}

// Fallback for m < n < 2m (R fits Fourier terms here; this is simpler):
// deviations from an OLS line averaged per position.
void LinearFigure(const double* y, int len, int m, bool multiplicative,
                  std::vector<double>* figure) {
  double xbar = (len + 1) / 2.0;
  double ybar = 0;
  for (int t = 0; t < len; ++t) ybar += y[t] / len;
  double sxy = 0, sxx = 0;
  for (int t = 0; t < len; ++t) {
    sxy += (t + 1 - xbar) * (y[t] - ybar);
    sxx += (t + 1 - xbar) * (t + 1 - xbar);
  }
  const double slope = sxx > 0 ? sxy / sxx : 0;
  std::vector<double> sum(m, 0.0);
  std::vector<int> count(m, 0);
  bool ok = true;
  for (int t = 0; t < len; ++t) {
    const double line = ybar + slope * (t + 1 - xbar);
    if (multiplicative && !(line > 0)) ok = false;
    sum[t % m] += multiplicative ? (ok ? y[t] / line : 1.0) : y[t] - line;
    ++count[t % m];
  }
  figure->assign(m, multiplicative ? 1.0 : 0.0);
  if (!ok) return;
  double mean = 0;
  for (int i = 0; i < m; ++i) {
    (*figure)[i] = sum[i] / std::max(count[i], 1);
    mean += (*figure)[i] / m;
  }
  for (double& f : *figure) {
    if (multiplicative) {
      f = mean > 0 ? f / mean : 1.0;
    } else {
      f -= mean;
    }
  }
}

// `figure_len` is how many leading observations the decomposition uses:
// R uses 3m; the whole series gives the pattern a small γ wants.
EtsParams HeuristicStart(const std::vector<double>& y, const EtsSpec& spec,
                         int figure_len) {
  const int n = static_cast<int>(y.size());
  const int m = Period(spec);
  const bool mult_season = spec.season == EtsSeason::kMultiplicative;
  EtsParams p;
  std::vector<double> figure;
  if (HasSeason(spec)) {
    const int len = std::min(n, figure_len);
    if (!DecomposeFigure(y.data(), len, m, mult_season, &figure)) {
      LinearFigure(y.data(), n, m, mult_season, &figure);
    }
    if (mult_season) {
      for (double& f : figure) f = std::max(f, 1e-2);
    }
    // figure[i] is the state of cycle position i; time 0 is position m − 1.
    p.season0.resize(m - 1);
    for (int j = 0; j < m - 1; ++j) p.season0[j] = figure[m - 1 - j];
  }
  const int maxn = std::min(std::max(10, 2 * m), n);
  std::vector<double> sa(maxn);
  for (int t = 0; t < maxn; ++t) {
    sa[t] = !HasSeason(spec) ? y[t]
            : mult_season    ? y[t] / figure[t % m]
                             : y[t] - figure[t % m];
  }
  if (!HasTrend(spec)) {
    p.level0 = std::accumulate(sa.begin(), sa.end(), 0.0) / maxn;
  } else {
    const double xbar = (maxn + 1) / 2.0;
    const double ybar = std::accumulate(sa.begin(), sa.end(), 0.0) / maxn;
    double sxy = 0, sxx = 0;
    for (int t = 0; t < maxn; ++t) {
      sxy += (t + 1 - xbar) * (sa[t] - ybar);
      sxx += (t + 1 - xbar) * (t + 1 - xbar);
    }
    p.trend0 = sxx > 0 ? sxy / sxx : 0;
    p.level0 = ybar - p.trend0 * xbar;
  }
  // R's initparam: α a fifth of the way up its range (divided by m for
  // seasonal models), β a tenth, γ a twentieth, φ 99% of the way.
  const double width = kSmoothUpper - kSmoothLower;
  p.alpha = kSmoothLower + 0.2 * width / m;
  p.beta = kSmoothLower + 0.1 * width;
  if (p.beta > p.alpha) p.beta = std::max(kSmoothLower, p.alpha - 1e-3);
  p.gamma = kSmoothLower + 0.05 * width;
  if (p.gamma > 1 - p.alpha) {
    p.gamma = std::max(kSmoothLower, 1 - p.alpha - 1e-3);
  }
  p.phi = kPhiLower + 0.99 * (kPhiUpper - kPhiLower);
  return p;
}

// Starting points for a fit: R's heuristic and, for seasonal specs with at
// least two full seasons beyond the first, a second start near γ = 0 with
// the seasonal pattern of the whole series. The likelihood of seasonal
// models often has one mode with a large γ (initial states adapted on the
// fly) and one with a tiny γ (a stable pattern, e.g. AirPassengers MAdM);
// R's single start finds either, depending on the series.
std::vector<EtsParams> StartingPoints(const std::vector<double>& y,
                                      const EtsSpec& spec) {
  const int n = static_cast<int>(y.size());
  const int m = Period(spec);
  std::vector<EtsParams> starts = {HeuristicStart(y, spec, 3 * m)};
  if (HasSeason(spec) && n >= 4 * m) {
    EtsParams stable = HeuristicStart(y, spec, n);
    stable.alpha = 0.2;  // the level, not the season, has to adapt
    stable.beta = std::min(stable.beta, 0.1 * stable.alpha);
    stable.gamma = 1e-3;
    starts.push_back(std::move(stable));
  }
  return starts;
}

// ---------------------------------------------------------------------------
// The objective the optimiser sees.

struct Layout {
  int alpha = 0;
  int bstar = -1;
  int gstar = -1;
  int phi = -1;
  int level = -1;
  int trend = -1;
  int season = -1;  // first of m − 1 states, or −1 when they are fixed
  int size = 0;
};

Layout MakeLayout(const EtsSpec& spec, bool free_season) {
  Layout l;
  int i = 1;
  if (HasTrend(spec)) l.bstar = i++;
  if (HasSeason(spec)) l.gstar = i++;
  if (IsDamped(spec)) l.phi = i++;
  l.level = i++;
  if (HasTrend(spec)) l.trend = i++;
  if (HasSeason(spec) && free_season) {
    l.season = i;
    i += spec.period - 1;
  }
  l.size = i;
  return l;
}

Smoothing Decode(const Layout& l, const double* th) {
  Smoothing c;
  c.alpha = th[l.alpha];
  if (l.bstar >= 0) {
    c.beta = kSmoothLower + (c.alpha - kSmoothLower) * th[l.bstar];
  }
  if (l.gstar >= 0) {
    c.gamma = kSmoothLower + (1 - c.alpha - kSmoothLower) * th[l.gstar];
  }
  if (l.phi >= 0) c.phi = th[l.phi];
  return c;
}

double Unit(double v) {
  return std::isfinite(v) ? std::clamp(v, 0.0, 1.0) : 0.0;
}

std::vector<double> Encode(const Layout& l, const EtsParams& p) {
  std::vector<double> th(l.size);
  const double alpha = std::clamp(p.alpha, kSmoothLower, kSmoothUpper);
  th[l.alpha] = alpha;
  if (l.bstar >= 0) {
    const double span = alpha - kSmoothLower;
    th[l.bstar] = span > 0 ? Unit((p.beta - kSmoothLower) / span) : 0.0;
  }
  if (l.gstar >= 0) {
    const double span = 1 - alpha - kSmoothLower;
    th[l.gstar] = span > 0 ? Unit((p.gamma - kSmoothLower) / span) : 0.0;
  }
  if (l.phi >= 0) th[l.phi] = std::clamp(p.phi, kPhiLower, kPhiUpper);
  th[l.level] = p.level0;
  if (l.trend >= 0) th[l.trend] = p.trend0;
  if (l.season >= 0) {
    for (size_t j = 0; j < p.season0.size(); ++j) {
      th[l.season + j] = p.season0[j];
    }
  }
  return th;
}

class Objective {
 public:
  Objective(const std::vector<double>& y, const EtsSpec& spec,
            const Layout& layout, const std::vector<double>& fixed_season)
      : y_(y),
        spec_(spec),
        layout_(layout),
        fixed_season_(fixed_season),
        m_(Period(spec)),
        ring_(m_),
        recurse_(SelectRecursion(spec)) {}

  double operator()(const double* th) {
    const Smoothing c = Decode(layout_, th);
    if (!Admissible(c, spec_)) return kMinimizePenalty;
    const double level = th[layout_.level];
    const double trend = layout_.trend >= 0 ? th[layout_.trend] : 0.0;
    if (HasSeason(spec_)) {
      const double* s0 =
          layout_.season >= 0 ? th + layout_.season : fixed_season_.data();
      const bool mult = spec_.season == EtsSeason::kMultiplicative;
      FillRing(s0, m_, mult, ring_.data());
      if (mult) {
        for (double s : ring_) {
          if (!(s > 0)) return kMinimizePenalty;
        }
      }
    }
    const int n = static_cast<int>(y_.size());
    const RecursionResult r = recurse_(y_.data(), n, m_, c, level, trend,
                                       ring_.data(), nullptr, nullptr);
    if (!r.ok) return kMinimizePenalty;
    return std::min(Likelihood(spec_, n, r), kMinimizePenalty);
  }

 private:
  const std::vector<double>& y_;
  EtsSpec spec_;
  Layout layout_;
  const std::vector<double>& fixed_season_;
  int m_;
  std::vector<double> ring_;
  RecurseFn recurse_;
};

EtsParams DecodeParams(const Layout& l, const double* th,
                       const EtsParams& start) {
  const Smoothing c = Decode(l, th);
  EtsParams p = start;
  p.alpha = c.alpha;
  p.beta = c.beta;
  p.gamma = c.gamma;
  p.phi = l.phi >= 0 ? c.phi : 1.0;
  p.level0 = th[l.level];
  p.trend0 = l.trend >= 0 ? th[l.trend] : 0.0;
  if (l.season >= 0) {
    for (size_t j = 0; j < p.season0.size(); ++j) {
      p.season0[j] = th[l.season + j];
    }
  }
  return p;
}

struct OptimizeOutcome {
  EtsParams params;
  double lik = 0;
  int evaluations = 0;
};

// Scale of the data for the initial simplex of the state coordinates.
double DataScale(const std::vector<double>& y) {
  const int len = std::min<int>(static_cast<int>(y.size()), 24);
  double mean = 0;
  for (int t = 0; t < len; ++t) mean += std::abs(y[t]) / len;
  double var = 0;
  for (int t = 0; t < len; ++t) var += (y[t] - mean) * (y[t] - mean) / len;
  return std::max({std::sqrt(var), 1e-3 * mean, 1e-8});
}

absl::StatusOr<OptimizeOutcome> Optimize(const std::vector<double>& y,
                                         const EtsSpec& spec,
                                         const EtsParams& start,
                                         bool free_season,
                                         int max_evaluations) {
  const Layout layout = MakeLayout(spec, free_season);
  std::vector<double> x0 = Encode(layout, start);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> lower(layout.size, -kInf), upper(layout.size, kInf);
  std::vector<double> step(layout.size, 0.0);
  const double scale = DataScale(y);
  lower[layout.alpha] = kSmoothLower;
  upper[layout.alpha] = kSmoothUpper;
  step[layout.alpha] = 0.1;
  for (int i : {layout.bstar, layout.gstar}) {
    if (i < 0) continue;
    lower[i] = 0;
    upper[i] = 1;
    step[i] = 0.1;
  }
  if (layout.phi >= 0) {
    lower[layout.phi] = kPhiLower;
    upper[layout.phi] = kPhiUpper;
    step[layout.phi] = 0.02;
  }
  step[layout.level] = 0.1 * scale;
  if (layout.trend >= 0) step[layout.trend] = 0.01 * scale;
  if (layout.season >= 0) {
    const bool mult = spec.season == EtsSeason::kMultiplicative;
    for (int j = 0; j < spec.period - 1; ++j) {
      step[layout.season + j] = mult ? 0.02 : 0.05 * scale;
      if (mult) lower[layout.season + j] = 0;
    }
  }
  MinimizeOptions mo;
  // Subplex (Nelder–Mead on subspaces) needed fewer evaluations than plain
  // Nelder–Mead for the same likelihood on AirPassengers and on synthetic
  // monthly series, in both phases.
  mo.algorithm = OptimizerAlgorithm::kSubplex;
  mo.max_evaluations = max_evaluations;
  mo.ftol_rel = free_season ? 1e-10 : 1e-7;
  mo.ftol_abs = 1e-10;
  mo.initial_step = step;
  Objective objective(y, spec, layout, start.season0);
  auto result =
      Minimize([&objective](const double* th) { return objective(th); }, x0,
               lower, upper, mo);
  if (!result.ok()) return result.status();
  if (!(result->value < kMinimizePenalty)) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.Name(), ": no admissible parameters found"));
  }
  OptimizeOutcome out;
  out.params = DecodeParams(layout, result->x.data(), start);
  out.lik = result->value;
  out.evaluations = result->evaluations;
  return out;
}

double AiccOf(const EtsSpec& spec, int n, double lik) {
  const int k = NumParams(spec) + 1;
  return lik + 2.0 * k + 2.0 * k * (k + 1) / (n - k - 1);
}

// ---------------------------------------------------------------------------
// Forecast variances.

// c_j = α + β·φ_j + γ·1{j mod m = 0}, φ_j = φ + … + φ^j (j for an
// undamped trend), j = 1..h−1: the weights of Hyndman et al. (2008) ch. 6.
std::vector<double> ImpulseWeights(const EtsFit& fit, int horizon) {
  const EtsSpec& s = fit.spec;
  const double phi = IsDamped(s) ? fit.params.phi : 1.0;
  std::vector<double> c(std::max(horizon, 1), 0.0);
  double phisum = 0;
  double phipow = 1;
  for (int j = 1; j < horizon; ++j) {
    phipow *= phi;
    phisum += phipow;
    double cj = fit.params.alpha;
    if (HasTrend(s)) cj += fit.params.beta * phisum;
    if (HasSeason(s) && j % s.period == 0) cj += fit.params.gamma;
    c[j] = cj;
  }
  return c;
}

// Class 1 (additive error, linear): Var_h = σ²(1 + Σ_{j<h} c_j²).
std::vector<double> Class1Variance(const EtsFit& fit, int horizon) {
  const std::vector<double> c = ImpulseWeights(fit, horizon);
  std::vector<double> var(horizon);
  double acc = 1;
  for (int h = 1; h <= horizon; ++h) {
    if (h > 1) acc += c[h - 1] * c[h - 1];
    var[h - 1] = fit.sigma2 * acc;
  }
  return var;
}

// Class 2 (multiplicative error, linear state): θ_1 = μ_1²,
// θ_h = μ_h² + σ² Σ_{j=1}^{h−1} c_j² θ_{h−j}, Var_h = (1+σ²)θ_h − μ_h².
std::vector<double> Class2Variance(const EtsFit& fit,
                                   const std::vector<double>& mean,
                                   int horizon) {
  const std::vector<double> c = ImpulseWeights(fit, horizon);
  const double s2 = fit.sigma2;
  std::vector<double> theta(horizon), var(horizon);
  for (int h = 1; h <= horizon; ++h) {
    double th = mean[h - 1] * mean[h - 1];
    for (int j = 1; j < h; ++j) th += s2 * c[j] * c[j] * theta[h - 1 - j];
    theta[h - 1] = th;
    var[h - 1] = (1 + s2) * th - mean[h - 1] * mean[h - 1];
  }
  return var;
}

// Class 3 (multiplicative error and season): y_{n+h} = u_h·S_h·(1+ε), with
// u_h = w'x_{n+h−1} the level/trend part (x_t = (F + ε_t G) x_{t−1}) and
// S_h the seasonal state, which picks up a factor (1+γε_j) at each earlier
// use j = h−m, h−2m, … ≥ 1. Both are driven by the same ε, so the exact
// Gaussian moments E[y], E[y²] come from propagating x x' (and x) with the
// seasonal factors folded in as tilts: at a step j where the season is hit
// E[(1+γε)²] = 1+γ²σ², E[(1+γε)² ε] = 2γσ², E[(1+γε)² ε²] = σ²+3γ²σ⁴.
std::vector<double> Class3Variance(const EtsFit& fit, int horizon) {
  const EtsSpec& s = fit.spec;
  const int m = s.period;
  const double s2 = fit.sigma2;
  const double a = fit.params.alpha;
  const double b = HasTrend(s) ? fit.params.beta : 0.0;
  const double g = fit.params.gamma;
  const double phi = IsDamped(s) ? fit.params.phi : (HasTrend(s) ? 1.0 : 0.0);
  // x = (ℓ, b); F = [[1, φ], [0, φ]], w = (1, φ), G = (α, β)' w'.
  using M2 = std::array<double, 4>;  // row-major 2x2
  const M2 f = {1, phi, 0, phi};
  const M2 gm = {a, a * phi, b, b * phi};
  auto mul = [](const M2& x, const M2& y) {
    return M2{x[0] * y[0] + x[1] * y[2], x[0] * y[1] + x[1] * y[3],
              x[2] * y[0] + x[3] * y[2], x[2] * y[1] + x[3] * y[3]};
  };
  auto transpose = [](const M2& x) { return M2{x[0], x[2], x[1], x[3]}; };
  const M2 ft = transpose(f), gt = transpose(gm);
  const double x0[2] = {fit.level, HasTrend(s) ? fit.trend : 0.0};
  std::vector<double> var(horizon);
  for (int h = 1; h <= horizon; ++h) {
    const double season = fit.season[m - 1 - (h - 1) % m];
    double mv[2] = {x0[0], x0[1]};
    M2 q = {x0[0] * x0[0], x0[0] * x0[1], x0[1] * x0[0], x0[1] * x0[1]};
    for (int j = 1; j < h; ++j) {
      const bool hit = (h - j) % m == 0;
      const double e0 = hit ? 1 + g * g * s2 : 1.0;
      const double e1 = hit ? 2 * g * s2 : 0.0;
      const double e2 = hit ? s2 + 3 * g * g * s2 * s2 : s2;
      const double m1 = hit ? g * s2 : 0.0;  // E[(1+γε)ε]
      const double nv0 =
          f[0] * mv[0] + f[1] * mv[1] + m1 * (gm[0] * mv[0] + gm[1] * mv[1]);
      const double nv1 =
          f[2] * mv[0] + f[3] * mv[1] + m1 * (gm[2] * mv[0] + gm[3] * mv[1]);
      mv[0] = nv0;
      mv[1] = nv1;
      const M2 fqf = mul(mul(f, q), ft);
      const M2 fqg = mul(mul(f, q), gt);
      const M2 gqf = mul(mul(gm, q), ft);
      const M2 gqg = mul(mul(gm, q), gt);
      for (int i = 0; i < 4; ++i) {
        q[i] = e0 * fqf[i] + e1 * (fqg[i] + gqf[i]) + e2 * gqg[i];
      }
    }
    const double w0 = 1, w1 = phi;
    const double mean = season * (w0 * mv[0] + w1 * mv[1]);
    const double second =
        (1 + s2) * season * season *
        (w0 * w0 * q[0] + w0 * w1 * (q[1] + q[2]) + w1 * w1 * q[3]);
    var[h - 1] = second - mean * mean;
  }
  return var;
}

// Additive error with a multiplicative season has no closed form: quantiles
// of 2000 simulated paths from a fixed-seed generator (deterministic).
void SimulatedIntervals(const EtsFit& fit, int horizon, EtsForecast* out) {
  constexpr int kPaths = 2000;
  const EtsSpec& s = fit.spec;
  const int m = Period(s);
  const double sigma = std::sqrt(std::max(fit.sigma2, 0.0));
  const double phi = IsDamped(s) ? fit.params.phi : 1.0;
  std::vector<double> draws(static_cast<size_t>(kPaths) * horizon);
  std::vector<double> ring(m);
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto uniform = [&state]() {
    state ^= state >> 12;  // xorshift64*
    state ^= state << 25;
    state ^= state >> 27;
    const uint64_t v = state * 0x2545F4914F6CDD1DULL;
    return (static_cast<double>(v >> 11) + 0.5) * 0x1.0p-53;
  };
  for (int p = 0; p < kPaths; ++p) {
    double level = fit.level;
    double trend = HasTrend(s) ? fit.trend : 0.0;
    for (int j = 0; j < m; ++j) ring[j] = fit.season[m - 1 - j];
    int pos = 0;
    for (int h = 0; h < horizon; ++h) {
      const double u1 = uniform(), u2 = uniform();
      const double eps = sigma * std::sqrt(-2 * std::log(u1)) *
                         std::cos(6.283185307179586 * u2);
      const double phib =
          !HasTrend(s) ? 0.0 : (IsDamped(s) ? phi : 1.0) * trend;
      const double q = level + phib;
      const double so = ring[pos];
      const double yv = q * so + eps;
      draws[static_cast<size_t>(h) * kPaths + p] = yv;
      const double rho = so != 0 ? eps / so : 0.0;
      level = q + fit.params.alpha * rho;
      if (HasTrend(s)) trend = phib + fit.params.beta * rho;
      ring[pos] = q != 0 ? so + fit.params.gamma * eps / q : so;
      if (++pos == m) pos = 0;
    }
  }
  auto quantile = [](std::vector<double>::iterator first, int count,
                     double prob) {
    const double idx = prob * (count - 1);
    const int lo = static_cast<int>(std::floor(idx));
    const int hi = std::min(lo + 1, count - 1);
    return first[lo] + (idx - lo) * (first[hi] - first[lo]);
  };
  for (int h = 0; h < horizon; ++h) {
    auto first = draws.begin() + static_cast<ptrdiff_t>(h) * kPaths;
    std::sort(first, first + kPaths);
    out->lower95[h] = quantile(first, kPaths, 0.025);
    out->lower80[h] = quantile(first, kPaths, 0.10);
    out->upper80[h] = quantile(first, kPaths, 0.90);
    out->upper95[h] = quantile(first, kPaths, 0.975);
  }
}

// Phase 1: the smoothing parameters and ℓ0/b0 from every start, seasonal
// states held at the start's values. Returns one outcome per start that
// reached an admissible point, best first.
absl::StatusOr<std::vector<OptimizeOutcome>> FitFixedSeason(
    const std::vector<double>& y, const EtsSpec& spec,
    const std::vector<EtsParams>& starts, int budget_each) {
  std::vector<OptimizeOutcome> outcomes;
  absl::Status last_error = absl::InvalidArgumentError(spec.Name());
  for (const EtsParams& start : starts) {
    auto outcome = Optimize(y, spec, start, false, budget_each);
    if (!outcome.ok()) {
      last_error = outcome.status();
      continue;
    }
    outcomes.push_back(*std::move(outcome));
  }
  if (outcomes.empty()) return last_error;
  std::sort(outcomes.begin(), outcomes.end(),
            [](const OptimizeOutcome& a, const OptimizeOutcome& b) {
              return a.lik < b.lik;
            });
  return outcomes;
}

// Phase 2: everything free, restarted from the best point while a restart
// still improves (a fresh simplex gets Nelder–Mead out of a collapsed one).
OptimizeOutcome Polish(const std::vector<double>& y, const EtsSpec& spec,
                       OptimizeOutcome best, int budget) {
  int left = budget;
  int evaluations = 0;
  while (left > 0) {
    auto next = Optimize(y, spec, best.params, true, left);
    if (!next.ok()) break;
    left -= next->evaluations;
    evaluations += next->evaluations;
    const bool improved = next->lik < best.lik - 1e-7 * std::abs(best.lik);
    if (next->lik < best.lik) best = *std::move(next);
    if (!improved) break;
  }
  best.evaluations = evaluations;
  return best;
}

}  // namespace

std::string EtsSpec::Name() const {
  const char* e = error == EtsError::kMultiplicative ? "M" : "A";
  const char* t = trend == EtsTrend::kNone       ? "N"
                  : trend == EtsTrend::kAdditive ? "A"
                                                 : "Ad";
  const char* s = season == EtsSeason::kNone       ? "N"
                  : season == EtsSeason::kAdditive ? "A"
                                                   : "M";
  return absl::StrCat("ETS(", e, ",", t, ",", s, ")");
}

absl::StatusOr<EtsFit> EvaluateEts(const std::vector<double>& y,
                                   const EtsSpec& spec,
                                   const EtsParams& params) {
  absl::Status st = ValidateData(y, spec);
  if (!st.ok()) return st;
  const int n = static_cast<int>(y.size());
  const int m = Period(spec);
  if (HasSeason(spec) && static_cast<int>(params.season0.size()) != m - 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.Name(), ": expected ", m - 1,
                     " seasonal initial states, got ", params.season0.size()));
  }
  EtsFit fit;
  fit.spec = spec;
  fit.params = params;
  if (!HasTrend(spec)) {
    fit.params.beta = 0;
    fit.params.trend0 = 0;
  }
  if (!IsDamped(spec)) fit.params.phi = 1;
  if (!HasSeason(spec)) {
    fit.params.gamma = 0;
    fit.params.season0.clear();
  }
  const EtsParams& p = fit.params;
  for (double v : {p.alpha, p.beta, p.gamma, p.phi, p.level0, p.trend0}) {
    if (!std::isfinite(v)) {
      return absl::InvalidArgumentError("ETS: non-finite parameter");
    }
  }
  std::vector<double> ring(m, 0.0);
  if (HasSeason(spec)) {
    for (double v : p.season0) {
      if (!std::isfinite(v)) {
        return absl::InvalidArgumentError("ETS: non-finite seasonal state");
      }
    }
    FillRing(p.season0.data(), m, spec.season == EtsSeason::kMultiplicative,
             ring.data());
  }
  fit.n = n;
  fit.fitted.resize(n);
  fit.residuals.resize(n);
  Smoothing c{p.alpha, p.beta, p.gamma, p.phi};
  const RecursionResult r =
      SelectRecursion(spec)(y.data(), n, m, c, p.level0, p.trend0, ring.data(),
                            fit.fitted.data(), fit.residuals.data());
  if (!r.ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.Name(),
                     ": the recursions broke down (non-positive or "
                     "non-finite forecast) with these parameters"));
  }
  const int np = NumParams(spec);
  fit.k = np + 1;
  fit.lik = Likelihood(spec, n, r);
  fit.loglik = -0.5 * fit.lik;
  fit.aic = fit.lik + 2.0 * fit.k;
  fit.aicc = fit.aic + 2.0 * fit.k * (fit.k + 1) / (n - fit.k - 1);
  fit.bic = fit.aic + fit.k * (std::log(static_cast<double>(n)) - 2);
  fit.sigma2 = r.sse / (n - np);
  fit.level = r.level;
  fit.trend = HasTrend(spec) ? r.trend : 0.0;
  if (HasSeason(spec)) {
    fit.season.resize(m);
    // The most recent state sits just before the oldest (r.pos).
    for (int j = 0; j < m; ++j) {
      fit.season[j] = ring[((r.pos - 1 - j) % m + m) % m];
    }
  }
  if (!std::isfinite(fit.lik) || !std::isfinite(fit.aicc) ||
      !std::isfinite(fit.bic) || !std::isfinite(fit.sigma2)) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.Name(), ": non-finite likelihood"));
  }
  return fit;
}

absl::StatusOr<EtsFit> FitEts(const std::vector<double>& y, const EtsSpec& spec,
                              const EtsFitOptions& options) {
  absl::Status st = ValidateData(y, spec);
  if (!st.ok()) return st;
  std::vector<EtsParams> starts;
  if (options.start != nullptr) {
    starts.push_back(*options.start);
  } else {
    starts = StartingPoints(y, spec);
  }
  if (HasSeason(spec) &&
      static_cast<int>(starts[0].season0.size()) != spec.period - 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.Name(),
                     ": start has the wrong number of "
                     "seasonal states"));
  }
  const int budget = std::max(1, options.max_evaluations);
  const bool free_season = HasSeason(spec) && options.optimize_seasonal_states;
  // With free seasonal states, first settle the smoothing parameters and
  // ℓ0/b0 with the seasonal states fixed (a small, fast problem) from every
  // start, then free everything from each of those points: the modes found
  // in phase 1 can swap order once the seasonal states move.
  if (options.start != nullptr && free_season) {
    // A warm start (e.g. the previous fit in a backtest) is already near an
    // optimum of every coordinate: refine it directly.
    OptimizeOutcome warm;
    warm.params = *options.start;
    warm.lik = kMinimizePenalty;
    warm = Polish(y, spec, std::move(warm), budget);
    if (warm.lik < kMinimizePenalty) {
      auto fit = EvaluateEts(y, spec, warm.params);
      if (fit.ok()) {
        fit->evaluations = warm.evaluations;
        return fit;
      }
    }
  }
  const int num_starts = static_cast<int>(starts.size());
  const int first_budget =
      std::max(1, (free_season ? budget / 3 : budget) / num_starts);
  auto first = FitFixedSeason(y, spec, starts, first_budget);
  if (!first.ok()) return first.status();
  int evaluations = 0;
  for (const OptimizeOutcome& o : *first) evaluations += o.evaluations;
  OptimizeOutcome best = first->front();
  if (free_season) {
    const int each = std::max(1, (budget - evaluations) / num_starts);
    for (OptimizeOutcome& o : *first) {
      OptimizeOutcome polished = Polish(y, spec, std::move(o), each);
      evaluations += polished.evaluations;
      if (polished.lik < best.lik) best = std::move(polished);
    }
  }
  best.evaluations = evaluations;
  auto fit = EvaluateEts(y, spec, best.params);
  if (fit.ok()) fit->evaluations = best.evaluations;
  return fit;
}

absl::StatusOr<EtsFit> AutoEts(const std::vector<double>& y,
                               const AutoEtsOptions& options,
                               std::vector<EtsFit>* candidates) {
  if (y.empty()) return absl::InvalidArgumentError("AutoEts: empty series");
  const int n = static_cast<int>(y.size());
  bool positive = true;
  for (double v : y) {
    if (!std::isfinite(v)) {
      return absl::InvalidArgumentError("AutoEts: non-finite observation");
    }
    if (!(v > 0)) positive = false;
  }
  const bool allow_mult = options.allow_multiplicative && positive;
  const int m = options.period;
  const bool allow_season = m >= 2 && m <= kMaxSeasonalPeriod && n > m;

  std::vector<EtsSpec> specs;
  for (EtsError e : {EtsError::kAdditive, EtsError::kMultiplicative}) {
    if (e == EtsError::kMultiplicative && !allow_mult) continue;
    for (EtsTrend t :
         {EtsTrend::kNone, EtsTrend::kAdditive, EtsTrend::kDamped}) {
      if (t == EtsTrend::kDamped && !options.allow_damped) continue;
      for (EtsSeason s : {EtsSeason::kNone, EtsSeason::kAdditive,
                          EtsSeason::kMultiplicative}) {
        if (s != EtsSeason::kNone && !allow_season) continue;
        // restrict = TRUE: no additive error with a multiplicative season.
        if (s == EtsSeason::kMultiplicative &&
            (e == EtsError::kAdditive || !allow_mult)) {
          continue;
        }
        EtsSpec spec{e, t, s, s == EtsSeason::kNone ? 1 : m};
        if (NumParams(spec) >= n - 1) continue;
        if (!ValidateData(y, spec).ok()) continue;
        specs.push_back(spec);
      }
    }
  }

  struct Candidate {
    EtsSpec spec;
    OptimizeOutcome outcome;
    double aicc;
    bool polished;
  };
  std::vector<Candidate> fits;
  for (const EtsSpec& spec : specs) {
    const std::vector<EtsParams> starts = StartingPoints(y, spec);
    auto opt =
        FitFixedSeason(y, spec, starts,
                       HasSeason(spec) ? options.selection_max_evaluations
                                       : options.fit.max_evaluations);
    if (!opt.ok()) continue;
    OptimizeOutcome& front = opt->front();
    for (size_t i = 1; i < opt->size(); ++i) {
      front.evaluations += (*opt)[i].evaluations;
    }
    const double aicc = AiccOf(spec, n, front.lik);
    fits.push_back({spec, std::move(front), aicc, !HasSeason(spec)});
  }
  if (fits.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AutoEts: no ETS model can be fitted to ", n, " observations"));
  }
  // Free the seasonal states of the best seasonal candidates.
  std::vector<size_t> order(fits.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&fits](size_t a, size_t b) {
    return fits[a].aicc < fits[b].aicc;
  });
  int polished = 0;
  for (size_t idx : order) {
    if (polished >= options.polish_candidates) break;
    Candidate& c = fits[idx];
    if (c.polished) continue;
    const int before = c.outcome.evaluations;
    c.outcome =
        Polish(y, c.spec, std::move(c.outcome), options.polish_max_evaluations);
    c.outcome.evaluations += before;
    c.aicc = AiccOf(c.spec, n, c.outcome.lik);
    c.polished = true;
    ++polished;
  }
  size_t best = 0;
  for (size_t i = 1; i < fits.size(); ++i) {
    if (fits[i].aicc < fits[best].aicc) best = i;
  }
  absl::StatusOr<EtsFit> chosen;
  if (candidates != nullptr) candidates->clear();
  for (size_t i = 0; i < fits.size(); ++i) {
    if (candidates == nullptr && i != best) continue;
    auto fit = EvaluateEts(y, fits[i].spec, fits[i].outcome.params);
    if (!fit.ok()) continue;
    fit->evaluations = fits[i].outcome.evaluations;
    if (i == best) chosen = *fit;
    if (candidates != nullptr) candidates->push_back(*std::move(fit));
  }
  if (!chosen.ok()) {
    return absl::InternalError("AutoEts: the selected fit did not evaluate");
  }
  return chosen;
}

EtsForecast ForecastEts(const EtsFit& fit, int horizon) {
  EtsForecast out;
  if (horizon <= 0) return out;
  const EtsSpec& s = fit.spec;
  const int m = Period(s);
  const bool seasonal =
      HasSeason(s) && static_cast<int>(fit.season.size()) == m;
  out.mean.resize(horizon);
  const double phi = IsDamped(s) ? fit.params.phi : 1.0;
  double phisum = 0, phipow = 1;
  for (int h = 1; h <= horizon; ++h) {
    phipow *= phi;
    phisum += phipow;
    const double base =
        fit.level + (HasTrend(s) ? (IsDamped(s) ? phisum : h) * fit.trend : 0);
    double mean = base;
    if (seasonal) {
      const double so = fit.season[m - 1 - (h - 1) % m];
      mean = s.season == EtsSeason::kAdditive ? base + so : base * so;
    }
    out.mean[h - 1] = mean;
  }
  out.lower80.assign(horizon, 0);
  out.upper80.assign(horizon, 0);
  out.lower95.assign(horizon, 0);
  out.upper95.assign(horizon, 0);

  const bool simulate = s.error == EtsError::kAdditive && seasonal &&
                        s.season == EtsSeason::kMultiplicative;
  if (simulate) {
    SimulatedIntervals(fit, horizon, &out);
  } else {
    std::vector<double> var;
    if (s.error == EtsError::kAdditive) {
      var = Class1Variance(fit, horizon);
    } else if (seasonal && s.season == EtsSeason::kMultiplicative) {
      var = Class3Variance(fit, horizon);
    } else {
      var = Class2Variance(fit, out.mean, horizon);
    }
    for (int h = 0; h < horizon; ++h) {
      const double sd = std::sqrt(std::max(var[h], 0.0));
      out.lower80[h] = out.mean[h] - kQuantile80 * sd;
      out.upper80[h] = out.mean[h] + kQuantile80 * sd;
      out.lower95[h] = out.mean[h] - kQuantile95 * sd;
      out.upper95[h] = out.mean[h] + kQuantile95 * sd;
    }
  }
  // Never hand out NaN or infinity: a degenerate fit gets zero-width bands.
  for (int h = 0; h < horizon; ++h) {
    if (!std::isfinite(out.mean[h])) out.mean[h] = 0;
    for (std::vector<double>* v :
         {&out.lower80, &out.upper80, &out.lower95, &out.upper95}) {
      if (!std::isfinite((*v)[h])) (*v)[h] = out.mean[h];
    }
  }
  return out;
}

}  // namespace goodbuy::analysis
