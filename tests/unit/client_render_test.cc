// Pure parts of the client: progress bar and result rendering, --type and
// --status parsing, grpc::Status conversion with google.rpc details, and the
// JSON lines of --json.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "client/cli/names.h"
#include "client/cli/render.h"
#include "client/status_convert.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace goodbuy::client {
namespace {

namespace v1 = ::goodbuy::analysis::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

v1::SessionEvent PillarEvent() {
  v1::SessionEvent event;
  event.set_session_id("s1");
  event.set_sequence(3);
  event.set_status(v1::SESSION_STATUS_RUNNING);
  event.set_progress_percentage(52);
  event.set_stage("profitability");
  v1::PartialResult* partial = event.mutable_partial_result();
  partial->set_key("pillar/liquidity");
  v1::HealthPillar* pillar = partial->mutable_health_pillar();
  pillar->set_name("liquidity");
  pillar->set_score(71.24);
  pillar->set_has_data(true);
  v1::Ratio* ratio = pillar->add_ratios();
  ratio->set_name("cash_buffer_days");
  ratio->set_value(48.2);
  ratio->set_unit("days");
  ratio = pillar->add_ratios();
  ratio->set_name("current_ratio");
  ratio->set_value(1.834);
  ratio->set_unit("ratio");
  return event;
}

// ---------------------------------------------------------------------------
// Progress bar

TEST(ProgressBarTest, HalfFilledWithStage) {
  EXPECT_EQ(cli::RenderProgressBar(52, "profitability"),
            "[##########..........]  52%  profitability");
}

TEST(ProgressBarTest, EndsAndClamping) {
  EXPECT_EQ(cli::RenderProgressBar(0, ""), "[....................]   0%");
  EXPECT_EQ(cli::RenderProgressBar(100, "done"),
            "[####################] 100%  done");
  EXPECT_EQ(cli::RenderProgressBar(250, ""), cli::RenderProgressBar(100, ""));
  EXPECT_EQ(cli::RenderProgressBar(-7, ""), cli::RenderProgressBar(0, ""));
  EXPECT_EQ(cli::RenderProgressBar(99, "x", 10), "[#########.]  99%  x");
}

// ---------------------------------------------------------------------------
// Names

TEST(ParseSessionTypeTest, AcceptsCommandLineAndEnumNames) {
  EXPECT_EQ(*cli::ParseSessionType("health"), v1::SESSION_TYPE_HEALTH_ANALYSIS);
  EXPECT_EQ(*cli::ParseSessionType("health_analysis"),
            v1::SESSION_TYPE_HEALTH_ANALYSIS);
  EXPECT_EQ(*cli::ParseSessionType("Valuation"), v1::SESSION_TYPE_VALUATION);
  EXPECT_EQ(*cli::ParseSessionType("FORECAST"), v1::SESSION_TYPE_FORECAST);
  EXPECT_EQ(*cli::ParseSessionType("SESSION_TYPE_FORECAST"),
            v1::SESSION_TYPE_FORECAST);
}

TEST(ParseSessionTypeTest, RejectsUnknownWithTheChoices) {
  for (const char* bad : {"", "healthy", "unspecified", "forecasts"}) {
    absl::StatusOr<v1::SessionType> type = cli::ParseSessionType(bad);
    ASSERT_FALSE(type.ok()) << bad;
    EXPECT_EQ(type.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(type.status().message()),
                HasSubstr("health, valuation or forecast"));
  }
}

TEST(ParseSessionStatusTest, AllStatusesRoundTrip) {
  for (v1::SessionStatus status :
       {v1::SESSION_STATUS_PENDING, v1::SESSION_STATUS_RUNNING,
        v1::SESSION_STATUS_COMPLETED, v1::SESSION_STATUS_FAILED,
        v1::SESSION_STATUS_CANCELLED}) {
    absl::StatusOr<v1::SessionStatus> parsed =
        cli::ParseSessionStatus(cli::SessionStatusName(status));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, status);
  }
  EXPECT_FALSE(cli::ParseSessionStatus("done").ok());
  EXPECT_EQ(cli::SessionTypeName(v1::SESSION_TYPE_HEALTH_ANALYSIS), "health");
}

