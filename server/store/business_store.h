// Read access to the existing GoodBuy data an analysis needs: the business
// row and its monthly financial periods. Synchronous and thread-safe; run on
// the DB executor or a job thread. NOT_FOUND for an unknown business,
// UNAVAILABLE when the database is unreachable.
#ifndef GOODBUY_SERVER_STORE_BUSINESS_STORE_H_
#define GOODBUY_SERVER_STORE_BUSINESS_STORE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "goodbuy/analysis/v1/financials.pb.h"

namespace goodbuy::store {

struct BusinessInfo {
  std::string id;
  std::string owner_id;
  std::string title;
  int stored_months = 0;  // rows in business_financial_periods
};

class BusinessStore {
 public:
  virtual ~BusinessStore() = default;
  virtual absl::StatusOr<BusinessInfo> GetBusiness(
      const std::string& business_id) = 0;
  // The businesses of `ids` that exist (in no particular order), in one
  // read where the store can. This default reads them one by one.
  virtual absl::StatusOr<std::vector<BusinessInfo>> GetBusinesses(
      const std::vector<std::string>& ids) {
    std::vector<BusinessInfo> found;
    for (const std::string& id : ids) {
      auto business = GetBusiness(id);
      if (business.ok()) {
        found.push_back(*std::move(business));
      } else if (business.status().code() != absl::StatusCode::kNotFound) {
        return business.status();
      }
    }
    return found;
  }
  // The stored monthly history, oldest first (may be empty).
  virtual absl::StatusOr<analysis::v1::FinancialHistory> LoadHistory(
      const std::string& business_id) = 0;
  // True when the user row exists.
  virtual absl::StatusOr<bool> UserExists(const std::string& user_id) = 0;
};

}  // namespace goodbuy::store

#endif  // GOODBUY_SERVER_STORE_BUSINESS_STORE_H_
