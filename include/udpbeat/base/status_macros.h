// Status propagation helpers: absl 20220623 ships neither macro.
#ifndef UDPBEAT_BASE_STATUS_MACROS_H_
#define UDPBEAT_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define UDPBEAT_STATUS_CONCAT_INNER_(a, b) a##b
#define UDPBEAT_STATUS_CONCAT_(a, b) UDPBEAT_STATUS_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function when `expr` is not OK.
#define UDPBEAT_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::absl::Status udpbeat_status_ = (expr);           \
    if (!udpbeat_status_.ok()) return udpbeat_status_; \
  } while (0)

// `UDPBEAT_ASSIGN_OR_RETURN(T v, StatusOrExpr)` declares `v` or returns the error.
#define UDPBEAT_ASSIGN_OR_RETURN(lhs, rexpr) \
  UDPBEAT_ASSIGN_OR_RETURN_IMPL_(            \
      UDPBEAT_STATUS_CONCAT_(udpbeat_statusor_, __LINE__), lhs, rexpr)

#define UDPBEAT_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return statusor.status();              \
  lhs = std::move(statusor).value()

#endif  // UDPBEAT_BASE_STATUS_MACROS_H_
