// The business health score (analysis-methods.md §1.4): five pillars scored
// 0..100 by piecewise-linear mapping between published anchors, weighted
// 25/25/20/10/20 and renormalised over the pillars that have data, capped by
// Altman Z'' (§1.1) when balance-sheet data exists. The other Altman
// variants of §1.1 (Z with book for market equity, Z', Z''-EM) are reported
// with their zones but do not cap: Z and Z' use asset turnover, which §1.1
// calls industry-sensitive, and Z''-EM is Z'' shifted by 3.25.
//
// Choices the reference leaves open (all [DESIGN], kept in health_analyzer.cc
// next to the numbers):
//  * EBITDA = revenue - COGS - operating expenses - owner compensation: the
//    owner's pay is treated as an expense (a buyer must pay a manager), so
//    EBITDA here is SDE minus owner compensation. Net margin is
//    (EBITDA - interest) / revenue: pre-tax, no depreciation is reported.
//  * Gross margin is scored around a 30% median (the reference's 10%
//    fallback median would score nearly every gross margin 100).
//  * Altman X3 uses EBIT = TTM EBITDA (depreciation is not reported, taken
//    as 0); X4 = book equity / (total assets - equity), capped at 10 when the
//    business has no liabilities; X5 = TTM revenue / total assets. The
//    scores need total and current assets > 0 in the latest month.
//  * Efficiency: DSO, the change of opex / revenue and the change of revenue
//    per customer against the business's own earlier window (§1.4 "relative
//    to own history").
//  * Growth & stability: YoY TTM growth (0.35), 3-year CAGR of TTM revenue
//    when 48+ months exist (0.15), CV of deseasonalised revenue (0.30),
//    annual customer retention (0.20); renormalised over what is available.
//  * TTM sums are annualised when fewer than 12 months exist.
//  * Trajectory: VOLATILE when the detrended coefficient of variation of
//    (deseasonalised) revenue exceeds 0.25; else DECLINING when revenue
//    growth < -5% or the EBITDA margin fell by more than 5 points; else
//    IMPROVING when growth > +5% or the margin rose by more than 3 points;
//    else STABLE. Growth and margin change compare the latest TTM with the one
//    before (24+ months) or the later half of the history with the earlier.
//  * sale_readiness = 0.35 profitability + 0.25 growth + 0.20 stability (CV
//    score) + 0.20 record quality (half data completeness, half history
//    length up to 36 months), renormalised over what is available, and under
//    the same Altman cap.
//  * confidence_level = 100 x (0.6 min(1, months / 24) + 0.4 completeness).
//
// Errors: INVALID_ARGUMENT (BadRequest) for fewer than kMinHealthMonths
// months or for data PrepareHistory would reject (CheckAnalysisInput);
// CANCELLED when the sink returns false. Runs on the calling thread; no
// state.
#ifndef GOODBUY_SERVER_ANALYSIS_HEALTH_ANALYZER_H_
#define GOODBUY_SERVER_ANALYSIS_HEALTH_ANALYZER_H_

#include "absl/status/statusor.h"
#include "server/analysis/analyzer.h"

namespace goodbuy::analysis {

// Nominal pillar weights (§1.4).
inline constexpr double kLiquidityWeight = 0.25;
inline constexpr double kProfitabilityWeight = 0.25;
inline constexpr double kLeverageWeight = 0.20;
inline constexpr double kEfficiencyWeight = 0.10;
inline constexpr double kGrowthWeight = 0.20;

// Z'' zones (Altman 2000, §1.1: 1.10 / 2.60 — not the Z' cut-offs) and the
// §1.4 distress override: distress caps the score at 40, grey at 70.
inline constexpr double kAltmanDistressBelow = 1.10;
inline constexpr double kAltmanSafeAbove = 2.60;
inline constexpr double kDistressCap = 40;
inline constexpr double kGreyCap = 70;

// The Altman variants of §1.1.
enum class AltmanModel {
  kZ,               // 1968 public manufacturers; MVE := book equity here
  kZPrime,          // private firms
  kZDoublePrime,    // non-manufacturers / private / emerging markets
  kZDoublePrimeEm,  // Z'' + 3.25
};
inline constexpr AltmanModel kAltmanModels[] = {
    AltmanModel::kZ, AltmanModel::kZPrime, AltmanModel::kZDoublePrime,
    AltmanModel::kZDoublePrimeEm};

// X1 = working capital / TA, X2 = retained earnings / TA, X3 = EBIT / TA,
// X4 = equity / total liabilities (capped at 10; 10 when liabilities <= 0),
// X5 = sales / TA.
struct AltmanInputs {
  double working_capital = 0;
  double retained_earnings = 0;
  double ebit = 0;
  double equity = 0;  // book value (stands in for market value in Z)
  double total_liabilities = 0;
  double total_assets = 0;
  double sales = 0;
};

// §1.1 formulas:
//   Z     = 1.2 X1 + 1.4 X2 + 3.3 X3 + 0.6 X4 + 1.0 X5
//   Z'    = 0.717 X1 + 0.847 X2 + 3.107 X3 + 0.420 X4 + 0.998 X5
//   Z''   = 6.56 X1 + 3.26 X2 + 6.72 X3 + 1.05 X4
//   Z''EM = Z'' + 3.25
// 0 when TA <= 0; never NaN for finite inputs.
double AltmanZ(AltmanModel model, const AltmanInputs& in);

// §1.1 zones: distress below `distress_below`, safe above `safe_above`.
// Z 1.81 / 2.99, Z' 1.23 / 2.90, Z'' 1.10 / 2.60, Z''-EM 4.35 / 5.85.
struct AltmanZones {
  double distress_below;
  double safe_above;
};
AltmanZones ZonesOf(AltmanModel model);
// "distress", "grey" or "safe".
const char* AltmanZone(AltmanModel model, double z);
// "z", "z_prime", "z_double_prime", "z_double_prime_em".
const char* AltmanModelName(AltmanModel model);

// Z'' alone (kept for callers of the first version): AltmanZ with
// kZDoublePrime.
double AltmanZDoublePrime(double working_capital, double retained_earnings,
                          double ebit, double book_equity,
                          double total_liabilities, double total_assets);

// Band for an overall score: "strong" (>= 80), "healthy" (>= 60), "watch"
// (>= 40), "at_risk".
const char* HealthBand(int overall_score);

// Runs the analysis. Partial results "pillar/liquidity",
// "pillar/profitability", "pillar/leverage", "pillar/efficiency",
// "pillar/growth" at 10, 25, 40, 55, 70 percent (their `weight` is the
// nominal weight; the final result carries the renormalised one), then
// Progress(90, "overall").
absl::StatusOr<v1::AnalysisResult> AnalyzeHealth(const AnalysisInput& in,
                                                 ProgressSink& sink);

}  // namespace goodbuy::analysis

#endif  // GOODBUY_SERVER_ANALYSIS_HEALTH_ANALYZER_H_
