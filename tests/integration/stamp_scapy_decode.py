"""Decodes STAMP packets with scapy.contrib.stamp (Debian's python3-scapy), an independent
decoder for test_stamp.py. Run with /usr/bin/python3 (the interpreter that sees Debian's
packages).

stdin: a JSON list of {"kind": "sender" | "reflector", "hex": "<UDP payload>"}.
stdout: a JSON list with every field scapy decoded (timestamps as the raw 64-bit NTP
integers, error estimates as their S/Z/scale/multiplier fields).
"""

import json
import struct
import sys

from scapy.contrib.stamp import (STAMPSessionReflectorTestUnauthenticated,
                                 STAMPSessionSenderTestUnauthenticated)
from scapy.layers.inet import UDP

STAMP_PORT = 862  # scapy binds its STAMP layers to UDP port 862


def error_estimate(e):
    return {"S": int(e.S), "Z": int(e.Z), "scale": int(e.scale),
            "multiplier": int(e.multiplier)}


def decode(kind, payload):
    sport, dport = (40000, STAMP_PORT) if kind == "sender" else (STAMP_PORT, 40000)
    udp = UDP(struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)
    if kind == "sender":
        p = udp[STAMPSessionSenderTestUnauthenticated]
        return {"seq": int(p.seq), "ts": int(p.getfieldval("ts")),
                "err_estimate": error_estimate(p.err_estimate), "ssid": int(p.ssid),
                "mbz": int(p.mbz), "tlvs": len(p.tlv_objects), "length": len(payload)}
    p = udp[STAMPSessionReflectorTestUnauthenticated]
    return {"seq": int(p.seq), "ts": int(p.getfieldval("ts")),
            "err_estimate": error_estimate(p.err_estimate), "ssid": int(p.ssid),
            "ts_rx": int(p.getfieldval("ts_rx")), "seq_sender": int(p.seq_sender),
            "ts_sender": int(p.getfieldval("ts_sender")),
            "err_estimate_sender": error_estimate(p.err_estimate_sender),
            "mbz1": int(p.mbz1), "ttl_sender": int(p.ttl_sender), "mbz2": int(p.mbz2),
            "tlvs": len(p.tlv_objects), "length": len(payload)}


def main():
    packets = json.load(sys.stdin)
    json.dump([decode(p["kind"], bytes.fromhex(p["hex"])) for p in packets], sys.stdout)


if __name__ == "__main__":
    main()
