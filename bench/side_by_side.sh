#!/usr/bin/env bash
# side_by_side.sh - udpbeat beside its peers, same load, one run, loopback only.
#
#  (a) server: single-thread echo rate and server CPU per packet, saturated (tput) and at
#      10,000 sessions x 10 pps (sess), for udpbeat serve, the recvmmsg/sendmmsg C floor,
#      sockperf sr and irtt server: the team's ../shared/bench/peers.sh with udpbeat
#      added as an extra entry (its sections tput, sess, and lat for the peers' RTTs);
#  (b) client RTT min/p50/p99 of `udpbeat ping -i 1ms` (seed: full round trip; stamp:
#      minus the reflector's residence) against sockperf ping-pong and irtt client,
#      client and server on different cores as in peers.sh's "crosscore" rows;
#  (c) load: the sessions x 10 pps that udpbeat sustains as the load generator against
#      udpbeat serve with zero loss, and its send lag p99.
# Prints one table with ratios. Every process is bounded in time and stopped by PID.
#
# usage: bench/side_by_side.sh [-q]     (-q: skip (a), the slowest part, ~2 min)
#        SBS_OUT=FILE keeps the raw figures ("name value unit" lines).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
peers=${PEERS_SH:-$top/../shared/bench/peers.sh}
udpbeat=${UDPBEAT:-$top/build/udpbeat}
[[ -x $udpbeat ]] || { echo "build udpbeat first (./dev.sh demo)" >&2; exit 2; }
quick=0
[[ ${1:-} == -q ]] && quick=1
tmp=$(mktemp -d /tmp/udpbeat-sbs.XXXXXX)
spid=""
cleanup() { [[ -n $spid ]] && kill -INT "$spid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
out=$tmp/figures.txt
: >"$out"

if [[ $quick == 0 ]]; then
  [[ -f $peers ]] || { echo "peers.sh not found at $peers (set PEERS_SH)" >&2; exit 2; }
  PEERS_EXTRA="udpbeat|sockperf|$udpbeat serve --bind 127.0.0.1:{PORT} --reply echo -q" \
    bash "$peers" -s env,lat,tput,sess -t 5 -o "$out" >/dev/null
fi

# serve on CPU 1, clients on CPU 0, like peers.sh
start_serve() {
  timeout -k 2 120 taskset -c 1 "$udpbeat" serve --bind 127.0.0.1:0 >"$tmp/serve.log" 2>&1 &
  spid=$!
  for _ in $(seq 50); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/serve.log")
    [[ -n $port ]] && return 0
    sleep 0.1
  done
  echo "udpbeat serve did not start" >&2; exit 1
}
stop_serve() { kill -INT "$spid"; wait "$spid" 2>/dev/null || true; spid=""; }

start_serve
for proto in seed stamp; do
  taskset -c 0 timeout 60 "$udpbeat" ping "127.0.0.1:$port" --proto $proto -i 1ms -c 5000 -W 1s \
    --json -q | tail -1 >"$tmp/rtt_$proto.json"
  python3 - "$tmp/rtt_$proto.json" "$proto" >>"$out" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); p = sys.argv[2]
for k in ("min", "p50", "p99"):
    print(f"udpbeat_ping.{p}.rtt_{k} {s['rtt_%s_ns' % k] / 1000:.1f} us")
print(f"udpbeat_ping.{p}.loss {100 * s['loss_ratio']:.3f} %")
PY
done
stop_serve

# (c) sessions x 10 pps for 5 s, udpbeat as the load generator
for n in 1000 2000 5000 10000 15000; do
  start_serve
  taskset -c 0 timeout 60 "$udpbeat" ping "127.0.0.1:$port" --sessions $n --rate 10 --duration 5s \
    --json -q | tail -1 >"$tmp/sess.json" || true
  stop_serve
  python3 - "$tmp/sess.json" "$n" >>"$out" <<'PY'
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(0)
n = sys.argv[2]
print(f"udpbeat_load.{n}.sent {s['sent']} pkts")
print(f"udpbeat_load.{n}.lost {s['lost']} pkts")
print(f"udpbeat_load.{n}.send_lag_p99 {s.get('send_lag_p99_ns', -1) / 1000:.1f} us")
print(f"udpbeat_load.{n}.rtt_p99 {s.get('rtt_p99_ns', -1) / 1000:.1f} us")
PY
done

