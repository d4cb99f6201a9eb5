// A failure already told to the user: the run still ends with it (exit 2), but the
// command line prints no second line for it. One line per failure, as the quality bar
// asks, when a mode warned once mid-run (a metrics file on a full disk) and the same
// failure decides the exit at the stop.
#ifndef UDPBEAT_BASE_REPORTED_STATUS_H_
#define UDPBEAT_BASE_REPORTED_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/cord.h"

namespace udpbeat {

inline constexpr char kReportedPayload[] = "udpbeat.reported";

// `status`, marked as told already (OK stays OK).
inline absl::Status MarkReported(absl::Status status) {
  if (!status.ok()) status.SetPayload(kReportedPayload, absl::Cord());
  return status;
}

inline bool IsReported(const absl::Status& status) {
  return status.GetPayload(kReportedPayload).has_value();
}

}  // namespace udpbeat

#endif  // UDPBEAT_BASE_REPORTED_STATUS_H_
