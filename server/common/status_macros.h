// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status[Or]: abseil 20220623
// (Debian bookworm) ships neither, so they are written once here.
#ifndef GOODBUY_SERVER_COMMON_STATUS_MACROS_H_
#define GOODBUY_SERVER_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define GOODBUY_CONCAT_INNER_(a, b) a##b
#define GOODBUY_CONCAT_(a, b) GOODBUY_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status goodbuy_status_ = (expr);           \
    if (!goodbuy_status_.ok()) return goodbuy_status_; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr)                                            \
  GOODBUY_ASSIGN_OR_RETURN_IMPL_(GOODBUY_CONCAT_(goodbuy_statusor_, __LINE__), \
                                 lhs, expr)

#define GOODBUY_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return statusor.status();             \
  lhs = std::move(statusor).value()

#endif  // GOODBUY_SERVER_COMMON_STATUS_MACROS_H_
