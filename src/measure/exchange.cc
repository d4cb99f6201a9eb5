#include "udpbeat/measure/exchange.h"

#include <cstdlib>

namespace udpbeat::measure {
namespace {

constexpr Nanos kClockStepGuard = kNanosPerMilli;

}  // namespace

MonoTime ReceiveTimeOnMono(WallTime rx_wall, MonoTime loop_mono, WallTime loop_wall,
                           MonoTime sent) {
  if (rx_wall.nanos() == 0) return loop_mono;
  const MonoTime rx = loop_mono - (loop_wall - rx_wall);
  if (rx < sent || rx > loop_mono) return loop_mono;
  return rx;
}

Exchange MeasureExchange(const ExchangeInput& in) {
  Exchange e;
  e.received = ReceiveTimeOnMono(in.rx_wall, in.loop_mono, in.loop_wall, in.sent.mono);
  e.t4 = in.rx_wall.nanos() != 0 ? in.rx_wall : in.loop_wall;
  const Nanos rtt_mono = e.received - in.sent.mono;
  const Nanos rtt_wall = e.t4 - in.sent.wall;
  e.rtt = rtt_wall >= 0 && std::abs(rtt_wall - rtt_mono) < kClockStepGuard ? rtt_wall : rtt_mono;
  if (in.reflector) {
    const WallTime t1 = in.sent.wall, t2 = in.reflector->receive, t3 = in.reflector->transmit;
    e.has_timestamps = true;
    e.residence = t3 - t2;
    e.forward = t2 - t1;
    e.backward = e.t4 - t3;
    e.clock_offset = ((t2 - t1) + (t3 - e.t4)) / 2;
    if (e.residence >= 0 && e.residence < e.rtt) e.rtt -= e.residence;
  }
  return e;
}

}  // namespace udpbeat::measure
