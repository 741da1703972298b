// A business's stored monthly history as one text value, built by
// PostgreSQL and parsed here: periods oldest first, separated by ';', each
// period's 18 fields separated by ',' in FinancialPeriod order (month as
// YYYY-MM, then float8 and integer values in PostgreSQL's shortest exact
// text form, absent balance-sheet values as 0).
//
// One value instead of a row per month or a JSON document: protobuf's JSON
// parser, which read the claim's history before, was a fifth of the
// server's CPU (docs/benchmarks.md#throughput-issue-12), and the text parses
// back to exactly the doubles the columns hold.
#ifndef GOODBUY_SERVER_STORE_PG_HISTORY_TEXT_H_
#define GOODBUY_SERVER_STORE_PG_HISTORY_TEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "goodbuy/analysis/v1/financials.pb.h"

namespace goodbuy::store::pg {

// An SQL scalar subquery: the history text of the business `business` (an
// SQL expression), '' when it has no periods.
std::string HistoryTextSql(const std::string& business);

absl::StatusOr<analysis::v1::FinancialHistory> ParseHistoryText(
    absl::string_view text);

}  // namespace goodbuy::store::pg

#endif  // GOODBUY_SERVER_STORE_PG_HISTORY_TEXT_H_