// ---------------------------------------------------------------------------
// Status conversion

grpc::Status BadRequestStatus() {
  google::rpc::BadRequest bad_request;
  auto* v = bad_request.add_field_violations();
  v->set_field("business_id");
  v->set_description("must not be empty");
  v = bad_request.add_field_violations();
  v->set_field("history.periods[3].month");
  v->set_description("duplicate month 2024-03");
  google::rpc::RetryInfo retry_info;
  retry_info.mutable_retry_delay()->set_seconds(2);
  google::rpc::Status rpc;
  rpc.set_code(3);
  rpc.set_message("invalid request");
  rpc.add_details()->PackFrom(bad_request);
  rpc.add_details()->PackFrom(retry_info);
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "invalid request",
                      rpc.SerializeAsString());
}

TEST(StatusConvertTest, KeepsCodeMessageAndBadRequest) {
  const absl::Status status = FromGrpcStatus(BadRequestStatus());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "invalid request");
  EXPECT_THAT(FieldViolations(status),
              ElementsAre(FieldViolation{"business_id", "must not be empty"},
                          FieldViolation{"history.periods[3].month",
                                         "duplicate month 2024-03"}));
  ASSERT_TRUE(RetryDelay(status).has_value());
  EXPECT_EQ(*RetryDelay(status), absl::Seconds(2));
  EXPECT_EQ(FormatStatus(status),
            "INVALID_ARGUMENT: invalid request\n"
            "  business_id: must not be empty\n"
            "  history.periods[3].month: duplicate month 2024-03\n"
            "  retry after 2s");
}

TEST(StatusConvertTest, EveryCodeMapsToTheSameNumber) {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status status =
        FromGrpcStatus(grpc::Status(static_cast<grpc::StatusCode>(code), "m"));
    EXPECT_EQ(static_cast<int>(status.code()), code);
    EXPECT_EQ(status.message(), "m");
    EXPECT_TRUE(FieldViolations(status).empty());
  }
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(StatusConvertTest, MalformedDetailsKeepCodeAndMessage) {
  const absl::Status status = FromGrpcStatus(grpc::Status(
      grpc::StatusCode::NOT_FOUND, "no such session", "\xff\xff\xff"));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no such session");
  EXPECT_TRUE(FieldViolations(status).empty());
  EXPECT_EQ(FormatStatus(status), "NOT_FOUND: no such session");
}

TEST(StatusConvertTest, SessionErrorRendersWithViolations) {
  google::rpc::Status rpc;
  rpc.set_code(9);
  rpc.set_message("history too short");
  google::rpc::BadRequest bad_request;
  auto* v = bad_request.add_field_violations();
  v->set_field("history.periods");
  v->set_description("need at least 3 months");
  rpc.add_details()->PackFrom(bad_request);
  EXPECT_EQ(cli::RenderRpcStatus(rpc),
            "FAILED_PRECONDITION: history too short\n"
            "  history.periods: need at least 3 months");
  rpc.set_code(99);  // Out of range.
  EXPECT_EQ(FromRpcStatus(rpc).code(), absl::StatusCode::kUnknown);
}

// ---------------------------------------------------------------------------
// Numbers, ratios, partial results

TEST(RenderTest, FormatAmount) {
  EXPECT_EQ(cli::FormatAmount(0), "0");
  EXPECT_EQ(cli::FormatAmount(999.4), "999");
  EXPECT_EQ(cli::FormatAmount(1000), "1,000");
  EXPECT_EQ(cli::FormatAmount(512000.4), "512,000");
  EXPECT_EQ(cli::FormatAmount(1234567.5), "1,234,568");
  EXPECT_EQ(cli::FormatAmount(-1234.6), "-1,235");
}

