// A thin wrapper over NLopt's derivative-free local optimisers with box
// bounds, used by the exponential-smoothing fits (ets.h, holt_winters.h).
//
// The objective must return a finite value; a point the caller considers
// infeasible should return a large penalty (e.g. kMinimizePenalty) rather than
// NaN or infinity. Pure and thread-safe: every call owns its NLopt object.
#ifndef GOODBUY_SERVER_ANALYSIS_OPTIMIZER_H_
#define GOODBUY_SERVER_ANALYSIS_OPTIMIZER_H_

#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"

namespace goodbuy::analysis {

// The penalty returned for inadmissible or non-computable points.
inline constexpr double kMinimizePenalty = 1e10;

enum class OptimizerAlgorithm { kNelderMead, kSubplex, kBobyqa };

struct MinimizeOptions {
  OptimizerAlgorithm algorithm = OptimizerAlgorithm::kNelderMead;
  int max_evaluations = 2000;
  double ftol_rel = 1e-10;
  double ftol_abs = 1e-12;
  double xtol_rel = 0;  // 0 = not used
  // Initial step per coordinate (the size of the first simplex); empty means
  // NLopt's default heuristic.
  std::vector<double> initial_step;
};

struct MinimizeResult {
  std::vector<double> x;
  double value = 0;
  int evaluations = 0;
};

// Minimises f over the box [lower, upper] starting from x0 (clamped into
// the box). Returns the best point seen even when the evaluation budget ran
// out. INVALID_ARGUMENT on inconsistent sizes or bounds; INTERNAL when
// NLopt fails before evaluating anything.
absl::StatusOr<MinimizeResult> Minimize(
    absl::FunctionRef<double(const double* x)> f, std::vector<double> x0,
    const std::vector<double>& lower, const std::vector<double>& upper,
    const MinimizeOptions& options);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_OPTIMIZER_H_
