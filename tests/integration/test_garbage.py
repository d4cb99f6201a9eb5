"""A flood of invalid datagrams: serve counts each as malformed and keeps serving."""

import random
import socket
import time

import harness
from harness import UdpbeatTestCase, unittest

# Each of these fails the seed text protocol's parser and is no STAMP session-sender packet
# (44+ bytes with zero MBZ octets 16..43), so `serve --reply auto` must count it as
# malformed: wrong field counts, bad numbers, non-text bytes, unknown keywords.
NEAR_MISSES = [
    b"",                                   # empty datagram
    b"Ping x y",
    b"Ping 1 y",
    b"Ping x 1.5",
    b"Heartbeat 1",
    b"Heartbeat",
    b"Ping",
    b"Ping 1",
    b"Ping 1 2.5 extra",
    b"Pong 1 2.5",                         # not a keyword auto mode answers
    b"Ping -1 2.5",
    b"Ping 1 nan",
    b"Ping 1 inf",
    b"Ping 1 1e999",
    b"Ping 123456789012345678901 2.5",     # 21 digits
    b"Ping 99999999999999999999 2.5",      # beyond uint64
    b" Ping 1 2.5",
    b"Ping  1 2.5",
    b"Ping 1 2.5\n",
    b"Ping 1\t2.5",
    b"Ping\x00 1 2.5",
    b"P1ng 1 2.5",
    b"Ping 1 " + b"1" * 40,                # timestamp field too long
    b"\xffPing 1 2.5",
    b"Ping 1 2.5\xff",
    b"a" * 65000,                          # no keyword, no fields
    b"\x00" * 43,                          # one byte short of a STAMP packet
    b"\x00" * 30 + b"\x01" + b"\x00" * 13,   # STAMP size, but MBZ octet 30 is not zero
]


def garbage(rng, n):
    """n datagrams, each certainly invalid: 0xff (never text) then 0..1499 random bytes
    (28 zero MBZ octets, which a STAMP packet needs, have probability 2^-224)."""
    return [b"\xff" + rng.randbytes(rng.randint(0, 1499)) for _ in range(n)]


class GarbageTest(UdpbeatTestCase):

    def flood(self, server, datagrams, chunk=250):
        """Sends datagrams in chunks; after each chunk waits (via SIGQUIT's counters) until
        the server has taken them all, so no socket buffer can overflow."""
        sent = 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            for i in range(0, len(datagrams), chunk):
                for d in datagrams[i:i + chunk]:
                    s.sendto(d, server.addr)
                    sent += 1
                deadline = time.monotonic() + harness.STOP_TIMEOUT
                while True:
                    c = server.interim()
                    self.assertEqual(c["kernel_drops"], 0, c)
                    if c["received"] >= sent:
                        self.assertEqual(c["received"], sent, c)
                        break
                    self.assertLess(time.monotonic(), deadline,
                                    f"serve took {c['received']} of {sent} datagrams")
                    time.sleep(0.02)
        return sent

    def test_garbage_flood_auto(self):
        s = self.serve()
        rng = random.Random(20240601)
        datagrams = garbage(rng, 5000)
        # The near misses go in among the random ones.
        for d in NEAR_MISSES:
            datagrams.insert(rng.randrange(len(datagrams) + 1), d)
        n = self.flood(s, datagrams)
        self.assertEqual(n, 5000 + len(NEAR_MISSES))
        r = self.ping(s.target, "-c", "3", "-i", "20ms")
        self.assertExit(r, 0)
        self.assertPackets(r, 3, 3, 0, "0.0")
        c = s.stop()
        self.assertCounters(c, received=n + 3, replied=3, dropped=0, malformed=n,
                            send_errors=0, kernel_drops=0)

    def test_near_misses_one_by_one(self):
        # Each near miss alone is counted as exactly one malformed datagram.
        s = self.serve()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i, d in enumerate(NEAR_MISSES, 1):
                sock.sendto(d, s.addr)
                deadline = time.monotonic() + harness.STOP_TIMEOUT
                while True:
                    c = s.interim()
                    if c["received"] >= i or time.monotonic() > deadline:
                        break
                    time.sleep(0.01)
                self.assertEqual((c["received"], c["malformed"], c["replied"]), (i, i, 0),
                                 f"after {d[:60]!r}: {c}")
            # Nothing came back for any of them.
            sock.settimeout(0.2)
            with self.assertRaises(socket.timeout):
                sock.recvfrom(70000)
        self.assertEqual(self.ping(s.target, "-c", "1").returncode, 0)
        self.assertCounters(s.stop(), received=len(NEAR_MISSES) + 1, replied=1,
                            malformed=len(NEAR_MISSES))

    def test_echo_large_datagram(self):
        s = self.serve("--reply", "echo")
        rng = random.Random(5)
        alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-"
        payload = bytes(rng.choice(alphabet) for _ in range(60000))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(harness.STARTUP_TIMEOUT)
            sock.sendto(payload, s.addr)
            reply, addr = sock.recvfrom(70000)
            self.assertEqual(addr, s.addr)
            self.assertEqual(len(reply), 60000)
            self.assertEqual(reply, payload.upper())
            # Echo mode echoes any bytes, uppercasing only a-z.
            blob = bytes(range(256)) * 4
            sock.sendto(blob, s.addr)
            reply, _ = sock.recvfrom(70000)
            self.assertEqual(reply, blob.upper())
        self.assertCounters(s.stop(), received=2, replied=2, malformed=0)


if __name__ == "__main__":
    harness.main()
