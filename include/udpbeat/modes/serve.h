// `udpbeat serve`: the UDP responder (lab echo and heartbeat replies).
#ifndef UDPBEAT_MODES_SERVE_H_
#define UDPBEAT_MODES_SERVE_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "udpbeat/engine/serve_config.h"
#include "udpbeat/proto/responder.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

// "received N, replied N, dropped N, malformed N, send errors N, kernel drops N, ..."
std::string FormatServeCounters(const ServeCounters& c);

// Binds, prints "udpbeat serve: listening on ADDR (reply MODE)" to `out` (unless quiet),
// and answers; for each datagram the STAMP receive timestamp T2 is the kernel's
// SO_TIMESTAMPNS stamp and T3 is read when the reply is built, just before it is queued
// for the loop turn's one submit (microseconds before it leaves).
// serves until SIGINT/SIGTERM, then prints the counters. SIGQUIT prints them to `err`
// and carries on. Errors: bind/setup failures (e.g. "bind 0.0.0.0:12000: Address
// already in use").
absl::Status RunServe(const ServeOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace udpbeat

#endif  // UDPBEAT_MODES_SERVE_H_
