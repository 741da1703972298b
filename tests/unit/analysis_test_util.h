// Test helpers for server/analysis: a recording ProgressSink, synthetic
// business histories and a check that a proto holds no NaN or infinity.
#ifndef GOODBUY_TESTS_UNIT_ANALYSIS_TEST_UTIL_H_
#define GOODBUY_TESTS_UNIT_ANALYSIS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"
#include "server/analysis/analyzer.h"
#include "server/analysis/ttm.h"

namespace goodbuy::analysis::analysis_testing {

// Records every call; answers false from call number `stop_at` (0-based) on.
class RecordingSink : public ProgressSink {
 public:
  struct Event {
    int percent;
    std::string stage;
    std::string key;  // empty for Progress
    v1::PartialResult partial;
  };

  bool Progress(int percent, std::string_view stage) override {
    events.push_back({percent, std::string(stage), "", {}});
    return Answer();
  }
  bool Partial(int percent, std::string_view stage,
               v1::PartialResult partial) override {
    std::string key = partial.key();
    events.push_back({percent, std::string(stage), key, std::move(partial)});
    return Answer();
  }

  std::vector<std::string> Keys() const {
    std::vector<std::string> keys;
    for (const auto& e : events) {
      if (!e.key.empty()) keys.push_back(e.key);
    }
    return keys;
  }
  void ExpectPercentsIncreasing() const {
    for (size_t i = 1; i < events.size(); ++i) {
      EXPECT_GT(events[i].percent, events[i - 1].percent) << "event " << i;
    }
    for (const auto& e : events) {
      EXPECT_GE(e.percent, 0);
      EXPECT_LE(e.percent, 99);
    }
  }

  int stop_at = -1;
  std::vector<Event> events;

 private:
  bool Answer() {
    return stop_at < 0 || static_cast<int>(events.size()) <= stop_at;
  }
};

// Every double/float field, recursively, is finite.
inline void ExpectAllFinite(const google::protobuf::Message& m,
                            const std::string& path = "") {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string name = path + "." + f->name();
    if (f->is_map()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        ExpectAllFinite(r->GetRepeatedMessage(m, f, i), name);
      }
      continue;
    }
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_DOUBLE:
        if (f->is_repeated()) {
          for (int i = 0; i < r->FieldSize(m, f); ++i) {
            EXPECT_TRUE(std::isfinite(r->GetRepeatedDouble(m, f, i))) << name;
          }
        } else {
          EXPECT_TRUE(std::isfinite(r->GetDouble(m, f))) << name;
        }
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (f->is_repeated()) {
          for (int i = 0; i < r->FieldSize(m, f); ++i) {
            ExpectAllFinite(r->GetRepeatedMessage(m, f, i),
                            name + "[" + std::to_string(i) + "]");
          }
        } else {
          ExpectAllFinite(r->GetMessage(m, f), name);
        }
        break;
      default:
        break;
    }
  }
}

// AirPassengers, Jan 1949 - Dec 1960 (Box & Jenkins; R datasets; reference
// §3.6.1): the series every forecasting reference value is computed on.
inline const std::vector<double>& AirPassengers() {
  static const std::vector<double>* const kData = new std::vector<double>{
      112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118, 115, 126, 141,
      135, 125, 149, 170, 170, 158, 133, 114, 140, 145, 150, 178, 163, 172, 178,
      199, 199, 184, 162, 146, 166, 171, 180, 193, 181, 183, 218, 230, 242, 209,
      191, 172, 194, 196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201,
      204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229, 242, 233, 267,
      269, 270, 315, 364, 347, 312, 274, 237, 278, 284, 277, 317, 313, 318, 374,
      413, 405, 355, 306, 271, 306, 315, 301, 356, 348, 355, 422, 465, 467, 404,
      347, 305, 336, 340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337,
      360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405, 417, 391, 419,
      461, 472, 535, 622, 606, 508, 461, 390, 432};
  return *kData;
}

// Month label `i` months after `start` (default 2020-01).
inline std::string MonthLabel(int i, absl::string_view start = "2020-01") {
  return FormatMonthIndex(*ParseMonthIndex(start) + i);
}