[[ -n ${SBS_OUT:-} ]] && cp "$out" "$SBS_OUT"
python3 - "$out" <<'PY'
import sys, collections
v = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 2 and not line.startswith("#"):
        try:
            v[parts[0]] = float(parts[1])
        except ValueError:
            pass
def g(k): return v.get(k)
def ratio(a, b): return f"{a / b:.2f}" if a and b else "-"
if any(k.startswith("tput.") for k in v):
    for sect, label in (("tput", "saturated echo, server on one core"),
                        ("sess10k", "10,000 sessions x 10 pps (100k pps)")):
        print(f"\n(a) {label}: server CPU per echoed packet")
        print(f"{'server':<18}{'replies/s':>11}{'loss %':>8}{'cpu ns/pkt':>12}{'udpbeat/x':>11}")
        ub = g(f"{sect}.udpbeat.srv_cpu_s_per_Mpkt")
        for s in ("udpbeat", "ref_echo", "ref_echo_rcvbuf4m", "sockperf_sr", "irtt_server", "seed_py"):
            c = g(f"{sect}.{s}.srv_cpu_s_per_Mpkt")
            if c is None:
                continue
            rate = g(f"{sect}.{s}.replies_per_s") or g(f"{sect}.{s}.reply_rate") or 0
            loss = g(f"{sect}.{s}.loss")
            print(f"{s:<18}{rate:>11.0f}{(f'{loss:.3f}' if loss is not None else '-'):>8}"
                  f"{c * 1000:>12.0f}{ratio(ub, c):>11}")
print("\n(b) client RTT on loopback, client and server on different cores (us)")
print(f"{'client':<30}{'min':>8}{'p50':>8}{'p99':>9}{'p50 udpbeat-seed/x':>20}")
rows = [("udpbeat ping --proto seed", "udpbeat_ping.seed.rtt_min", "udpbeat_ping.seed.rtt_p50", "udpbeat_ping.seed.rtt_p99"),
        ("udpbeat ping --proto stamp", "udpbeat_ping.stamp.rtt_min", "udpbeat_ping.stamp.rtt_p50", "udpbeat_ping.stamp.rtt_p99"),
        ("sockperf ping-pong", "lat.sockperf.crosscore.rtt_min", "lat.sockperf.crosscore.rtt_p50", "lat.sockperf.crosscore.rtt_p99"),
        ("irtt client -i 1ms", "lat.irtt.crosscore.rtt_min", "lat.irtt.crosscore.rtt_median", "lat.irtt.crosscore.rtt_p99")]
ref = g("udpbeat_ping.seed.rtt_p50")
for name, a, b, c in rows:
    if g(b) is None:
        continue
    print(f"{name:<30}{g(a):>8.1f}{g(b):>8.1f}{g(c):>9.1f}{ratio(ref, g(b)):>20}")
print("\n(c) udpbeat ping --sessions N --rate 10 --duration 5s against udpbeat serve")
print(f"{'sessions':>9}{'sent':>10}{'lost':>8}{'send lag p99 us':>17}{'rtt p99 us':>12}")
best = 0
for n in (1000, 2000, 5000, 10000, 15000):
    k = f"udpbeat_load.{n}"
    if g(k + ".sent") is None:
        continue
    print(f"{n:>9}{g(k + '.sent'):>10.0f}{g(k + '.lost'):>8.0f}{g(k + '.send_lag_p99'):>17.1f}{g(k + '.rtt_p99'):>12.1f}")
    if g(k + ".lost") == 0:
        best = max(best, n)
print(f"highest load with zero loss: {best} sessions x 10 pps = {best * 10} pps")
PY
