#!/usr/bin/env python3
"""accuracy.py - udpbeat's RTT against a loopback capture of the same packets.

Helper of bench/accuracy.sh (Python standard library only; reads classic pcap, which
`tcpdump -w` writes).

  accuracy.py match --pcap F --json F --port P --proto seed|stamp --label L [--drops N]
      Match every reply udpbeat reported (`udpbeat ping --json`) to its request and reply
      in the capture by sequence number and print one JSON object of figures.
  accuracy.py table FILE
      Read those objects (one a line) and print the table: one row per run, then the
      minimum and median over runs of each figure.

Definitions (all times CLOCK_REALTIME, nanoseconds):
  udpbeat RTT   T4 - T1: received_unix_ns - sent_unix_ns where the object has the T1
                it used (sent_unix_ns); otherwise (a binary that predates it) rtt_ns for
                seed and rtt_ns + residence_ns for STAMP, whose rtt_ns is
                T4 - T1 - (T3 - T2).
  capture RTT   the capture's time of the reply minus that of the request.
  error         udpbeat RTT - capture RTT; the table gives the median and p99 of |error|
                and, to show which end it comes from, the medians of
                T1 - capture's request time and T4 - capture's reply time
                (error = T4 offset - T1 offset).
"""

import argparse
import json
import statistics
import struct
import sys

_ETH_IPV4 = 0x0800
_ETH_IPV6 = 0x86DD


def _ip_payload(linktype, frame):
    """(ethertype, IP packet) of one captured frame, or (None, None)."""
    if linktype == 1:  # Ethernet; Linux's lo has a zeroed one
        if len(frame) < 14:
            return None, None
        return struct.unpack_from("!H", frame, 12)[0], frame[14:]
    if linktype == 113:  # Linux cooked capture v1 (-i any)
        if len(frame) < 16:
            return None, None
        return struct.unpack_from("!H", frame, 14)[0], frame[16:]
    if linktype == 276:  # Linux cooked capture v2
        if len(frame) < 20:
            return None, None
        return struct.unpack_from("!H", frame, 0)[0], frame[20:]
    if linktype in (12, 101):  # raw IP
        if not frame:
            return None, None
        return (_ETH_IPV4 if frame[0] >> 4 == 4 else _ETH_IPV6), frame
    return None, None


def _udp(ethertype, ip):
    """(source port, destination port, payload) of a UDP packet, or None."""
    if ethertype == _ETH_IPV4 and len(ip) >= 20 and ip[9] == 17:
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack_from("!H", ip, 2)[0]
        udp = ip[ihl:total]
    elif ethertype == _ETH_IPV6 and len(ip) >= 40 and ip[6] == 17:
        udp = ip[40:40 + struct.unpack_from("!H", ip, 4)[0]]
    else:
        return None  # IPv6 extension headers never occur on this bench's path
    if len(udp) < 8:
        return None
    sport, dport, length = struct.unpack_from("!HHH", udp, 0)
    return sport, dport, udp[8:length]


def read_pcap(path):
    """Yields (time in ns, frame) of a classic pcap file, micro- or nanosecond."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise SystemExit(f"accuracy.py: {path}: not a pcap file (too short)")
    magic_le = struct.unpack_from("<I", data, 0)[0]
    for endian in "<>":
        magic = struct.unpack_from(endian + "I", data, 0)[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        raise SystemExit(f"accuracy.py: {path}: not a classic pcap file (magic {magic_le:#x})")
    frac_ns = 1 if magic == 0xA1B23C4D else 1000
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack_from(endian + "IIII", data, off)
        off += 16
        frame = data[off:off + incl]
        off += incl
        yield sec * 1_000_000_000 + frac * frac_ns, linktype, frame


def seq_of(proto, payload, is_reply):
    """The sender's sequence number a request or reply carries, or None."""
    if proto == "stamp":
        # RFC 8762 unauthenticated: the request's Sequence Number is octets 0..3; the
        # reflector's reply carries the sender's at octets 24..27.
        at = 24 if is_reply else 0
        if len(payload) < at + 4:
            return None
        return struct.unpack_from("!I", payload, at)[0]
    # The lab protocol: "Ping <seq> <time>", answered "PING <seq> ...".
    words = payload.split(None, 2)
    if len(words) < 2 or words[0].lower() != b"ping":
        return None
    try:
        return int(words[1])
    except ValueError:
        return None


