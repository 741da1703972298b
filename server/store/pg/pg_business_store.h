// BusinessStore on PostgreSQL: businesses, users and
// business_financial_periods. Thread-safe; see business_store.h for errors.
#ifndef GOODBUY_SERVER_STORE_PG_PG_BUSINESS_STORE_H_
#define GOODBUY_SERVER_STORE_PG_PG_BUSINESS_STORE_H_

#include "server/store/business_store.h"
#include "server/store/pg/pg_pool.h"

namespace goodbuy::store::pg {

class PgBusinessStore final : public BusinessStore {
 public:
  explicit PgBusinessStore(PgPool* pool);

  absl::StatusOr<BusinessInfo> GetBusiness(
      const std::string& business_id) override;
  // One statement.
  absl::StatusOr<std::vector<BusinessInfo>> GetBusinesses(
      const std::vector<std::string>& ids) override;
  absl::StatusOr<analysis::v1::FinancialHistory> LoadHistory(
      const std::string& business_id) override;
  absl::StatusOr<bool> UserExists(const std::string& user_id) override;

 private:
  PgPool* const pool_;
};

}  // namespace goodbuy::store::pg

#endif  // GOODBUY_SERVER_STORE_PG_PG_BUSINESS_STORE_H_
