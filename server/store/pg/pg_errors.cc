#include "server/store/pg/pg_errors.h"

#include <pqxx/pqxx>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/metrics/metrics.h"
#include "spdlog/spdlog.h"

namespace goodbuy::store::pg {

namespace {

absl::Status Classified(const char* what) {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    spdlog::warn("{}: connection lost: {}", what, e.what());
    return absl::UnavailableError(
        absl::StrCat(what, ": the database is unavailable"));
  } catch (const pqxx::in_doubt_error& e) {
    spdlog::error("{}: commit in doubt: {}", what, e.what());
    return absl::UnknownError(absl::StrCat(
        what,
        ": the database connection was lost during commit; the outcome "
        "is unknown"));
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    spdlog::warn("{}: SQLSTATE {}: {}", what, state, e.what());
    if (state == "23505") {
      return absl::AlreadyExistsError(absl::StrCat(what, ": already exists"));
    }
    if (state == "23503") {
      return absl::FailedPreconditionError(
          absl::StrCat(what, ": a referenced row does not exist"));
    }
    if (absl::StartsWith(state, "23")) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, ": violates a data integrity rule"));
    }
    if (state == "57014") {
      return absl::DeadlineExceededError(
          absl::StrCat(what, ": the database query timed out"));
    }
    if (state == "40001" || state == "40P01" || state == "55P03") {
      // Retryable as a whole; ABORTED is kept for a lost lease (stale
      // attempt), which must not be retried.
      return absl::UnavailableError(
          absl::StrCat(what, ": conflicted with a concurrent change; retry"));
    }
    if (absl::StartsWith(state, "08") || state == "57P01" || state == "57P02" ||
        state == "57P03" || state == "53300") {
      return absl::UnavailableError(
          absl::StrCat(what, ": the database is unavailable"));
    }
    if (absl::StartsWith(state, "22")) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": a value is out of range or malformed"));
    }
    if (state == "42P01" || state == "42703") {
      return absl::FailedPreconditionError(
          absl::StrCat(what,
                       ": the database schema is not migrated (run "
                       "`analysis-server migrate up`)"));
    }
    return absl::InternalError(absl::StrCat(what, ": database error"));
  } catch (const std::exception& e) {
    spdlog::error("{}: {}", what, e.what());
    return absl::InternalError(absl::StrCat(what, ": internal error"));
  }
}

}  // namespace

absl::Status CurrentExceptionToStatus(const char* what) {
  absl::Status status = Classified(what);
  static metrics::Family<metrics::Counter>& errors =
      metrics::Default().AddCounter(
          "goodbuy_db_errors_total",
          "Database statements that failed, by the gRPC code they map to.",
          {"code"});
  errors.With({absl::StatusCodeToString(status.code())}).Inc();
  return status;
}

}  // namespace goodbuy::store::pg
