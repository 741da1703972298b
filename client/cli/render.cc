#include "client/cli/render.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "client/cli/names.h"
#include "client/status_convert.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace goodbuy::client::cli {
namespace v1 = ::goodbuy::analysis::v1;
namespace {

// Clears the current terminal line: carriage return + erase line.
constexpr char kClearLine[] = "\r\x1b[2K";

std::string Pad(absl::string_view text, size_t width) {
  std::string out(text);
  if (out.size() < width) out.append(width - out.size(), ' ');
  return out;
}

// Table cells: "-" instead of "unspecified" keeps the columns aligned.
std::string OrDash(const std::string& name) {
  return name == "unspecified" ? "-" : name;
}

std::string Score(double score) { return absl::StrFormat("%.1f", score); }

// Amount for a table column, right-aligned.
std::string Column(double value, int width) {
  return absl::StrFormat("%*s", width, FormatAmount(value));
}

std::string RenderTime(const google::protobuf::Timestamp& time) {
  return google::protobuf::util::TimeUtil::ToString(time);
}

bool IsSet(const google::protobuf::Timestamp& time) {
  return time.seconds() != 0 || time.nanos() != 0;
}

std::string RenderRange(double low, double base, double high) {
  return absl::StrCat("low ", FormatAmount(low), "  base ", FormatAmount(base),
                      "  high ", FormatAmount(high));
}

std::string RenderBacktest(const v1::BacktestMetrics& backtest) {
  return absl::StrFormat("sMAPE %.1f  MASE %.2f", backtest.smape(),
                         backtest.mase());
}

void AppendHealth(const v1::HealthAnalysis& h, std::string* out) {
  absl::StrAppend(out, "Health  overall ", h.overall_score(), "  band ",
                  h.band().empty() ? "-" : h.band(), "  trajectory ",
                  TrajectoryName(h.trajectory()), "\n");
  absl::StrAppend(out, "  growth ", h.growth_score(), "  operational ",
                  h.operational_score(), "  financial ", h.financial_score(),
                  "  sale readiness ", h.sale_readiness_score(), "\n");
  absl::StrAppend(out, "  data completeness ",
                  absl::StrFormat("%.0f%%", h.data_completeness() * 100),
                  "  months ", h.months_used());
  if (h.confidence_level() > 0) {
    absl::StrAppend(out, "  confidence ", h.confidence_level());
  }
  if (h.has_altman_z()) {
    absl::StrAppend(
        out, absl::StrFormat("  Altman Z'' %.2f", h.altman_z_double_prime()));
    if (!h.altman_zone().empty()) {
      absl::StrAppend(out, " (", h.altman_zone(), ")");
    }
    if (h.score_cap() > 0 && h.score_cap() < 100) {
      absl::StrAppend(
          out, absl::StrFormat("  scores capped at %.0f", h.score_cap()));
    }
  }
  absl::StrAppend(out, "\n");
  for (const v1::HealthPillar& pillar : h.pillars()) {
    absl::StrAppend(out, "  ", Pad(pillar.name(), 14));
    if (!pillar.has_data()) {
      absl::StrAppend(out, "no data\n");
      continue;
    }
    absl::StrAppend(out, absl::StrFormat("%5.1f  weight %.2f", pillar.score(),
                                         pillar.weight()));
    if (!pillar.explanation().empty()) {
      absl::StrAppend(out, "  ", pillar.explanation());
    }
    absl::StrAppend(out, "\n");
  }
}

void AppendValuation(const v1::Valuation& v, std::string* out) {
  absl::StrAppend(
      out, "Valuation",
      v.currency().empty() ? "" : absl::StrCat(" (", v.currency(), ")"), "  ",
      RenderRange(v.low(), v.base(), v.high()), "\n");
  for (const v1::ValuationMethod& m : v.methods()) {
    absl::StrAppend(out, "  ", Pad(m.method(), 16),
                    RenderRange(m.low(), m.base(), m.high()),
                    absl::StrFormat("  weight %.2f", m.weight()), "\n");
  }
  if (v.has_revenue_cross_check()) {
    const v1::ValuationMethod& x = v.revenue_cross_check();
    absl::StrAppend(out, "  ", Pad("revenue check", 16),
                    RenderRange(x.low(), x.base(), x.high()),
                    "  (not in the blend)\n");
  }
  absl::StrAppend(out, "  SDE (TTM) ", FormatAmount(v.sde_ttm()),
                  "  EBITDA (TTM) ", FormatAmount(v.ebitda_ttm()),
                  "  revenue (TTM) ", FormatAmount(v.revenue_ttm()), "\n");
  if (v.has_discount_rate()) {
    const v1::DiscountRate& r = v.discount_rate();
    absl::StrAppend(
        out, absl::StrFormat(
                 "  discount rate %.1f%% (%s)  terminal growth %.1f%%",
                 r.rate() * 100, r.source(), r.terminal_growth_rate() * 100));
    if (!v.multiples_as_of().empty()) {
      absl::StrAppend(out, "  multiples as of ", v.multiples_as_of());
    }
    absl::StrAppend(out, "\n");
  }
}

void AppendForecast(const v1::Forecast& f, std::string* out) {
  absl::StrAppend(out, "Forecast  model ", f.model_used(), "  horizon ",
                  f.horizon_months(), " months  seasonal ",
                  f.seasonal() ? "yes" : "no", "\n");
  if (f.has_backtest()) {
    absl::StrAppend(out, "  backtest ", RenderBacktest(f.backtest()),
                    "  (origins ", f.backtest().origins(), ", horizon ",
                    f.backtest().horizon_months(), ")\n");
  }
  if (f.points_size() > 0) {
    absl::StrAppend(out, "  month          value          80% interval",
                    "             95% interval\n");
    for (const v1::ForecastPoint& p : f.points()) {
      absl::StrAppend(
          out, "  ", Pad(p.month(), 8), Column(p.value(), 12), "  ",
          Column(p.lower_80(), 11), " .. ", Pad(FormatAmount(p.upper_80()), 11),
          Column(p.lower_95(), 11), " .. ", FormatAmount(p.upper_95()), "\n");
    }
  }
  if (f.candidates_size() > 1) {
    std::vector<std::string> candidates;
    for (const v1::ForecastModel& m : f.candidates()) {
      candidates.push_back(
          absl::StrFormat("%s %.1f", m.name(), m.backtest().smape()));
    }
    absl::StrAppend(
        out, "  candidates (sMAPE): ", absl::StrJoin(candidates, ", "), "\n");
  }
}

}  // namespace