_NTP_TO_UNIX_S = 2_208_988_800


def reply_stamps(payload):
    """(T2, the echoed sender timestamp) of an unauthenticated STAMP reply, in Unix ns."""
    if len(payload) < 44:
        return None, None
    z = (payload[12] & 0x40) != 0  # the reflector's error estimate's Z: PTPv2 format

    def to_ns(at, z_):
        sec, frac = struct.unpack_from("!II", payload, at)
        if z_:
            return sec * 1_000_000_000 + frac
        return (sec - _NTP_TO_UNIX_S) * 1_000_000_000 + (frac * 1_000_000_000 >> 32)

    return to_ns(16, z), to_ns(28, (payload[36] & 0x40) != 0)


def nearest_rank(sorted_values, q):
    """The q-quantile by the nearest-rank method (the smallest value >= q of them)."""
    if not sorted_values:
        return float("nan")
    k = max(1, -(-int(q * 1000) * len(sorted_values) // 1000))  # ceil(q n), integer-exact
    return sorted_values[min(k, len(sorted_values)) - 1]


def match(args):
    requests, replies, dup = {}, {}, 0
    in_packet = {}  # STAMP: seq -> (T2, the sender's T1 as the packet carries it)
    for t, linktype, frame in read_pcap(args.pcap):
        ethertype, ip = _ip_payload(linktype, frame)
        if ip is None:
            continue
        u = _udp(ethertype, ip)
        if u is None:
            continue
        sport, dport, payload = u
        if dport == args.port:
            table, is_reply = requests, False
        elif sport == args.port:
            table, is_reply = replies, True
        else:
            continue
        seq = seq_of(args.proto, payload, is_reply)
        if seq is None:
            continue
        if seq in table:
            dup += 1  # keep the first: the one udpbeat's figures refer to
        else:
            table[seq] = t
            if is_reply and args.proto == "stamp":
                in_packet[seq] = reply_stamps(payload)

    start, summary, objs = {}, {}, []
    with open(args.json) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            o = json.loads(line)
            ev = o.get("event")
            if ev == "reply":
                objs.append(o)
            elif ev == "start":
                start = o
            elif ev == "summary":
                summary = o

    errors, t1_off, t4_off, cap_rtts, t2_off, pkt_t1_off = [], [], [], [], [], []
    unmatched = 0
    for o in objs:
        seq = o["seq"]
        if seq not in requests or seq not in replies:
            unmatched += 1
            continue
        t4 = o["received_unix_ns"]
        if "sent_unix_ns" in o:
            rtt = t4 - o["sent_unix_ns"]
        elif args.proto == "stamp":
            rtt = o["rtt_ns"] + o.get("residence_ns", 0)
        else:
            rtt = o["rtt_ns"]
        cap = replies[seq] - requests[seq]
        errors.append(rtt - cap)
        t1_off.append((t4 - rtt) - requests[seq])
        t4_off.append(t4 - replies[seq])
        cap_rtts.append(cap)
        t2, pkt_t1 = in_packet.get(seq, (None, None))
        if t2 is not None:
            t2_off.append(t2 - requests[seq])
            pkt_t1_off.append(pkt_t1 - requests[seq])

    absd = sorted(abs(e) for e in errors)
    kernel = summary.get("kernel_timestamped")
    res = {
        "label": args.label,
        "proto": args.proto,
        "replies": len(objs),
        "matched": len(errors),
        "unmatched": unmatched,
        "capture_duplicates": dup,
        "capture_drops": args.drops,
        "timestamps": start.get("timestamps", "user (binary predates the field)"),
        "kernel_t1": kernel if kernel is not None else 0,
        "abs_err_p50_ns": nearest_rank(absd, 0.50),
        "abs_err_p99_ns": nearest_rank(absd, 0.99),
        "abs_err_max_ns": absd[-1] if absd else float("nan"),
        "err_p50_ns": statistics.median(errors) if errors else float("nan"),
        "t1_offset_p50_ns": statistics.median(t1_off) if t1_off else float("nan"),
        "t4_offset_p50_ns": statistics.median(t4_off) if t4_off else float("nan"),
        # STAMP: the reflector's T2 (its kernel receive stamp) and the T1 the packet
        # carries (read in user space before the send), against the capture's request.
        "t2_offset_p50_ns": statistics.median(t2_off) if t2_off else None,
        "packet_t1_offset_p50_ns": statistics.median(pkt_t1_off) if pkt_t1_off else None,
        "capture_rtt_p50_ns": statistics.median(cap_rtts) if cap_rtts else float("nan"),
    }
    print(json.dumps(res))
    return 0 if errors else 1


def _us(ns):
    return "-" if ns is None else f"{ns / 1000:.2f}"


def table(args):
    rows = [json.loads(l) for l in open(args.file) if l.startswith("{")]
    if not rows:
        print("accuracy.py: no results", file=sys.stderr)
        return 1
    hdr = (f"{'binary':<6} {'proto':<6} {'run':>3} {'matched':>9} {'kernel T1':>9} "
           f"{'|err| p50':>9} {'|err| p99':>9} {'err p50':>8} {'T1 off':>8} {'T4 off':>8} "
           f"{'T2 off':>7} {'pkt T1':>7} {'cap RTT':>8}")
    print("per run, µs. err = udpbeat's T4-T1 minus the capture's reply-request time;"
          " T1/T4 off = udpbeat's stamp minus the capture's (medians);")
    print("STAMP only: T2 off = the reflector's receive stamp, pkt T1 = the user-space T1"
          " the packet carries, each minus the capture's request time")
    print(hdr)
    for r in rows:
        label, run = r["label"].rsplit("#", 1)
        print(f"{label:<6} {r['proto']:<6} {run:>3} {r['matched']:>4}/{r['replies']:<4} "
              f"{r['kernel_t1']:>9} {_us(r['abs_err_p50_ns']):>9} {_us(r['abs_err_p99_ns']):>9} "
              f"{_us(r['err_p50_ns']):>8} {_us(r['t1_offset_p50_ns']):>8} "
              f"{_us(r['t4_offset_p50_ns']):>8} {_us(r['t2_offset_p50_ns']):>7} "
              f"{_us(r['packet_t1_offset_p50_ns']):>7} {_us(r['capture_rtt_p50_ns']):>8}")
        if r["capture_drops"]:
            print(f"       (the capture dropped {r['capture_drops']} packets)")
    groups = {}
    for r in rows:
        groups.setdefault((r["label"].rsplit("#", 1)[0], r["proto"]), []).append(r)
    print()
    print("over runs: min / median of each run's figure (µs); target median <= 1, p99 <= 3")
    print(f"{'binary':<6} {'proto':<6} {'runs':>4} {'|err| p50 min/med':>18} "
          f"{'|err| p99 min/med':>18} {'kernel T1 / replies':>20}")
    for (label, proto), rs in groups.items():
        p50 = [r["abs_err_p50_ns"] for r in rs]
        p99 = [r["abs_err_p99_ns"] for r in rs]
        k = sum(r["kernel_t1"] for r in rs)
        n = sum(r["replies"] for r in rs)
        print(f"{label:<6} {proto:<6} {len(rs):>4} "
              f"{_us(min(p50)) + ' / ' + _us(statistics.median(p50)):>18} "
              f"{_us(min(p99)) + ' / ' + _us(statistics.median(p99)):>18} "
              f"{f'{k} / {n}':>20}")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("match")
    m.add_argument("--pcap", required=True)
    m.add_argument("--json", required=True)
    m.add_argument("--port", required=True, type=int)
    m.add_argument("--proto", required=True, choices=("seed", "stamp"))
    m.add_argument("--label", required=True)
    m.add_argument("--drops", type=int, default=0)
    t = sub.add_parser("table")
    t.add_argument("file")
    args = p.parse_args()
    return match(args) if args.cmd == "match" else table(args)


if __name__ == "__main__":
    sys.exit(main())
