"""Real loss, measured exactly (issue 7, item 5): two network namespaces joined by a veth
pair (198.18.0.1/30 client, 198.18.0.2/30 server; the benchmarking range, inside the
namespaces only). nftables in the server namespace drops a random 20% of udpbeat's
packets in each direction, with a counter per direction; udpbeat's lost count must equal
the sum of the two counters exactly (a dropped request has no reply, so a probe is lost
once, either way), with nothing late and nothing dropped locally.

Needs CAP_SYS_ADMIN/CAP_NET_ADMIN (ip netns add). Where namespaces cannot be made every
test is skipped and the program exits 77, which meson reports as SKIP. The namespaces
are always deleted (which removes the veth pair and the nftables table with them)."""

import json
import os
import shutil
import subprocess
import sys
import time
import unittest

import harness
import skipmain

IP = "/usr/sbin/ip"
NFT = "/usr/sbin/nft"
CLIENT_ADDR, SERVER_ADDR = "198.18.0.1", "198.18.0.2"
PORT = 8620
LOSS_PERCENT = 20
NETNS_TIMEOUT = 60.0 * harness.SCALE


def sh(*argv, check=True, timeout=20):
    r = subprocess.run([str(a) for a in argv], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"{argv} exited {r.returncode}: {r.stderr.strip()}")
    return r