std::string FormatAmount(double value) {
  if (!std::isfinite(value)) return absl::StrCat(value);
  const double rounded = std::round(value);
  const bool negative = rounded < 0;
  std::string digits = absl::StrFormat("%.0f", std::fabs(rounded));
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return negative ? absl::StrCat("-", out) : out;
}

std::string RenderProgressBar(int percent, absl::string_view stage, int width) {
  percent = std::clamp(percent, 0, 100);
  width = std::max(width, 1);
  const int filled = percent * width / 100;
  std::string out = "[";
  out.append(filled, '#');
  out.append(width - filled, '.');
  absl::StrAppend(&out, "]", absl::StrFormat(" %3d%%", percent));
  if (!stage.empty()) absl::StrAppend(&out, "  ", stage);
  return out;
}

std::string RenderRatio(const v1::Ratio& ratio) {
  absl::string_view name = ratio.name();
  const std::string& unit = ratio.unit();
  std::string value;
  if (unit == "days" || unit == "months") {
    absl::ConsumeSuffix(&name, absl::StrCat("_", unit));
    value = absl::StrFormat("%.0f %s", ratio.value(), unit);
  } else if (unit == "percent") {
    if (!absl::ConsumeSuffix(&name, "_pct")) {
      absl::ConsumeSuffix(&name, "_percent");
    }
    value = absl::StrFormat("%.1f%%", ratio.value());
  } else if (unit == "x") {
    value = absl::StrFormat("%.2fx", ratio.value());
  } else if (std::fabs(ratio.value()) >= 1000) {
    value = FormatAmount(ratio.value());
  } else {
    value = absl::StrFormat("%.2f", ratio.value());
  }
  return absl::StrCat(absl::StrReplaceAll(name, {{"_", " "}}), " ", value);
}

