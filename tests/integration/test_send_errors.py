"""Send errors on a real run: probes whose datagram never leaves this host are settled at
once as send errors, neither sent nor lost, and the text, JSON and metrics say so alike.

A network namespace of its own (loopback only: udpbeat serve and udpbeat ping both on its
127.0.0.1) with an nftables rule on the output hook that drops the STAMP requests with
chosen sequence numbers (octets 0-3 of the UDP payload), with a counter. A drop on the
output hook makes the sending sendmsg fail with EPERM (a `reject` there answers with an
ICMP error as well, and the socket would then also see ECONNREFUSED: drop is the bounded,
known reason). So the run knows exactly which probes never left, and the counter says
how many the kernel refused.

Needs CAP_SYS_ADMIN/CAP_NET_ADMIN (ip netns add); skipped otherwise (exit 77 when all
are), as test_netns.py. The namespace is always deleted, which removes the table too."""

import os
import shutil
import subprocess
import tempfile
import unittest

import harness
import skipmain
from harness import UdpbeatTestCase

IP = "/usr/sbin/ip"
NFT = "/usr/sbin/nft"
PORT = 8621
COUNT = 10
DROPPED = (2, 5, 7)  # STAMP sequence numbers, from 0
EPERM = 1
RUN_TIMEOUT = 30.0 * harness.SCALE


