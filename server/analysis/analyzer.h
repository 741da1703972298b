// The contract between the job runner (server/core) and the three analyses.
//
// An analysis is a pure function of a validated monthly history and options:
// no gRPC, no database, no clock, no globals. It reports progress through a
// ProgressSink as it moves through named stages and hands over partial
// results as soon as each is computed. When a sink call returns false the job
// must stop: the analysis returns absl::CancelledError() at once.
//
// Thread: an analysis runs on one job thread; the sink is called on that
// thread only. Errors: INVALID_ARGUMENT for data that cannot be analysed
// (with BadRequest details), CANCELLED when the sink asked to stop.
#ifndef GOODBUY_SERVER_ANALYSIS_ANALYZER_H_
#define GOODBUY_SERVER_ANALYSIS_ANALYZER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "goodbuy/analysis/v1/financials.pb.h"
#include "goodbuy/analysis/v1/results.pb.h"

namespace goodbuy::analysis {

// v1 here is ::goodbuy::analysis::v1 (the generated protos' namespace); an
// alias of the same name is an error for clang.

// Receives progress from a running analysis. Percent is 0..99 and never
// decreases (100 is reserved for completion, which the runner reports).
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  // Entering `stage` at `percent`. False: stop now.
  virtual bool Progress(int percent, std::string_view stage) = 0;
  // A piece of the result, computed at `percent` in `stage`. False: stop now.
  virtual bool Partial(int percent, std::string_view stage,
                       v1::PartialResult partial) = 0;
};

// A history that passed ValidateHistory: months ascending, contiguous, no
// duplicates, every number finite.
struct AnalysisInput {
  std::vector<v1::MonthlyPeriod> periods;
  v1::AnalysisOptions options;
  std::string currency = "USD";
};

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_ANALYZER_H_
