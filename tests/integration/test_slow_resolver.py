"""A SIGHUP whose targets file names a host the resolver cannot answer for must not stall
the probing of the other targets: heartbeat reads and resolves the file on a thread of its
own, and the loop applies the result when it is ready.

The test runs in a network namespace of its own whose resolv.conf (ip netns exec bind-mounts
/etc/netns/NAME/resolv.conf) points at 127.0.0.1:53 inside the namespace, where a socket
reads queries and never answers: getaddrinfo then waits its full timeout (3 s here). All
traffic stays on the namespace's loopback. Needs CAP_SYS_ADMIN/CAP_NET_ADMIN; skipped
(exit 77) otherwise. The namespace and its /etc/netns directory are always removed."""

import json
import os
import shutil
import signal
import tempfile
import unittest

import harness
import skipmain
from harness import UdpbeatTestCase
from test_netns import IP, sh

RESOLVER_TIMEOUT_S = 3
# Never answers: reads each query and drops it, for as long as the test runs.
BLACK_HOLE_DNS = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('127.0.0.1', 53))\n"
    "print('ready', flush=True)\n"
    "while True:\n"
    "    s.recvfrom(4096)\n")


class SlowResolverTest(UdpbeatTestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0 or shutil.which(IP) is None:
            raise unittest.SkipTest("needs root and ip(8) for a network namespace")
        self.ns = f"ubeat-dns-{os.getpid()}"
        r = sh(IP, "netns", "add", self.ns, check=False)
        if r.returncode != 0:
            raise unittest.SkipTest(f"cannot create a network namespace: {r.stderr.strip()}")
        self.addCleanup(sh, IP, "netns", "delete", self.ns, check=False)
        etc = f"/etc/netns/{self.ns}"
        os.makedirs(etc, exist_ok=True)
        self.addCleanup(shutil.rmtree, etc, ignore_errors=True)
        with open(f"{etc}/resolv.conf", "w") as f:
            f.write(f"nameserver 127.0.0.1\noptions timeout:{RESOLVER_TIMEOUT_S} attempts:1\n")
        sh(IP, "-n", self.ns, "link", "set", "lo", "up")

    def in_ns(self, *argv):
        return [IP, "netns", "exec", self.ns, *[str(a) for a in argv]]

    def test_a_slow_name_does_not_stall_the_others(self):
        dns = self.spawn(self.in_ns("/usr/bin/python3", "-c", BLACK_HOLE_DNS))
        dns.wait_line(r"^ready$")
        serve = self.spawn(self.in_ns(harness.UDPBEAT, "serve", "--bind", "127.0.0.1:0"))
        port = int(serve.wait_line(harness.LISTEN_RE.pattern).group(2))
        d = tempfile.mkdtemp(prefix="udpbeat-dns-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "targets")
        with open(path, "w") as f:
            f.write(f"127.0.0.1:{port}\n")
        hb = self.spawn(self.in_ns(harness.UDPBEAT, "heartbeat", "--targets", path, "-i", "20ms",
                                   "--json"))
        hb.wait_line(r'"event":"reply"')
        with open(path, "w") as f:
            f.write(f"127.0.0.1:{port}\nno-such-host.udpbeat.test:{port}\n")
        start = len(hb.out_lines)
        hb.signal(signal.SIGHUP)
        # The read ends when the resolver gives up; the name is left out, the rest applied.
        m = hb.wait_line(r"^udpbeat: ", stream="err",
                         timeout=harness.STARTUP_TIMEOUT + 2 * RESOLVER_TIMEOUT_S)
        self.assertTrue(m.string.startswith(f"udpbeat: {path}:2: resolve no-such-host."),
                        m.string)
        hb.wait_line(r'"event":"reload"', start=start)
        hb.signal(signal.SIGINT)
        self.assertEqual(hb.wait(), 1, hb.stderr)  # 1: a target was left out
        sent = [json.loads(line)["sent_unix_ns"] for line in hb.out_lines[start:]
                if '"event":"reply"' in line]
        # Heartbeats went on every 20 ms all through the 3 s the resolver took: before,
        # the loop waited in getaddrinfo and the longest gap was the resolver's timeout.
        self.assertGreater(len(sent), 50, hb.stdout)
        gaps = [b - a for a, b in zip(sent, sent[1:])]
        self.assertLess(max(gaps), RESOLVER_TIMEOUT_S * 1e9 / 2, gaps)


if __name__ == "__main__":
    skipmain.main()