std::string RenderPartialDetail(const v1::PartialResult& partial) {
  switch (partial.detail_case()) {
    case v1::PartialResult::kHealthPillar: {
      const v1::HealthPillar& pillar = partial.health_pillar();
      if (!pillar.has_data()) return "no data";
      std::vector<std::string> parts = {
          absl::StrCat("score ", Score(pillar.score()))};
      for (const v1::Ratio& ratio : pillar.ratios()) {
        parts.push_back(RenderRatio(ratio));
      }
      return absl::StrJoin(parts, "  ");
    }
    case v1::PartialResult::kValuationMethod: {
      const v1::ValuationMethod& m = partial.valuation_method();
      return RenderRange(m.low(), m.base(), m.high());
    }
    case v1::PartialResult::kForecastModel: {
      const v1::ForecastModel& m = partial.forecast_model();
      std::string out = RenderBacktest(m.backtest());
      if (m.aicc() != 0)
        absl::StrAppend(&out, absl::StrFormat("  AICc %.1f", m.aicc()));
      return out;
    }
    case v1::PartialResult::kForecastChunk: {
      const v1::ForecastChunk& chunk = partial.forecast_chunk();
      std::vector<std::string> parts;
      if (!chunk.model().empty()) parts.push_back(chunk.model());
      for (const v1::ForecastPoint& p : chunk.points()) {
        parts.push_back(absl::StrCat(p.month(), " ", FormatAmount(p.value())));
      }
      return absl::StrJoin(parts, "  ");
    }
    case v1::PartialResult::DETAIL_NOT_SET:
      break;
  }
  return "";
}

std::string RenderPartialResult(const v1::PartialResult& partial) {
  return absl::StrCat("  ", Pad(partial.key(), kKeyColumnWidth), "  ",
                      RenderPartialDetail(partial));
}

std::string RenderRpcStatus(const google::rpc::Status& status) {
  return FormatStatus(FromRpcStatus(status));
}

std::string RenderEventLine(const v1::SessionEvent& event) {
  std::string out = absl::StrFormat("%4d  %-9s  %3d%%", event.sequence(),
                                    SessionStatusName(event.status()),
                                    event.progress_percentage());
  if (!event.stage().empty()) absl::StrAppend(&out, "  ", event.stage());
  switch (event.payload_case()) {
    case v1::SessionEvent::kPartialResult:
      absl::StrAppend(&out, "  ", event.partial_result().key(), "  ",
                      RenderPartialDetail(event.partial_result()));
      break;
    case v1::SessionEvent::kResult:
      absl::StrAppend(&out, "  result ready");
      break;
    case v1::SessionEvent::kError:
      // One line: the violations are joined instead of listed.
      absl::StrAppend(&out, "  error ",
                      absl::StrReplaceAll(RenderRpcStatus(event.error()),
                                          {{"\n  ", "; "}}));
      break;
    case v1::SessionEvent::kHeartbeat:
      absl::StrAppend(&out, "  heartbeat");
      break;
    case v1::SessionEvent::PAYLOAD_NOT_SET:
      break;
  }
  return out;
}

std::string RenderResult(const v1::AnalysisResult& result) {
  std::string out;
  switch (result.result_case()) {
    case v1::AnalysisResult::kHealth:
      AppendHealth(result.health(), &out);
      break;
    case v1::AnalysisResult::kValuation:
      AppendValuation(result.valuation(), &out);
      break;
    case v1::AnalysisResult::kForecast:
      AppendForecast(result.forecast(), &out);
      break;
    case v1::AnalysisResult::RESULT_NOT_SET:
      absl::StrAppend(&out, "(no result)\n");
      break;
  }
  absl::StrAppend(&out, "Confidence ", result.confidence_score(), "/100\n");
  for (const std::string& warning : result.warnings()) {
    absl::StrAppend(&out, "  warning: ", warning, "\n");
  }
  return out;
}

std::string RenderSession(const v1::Session& s) {
  std::string out;
  auto row = [&out](absl::string_view name, absl::string_view value) {
    if (!value.empty()) absl::StrAppend(&out, Pad(name, 12), value, "\n");
  };
  row("session", s.session_id());
  row("type", SessionTypeName(s.session_type()));
  row("status",
      absl::StrCat(SessionStatusName(s.status()), "  ", s.progress_percentage(),
                   "%", s.stage().empty() ? "" : "  ", s.stage()));
  row("business", s.business_id());
  row("user", s.user_id());
  row("request id", s.request_id());
  if (IsSet(s.create_time())) row("created", RenderTime(s.create_time()));
  if (IsSet(s.complete_time())) {
    row("finished", absl::StrCat(RenderTime(s.complete_time()), "  (",
                                 FormatAmount(s.processing_time_ms()), " ms)"));
  }
  row("events", absl::StrCat(s.last_sequence()));
  if (s.options().forecast_horizon_months() > 0) {
    row("horizon",
        absl::StrCat(s.options().forecast_horizon_months(), " months"));
  }
  if (s.has_error() && s.error().code() != 0) {
    row("error", RenderRpcStatus(s.error()));
  }
  if (s.has_result()) absl::StrAppend(&out, "\n", RenderResult(s.result()));
  return out;
}