class NetnsPair:
    """Two namespaces named after this process, a veth pair, addresses, links up."""

    _next = 0

    def __init__(self):
        NetnsPair._next += 1
        tag = f"{os.getpid()}-{NetnsPair._next}"
        self.client, self.server = f"ubeat-c-{tag}", f"ubeat-s-{tag}"
        self.created = []

    def create(self):
        for ns in (self.client, self.server):
            r = sh(IP, "netns", "add", ns, check=False)
            if r.returncode != 0:
                raise unittest.SkipTest(f"cannot create a network namespace: {r.stderr.strip()}")
            self.created.append(ns)
        # The veth pair is created inside the namespaces: it never exists outside them.
        sh(IP, "-n", self.client, "link", "add", "veth0", "type", "veth", "peer", "name",
           "veth0", "netns", self.server)
        sh(IP, "-n", self.client, "addr", "add", f"{CLIENT_ADDR}/30", "dev", "veth0")
        sh(IP, "-n", self.server, "addr", "add", f"{SERVER_ADDR}/30", "dev", "veth0")
        for ns in (self.client, self.server):
            sh(IP, "-n", ns, "link", "set", "lo", "up")
            sh(IP, "-n", ns, "link", "set", "veth0", "up")

    def delete(self):
        for ns in reversed(self.created):
            sh(IP, "netns", "delete", ns, check=False)
        self.created = []

    def exec_argv(self, ns, *argv):
        return [IP, "netns", "exec", ns, *[str(a) for a in argv]]

    def nft(self, script):
        r = subprocess.run(self.exec_argv(self.server, NFT, "-f", "-"), input=script,
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise AssertionError(f"nft -f failed: {r.stderr}\n{script}")

    def install_loss(self, exempt_seq=None):
        """20% random drop each way on udpbeat's port, one counter per direction. With
        exempt_seq, the STAMP request with that sequence number (octets 0-3 of the UDP
        payload) and its reply (the sender's sequence number, octets 24-27) pass."""
        ex_in = f"@th,64,32 != {exempt_seq} " if exempt_seq is not None else ""
        ex_out = f"@th,256,32 != {exempt_seq} " if exempt_seq is not None else ""
        self.nft(f"""table inet udpbeat_loss {{
  chain in {{ type filter hook input priority 0; policy accept;
    udp dport {PORT} {ex_in}numgen random mod 100 < {LOSS_PERCENT} counter drop; }}
  chain out {{ type filter hook output priority 0; policy accept;
    udp sport {PORT} {ex_out}numgen random mod 100 < {LOSS_PERCENT} counter drop; }}
}}
""")

    def loss_counters(self):
        """{'in': packets, 'out': packets} from the drop rules' counters."""
        r = sh(*self.exec_argv(self.server, NFT, "-j", "list", "table", "inet", "udpbeat_loss"))
        out = {}
        for item in json.loads(r.stdout)["nftables"]:
            rule = item.get("rule")
            if not rule:
                continue
            for e in rule["expr"]:
                if "counter" in e:
                    out[rule["chain"]] = e["counter"]["packets"]
        assert set(out) == {"in", "out"}, out
        return out


def report(*args):
    print("MEASURED:", *args, file=sys.stderr, flush=True)


class NetnsLossTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        if not (os.access(IP, os.X_OK) and os.access(NFT, os.X_OK)):
            self.skipTest(f"{IP} or {NFT} is missing")
        self.ns = NetnsPair()
        self.addCleanup(self.ns.delete)
        self.ns.create()
        self.t0 = time.monotonic()

    def start_server(self, *args):
        proc = harness.Proc(self.ns.exec_argv(self.ns.server, harness.UDPBEAT, "serve",
                                              "--bind", f"{SERVER_ADDR}:{PORT}", *args))
        self.addCleanup(proc.kill)
        proc.wait_line(harness.LISTEN_RE.pattern)
        return proc

    def client(self, mode, *args):
        argv = self.ns.exec_argv(self.ns.client, harness.UDPBEAT, mode, f"{SERVER_ADDR}:{PORT}",
                                 *args)
        r = harness.run(argv, timeout=NETNS_TIMEOUT)
        return r

    def warm_up(self, *proto):
        # Resolves the neighbour (ARP) before any loss is installed.
        r = self.client("ping", "-c", "3", "-i", "10ms", *proto)
        self.assertEqual(r.returncode, 0, r.describe())

    def stop_server(self, proc):
        proc.signal(2)
        self.assertEqual(proc.wait(), 0, proc.stderr)
        lines = proc.out_lines
        i = lines.index("--- udpbeat serve statistics ---")
        return harness.parse_counters(lines[i + 1])

    def summary(self, r):
        self.assertEqual(r.returncode, 0, r.describe())
        s = harness.json_events(r.stdout)[-1]
        self.assertEqual(s["event"], "summary", r.stdout[-2000:])
        return s

    def check_exact(self, what, s, counters, server, warm):
        total = counters["in"] + counters["out"]
        report(f"{what}: sent {s['sent']} received {s['received']} lost {s['lost']} "
               f"late {s['late']} local_drops {s['local_drops']}; nft dropped in "
               f"{counters['in']} + out {counters['out']} = {total}; serve {server}; "
               f"{time.monotonic() - self.t0:.1f}s")
        self.assertEqual(s["lost"], total, (s, counters))
        self.assertEqual((s["late"], s["local_drops"], s["duplicate"]), (0, 0, 0), s)
        self.assertEqual(s["received"] + s["lost"], s["sent"], s)
        # The server read every request the input chain let through. A reply the output
        # hook drops fails its sendmsg with EPERM: serve counts it as a send error.
        self.assertEqual(server["received"], warm + s["sent"] - counters["in"], server)
        self.assertEqual(server["send_errors"], counters["out"], server)
        self.assertEqual(server["replied"], server["received"] - counters["out"], server)
        self.assertGreater(counters["in"], 0, counters)
        self.assertGreater(counters["out"], 0, counters)

    def run_ping(self, proto):
        server = self.start_server()
        proto_args = ("--proto", proto)
        self.warm_up(*proto_args)
        self.ns.install_loss()
        r = self.client("ping", "--json", "-q", "-c", "500", "-i", "2ms", "-W", "200ms",
                        *proto_args)
        s = self.summary(r)
        self.assertEqual(s["sent"], 500, s)
        counters = self.ns.loss_counters()
        self.check_exact(f"ping --proto {proto}", s, counters, self.stop_server(server), 3)

    def test_ping_stamp(self):
        self.run_ping("stamp")

    def test_ping_seed(self):
        self.run_ping("seed")

    def test_heartbeat(self):
        server = self.start_server()
        self.warm_up()
        self.ns.install_loss()
        r = self.client("heartbeat", "--json", "-q", "-c", "300", "-i", "5ms", "-W", "200ms",
                        "--misses", "1000")
        s = self.summary(r)
        self.assertEqual(s["sent"], 300, s)
        counters = self.ns.loss_counters()
        self.check_exact("heartbeat", s, counters, self.stop_server(server), 3)

    def test_stamp_stateful_directions(self):
        # The sender learns forward loss from the reflector's numbering, up to the last
        # reply it got: loss after the last answered probe cannot be told apart. The last
        # probe (seq 499; STAMP numbers from 0) is exempt from the drop rules, so every
        # lost probe precedes an answered one and the split must be exact.
        server = self.start_server("--stamp-stateful")
        self.warm_up()
        self.ns.install_loss(exempt_seq=499)
        r = self.client("ping", "--json", "-q", "-c", "500", "-i", "2ms", "-W", "200ms")
        s = self.summary(r)
        counters = self.ns.loss_counters()
        self.check_exact("ping stamp --stamp-stateful", s, counters, self.stop_server(server), 3)
        report(f"forward_lost {s.get('forward_lost')} backward_lost {s.get('backward_lost')}")
        self.assertTrue(s.get("reflector_stateful"), s)
        self.assertEqual(s["forward_lost"], counters["in"], (s, counters))
        self.assertEqual(s["backward_lost"], counters["out"], (s, counters))


if __name__ == "__main__":
    skipmain.main()
