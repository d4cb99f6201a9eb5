"""serve --auth-key: which reply modes can honour a key, and how what arrives unsigned is
counted (udpbeat-serve(1), --reply and --auth-key).

  * echo and heartbeat answer the lab's text, which carries no HMAC: a key there could
    only be ignored, or silently turn the mode into another. The combination is a usage
    error, one line naming both options, exit status 2.
  * auto and stamp with a key answer authenticated STAMP only: the lab's Ping gets no
    reply in auto mode.
  * A request refused only for want of authentication (unauthenticated STAMP of 44
    octets, RFC 8762 §4.2.1; the lab's Ping in auto mode) is counted unauthenticated, in
    the closing line and the metrics; what no mode would answer (short garbage) stays
    malformed."""

import os
import shutil
import socket
import tempfile
import time

import harness
from harness import UdpbeatTestCase, unittest

KEY = b"udpbeat-auth-rules-test-key-0123456789\n"
NTP_NOW = 0xEB00000000000000  # any T1: a reflector does not check it


class KeyedTestBase(UdpbeatTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="udpbeat-auth-rules-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.key = os.path.join(self.dir, "key")
        fd = os.open(self.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(KEY)


class ModesTakingAKeyTest(KeyedTestBase):

    def test_echo_and_heartbeat_refuse_a_key(self):
        for flag in ("--reply", "-r"):
            for mode in ("echo", "heartbeat"):
                with self.subTest(flag=flag, mode=mode):
                    # Refused at once; a server that starts would be stopped at the bound.
                    r = harness.udpbeat("serve", "--bind", "127.0.0.1:0", flag, mode,
                                        "--auth-key", self.key, timeout=5 * harness.SCALE)
                    line = self.assertOneErrorLine(r)
                    self.assertEqual(
                        line, f"udpbeat: --auth-key and --reply {mode} exclude each other: "
                        "authenticated mode answers only STAMP (--reply auto or stamp)",
                        r.describe())
                    self.assertEqual(r.stdout, "", r.describe())
        # Whatever the order, and before the key file is even read.
        r = harness.udpbeat("serve", "--auth-key", os.path.join(self.dir, "absent"),
                            "--bind", "127.0.0.1:0", "--reply", "echo",
                            timeout=5 * harness.SCALE)
        self.assertIn("--reply echo", self.assertOneErrorLine(r))

    def test_auto_and_stamp_answer_authenticated_stamp_only(self):
        for mode in ("auto", "stamp"):
            with self.subTest(mode=mode):
                s = self.serve("--reply", mode, "--auth-key", self.key)
                self.assertEqual(s.mode, mode)
                r = self.ping(s.target, "--auth-key", self.key, "-c", "2", "-i", "10ms",
                              "-W", f"{int(5 * harness.SCALE)}s")
                self.assertExit(r, 0)
                self.assertPackets(r, 2, 2, 0)
                # The lab's protocol, which auto answers without a key: not with one.
                r = self.ping(s.target, "--proto", "seed", "-c", "2", "-i", "10ms",
                              "-W", "200ms")
                self.assertExit(r, 1)
                self.assertPackets(r, 2, 0, 2)
                c = s.stop()
                # Stamp mode takes no seed request for STAMP below 44 octets, key or not:
                # malformed there (one of 44 octets or more would be unauthenticated).
                if mode == "auto":
                    self.assertCounters(c, received=4, replied=2, unauthenticated=2,
                                        malformed=0)
                else:
                    self.assertCounters(c, received=4, replied=2, unauthenticated=0,
                                        malformed=2)


class UnsignedRequestsCountedTest(KeyedTestBase):

    def test_unsigned_stamp_is_unauthenticated_garbage_malformed(self):
        path = os.path.join(self.dir, "serve.prom")
        s = self.serve("--auth-key", self.key, "--metrics-file", path,
                       "--metrics-interval", "24h")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            for i in range(3):  # RFC 8762 §4.2.1, unauthenticated: 44 octets
                sock.sendto(harness.stamp_sender_packet(i, NTP_NOW, 1), s.addr)
            sock.sendto(harness.stamp_sender_packet(3, NTP_NOW, 1, length=80), s.addr)
            sock.sendto(b"Ping 1 1700000000.25", s.addr)       # the lab's request
            for _ in range(2):
                sock.sendto(b"\xff" * 20, s.addr)              # garbage: malformed
            # Until serve has read all seven (bounded).
            deadline = time.monotonic() + harness.STOP_TIMEOUT
            c = s.interim()
            while c["received"] < 7 and time.monotonic() < deadline:
                time.sleep(0.02)
                c = s.interim()
            c = s.stop()
            # Nothing was answered: any reply would be waiting here by now.
            sock.setblocking(False)
            with self.assertRaises(BlockingIOError):
                sock.recv(2048)
        self.assertCounters(c, received=7, replied=0, unauthenticated=5, malformed=2,
                            refused=0)
        with open(path) as f:
            m = harness.parse_metrics(f.read())
        self.assertEqual(m[("udpbeat_serve_unauthenticated_total", frozenset())], 5, m)
        self.assertEqual(m[("udpbeat_serve_malformed_total", frozenset())], 2, m)


if __name__ == "__main__":
    harness.main()