def sh(*argv, check=True, input=None):
    r = subprocess.run([str(a) for a in argv], input=input, capture_output=True, text=True,
                       timeout=20, stdin=None if input is not None else subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise AssertionError(f"{argv} exited {r.returncode}: {r.stderr.strip()}")
    return r


class OutputDropNamespace:
    """One namespace named after this process, lo up, and an output rule dropping the
    STAMP requests to `port` whose sequence number is in `seqs`. Used by
    test_json_schema.py too (the send_error event's shape)."""

    _next = 0

    def __init__(self, port=PORT, seqs=DROPPED):
        OutputDropNamespace._next += 1
        self.name = f"ubeat-sf-{os.getpid()}-{OutputDropNamespace._next}"
        self.port, self.seqs = port, seqs
        self.created = False

    def create(self):
        """Raises unittest.SkipTest where namespaces or nft are not available."""
        if not (os.access(IP, os.X_OK) and os.access(NFT, os.X_OK)):
            raise unittest.SkipTest(f"{IP} or {NFT} is missing")
        r = sh(IP, "netns", "add", self.name, check=False)
        if r.returncode != 0:
            raise unittest.SkipTest(f"cannot create a network namespace: {r.stderr.strip()}")
        self.created = True
        sh(IP, "-n", self.name, "link", "set", "lo", "up")
        seqs = ", ".join(str(s) for s in self.seqs)
        sh(*self.argv(NFT, "-f", "-"), input=f"""table inet udpbeat_sendfail {{
  chain out {{ type filter hook output priority 0; policy accept;
    udp dport {self.port} @th,64,32 {{ {seqs} }} counter drop; }}
}}
""")

    def delete(self):
        if self.created:
            sh(IP, "netns", "delete", self.name, check=False)
            self.created = False

    def argv(self, *argv):
        return [IP, "netns", "exec", self.name, *[str(a) for a in argv]]

    def dropped(self):
        """Packets the drop rule has dropped so far."""
        r = sh(*self.argv(NFT, "list", "table", "inet", "udpbeat_sendfail"))
        for line in r.stdout.splitlines():
            if "counter packets" in line:
                return int(line.split("counter packets")[1].split()[0])
        raise AssertionError(f"no counter in\n{r.stdout}")

    def start_server(self, test):
        proc = harness.Proc(self.argv(harness.UDPBEAT, "serve", "--bind", f"127.0.0.1:{self.port}"))
        test.addCleanup(proc.kill)
        proc.wait_line(harness.LISTEN_RE.pattern)
        return proc

    def ping(self, *args):
        return harness.run(self.argv(harness.UDPBEAT, "ping", f"127.0.0.1:{self.port}", *args),
                           timeout=RUN_TIMEOUT)


class SendErrorsTest(UdpbeatTestCase):

    def namespace(self, seqs=DROPPED, server=True):
        self.ns = OutputDropNamespace(seqs=seqs)
        self.addCleanup(self.ns.delete)
        self.ns.create()
        if server:
            self.ns.start_server(self)

    def test_text_summary_counts_send_errors_not_loss(self):
        self.namespace()
        r = self.ns.ping("-c", COUNT, "-i", "10ms", "-W", "500ms")
        self.assertExit(r, 0)
        self.assertEqual(self.ns.dropped(), len(DROPPED), r.describe())
        sent = COUNT - len(DROPPED)
        p = self.assertPackets(r, sent, sent, 0, "0.0")
        self.assertEqual((p["send_errors"], p["in_flight"]), (len(DROPPED), 0), r.describe())
        lines = r.stdout.splitlines()
        errors = [l for l in lines if l.startswith("send error for ")]
        self.assertEqual(errors, [f"send error for 127.0.0.1 seq={s}: Operation not permitted"
                                  for s in DROPPED], r.describe())
        self.assertIn(f"{len(DROPPED)} probes never left this host (send errors: refused "
                      "locally), neither sent nor lost", lines, r.describe())
        self.assertTrue(any(l.startswith(f"{sent} packets transmitted, {sent} received, "
                                         f"+{len(DROPPED)} send errors, 0% packet loss")
                            for l in lines), r.describe())
        self.assertFalse([l for l in lines if l.startswith("no answer yet")], r.describe())

    def test_json_and_metrics_agree(self):
        self.namespace()
        d = tempfile.mkdtemp(prefix="udpbeat-sendfail-")
        self.addCleanup(shutil.rmtree, d, True)
        prom = os.path.join(d, "ping.prom")
        r = self.ns.ping("-c", COUNT, "-i", "10ms", "-W", "500ms", "--json",
                         "--metrics-file", prom)
        self.assertExit(r, 0)
        self.assertEqual(self.ns.dropped(), len(DROPPED), r.describe())
        ev = harness.json_events(r.stdout)
        errors = [e for e in ev if e["event"] == "send_error"]
        self.assertEqual([e["seq"] for e in errors], list(DROPPED), r.describe())
        for e in errors:
            self.assertEqual((e["errno"], e["error"]), (EPERM, "Operation not permitted"), e)
            self.assertGreaterEqual(e["time_unix_ns"], e["sent_unix_ns"], e)
        replies = sorted(e["seq"] for e in ev if e["event"] == "reply")
        self.assertEqual(replies, [s for s in range(COUNT) if s not in DROPPED], r.describe())
        self.assertFalse([e for e in ev if e["event"] in ("timeout", "unreachable")],
                         r.describe())
        summary = ev[-1]
        sent = COUNT - len(DROPPED)
        self.assertEqual(
            {k: summary[k] for k in ("sent", "received", "lost", "in_flight", "send_errors",
                                     "loss_ratio", "skipped")},
            {"sent": sent, "received": sent, "lost": 0, "in_flight": 0,
             "send_errors": len(DROPPED), "loss_ratio": 0, "skipped": 0}, summary)
        with open(prom) as f:
            text = f.read()
        m = harness.parse_metrics(text)
        t = frozenset({("target", f"127.0.0.1:{PORT}")})
        got = {k: m.get((k, t)) for k in ("udpbeat_probes_sent_total", "udpbeat_replies_total",
                                          "udpbeat_probes_lost_total",
                                          "udpbeat_send_errors_total")}
        self.assertEqual(got, {"udpbeat_probes_sent_total": sent, "udpbeat_replies_total": sent,
                               "udpbeat_probes_lost_total": 0,
                               "udpbeat_send_errors_total": len(DROPPED)}, text)
        self.assertIn("# TYPE udpbeat_send_errors_total counter", text)
        self.assertIn("# HELP udpbeat_send_errors_total ", text)
        promtool = shutil.which("promtool") or (
            "/usr/bin/promtool" if os.access("/usr/bin/promtool", os.X_OK) else None)
        if promtool:
            p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=harness.RUN_TIMEOUT)
            self.assertEqual(p.returncode, 0, f"promtool check metrics\n{p.stdout}{p.stderr}")

    def test_every_send_failing_is_no_loss_and_exits_1(self):
        # Every request dropped on output: nothing was sent, so nothing is lost either.
        self.namespace(seqs=tuple(range(4)), server=False)
        r = self.ns.ping("-c", 4, "-i", "10ms", "-W", "500ms", "--json")
        self.assertExit(r, 1)  # the target never answered
        self.assertEqual(self.ns.dropped(), 4, r.describe())
        summary = harness.json_events(r.stdout)[-1]
        self.assertEqual({k: summary[k] for k in ("sent", "received", "lost", "send_errors")},
                         {"sent": 0, "received": 0, "lost": 0, "send_errors": 4}, summary)
        # The exit status alone would read as a dead peer: stderr says why.
        self.assertEqual(r.stderr.splitlines(),
                         [f"udpbeat: 127.0.0.1:{PORT}: every send failed (4 probes): nothing "
                          "left this host"],
                         r.describe())

    def test_the_plot_draws_no_loss_for_a_send_error(self):
        self.namespace()
        d = tempfile.mkdtemp(prefix="udpbeat-sendfail-")
        self.addCleanup(shutil.rmtree, d, True)
        svg = os.path.join(d, "ping.svg")
        r = self.ns.ping("-c", COUNT, "-i", "10ms", "-W", "500ms", "-q", "--plot", svg)
        self.assertExit(r, 0)
        self.assertEqual(self.ns.dropped(), len(DROPPED), r.describe())
        with open(svg) as f:
            text = f.read()
        self.assertIn('id="lost-lane"', text)
        self.assertNotIn('id="lost"', text)  # the lane says "none": nothing was lost


if __name__ == "__main__":
    skipmain.main()
