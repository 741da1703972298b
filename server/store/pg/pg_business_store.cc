#include "server/store/pg/pg_business_store.h"

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace goodbuy::store::pg {
namespace {

BusinessInfo RowToBusiness(const pqxx::row& row) {
  BusinessInfo info;
  info.id = row["id"].c_str();
  info.owner_id = row["owner_id"].c_str();
  info.title = row["title"].c_str();
  info.stored_months = row["months"].as<int>();
  return info;
}

}  // namespace

PgBusinessStore::PgBusinessStore(PgPool* pool) : pool_(pool) {
  constexpr char kBusiness[] =
      "SELECT b.id, b.owner_id, b.title, (SELECT count(*) FROM "
      "business_financial_periods p WHERE p.business_id = b.id) AS months "
      "FROM businesses b WHERE ";
  pool_->Prepare("business_by_id", absl::StrCat(kBusiness, "b.id = $1"));
  // $1: the ids separated by commas (ids are letters, digits, - and _).
  pool_->Prepare(
      "businesses_by_id",
      absl::StrCat(kBusiness, "b.id = ANY (string_to_array($1, ','))"));
  pool_->Prepare("user_exists", "SELECT 1 FROM users WHERE id = $1");
  pool_->Prepare(
      "business_history",
      "SELECT to_char(month, 'YYYY-MM') AS month, revenue::float8, "
      "cost_of_goods_sold::float8, operating_expenses::float8, "
      "owner_compensation::float8, interest_expense::float8, "
      "debt_principal_paid::float8, cash::float8, total_debt::float8, "
      "customers, new_customers, churned_customers, "
      "coalesce(current_assets, 0)::float8, "
      "coalesce(current_liabilities, 0)::float8, "
      "coalesce(total_assets, 0)::float8, "
      "coalesce(retained_earnings, 0)::float8, coalesce(equity, 0)::float8, "
      "coalesce(accounts_receivable, 0)::float8 "
      "FROM business_financial_periods WHERE business_id = $1 ORDER BY month");
}

absl::StatusOr<BusinessInfo> PgBusinessStore::GetBusiness(
    const std::string& business_id) {
  return pool_->With(
      "read business",
      [&](pqxx::connection& conn) -> absl::StatusOr<BusinessInfo> {
        // One statement: no BEGIN/COMMIT round trips.
        pqxx::nontransaction tx(conn);
        pqxx::result r = tx.exec_prepared("business_by_id", business_id);
        if (r.empty()) {
          return absl::NotFoundError(
              absl::StrCat("business '", business_id, "' does not exist"));
        }
        return RowToBusiness(r[0]);
      });
}

absl::StatusOr<std::vector<BusinessInfo>> PgBusinessStore::GetBusinesses(
    const std::vector<std::string>& ids) {
  std::string list;
  for (const std::string& id : ids) {
    // Not an id (the API validates them): none of the ids can be read
    // from a list, so read them one by one.
    if (absl::StrContains(id, ',')) return BusinessStore::GetBusinesses(ids);
    absl::StrAppend(&list, list.empty() ? "" : ",", id);
  }
  return pool_->With(
      "read businesses",
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<BusinessInfo>> {
        pqxx::nontransaction tx(conn);
        std::vector<BusinessInfo> found;
        for (const auto& row : tx.exec_prepared("businesses_by_id", list)) {
          found.push_back(RowToBusiness(row));
        }
        return found;
      });
}

absl::StatusOr<analysis::v1::FinancialHistory> PgBusinessStore::LoadHistory(
    const std::string& business_id) {
  return pool_->With("read financial history",
                     [&](pqxx::connection& conn)
                         -> absl::StatusOr<analysis::v1::FinancialHistory> {
                       // One statement: no BEGIN/COMMIT round trips.
                       pqxx::nontransaction tx(conn);
                       analysis::v1::FinancialHistory history;
                       for (const auto& row :
                            tx.exec_prepared("business_history", business_id)) {
                         auto* p = history.add_periods();
                         int i = 0;
                         p->set_month(row[i++].c_str());
                         p->set_revenue(row[i++].as<double>());
                         p->set_cost_of_goods_sold(row[i++].as<double>());
                         p->set_operating_expenses(row[i++].as<double>());
                         p->set_owner_compensation(row[i++].as<double>());
                         p->set_interest_expense(row[i++].as<double>());
                         p->set_debt_principal_paid(row[i++].as<double>());
                         p->set_cash(row[i++].as<double>());
                         p->set_total_debt(row[i++].as<double>());
                         p->set_customers(row[i++].as<int>());
                         p->set_new_customers(row[i++].as<int>());
                         p->set_churned_customers(row[i++].as<int>());
                         p->set_current_assets(row[i++].as<double>());
                         p->set_current_liabilities(row[i++].as<double>());
                         p->set_total_assets(row[i++].as<double>());
                         p->set_retained_earnings(row[i++].as<double>());
                         p->set_equity(row[i++].as<double>());
                         p->set_accounts_receivable(row[i++].as<double>());
                       }
                       return history;
                     });
}

absl::StatusOr<bool> PgBusinessStore::UserExists(const std::string& user_id) {
  return pool_->With("read user",
                     [&](pqxx::connection& conn) -> absl::StatusOr<bool> {
                       // One statement: no BEGIN/COMMIT round trips.
                       pqxx::nontransaction tx(conn);
                       return !tx.exec_prepared("user_exists", user_id).empty();
                     });
}

}  // namespace goodbuy::store::pg
