"""serve --loss P --seed N: simulated loss within binomial bounds, counted consistently."""

import signal

import harness
from harness import UdpbeatTestCase, unittest


class LossTest(UdpbeatTestCase):

    def ping_through_loss(self, count, seed):
        s = self.serve("--loss", "0.5", "--seed", seed)
        r = self.ping(s.target, "-c", count, "-i", "1ms", "-W", "200ms", "-q", timeout=60)
        p = harness.parse_packets(r.stdout)
        self.assertIsNotNone(p, r.describe())
        c = s.stop()
        return r, p, c

    def test_loss_half(self):
        n = 2000
        s = self.serve("--loss", "0.5", "--seed", "1")
        r = self.ping(s.target, "-c", n, "-i", "1ms", "-W", "200ms", "-q", timeout=60)
        self.assertExit(r, 0)
        p = harness.parse_packets(r.stdout)
        self.assertIsNotNone(p, r.describe())
        self.assertEqual(p["sent"], n)
        self.assertEqual(p["received"] + p["lost"], n, r.describe())
        # Binomial(2000, 0.5): mean 1000, sd 22.4; accept +-5 sd.
        self.assertLessEqual(abs(p["lost"] - 1000), 112, r.describe())
        # -q prints only the statistics.
        self.assertNotIn("Reply from", r.stdout)
        self.assertNotIn("Request timed out", r.stdout)
        self.assertEqual(r.stderr, "")
        rich = harness.parse_rich(r.stdout)
        self.assertEqual((rich["duplicate"], rich["malformed"]), (0, 0), r.describe())
        c = s.stop()
        self.assertCounters(c, received=n, dropped=p["lost"], replied=n - p["lost"],
                            malformed=0, send_errors=0, kernel_drops=0)

    def test_loss_seed_reproducible(self):
        # The same --seed drops the same number of an identical request stream.
        n = 300
        _, p1, c1 = self.ping_through_loss(n, "7")
        _, p2, c2 = self.ping_through_loss(n, "7")
        six = harness.COUNTER_NAMES
        self.assertEqual({k: c1[k] for k in six}, {k: c2[k] for k in six})
        self.assertEqual(c1["received"], n)
        self.assertEqual(c1["dropped"], p1["lost"])
        self.assertEqual(c2["dropped"], p2["lost"])
        self.assertLessEqual(abs(p1["lost"] - n / 2), 5 * (n * 0.25) ** 0.5)

    def test_serve_quiet(self):
        # -q hides the "listening on" line, so the port is chosen here.
        port = harness.free_udp_port()
        p = self.spawn([harness.UDPBEAT, "serve", "--bind", f"127.0.0.1:{port}", "-q"])
        r = None
        for _ in range(50):  # wait for the bind: retry the ping (bounded)
            r = self.ping(f"127.0.0.1:{port}", "-c", "1", "-W", "200ms")
            if r.returncode == 0:
                break
        self.assertExit(r, 0)
        p.signal(signal.SIGINT)
        self.assertEqual(p.wait(), 0)
        self.assertEqual((p.stdout, p.stderr), ("", ""))


if __name__ == "__main__":
    harness.main()
