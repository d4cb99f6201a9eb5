"""udpbeat ping against udpbeat serve: IPv4, IPv6, the lab rhythm, JSON Lines, SIGQUIT,
and a port nobody listens on."""

import json
import re
import signal

import harness
from harness import UdpbeatTestCase, unittest

REPLY_RE = re.compile(r"^Reply from (\S+): PING (\d+) \d+\.\d{9}$")
RTT_RE = re.compile(r"^RTT: (\d+\.\d{6}) seconds$")
STAMP_REPLY_RE = re.compile(r"^44 bytes from 127\.0\.0\.1: seq=\d+ ttl=\d+ time=\d+\.\d{3} ms "
                            r"offset=[+-]\d+\.\d{3} ms residence=\d+\.\d{3} ms$")


class PingServeTest(UdpbeatTestCase):

    def check_five(self, server, target, host, *extra):
        r = self.ping(target, "--proto", "seed", "-c", "5", *extra)
        self.assertExit(r, 0)
        self.assertPackets(r, 5, 5, 0, "0.0")
        replies = [REPLY_RE.match(l) for l in r.stdout.splitlines() if l.startswith("Reply from")]
        self.assertEqual(len(replies), 5, r.describe())
        self.assertTrue(all(replies), r.describe())
        self.assertEqual([m.group(1) for m in replies], [host] * 5)
        self.assertEqual([int(m.group(2)) for m in replies], [1, 2, 3, 4, 5], r.describe())
        rtts = [float(m.group(1)) for m in map(RTT_RE.match, r.stdout.splitlines()) if m]
        self.assertEqual(len(rtts), 5, r.describe())
        self.assertNotIn("Request timed out", r.stdout)
        lines = r.stdout.splitlines()
        self.assertIn("--- Ping statistics ---", lines)
        self.assertTrue(any(l.startswith("RTTs: Min = ") for l in lines), r.describe())
        self.assertTrue(any(l.startswith("rtt min/avg/max/mdev = ") for l in lines))
        self.assertTrue(any(l.startswith("rtt p50/p90/p99/p99.9 = ") for l in lines))
        self.assertTrue(any(l.startswith("jitter = ") for l in lines))
        self.assertEqual(harness.parse_rich(r.stdout),
                         {"late": 0, "duplicate": 0, "reordered": 0, "malformed": 0, "burst": 0},
                         r.describe())
        self.assertEqual(r.stderr, "")
        c = server.stop()
        self.assertCounters(c, received=5, replied=5, dropped=0, malformed=0, send_errors=0,
                            kernel_drops=0)

    def test_serve_ping_v4(self):
        s = self.serve()
        self.assertEqual((s.host, s.mode), ("127.0.0.1", "auto"))
        self.check_five(s, s.target, "127.0.0.1", "-i", "20ms")

    def test_serve_ping_v6(self):
        if not harness.has_ipv6_loopback():
            self.skipTest("no ::1 on this machine")
        s = self.serve(bind="[::1]:0")
        self.assertEqual(s.host, "::1")
        self.check_five(s, s.target, "::1", "-i", "20ms", "-6")

    def test_serve_ping_lab_rhythm(self):
        # -i 0: the next ping goes out as soon as the previous one is settled.
        s = self.serve()
        self.check_five(s, s.target, "127.0.0.1", "-i", "0")

    def test_serve_ping_default_proto(self):
        # Whatever the default protocol, serve's auto mode answers it.
        s = self.serve()
        r = self.ping(s.target, "-c", "5", "-i", "20ms")
        self.assertExit(r, 0)
        self.assertPackets(r, 5, 5, 0, "0.0")
        # STAMP, the default: ping(8)'s one line per reply.
        self.assertEqual(sum(bool(STAMP_REPLY_RE.match(l)) for l in r.stdout.splitlines()),
                         5, r.describe())
        self.assertNotIn("Request timed out", r.stdout)
        self.assertEqual(r.stderr, "")
        self.assertCounters(s.stop(), received=5, replied=5, dropped=0, malformed=0)

    def test_json_lines(self):
        s = self.serve()
        r = self.ping(s.target, "--proto", "seed", "--json", "-c", "20", "-i", "5ms")
        self.assertExit(r, 0)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 22, r.describe())
        objs = [json.loads(l) for l in lines]
        self.assertEqual(objs[0]["event"], "start", objs[0])
        self.assertEqual((objs[0]["protocol"], objs[0]["interval_ns"]), ("seed", 5_000_000))
        objs = objs[1:]
        self.assertTrue(all(isinstance(o, dict) for o in objs))
        replies = [o for o in objs if o.get("event") == "reply"]
        self.assertEqual(len(replies), 20, r.describe())
        self.assertEqual([o["seq"] for o in replies], list(range(1, 21)))
        for o in replies:
            self.assertIsInstance(o["rtt_ns"], int)
            self.assertGreater(o["rtt_ns"], 0, o)
            self.assertEqual(o["target"], s.target)
        summary = objs[-1]
        self.assertEqual(summary["event"], "summary")
        self.assertEqual([o["event"] for o in objs[:-1]], ["reply"] * 20)
        self.assertEqual((summary["sent"], summary["received"], summary["lost"]), (20, 20, 0))
        self.assertEqual(summary["loss_ratio"], 0)
        for k in ("late", "duplicate", "malformed"):
            self.assertEqual(summary[k], 0, k)
        rtts = [o["rtt_ns"] for o in replies]
        self.assertEqual(summary["rtt_min_ns"], min(rtts))
        self.assertEqual(summary["rtt_max_ns"], max(rtts))
        self.assertLessEqual(min(rtts), summary["rtt_avg_ns"])
        self.assertLessEqual(summary["rtt_avg_ns"], max(rtts))
        self.assertEqual(r.stderr, "")
        self.assertCounters(s.stop(), received=20, replied=20, malformed=0)

    def test_sigquit_interim_and_sigint_summary(self):
        s = self.serve()
        p = self.spawn([harness.UDPBEAT, "ping", s.target, "-c", "0", "-i", "10ms"])
        count_replies = lambda out, err: sum(" bytes from " in l for l in out)
        p.wait_for(lambda o, e: count_replies(o, e) >= 3, harness.STARTUP_TIMEOUT, "3 replies")
        p.signal(signal.SIGQUIT)
        m = p.wait_line(r"^sent (\d+), received (\d+), lost (\d+) \((\d+\.\d)%\), "
                        r"rtt p50 \d+\.\d{3} ms, p99 \d+\.\d{3} ms$", stream="err")
        self.assertGreaterEqual(int(m.group(2)), 3)
        self.assertGreaterEqual(int(m.group(1)), int(m.group(2)))
        # Still running: more replies come after the interim line.
        seen = count_replies(p.out_lines, None)
        p.wait_for(lambda o, e: count_replies(o, e) >= seen + 3, harness.STARTUP_TIMEOUT,
                   "replies after SIGQUIT")
        self.assertIsNone(p.p.poll(), "ping exited on SIGQUIT")
        self.assertNotIn("--- Ping statistics ---", p.out_lines)
        p.signal(signal.SIGINT)
        self.assertEqual(p.wait(), 0, p.stdout + p.stderr)
        res = harness.Result(p.argv, 0, p.stdout, p.stderr)
        self.assertIn("--- Ping statistics ---", p.out_lines)
        pk = harness.parse_packets(p.stdout)
        self.assertIsNotNone(pk, p.stdout)
        self.assertEqual(pk["received"], count_replies(p.out_lines, None), p.stdout)
        # A probe still within its timeout when SIGINT came is in flight, not lost.
        self.assertEqual(pk["sent"], pk["received"] + pk["lost"] + pk["in_flight"], p.stdout)
        self.assertEqual(pk["lost"], 0, p.stdout)
        self.assertEqual(len(p.err_lines), 1, res.describe())
        c = s.stop()
        self.assertEqual(c["received"], pk["sent"], (c, p.stdout))
        self.assertEqual(c["malformed"], 0)

    def test_serve_sigquit_continues(self):
        s = self.serve()
        self.assertExit(self.ping(s.target, "-c", "2", "-i", "10ms"), 0)
        self.assertCounters(s.interim(), received=2, replied=2, dropped=0, malformed=0,
                            send_errors=0, kernel_drops=0)
        self.assertIsNone(s.proc.p.poll(), "serve exited on SIGQUIT")
        self.assertNotIn("--- udpbeat serve statistics ---", s.proc.out_lines)
        self.assertExit(self.ping(s.target, "-c", "3", "-i", "10ms"), 0)
        self.assertCounters(s.stop(), received=5, replied=5)
        self.assertEqual(len(s.proc.err_lines), 1, s.proc.stderr)

    def test_nothing_listening(self):
        port = harness.free_udp_port()
        r = self.ping(f"127.0.0.1:{port}", "--proto", "seed", "-c", "3", "-W", "200ms", "-i", "0")
        self.assertExit(r, 1)
        unreachable = [l for l in r.stdout.splitlines() if l.startswith("From ")]
        self.assertEqual(unreachable,
                         [f"From 127.0.0.1: seq={n} Destination Port Unreachable"
                          for n in (1, 2, 3)], r.describe())
        self.assertNotIn("Request timed out", r.stdout)
        self.assertNotIn("Reply from", r.stdout)
        self.assertPackets(r, 3, 0, 3, "100.0")
        self.assertEqual(r.stderr.splitlines(),
                         [f"udpbeat: 127.0.0.1:{port}: port unreachable: nothing is listening"],
                         r.describe())

    def test_nothing_listening_json(self):
        port = harness.free_udp_port()
        r = self.ping(f"127.0.0.1:{port}", "--proto", "seed", "--json", "-c", "3",
                      "-W", "200ms", "-i", "0")
        self.assertExit(r, 1)
        objs = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual([(o["event"], o.get("seq")) for o in objs],
                         [("start", None), ("unreachable", 1), ("unreachable", 2),
                          ("unreachable", 3), ("summary", None)], r.describe())
        self.assertEqual((objs[-1]["sent"], objs[-1]["received"], objs[-1]["lost"],
                          objs[-1]["unreachable"]), (3, 0, 3, 3))


if __name__ == "__main__":
    harness.main()
