"""Sends UDP datagrams with a forged source, for test_serve_hardening.py (standard
library only; needs CAP_NET_RAW, and is meant to run inside a network namespace the test
created: it refuses any destination outside 127.0.0.0/8).

    python3 forge_udp.py SRC_ADDR SRC_PORT DST_ADDR DST_PORT HEX_PAYLOAD...

Several payloads are sent back to back, one datagram each, so that the exchanges they
start overlap (a loop on loopback goes round in tens of microseconds).

A raw IPPROTO_UDP socket: the kernel writes the IPv4 header (its source set by binding
the raw socket to SRC_ADDR, a local address), we write the UDP header with SRC_PORT,
whatever socket owns that port. The UDP checksum is 0, "none", which IPv4 allows.
Prints nothing; exits 0 once the datagrams are sent.
"""

import ipaddress
import socket
import struct
import sys


def main():
    src, sport, dst, dport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    payloads = [bytes.fromhex(h) for h in sys.argv[5:]]
    for a in (src, dst):
        if not ipaddress.ip_address(a) in ipaddress.ip_network("127.0.0.0/8"):
            sys.exit("forge_udp: only 127.0.0.0/8 addresses")
    datagrams = [struct.pack("!HHHH", sport, dport, 8 + len(p), 0) + p for p in payloads]
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP) as s:
        s.bind((src, 0))
        for d in datagrams:
            s.sendto(d, (dst, 0))


if __name__ == "__main__":
    main()
