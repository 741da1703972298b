// The three analyses on a 120-month history (ten years of monthly data, the
// issue's sizing), end to end through their public entry points, with a
// sink that drops progress. Targets (docs/benchmarks.md): forecast with
// model selection < 10 ms median, valuation < 1 ms, health < 0.1 ms.
//
//   cmake --preset release && cmake --build --preset release --target
//   analysis_bench
//   build/release/bench/analysis_bench --benchmark_repetitions=10
//       --benchmark_report_aggregates_only=true   (one command line)
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <string_view>

#include "server/analysis/ets.h"
#include "server/analysis/forecast_analyzer.h"
#include "server/analysis/health_analyzer.h"
#include "server/analysis/ttm.h"
#include "server/analysis/valuation_analyzer.h"

namespace goodbuy::analysis {
namespace {

class DropSink : public ProgressSink {
 public:
  bool Progress(int, std::string_view) override { return true; }
  bool Partial(int, std::string_view, v1::PartialResult) override {
    return true;
  }
};

// Deterministic noise in [-1, 1] (a 64-bit LCG), so every run fits the same
// series and the optimisers do the same work.
class Noise {
 public:
  double Next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state_ >> 11) / static_cast<double>(1ULL << 52) -
           1.0;
  }

 private:
  uint64_t state_ = 42;
};

// A retail-like business: 1%/month growth, ±12% seasonality, ±6% noise, a
// full balance sheet.
AnalysisInput Business(int months) {
  AnalysisInput in;
  Noise noise;
  const int start = *ParseMonthIndex("2015-01");
  for (int i = 0; i < months; ++i) {
    v1::MonthlyPeriod p;
    p.set_month(FormatMonthIndex(start + i));
    const double revenue = 80000 * std::pow(1.01, i) *
                           (1 + 0.12 * std::sin(2 * M_PI * i / 12.0)) *
                           (1 + 0.06 * noise.Next());
    p.set_revenue(revenue);
    p.set_cost_of_goods_sold(0.38 * revenue);
    p.set_operating_expenses(0.27 * revenue * (1 + 0.05 * noise.Next()));
    p.set_owner_compensation(7000);
    p.set_interest_expense(400);
    p.set_debt_principal_paid(1200);
    p.set_cash(120000 + 1500 * i);
    p.set_total_debt(90000 - 500.0 * i);
    p.set_customers(400 + 2 * i);
    p.set_new_customers(9);
    p.set_churned_customers(6);
    p.set_current_assets(180000);
    p.set_current_liabilities(75000);
    p.set_total_assets(380000);
    p.set_retained_earnings(140000);
    p.set_equity(230000);
    p.set_accounts_receivable(28000);
    in.periods.push_back(p);
  }
  return in;
}

using Analyze = absl::StatusOr<v1::AnalysisResult> (*)(const AnalysisInput&,
                                                       ProgressSink&);

template <Analyze analyze>
void BM_Analysis(benchmark::State& state) {
  AnalysisInput in = Business(static_cast<int>(state.range(0)));
  in.options.set_forecast_horizon_months(12);
  DropSink sink;
  for (auto _ : state) {
    auto result = analyze(in, sink);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(result);
  }
}

BENCHMARK(BM_Analysis<AnalyzeHealth>)
    ->Name("health")
    ->Arg(120)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Analysis<AnalyzeValuation>)
    ->Name("valuation")
    ->Arg(120)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Analysis<AnalyzeForecast>)
    ->Name("forecast")
    ->Arg(36)
    ->Arg(60)
    ->Arg(120)
    ->Unit(benchmark::kMillisecond);

// Model selection alone: the 15 ETS specs by AICc on 120 months.
void BM_AutoEts(benchmark::State& state) {
  const AnalysisInput in = Business(120);
  std::vector<double> y;
  for (const auto& p : in.periods) y.push_back(p.revenue());
  for (auto _ : state) {
    auto fit = AutoEts(y);
    if (!fit.ok()) {
      state.SkipWithError(std::string(fit.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(fit);
  }
}
BENCHMARK(BM_AutoEts)->Name("auto_ets/120")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace goodbuy::analysis

BENCHMARK_MAIN();
