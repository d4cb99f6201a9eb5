"""Interop with the lab's Python programs, both ways: the in-repo peers (tests/lab/), and
the lab's own in ../shared/seed/ where that exists (meson's lab-seed suite)."""

import re
import sys

import harness
from harness import UdpbeatTestCase, unittest

COUNT = 5


@harness.lab_interop
class LabClientsAgainstServe(UdpbeatTestCase):

    def run_lab_pinger(self, mode):
        s = self.serve("--reply", mode)
        r = harness.run([sys.executable, harness.seed_script("UDPPingerClient.py"),
                         "127.0.0.1", s.port, COUNT])
        self.assertExit(r, 0)
        replies = [l for l in r.stdout.splitlines() if l.startswith("Reply from")]
        self.assertEqual(len(replies), COUNT, r.describe())
        for n, line in enumerate(replies, 1):
            # The lab sends f"Ping {n} {time.time()}"; the echo is that, uppercased.
            m = re.fullmatch(r"Reply from 127\.0\.0\.1: PING (\d+) (\d+\.\d+(?:e[+-]?\d+)?)",
                             line)
            self.assertIsNotNone(m, line)
            self.assertEqual(int(m.group(1)), n, r.describe())
        rtts = [l for l in r.stdout.splitlines() if re.fullmatch(r"RTT: \d+\.\d{6} seconds", l)]
        self.assertEqual(len(rtts), COUNT, r.describe())
        self.assertNotIn("Request timed out", r.stdout)
        self.assertIn(f"Packets: Sent = {COUNT}, Received = {COUNT}, Lost = 0 "
                      "(0.0% packet loss)", r.stdout.splitlines(), r.describe())
        self.assertCounters(s.stop(), received=COUNT, replied=COUNT, dropped=0, malformed=0)

    def test_lab_pinger_client_auto(self):
        self.run_lab_pinger("auto")

    def test_lab_pinger_client_echo(self):
        self.run_lab_pinger("echo")

    def test_lab_heartbeat_client(self):
        s = self.serve("--reply", "heartbeat")
        self.assertEqual(s.mode, "heartbeat")
        r = harness.run([sys.executable, harness.seed_script("UDPHeartbeatClient.py"),
                         "127.0.0.1", s.port, COUNT])
        self.assertExit(r, 0)
        got = [l for l in r.stdout.splitlines() if l.startswith("Received heartbeat response")]
        self.assertEqual(len(got), COUNT, r.describe())
        for n, line in enumerate(got, 1):
            self.assertRegex(line, rf"^Received heartbeat response {n}: Time difference = "
                                   r"-?\d+\.\d{6} seconds$")
        self.assertNotIn("Server is down!", r.stdout)
        self.assertNotIn("Request timed out", r.stdout)
        self.assertIn(f"Packets: Sent = {COUNT}, Received = {COUNT}, Lost = 0 "
                      "(0.0% packet loss)", r.stdout.splitlines(), r.describe())
        self.assertCounters(s.stop(), received=COUNT, replied=COUNT, malformed=0)


@harness.lab_interop
class PingAgainstLabServer(UdpbeatTestCase):

    def test_ping_lab_server_nodrop(self):
        lab = self.seed_server("UDPPingerServer.py", "nodrop")
        r = self.ping(lab.target, "--proto", "seed", "-c", "5", "-i", "20ms", "-W", "500ms")
        self.assertExit(r, 0)
        self.assertPackets(r, 5, 5, 0, "0.0")
        replies = [l for l in r.stdout.splitlines() if l.startswith("Reply from")]
        self.assertEqual(len(replies), 5, r.describe())
        for n, line in enumerate(replies, 1):
            self.assertRegex(line, rf"^Reply from 127\.0\.0\.1: PING {n} \d+\.\d{{9}}$")
        self.assertNotIn("Request timed out", r.stdout)
        self.assertEqual(harness.parse_rich(r.stdout)["malformed"], 0)

    def test_ping_lab_server_drop(self):
        # The lab drops when randint(0, 10) < 4: about 4 in 11.
        lab = self.seed_server("UDPPingerServer.py")
        n = 30
        r = self.ping(lab.target, "--proto", "seed", "-c", n, "-i", "50ms", "-W", "200ms")
        p = harness.parse_packets(r.stdout)
        self.assertIsNotNone(p, r.describe())
        self.assertEqual(p["sent"], n)
        self.assertEqual(p["received"] + p["lost"], n, r.describe())
        self.assertEqual(p["loss_percent"], f"{100.0 * p['lost'] / n:.1f}")
        lines = r.stdout.splitlines()
        self.assertEqual(sum(l.startswith("Reply from") for l in lines), p["received"],
                         r.describe())
        self.assertEqual(sum(l == "Request timed out" for l in lines), p["lost"], r.describe())
        self.assertEqual(sum(l.startswith("Late reply") for l in lines), 0, r.describe())
        self.assertExit(r, 0 if p["received"] > 0 else 1)
        # P(no drop in 30) = (7/11)^30 < 1e-5; P(all dropped) = (4/11)^30 < 1e-13.
        self.assertGreater(p["lost"], 0, r.describe())
        self.assertGreater(p["received"], 0, r.describe())


if __name__ == "__main__":
    harness.main()
