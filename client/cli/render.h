// Text rendering for analysisctl: pure functions from v1 protos to strings
// (progress bar, partial-result lines, result summaries, session tables,
// JSON lines) and EventPrinter, which turns a stream of SessionEvents into
// the text to write for a terminal, a pipe or --json. Nothing here does I/O
// or calls gRPC, so all of it is unit-tested directly. Functions are
// thread-safe; an EventPrinter belongs to one thread. Errors: only the JSON
// functions fail (INTERNAL from protobuf's JSON printer).
#ifndef GOODBUY_CLIENT_CLI_RENDER_H_
#define GOODBUY_CLIENT_CLI_RENDER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "goodbuy/analysis/v1/analysis_service.pb.h"
#include "goodbuy/analysis/v1/results.pb.h"
#include "google/protobuf/message.h"
#include "google/rpc/status.pb.h"

namespace goodbuy::client::cli {

// Width of the progress bar's body, in characters.
inline constexpr int kProgressBarWidth = 20;
// Width of the key column of partial-result lines.
inline constexpr int kKeyColumnWidth = 20;

// Rounded to a whole number with thousands separators: 512000.4 ->
// "512,000", -1234 -> "-1,234".
std::string FormatAmount(double value);

// "[##########..........]  52%  profitability"; percent is clamped to
// 0..100 and the stage omitted when empty.
std::string RenderProgressBar(int percent, absl::string_view stage,
                              int width = kProgressBarWidth);

// A ratio as a person reads it: {"cash_buffer_days", 48.2, "days"} ->
// "cash buffer 48 days", {"gross_margin_pct", 41.27, "percent"} ->
// "gross margin 41.3%", {"debt_to_sde", 2.1, "x"} -> "debt to sde 2.10x".
std::string RenderRatio(const analysis::v1::Ratio& ratio);

// The body of a partial result, without its key: "score 71.2  cash buffer
// 48 days ...", "low 410,000  base 512,000  high 615,000", "sMAPE 6.9  MASE
// 1.13", "theta  2025-01 10,200  2025-02 10,500".
std::string RenderPartialDetail(const analysis::v1::PartialResult& partial);

// One line, no newline: two spaces, the key padded to kKeyColumnWidth, two
// spaces, the detail.
std::string RenderPartialResult(const analysis::v1::PartialResult& partial);

// "INVALID_ARGUMENT: message" plus "\n  field: description" per violation.
std::string RenderRpcStatus(const google::rpc::Status& status);

// One plain line per event for pipes, no newline:
// "   5  running    52%  profitability  pillar/liquidity  score 71.2 ...".
std::string RenderEventLine(const analysis::v1::SessionEvent& event);

// Multi-line summary of a final result (health: five scores, band,
// trajectory, pillars; valuation: range and methods; forecast: model,
// monthly table with 80%/95% intervals, backtest), then confidence and
// warnings. Every line ends with '\n'.
std::string RenderResult(const analysis::v1::AnalysisResult& result);

// Multi-line description of a session (for `get`), result included.
std::string RenderSession(const analysis::v1::Session& session);

// Plan, period and analyses used of a user (for `usage`).
std::string RenderUsage(const analysis::v1::Usage& usage);

// A table of sessions (for `list`), then the next-page hint if any.
std::string RenderSessionList(
    const analysis::v1::ListSessionsResponse& response);

// proto3 JSON on one line (default lowerCamelCase names), no newline.
absl::StatusOr<std::string> ToJsonLine(const google::protobuf::Message& m);

// Turns a session's events into the text to write to stdout.
//   kTerminal: a single-line progress bar redrawn with '\r'; partial results
//     and errors are printed above it; the terminal event ends the bar and
//     prints the summary and the session id.
//   kPlain: one RenderEventLine per event (heartbeats skipped), then the
//     summary after the terminal event.
//   kJson: one ToJsonLine per event, heartbeats included.
class EventPrinter {
 public:
  enum class Mode { kTerminal, kPlain, kJson };

  explicit EventPrinter(Mode mode) : mode_(mode) {}

  // The text to write for `event` (possibly empty).
  std::string OnEvent(const analysis::v1::SessionEvent& event);
  // The text to write when the stream stops before its terminal event
  // (ends a half-drawn bar); empty otherwise.
  std::string Interrupt();

  // The session id of the events seen so far ("" before the first).
  const std::string& session_id() const { return session_id_; }
  // Status of the latest event (UNSPECIFIED before the first).
  analysis::v1::SessionStatus status() const { return status_; }
  int64_t events() const { return events_; }

 private:
  std::string Summary(const analysis::v1::SessionEvent& event) const;

  Mode mode_;
  bool bar_drawn_ = false;
  std::string session_id_;
  analysis::v1::SessionStatus status_ =
      analysis::v1::SESSION_STATUS_UNSPECIFIED;
  int64_t events_ = 0;
};

}  // namespace goodbuy::client::cli

#endif  // GOODBUY_CLIENT_CLI_RENDER_H_