std::string RenderUsage(const v1::Usage& usage) {
  std::string out;
  auto row = [&out](absl::string_view name, absl::string_view value) {
    absl::StrAppend(&out, Pad(name, 12), value, "\n");
  };
  row("user", usage.user_id());
  row("plan", usage.plan_name());
  row("period", absl::StrCat(RenderTime(usage.period_start()), " .. ",
                             RenderTime(usage.period_end())));
  row("analyses", usage.unlimited()
                      ? absl::StrCat(usage.analyses_used(), " used (unlimited)")
                      : absl::StrCat(usage.analyses_used(), " of ",
                                     usage.analyses_limit(), " used, ",
                                     std::max(0, usage.analyses_limit() -
                                                     usage.analyses_used()),
                                     " left"));
  row("completed", absl::StrCat(usage.analyses_metered(), " (metered)"));
  row("types", usage.session_types().empty()
                   ? std::string("all")
                   : absl::StrJoin(usage.session_types(), ", "));
  return out;
}

std::string RenderSessionList(const v1::ListSessionsResponse& response) {
  std::string out =
      absl::StrFormat("%-36s  %-9s  %-9s  %4s  %-20s  %s\n", "SESSION", "TYPE",
                      "STATUS", "PROG", "BUSINESS", "CREATED");
  for (const v1::Session& s : response.sessions()) {
    absl::StrAppend(
        &out, absl::StrFormat(
                  "%-36s  %-9s  %-9s  %3d%%  %-20s  %s\n", s.session_id(),
                  OrDash(SessionTypeName(s.session_type())),
                  OrDash(SessionStatusName(s.status())),
                  s.progress_percentage(), s.business_id(),
                  IsSet(s.create_time()) ? RenderTime(s.create_time()) : "-"));
  }
  if (response.sessions_size() == 0) absl::StrAppend(&out, "(no sessions)\n");
  if (!response.next_page_token().empty()) {
    absl::StrAppend(&out, "more: --page_token=", response.next_page_token(),
                    "  (or --all)\n");
  }
  return out;
}

absl::StatusOr<std::string> ToJsonLine(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  const auto status =
      google::protobuf::util::MessageToJsonString(m, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print JSON: ", status.ToString()));
  }
  return json;
}

// ---------------------------------------------------------------------------
// EventPrinter

std::string EventPrinter::OnEvent(const v1::SessionEvent& event) {
  if (session_id_.empty()) session_id_ = event.session_id();
  const bool heartbeat = event.has_heartbeat();
  if (!heartbeat) {
    status_ = event.status();
    ++events_;
  }
  const bool terminal = event.status() == v1::SESSION_STATUS_COMPLETED ||
                        event.status() == v1::SESSION_STATUS_FAILED ||
                        event.status() == v1::SESSION_STATUS_CANCELLED;
  switch (mode_) {
    case Mode::kJson: {
      absl::StatusOr<std::string> json = ToJsonLine(event);
      return json.ok() ? absl::StrCat(*json, "\n") : "";
    }
    case Mode::kPlain: {
      if (heartbeat) return "";
      std::string out = absl::StrCat(RenderEventLine(event), "\n");
      if (terminal) absl::StrAppend(&out, Summary(event));
      return out;
    }
    case Mode::kTerminal: {
      if (heartbeat) return "";
      std::string out = bar_drawn_ ? kClearLine : "";
      if (event.has_partial_result()) {
        absl::StrAppend(&out, RenderPartialResult(event.partial_result()),
                        "\n");
      }
      absl::StrAppend(
          &out, RenderProgressBar(event.progress_percentage(), event.stage()));
      bar_drawn_ = !terminal;
      if (terminal) absl::StrAppend(&out, "\n", Summary(event));
      return out;
    }
  }
  return "";
}

std::string EventPrinter::Interrupt() {
  if (mode_ == Mode::kTerminal && bar_drawn_) {
    bar_drawn_ = false;
    return "\n";
  }
  return "";
}

std::string EventPrinter::Summary(const v1::SessionEvent& event) const {
  std::string out;
  if (event.has_result()) {
    absl::StrAppend(&out, "\n", RenderResult(event.result()), "\n");
  }
  if (event.status() == v1::SESSION_STATUS_COMPLETED) {
    absl::StrAppend(&out, "session ", event.session_id(), " completed\n");
  } else {
    absl::StrAppend(&out, "session ", event.session_id(), " ",
                    SessionStatusName(event.status()));
    if (event.has_error()) {
      absl::StrAppend(&out, ": ", RenderRpcStatus(event.error()));
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace goodbuy::client::cli
