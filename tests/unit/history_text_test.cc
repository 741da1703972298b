// The stored history's text form (server/store/pg/history_text.h): fields in
// FinancialPeriod order, PostgreSQL's float8 spellings, malformed text refused.
#include "server/store/pg/history_text.h"

#include <gtest/gtest.h>

#include <limits>

namespace goodbuy::store::pg {
namespace {

TEST(HistoryTextTest, ParsesEveryFieldInOrder) {
  auto h = ParseHistoryText(
      "2024-01,1234567.89,0.1,3,4,5,6,-7.5,8,900,10,11,12,13,14,15,16,17;"
      "2024-02,1e+20,0,0,0,0,0,0,0,0,0,0,0,0,0,-0,0,Infinity");
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->periods_size(), 2);
  const auto& p = h->periods(0);
  EXPECT_EQ(p.month(), "2024-01");
  EXPECT_EQ(p.revenue(), 1234567.89);
  EXPECT_EQ(p.cost_of_goods_sold(), 0.1);
  EXPECT_EQ(p.operating_expenses(), 3);
  EXPECT_EQ(p.owner_compensation(), 4);
  EXPECT_EQ(p.interest_expense(), 5);
  EXPECT_EQ(p.debt_principal_paid(), 6);
  EXPECT_EQ(p.cash(), -7.5);
  EXPECT_EQ(p.total_debt(), 8);
  EXPECT_EQ(p.customers(), 900);
  EXPECT_EQ(p.new_customers(), 10);
  EXPECT_EQ(p.churned_customers(), 11);
  EXPECT_EQ(p.current_assets(), 12);
  EXPECT_EQ(p.current_liabilities(), 13);
  EXPECT_EQ(p.total_assets(), 14);
  EXPECT_EQ(p.retained_earnings(), 15);
  EXPECT_EQ(p.equity(), 16);
  EXPECT_EQ(p.accounts_receivable(), 17);
  EXPECT_EQ(h->periods(1).revenue(), 1e20);
  EXPECT_EQ(h->periods(1).accounts_receivable(),
            std::numeric_limits<double>::infinity());
}

TEST(HistoryTextTest, EmptyTextIsAnEmptyHistory) {
  auto h = ParseHistoryText("");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->periods_size(), 0);
}

TEST(HistoryTextTest, MalformedTextIsAnInternalErrorNamingThePeriod) {
  for (const char* text : {
           "2024-01,1,2",                                           // short
           "2024-01,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18",  // long
           "2024-01,x,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",     // number
           "2024-01,1,2,3,4,5,6,7,8,9.5,10,11,12,13,14,15,16,17",   // count
       }) {
    auto h = ParseHistoryText(text);
    EXPECT_EQ(h.status().code(), absl::StatusCode::kInternal) << text;
    EXPECT_NE(h.status().message().find("period 1"), std::string::npos)
        << h.status();
  }
}

}  // namespace
}  // namespace goodbuy::store::pg
