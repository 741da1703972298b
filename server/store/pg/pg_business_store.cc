#include "server/store/pg/pg_business_store.h"

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/store/pg/history_text.h"

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
  pool_->Prepare("business_history",
                 absl::StrCat("SELECT ", HistoryTextSql("$1")));
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
                       const pqxx::row row =
                           tx.exec_prepared1("business_history", business_id);
                       return ParseHistoryText(row[0].c_str());
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