// A growing, profitable, lightly indebted business with a full balance
// sheet and mild seasonality.
inline AnalysisInput HealthyBusiness(int months) {
  AnalysisInput in;
  for (int i = 0; i < months; ++i) {
    v1::MonthlyPeriod p;
    p.set_month(MonthLabel(i));
    const double season = 1 + 0.08 * std::sin(2 * M_PI * i / 12.0);
    const double revenue = 100000 * std::pow(1.01, i) * season;
    p.set_revenue(revenue);
    p.set_cost_of_goods_sold(0.35 * revenue);
    p.set_operating_expenses(0.25 * revenue);
    p.set_owner_compensation(8000);
    p.set_interest_expense(300);
    p.set_debt_principal_paid(1500);
    p.set_cash(150000 + 2000 * i);
    p.set_total_debt(std::max(0.0, 60000 - 1500.0 * i));
    p.set_customers(500 + 3 * i);
    p.set_new_customers(8);
    p.set_churned_customers(5);
    p.set_current_assets(200000);
    p.set_current_liabilities(80000);
    p.set_total_assets(400000);
    p.set_retained_earnings(150000);
    p.set_equity(250000);
    p.set_accounts_receivable(30000);
    in.periods.push_back(p);
  }
  return in;
}

// A shrinking, loss-making, heavily indebted business.
inline AnalysisInput DistressedBusiness(int months) {
  AnalysisInput in;
  for (int i = 0; i < months; ++i) {
    v1::MonthlyPeriod p;
    p.set_month(MonthLabel(i));
    const double revenue = 50000 * std::pow(0.98, i) * (1 + 0.3 * (i % 3 - 1));
    p.set_revenue(revenue);
    p.set_cost_of_goods_sold(0.6 * revenue);
    p.set_operating_expenses(22000);
    p.set_owner_compensation(5000);
    p.set_interest_expense(3000);
    p.set_debt_principal_paid(5000);
    p.set_cash(std::max(0.0, 20000 - 1000.0 * i));
    p.set_total_debt(400000);
    p.set_customers(200 - i);
    p.set_new_customers(2);
    p.set_churned_customers(15);
    p.set_current_assets(30000);
    p.set_current_liabilities(90000);
    p.set_total_assets(150000);
    p.set_retained_earnings(-100000);
    p.set_equity(-50000);
    p.set_accounts_receivable(40000);
    in.periods.push_back(p);
  }
  return in;
}

// Only the revenue column, starting at `start`.
inline AnalysisInput RevenueOnly(const std::vector<double>& revenue,
                                 absl::string_view start = "2020-01") {
  AnalysisInput in;
  for (size_t i = 0; i < revenue.size(); ++i) {
    v1::MonthlyPeriod p;
    p.set_month(MonthLabel(static_cast<int>(i), start));
    p.set_revenue(revenue[i]);
    in.periods.push_back(p);
  }
  return in;
}

// Puts NaN, ±infinity and a negative amount in turn into month `index`'s
// revenue of a healthy `months`-month history: `analyze` must answer
// INVALID_ARGUMENT naming that field, before any progress is reported.
template <typename Analyze>
void ExpectBadRevenueRejected(Analyze analyze, int months, int index) {
  const double bad_values[] = {std::nan(""),
                               std::numeric_limits<double>::infinity(),
                               -std::numeric_limits<double>::infinity(), -1};
  const std::string field =
      "history.periods[" + std::to_string(index) + "].revenue";
  for (double bad : bad_values) {
    AnalysisInput in = HealthyBusiness(months);
    in.periods[index].set_revenue(bad);
    RecordingSink sink;
    absl::Status s = analyze(in, sink).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(std::string(s.message()).find(field), std::string::npos)
        << s.message();
    EXPECT_TRUE(sink.events.empty());
  }
}

}  // namespace goodbuy::analysis::analysis_testing

#endif  // GOODBUY_TESTS_UNIT_ANALYSIS_TEST_UTIL_H_
