"""A bounded UDP flood sender for test_hostile.py (standard library only).

    python3 flood_sender.py HOST PORT SECONDS MAX_PACKETS SEED

Sends as fast as it can, for at most SECONDS and at most MAX_PACKETS datagrams, a mix of
random garbage (never a valid request: first byte 0xff, which no text request has, and no
STAMP packet since its MBZ octets would have to be zero) and valid requests (the seed
text protocol's `Ping N T` and 44-byte STAMP session-sender packets). Never reads the
replies. Prints one JSON object: {"garbage": N, "seed": N, "stamp": N, "seconds": S}.
Only loopback destinations are accepted.
"""

import ipaddress
import json
import random
import socket
import struct
import sys
import time


def main():
    host, port, seconds, cap, seed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \
        int(sys.argv[4]), int(sys.argv[5])
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("flood_sender: only loopback destinations")
    rng = random.Random(seed)
    garbage = [b"\xff" + rng.randbytes(rng.randint(0, 1400)) for _ in range(512)]
    # Mostly garbage; one datagram in four is a valid request (half text, half STAMP).
    kinds = []
    for i in range(4096):
        r = rng.random()
        kinds.append(0 if r < 0.75 else (1 if r < 0.875 else 2))
    counts = [0, 0, 0]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    s.connect((host, port))
    send = s.send
    start = time.monotonic()
    deadline = start + seconds
    n = 0
    pack = struct.pack
    while n < cap:
        # Check the clock once every 256 datagrams: cheap, and still bounded in time.
        if (n & 0xFF) == 0 and time.monotonic() >= deadline:
            break
        k = kinds[n & 4095]
        if k == 0:
            d = garbage[n & 511]
        elif k == 1:
            d = b"Ping %d 1.5" % n
        else:
            d = pack("!IQHH", n & 0xFFFFFFFF, 0xE000000000000000, 1, 7) + bytes(28)
        try:
            send(d)
        except (BlockingIOError, ConnectionRefusedError, OSError):
            # Nothing listening (an ICMP error) or no buffer: not sent, not counted.
            n += 1
            continue
        counts[k] += 1
        n += 1
    elapsed = time.monotonic() - start
    s.close()
    print(json.dumps({"garbage": counts[0], "seed": counts[1], "stamp": counts[2],
                      "seconds": elapsed}), flush=True)


if __name__ == "__main__":
    main()
