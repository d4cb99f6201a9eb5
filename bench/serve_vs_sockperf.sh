#!/usr/bin/env bash
# serve_vs_sockperf.sh - `udpbeat serve` echo rate and CPU per packet beside `sockperf sr`
# (and the team's other peers), under the same fixed, bounded load, in one run.
#
# Uses the team's yardstick ../shared/bench/peers.sh (section tput: one closed-loop load
# generator, 16 sockets x 8 in flight, 64-byte datagrams, 4 s per server, every server
# pinned to the same core) with udpbeat added as an extra entry, then prints a table of
# replies/s and server CPU ns per echoed packet, with udpbeat's ratio to each peer.
# Loopback only; every process is bounded by peers.sh's own timeouts.
#
# usage: bench/serve_vs_sockperf.sh [SECTIONS]   (default: tput; e.g. tput,sess)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
peers=${PEERS_SH:-$top/../shared/bench/peers.sh}
udpbeat=${UDPBEAT:-$top/build/udpbeat}
sections=${1:-tput}
[[ -x $udpbeat ]] || { echo "build udpbeat first (./dev.sh demo)" >&2; exit 2; }
[[ -f $peers ]] || { echo "peers.sh not found at $peers (set PEERS_SH)" >&2; exit 2; }
out=$(mktemp /tmp/udpbeat-bench.XXXXXX)
trap 'rm -f "$out"' EXIT
PEERS_EXTRA="udpbeat|sockperf|$udpbeat serve --bind 127.0.0.1:{PORT} --reply echo -q" \
  bash "$peers" -s "$sections" -o "$out" >/dev/null
python3 - "$out" <<'PY'
import sys, collections
rows = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) < 2 or not parts[0].startswith(("tput.", "sess10k.")):
        continue
    sect, server, metric = parts[0].split(".", 2)
    try:
        rows[(sect, server)][metric] = float(parts[1])
    except ValueError:
        pass
for sect in ("tput", "sess10k"):
    servers = [s for (x, s) in rows if x == sect]
    if not servers:
        continue
    key = "srv_cpu_s_per_Mpkt"
    ub = rows.get((sect, "udpbeat"), {})
    print(f"\n[{sect}] server CPU per echoed packet (lower is better)")
    print(f"{'server':<12}{'replies/s':>12}{'cpu ns/pkt':>12}{'cpu util':>10}{'udpbeat/x':>11}")
    for s in sorted(servers, key=lambda s: rows[(sect, s)].get(key, 1e9)):
        r = rows[(sect, s)]
        rate = r.get("replies_per_s", r.get("recv_rate", 0))
        ns = r.get(key, float("nan")) * 1000  # s per Mpkt == us per pkt
        ratio = (ub.get(key, float("nan")) / r[key]) if r.get(key) else float("nan")
        print(f"{s:<12}{rate:>12.0f}{ns:>12.0f}{r.get('srv_cpu_util', float('nan')):>10.2f}{ratio:>11.2f}")
PY
