#include "server/store/pg/history_text.h"

#include <cstdint>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace goodbuy::store::pg {
namespace {

constexpr int kFields = 18;

absl::Status Malformed(size_t period) {
  return absl::InternalError(
      absl::StrCat("the stored financial history could not be read (period ",
                   period + 1, ")"));
}

}  // namespace

std::string HistoryTextSql(const std::string& business) {
  return absl::StrCat(
      "(SELECT coalesce(string_agg(concat_ws(',', to_char(p.month, "
      "'YYYY-MM'), p.revenue::float8, p.cost_of_goods_sold::float8, "
      "p.operating_expenses::float8, p.owner_compensation::float8, "
      "p.interest_expense::float8, p.debt_principal_paid::float8, "
      "p.cash::float8, p.total_debt::float8, p.customers, p.new_customers, "
      "p.churned_customers, coalesce(p.current_assets, 0)::float8, "
      "coalesce(p.current_liabilities, 0)::float8, coalesce(p.total_assets, "
      "0)::float8, coalesce(p.retained_earnings, 0)::float8, "
      "coalesce(p.equity, 0)::float8, coalesce(p.accounts_receivable, "
      "0)::float8), ';' ORDER BY p.month), '') FROM "
      "business_financial_periods p WHERE p.business_id = ",
      business, ")");
}

absl::StatusOr<analysis::v1::FinancialHistory> ParseHistoryText(
    absl::string_view text) {
  analysis::v1::FinancialHistory history;
  if (text.empty()) return history;
  size_t index = 0;
  for (absl::string_view line : absl::StrSplit(text, ';')) {
    const std::vector<absl::string_view> f = absl::StrSplit(line, ',');
    if (f.size() != kFields) return Malformed(index);
    double d[kFields] = {};
    int32_t n[kFields] = {};
    bool ok = true;
    for (int i = 1; i < kFields; ++i) {
      const bool integer = i >= 9 && i <= 11;  // the customer counts
      ok = ok && (integer ? absl::SimpleAtoi(f[i], &n[i])
                          : absl::SimpleAtod(f[i], &d[i]));
    }
    if (!ok) return Malformed(index);
    auto* p = history.add_periods();
    p->set_month(std::string(f[0]));
    p->set_revenue(d[1]);
    p->set_cost_of_goods_sold(d[2]);
    p->set_operating_expenses(d[3]);
    p->set_owner_compensation(d[4]);
    p->set_interest_expense(d[5]);
    p->set_debt_principal_paid(d[6]);
    p->set_cash(d[7]);
    p->set_total_debt(d[8]);
    p->set_customers(n[9]);
    p->set_new_customers(n[10]);
    p->set_churned_customers(n[11]);
    p->set_current_assets(d[12]);
    p->set_current_liabilities(d[13]);
    p->set_total_assets(d[14]);
    p->set_retained_earnings(d[15]);
    p->set_equity(d[16]);
    p->set_accounts_receivable(d[17]);
    ++index;
  }
  return history;
}

}  // namespace goodbuy::store::pg