TEST(RenderTest, Ratios) {
  v1::Ratio ratio;
  ratio.set_name("cash_buffer_days");
  ratio.set_value(48.2);
  ratio.set_unit("days");
  EXPECT_EQ(cli::RenderRatio(ratio), "cash buffer 48 days");
  ratio.set_name("gross_margin_pct");
  ratio.set_value(41.27);
  ratio.set_unit("percent");
  EXPECT_EQ(cli::RenderRatio(ratio), "gross margin 41.3%");
  ratio.set_name("debt_to_sde");
  ratio.set_value(2.1);
  ratio.set_unit("x");
  EXPECT_EQ(cli::RenderRatio(ratio), "debt to sde 2.10x");
  ratio.set_name("current_ratio");
  ratio.set_value(1.834);
  ratio.set_unit("ratio");
  EXPECT_EQ(cli::RenderRatio(ratio), "current ratio 1.83");
}

TEST(RenderTest, PartialResultLines) {
  EXPECT_EQ(cli::RenderPartialResult(PillarEvent().partial_result()),
            "  pillar/liquidity      score 71.2  cash buffer 48 days  "
            "current ratio 1.83");

  v1::PartialResult method;
  method.set_key("method/market");
  method.mutable_valuation_method()->set_low(410000);
  method.mutable_valuation_method()->set_base(512000);
  method.mutable_valuation_method()->set_high(615000);
  EXPECT_EQ(cli::RenderPartialResult(method),
            "  method/market         low 410,000  base 512,000  high 615,000");

  v1::PartialResult model;
  model.set_key("model/theta");
  model.mutable_forecast_model()->mutable_backtest()->set_smape(6.93);
  model.mutable_forecast_model()->mutable_backtest()->set_mase(1.128);
  EXPECT_EQ(cli::RenderPartialResult(model),
            "  model/theta           sMAPE 6.9  MASE 1.13");

  v1::PartialResult empty_pillar;
  empty_pillar.set_key("pillar/growth");
  empty_pillar.mutable_health_pillar()->set_has_data(false);
  EXPECT_EQ(cli::RenderPartialDetail(empty_pillar), "no data");
}

TEST(RenderTest, ForecastSummaryHasTableAndBacktest) {
  v1::AnalysisResult result;
  result.set_confidence_score(77);
  result.add_warnings("short history");
  v1::Forecast* forecast = result.mutable_forecast();
  forecast->set_model_used("theta");
  forecast->set_horizon_months(2);
  forecast->mutable_backtest()->set_smape(6.9);
  forecast->mutable_backtest()->set_mase(1.13);
  for (const char* month : {"2025-01", "2025-02"}) {
    v1::ForecastPoint* p = forecast->add_points();
    p->set_month(month);
    p->set_value(10200);
    p->set_lower_80(9800);
    p->set_upper_80(10600);
    p->set_lower_95(9500);
    p->set_upper_95(10900);
  }
  const std::string text = cli::RenderResult(result);
  EXPECT_THAT(text, HasSubstr("Forecast  model theta  horizon 2 months"));
  EXPECT_THAT(text, HasSubstr("backtest sMAPE 6.9  MASE 1.13"));
  EXPECT_THAT(text, HasSubstr("  2025-02       10,200        9,800 .. "
                              "10,600           9,500 .. 10,900\n"));
  EXPECT_THAT(text, HasSubstr("Confidence 77/100\n  warning: short history\n"));
}

TEST(RenderTest, HealthSummaryHasFiveScoresBandTrajectory) {
  v1::AnalysisResult result;
  v1::HealthAnalysis* h = result.mutable_health();
  h->set_overall_score(72);
  h->set_growth_score(65);
  h->set_operational_score(78);
  h->set_financial_score(70);
  h->set_sale_readiness_score(68);
  h->set_band("healthy");
  h->set_trajectory(v1::TRAJECTORY_IMPROVING);
  const std::string text = cli::RenderResult(result);
  EXPECT_THAT(text,
              HasSubstr("overall 72  band healthy  trajectory improving"));
  EXPECT_THAT(text, HasSubstr("growth 65  operational 78  financial 70  "
                              "sale readiness 68"));
}

// ---------------------------------------------------------------------------
// JSON lines and the event printer

