// The one conversion of libpqxx/PostgreSQL errors into absl::Status.
// Branches on SQLSTATE; the message is for humans and never contains SQL or
// the server's error text (that is logged here instead).
#ifndef GOODBUY_SERVER_STORE_PG_PG_ERRORS_H_
#define GOODBUY_SERVER_STORE_PG_PG_ERRORS_H_

#include <exception>

#include "absl/status/status.h"

namespace goodbuy::store::pg {

// Call inside a catch block: maps the current exception. `what` names the
// operation for the message, e.g. "create session".
absl::Status CurrentExceptionToStatus(const char* what);

}  // namespace goodbuy::store::pg

#endif  // GOODBUY_SERVER_STORE_PG_PG_ERRORS_H_
