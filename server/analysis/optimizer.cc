#include "server/analysis/optimizer.h"

#include <nlopt.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"

namespace goodbuy::analysis {
namespace {

struct CallbackState {
  absl::FunctionRef<double(const double*)> f;
  std::vector<double> best_x;
  double best_value;
  int evaluations;
};

// NLopt's C callback: counts evaluations, maps NaN to the penalty and keeps
// the best point (NLopt also does, but not when it stops with an error).
double Trampoline(unsigned n, const double* x, double* /*grad*/, void* data) {
  auto* state = static_cast<CallbackState*>(data);
  double value = state->f(x);
  if (!std::isfinite(value)) value = kMinimizePenalty;
  ++state->evaluations;
  if (state->evaluations == 1 || value < state->best_value) {
    state->best_value = value;
    state->best_x.assign(x, x + n);
  }
  return value;
}

nlopt_algorithm ToNlopt(OptimizerAlgorithm algorithm) {
  switch (algorithm) {
    case OptimizerAlgorithm::kSubplex:
      return NLOPT_LN_SBPLX;
    case OptimizerAlgorithm::kBobyqa:
      return NLOPT_LN_BOBYQA;
    case OptimizerAlgorithm::kNelderMead:
      break;
  }
  return NLOPT_LN_NELDERMEAD;
}

struct NloptDeleter {
  void operator()(nlopt_opt opt) const { nlopt_destroy(opt); }
};

}  // namespace

absl::StatusOr<MinimizeResult> Minimize(
    absl::FunctionRef<double(const double* x)> f, std::vector<double> x0,
    const std::vector<double>& lower, const std::vector<double>& upper,
    const MinimizeOptions& options) {
  const size_t n = x0.size();
  if (n == 0 || lower.size() != n || upper.size() != n ||
      (!options.initial_step.empty() && options.initial_step.size() != n)) {
    return absl::InvalidArgumentError("Minimize: inconsistent dimensions");
  }
  for (size_t i = 0; i < n; ++i) {
    if (!(lower[i] <= upper[i]) || !std::isfinite(x0[i])) {
      return absl::InvalidArgumentError("Minimize: bad bounds or start");
    }
    x0[i] = std::clamp(x0[i], lower[i], upper[i]);
  }
  std::unique_ptr<nlopt_opt_s, NloptDeleter> opt(
      nlopt_create(ToNlopt(options.algorithm), static_cast<unsigned>(n)));
  if (opt == nullptr) return absl::InternalError("nlopt_create failed");

  CallbackState state{f, x0, kMinimizePenalty, 0};
  nlopt_set_min_objective(opt.get(), &Trampoline, &state);
  nlopt_set_lower_bounds(opt.get(), lower.data());
  nlopt_set_upper_bounds(opt.get(), upper.data());
  nlopt_set_maxeval(opt.get(), std::max(1, options.max_evaluations));
  nlopt_set_ftol_rel(opt.get(), options.ftol_rel);
  nlopt_set_ftol_abs(opt.get(), options.ftol_abs);
  if (options.xtol_rel > 0) nlopt_set_xtol_rel(opt.get(), options.xtol_rel);
  if (!options.initial_step.empty()) {
    nlopt_set_initial_step(opt.get(), options.initial_step.data());
  }

  std::vector<double> x = x0;
  double value = 0;
  const nlopt_result rc = nlopt_optimize(opt.get(), x.data(), &value);
  if (state.evaluations == 0) {
    return absl::InternalError("nlopt_optimize failed with code " +
                               std::to_string(static_cast<int>(rc)));
  }
  MinimizeResult result;
  result.x = std::move(state.best_x);
  result.value = state.best_value;
  result.evaluations = state.evaluations;
  return result;
}

}  // namespace goodbuy::analysis