TEST(JsonLineTest, OneLineRoundTripsWithCamelCaseNames) {
  const v1::SessionEvent event = PillarEvent();
  absl::StatusOr<std::string> line = cli::ToJsonLine(event);
  ASSERT_TRUE(line.ok());
  EXPECT_THAT(*line, Not(HasSubstr("\n")));
  EXPECT_THAT(*line, HasSubstr("\"sessionId\":\"s1\""));
  EXPECT_THAT(*line, HasSubstr("\"sequence\":\"3\""));  // int64 as string
  EXPECT_THAT(*line, HasSubstr("\"status\":\"SESSION_STATUS_RUNNING\""));
  EXPECT_THAT(*line, HasSubstr("\"progressPercentage\":52"));
  EXPECT_THAT(*line,
              HasSubstr("\"partialResult\":{\"key\":\"pillar/liquidity\""));
  v1::SessionEvent parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*line, &parsed).ok());
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(parsed, event));
}

TEST(EventPrinterTest, JsonModePrintsOneObjectPerEventIncludingHeartbeats) {
  cli::EventPrinter printer(cli::EventPrinter::Mode::kJson);
  v1::SessionEvent heartbeat;
  heartbeat.set_session_id("s1");
  heartbeat.mutable_heartbeat();
  const std::string out =
      printer.OnEvent(PillarEvent()) + printer.OnEvent(heartbeat);
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.substr(0, out.find('\n')), *cli::ToJsonLine(PillarEvent()));
  EXPECT_EQ(printer.session_id(), "s1");
}

TEST(EventPrinterTest, TerminalModeRedrawsBarAndPrintsPartialsAbove) {
  cli::EventPrinter printer(cli::EventPrinter::Mode::kTerminal);
  v1::SessionEvent first;
  first.set_session_id("s1");
  first.set_sequence(1);
  first.set_status(v1::SESSION_STATUS_RUNNING);
  first.set_progress_percentage(10);
  first.set_stage("liquidity");
  EXPECT_EQ(printer.OnEvent(first), "[##..................]  10%  liquidity");

  EXPECT_EQ(printer.OnEvent(PillarEvent()),
            "\r\x1b[2K" +
                cli::RenderPartialResult(PillarEvent().partial_result()) +
                "\n[##########..........]  52%  profitability");

  v1::SessionEvent done;
  done.set_session_id("s1");
  done.set_sequence(4);
  done.set_status(v1::SESSION_STATUS_COMPLETED);
  done.set_progress_percentage(100);
  done.set_stage("done");
  done.mutable_result()->mutable_health()->set_overall_score(72);
  const std::string end = printer.OnEvent(done);
  EXPECT_TRUE(
      absl::StartsWith(end, "\r\x1b[2K[####################] 100%  done\n"))
      << end;
  EXPECT_THAT(end, HasSubstr("Health  overall 72"));
  EXPECT_THAT(end, HasSubstr("session s1 completed\n"));
  EXPECT_EQ(printer.status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_EQ(printer.Interrupt(), "");  // The bar was already ended.
}

TEST(EventPrinterTest, PlainModeOneLinePerEventAndFailureSummary) {
  cli::EventPrinter printer(cli::EventPrinter::Mode::kPlain);
  EXPECT_EQ(printer.OnEvent(PillarEvent()),
            "   3  running     52%  profitability  pillar/liquidity  score "
            "71.2  cash buffer 48 days  current ratio 1.83\n");
  v1::SessionEvent failed;
  failed.set_session_id("s1");
  failed.set_sequence(5);
  failed.set_status(v1::SESSION_STATUS_FAILED);
  failed.set_progress_percentage(52);
  failed.mutable_error()->set_code(13);
  failed.mutable_error()->set_message("model diverged");
  const std::string out = printer.OnEvent(failed);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out,
            "   5  failed      52%  error INTERNAL: model diverged\n"
            "session s1 failed: INTERNAL: model diverged\n");
  EXPECT_EQ(printer.status(), v1::SESSION_STATUS_FAILED);
}

TEST(EventPrinterTest, InterruptEndsHalfDrawnBar) {
  cli::EventPrinter printer(cli::EventPrinter::Mode::kTerminal);
  printer.OnEvent(PillarEvent());
  EXPECT_EQ(printer.Interrupt(), "\n");
  EXPECT_EQ(printer.Interrupt(), "");
}

}  // namespace
}  // namespace goodbuy::client
