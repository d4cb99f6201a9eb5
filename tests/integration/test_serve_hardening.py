"""serve on a real host, attacked or misconfigured (issue 12, items 1, 2, 5 and 6):

  1. replies leave from the address the request was sent to (a wildcard bind, IPv4 and
     IPv6, with threads, with delayed replies): 127.1.2.3 is one of loopback's addresses;
  2. a thread count past the file limit, or absurd, fails at once with one line and
     exit 2, and never crashes or hangs;
  5. one forged datagram whose source is another server (or the server itself) causes
     a handful of packets, not an endless exchange, in every pair of reply modes. The
     datagrams are forged with a raw socket (forge_udp.py) inside a network namespace
     the test creates (and deletes): only its own loopback ever sees them;
  6. delayed replies are bounded in bytes.

Needs root for the namespace (the loop tests are skipped without it, exit 77 if all are)."""

import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import time

import harness
import skipmain
from harness import UdpbeatTestCase, unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FORGE = os.path.join(HERE, "forge_udp.py")
IP = "/usr/sbin/ip"
NFT = "/usr/sbin/nft"
VIP = "127.1.2.3"  # a loopback address other than 127.0.0.1, as a VIP would be


def report(*args):
    """Measured numbers go to stderr (meson keeps them in the test log)."""
    print("MEASURED:", *args, file=sys.stderr, flush=True)


def ntp_now():
    return harness.ntp_from_ns(time.time_ns())


def stamp_request(seq=1, ssid=7, length=44):
    return harness.stamp_sender_packet(seq, ntp_now(), ssid, length)


def exchange(payload, dst, family=socket.AF_INET):
    """Sends `payload` to `dst` from an unconnected socket (which takes a reply from any
    source) and returns (reply, source address, source port)."""
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(harness.STOP_TIMEOUT)
        s.sendto(payload, dst)
        data, src = s.recvfrom(65535)
    return data, src[0], src[1]


# ---------------------------------------------------------------------------------------
# Item 1: the source address of replies.

class WildcardSourceTest(UdpbeatTestCase):

    def check_vip(self, s, dst_host=VIP, family=socket.AF_INET):
        target = f"[{dst_host}]:{s.port}" if ":" in dst_host else f"{dst_host}:{s.port}"
        for proto in ("stamp", "seed"):
            # ping's socket is connected: it drops a reply from any other source.
            r = self.ping(target, "-c", "3", "-i", "1ms", "--proto", proto)
            self.assertExit(r, 0)
            self.assertPackets(r, 3, 3, 0, "0.0")
        for payload in (b"Ping 1 1700000000.5", stamp_request()):
            _, host, port = exchange(payload, (dst_host, s.port), family)
            self.assertEqual((host, port), (dst_host, s.port), payload)

    def check_lab_client(self, s):
        # The lab's client takes a reply from anyone; the reply must still arrive.
        r = harness.run([sys.executable, harness.lab_peer_script("UDPPingerClient.py"), VIP,
                         s.port, "3"])
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertIn("Packets: Sent = 3, Received = 3, Lost = 0", r.stdout, r.describe())

    def test_ipv4_wildcard(self):
        s = self.serve(bind="0.0.0.0:0")
        self.check_vip(s)
        self.check_lab_client(s)
        c = s.stop()
        self.assertEqual(c["received"], c["replied"], c)

    def test_ipv6_wildcard(self):
        if not harness.has_ipv6_loopback():
            self.skipTest("no IPv6 loopback")
        s = self.serve(bind="[::]:0")
        self.check_vip(s, "::1", socket.AF_INET6)
        with open("/proc/sys/net/ipv6/bindv6only") as f:
            if f.read().strip() == "0":  # IPv4 reaches a [::] socket as ::ffff:a.b.c.d
                self.check_vip(s)
        c = s.stop()
        self.assertEqual(c["received"], c["replied"], c)

    def test_threads(self):
        s = self.serve("--threads", "2", bind="0.0.0.0:0")
        self.check_vip(s)
        # 32 sessions, each its own socket: the kernel spreads them over both threads
        # (all on one thread has odds of 2^-31).
        r = self.ping(f"{VIP}:{s.port}", "--sessions", "32", "-c", "3", "-i", "1ms", "--json",
                      "-q")
        self.assertExit(r, 0)
        summary = harness.json_events(r.stdout)[-1]
        self.assertEqual((summary["sent"], summary["received"], summary["lost"]), (96, 96, 0),
                         summary)
        c = s.stop()
        threads = [harness.THREAD_RE.match(line) for line in s.proc.out_lines]
        replied = [int(m.group(3)) for m in threads if m]
        self.assertEqual(len(replied), 2, s.proc.stdout)
        self.assertTrue(all(n > 0 for n in replied), s.proc.stdout)
        self.assertEqual(c["received"], c["replied"], c)

    def test_delayed_replies_keep_their_source(self):
        for mode in ("auto", "echo"):
            s = self.serve("--delay", "20ms", "--jitter", "5ms", "--reply", mode,
                           bind="0.0.0.0:0")
            if mode == "auto":
                self.check_vip(s)
            else:
                r = self.ping(f"{VIP}:{s.port}", "-c", "3", "-i", "1ms", "--proto", "seed")
                self.assertExit(r, 0)
                self.assertPackets(r, 3, 3, 0, "0.0")
                _, host, port = exchange(b"hello", (VIP, s.port))
                self.assertEqual((host, port), (VIP, s.port))
            c = s.stop()
            self.assertEqual(c["received"], c["replied"], c)


# ---------------------------------------------------------------------------------------
# Item 2: the thread count against the host's limits.

def run_limited(args, nofile=None, address_space=None, timeout=harness.RUN_TIMEOUT):
    """`udpbeat serve ARGS` under RLIMIT_NOFILE / RLIMIT_AS (soft and hard). Returns the
    Result if it exits within `timeout`; if it is still running then (serving), SIGTERM,
    which it must answer within STOP_TIMEOUT, else it is killed and the test fails."""
    def limit():
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        if address_space is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    argv = [harness.UDPBEAT, "serve", *[str(a) for a in args]]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, errors="replace",
                         preexec_fn=limit)
    try:
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGTERM)
            try:
                out, err = p.communicate(timeout=harness.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate(timeout=harness.STOP_TIMEOUT)
                raise AssertionError(f"{argv} ignored SIGTERM (hung)\nstdout:\n{out}\n"
                                     f"stderr:\n{err}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(harness.STOP_TIMEOUT)
    return harness.Result(argv, p.returncode, out, err)


def is_sanitized():
    """Sanitizer builds reserve terabytes of address space: no RLIMIT_AS test for them."""
    r = subprocess.run(["ldd", harness.UDPBEAT], capture_output=True, text=True)
    return "libasan" in r.stdout or "libtsan" in r.stdout


class ServeThreadsLimitTest(UdpbeatTestCase):

    def test_past_the_file_limit(self):
        # Segfaulted (rc 139) every time: a failed ring setup closed descriptor 0.
        r = run_limited(["--bind", "127.0.0.1:0", "--threads", "400"], nofile=100)
        line = self.assertOneErrorLine(r)
        self.assertRegex(line, r"threads(: '\d+' is out of range: give 1 to \d+| need \d+ open files)",
                         r.describe())

    def test_200_threads_never_hang(self):
        # Hung now and then, deaf to SIGINT and SIGTERM (a worker stopped through a
        # descriptor that a failed setup had closed). run_limited bounds every wait.
        for _ in range(5):
            r = run_limited(["--bind", "127.0.0.1:0", "--threads", "200"], nofile=100)
            self.assertOneErrorLine(r)

    def test_file_limit_within_the_thread_range(self):
        # 4 threads are always in range; 40 descriptors are too few for them.
        r = run_limited(["--bind", "127.0.0.1:0", "--threads", "4"], nofile=40)
        line = self.assertOneErrorLine(r, "open files but the limit is 40")
        self.assertIn("(ulimit -n)", line)

    def test_huge_thread_counts_refused_with_the_range(self):
        for n in ("100000", "2147483647"):
            r = run_limited(["--bind", "127.0.0.1:0", "--threads", n])
            line = self.assertOneErrorLine(r)
            self.assertRegex(line, r"1 to \d+", r.describe())

    def test_address_space_limit(self):
        if is_sanitized():
            self.skipTest("sanitizer build: it cannot run under RLIMIT_AS")
        # Each thread maps about 100 MiB (receive buffers, stack, malloc arena): 4 do not
        # fit in 256 MiB, and the check says so before any thread starts.
        r = run_limited(["--bind", "127.0.0.1:0", "--threads", "4"], address_space=256 << 20)
        self.assertOneErrorLine(r, "of address space but the limit is 256 MiB")

    def test_threads_answer_sigterm(self):
        s = self.serve("--threads", "4")
        r = self.ping(s.target, "--sessions", "8", "-c", "2", "-i", "1ms", "--json", "-q")
        self.assertExit(r, 0)
        s.proc.signal(signal.SIGTERM)
        self.assertEqual(s.proc.wait(), 0, s.proc.stderr)


# ---------------------------------------------------------------------------------------
# Item 5: loops between servers.

class LoopNetns:
    """One network namespace with its loopback up, named after this process; nftables
    in it counts the UDP packets between the servers' ports."""

    _next = 0

    def __init__(self):
        LoopNetns._next += 1
        self.name = f"ubeat-loop-{os.getpid()}-{LoopNetns._next}"
        self.created = False

    def create(self):
        if not (os.access(IP, os.X_OK) and os.access(NFT, os.X_OK)):
            raise unittest.SkipTest(f"{IP} or {NFT} is missing")
        r = subprocess.run([IP, "netns", "add", self.name], capture_output=True, text=True,
                           timeout=20)
        if r.returncode != 0:
            raise unittest.SkipTest(f"cannot create a network namespace: {r.stderr.strip()}")
        self.created = True
        self.sh(IP, "-n", self.name, "link", "set", "lo", "up")

    def delete(self):
        if self.created:
            subprocess.run([IP, "netns", "delete", self.name], capture_output=True, timeout=20)
            self.created = False

    @staticmethod
    def sh(*argv, stdin=None):
        r = subprocess.run([str(a) for a in argv], input=stdin, capture_output=True, text=True,
                           timeout=20)
        if r.returncode != 0:
            raise AssertionError(f"{argv} exited {r.returncode}: {r.stderr.strip()}")
        return r

    def argv(self, *argv):
        return [IP, "netns", "exec", self.name, *[str(a) for a in argv]]

    def count_between(self, ports):
        p = ", ".join(str(x) for x in ports)
        self.sh(*self.argv(NFT, "-f", "-"), stdin=f"""table inet ubeat_loop {{
  chain out {{ type filter hook output priority 0; policy accept;
    udp sport {{ {p} }} udp dport {{ {p} }} counter; }}
}}
""")

    def packets(self):
        r = self.sh(*self.argv(NFT, "list", "table", "inet", "ubeat_loop"))
        for line in r.stdout.splitlines():
            if "counter packets" in line:
                return int(line.split("counter packets")[1].split()[0])
        raise AssertionError("no counter:\n" + r.stdout)

    def forge(self, src, dst, *payloads):
        """Datagrams from src (addr, port) to dst (addr, port), whoever owns src, one per
        payload, back to back."""
        self.sh(*self.argv(sys.executable, FORGE, src[0], src[1], dst[0], dst[1],
                           *[p.hex() for p in payloads]))


# Payloads a forger would pick to start a loop: the lab's requests, a STAMP
# session-sender packet, and text that any echo server answers.
LOOP_PAYLOADS = {
    "ping": lambda: b"Ping 1 1700000000.5",
    "heartbeat": lambda: b"Heartbeat 1 1700000000.5",
    "stamp": lambda: stamp_request(),
    "text": lambda: b"any datagram at all, echoed back and forth by echo servers",
    "upper": lambda: b"\x01ANY DATAGRAM WITH NO LOWERCASE LETTER, ITS OWN ECHO\x02" * 2,
}
MODES = ("auto", "echo", "stamp", "heartbeat")
# One forged datagram may cost this many packets between servers at most (the issue's
# bound is 100 in 10 s); the rules need 4 at worst (echo <-> stamp).
MAX_PACKETS_PER_FORGERY = 10
# Forged back to back, all distinct (a loop the first starts is still going round when
# the last arrives).
FORGED_AT_ONCE = 20


def many_payload(i):
    """The i-th of several distinct forged payloads: text any echo server answers, the
    lab's ping, or a STAMP session-sender packet."""
    if i % 3 == 0:
        return f"junk {i}".encode()
    if i % 3 == 1:
        return f"Ping {i} 1700000000.5".encode()
    return stamp_request(seq=i)


class ServeLoopTest(UdpbeatTestCase):

    def setUp(self):
        self.ns = LoopNetns()
        self.addCleanup(self.ns.delete)
        self.ns.create()

    def start(self, mode, *args, bind="127.0.0.1:0"):
        proc = self.spawn(self.ns.argv(harness.UDPBEAT, "serve", "--bind", bind, "--reply",
                                       mode, *args))
        m = proc.wait_line(harness.LISTEN_RE.pattern)
        return proc, int(m.group(2))

    def stop(self, proc):
        proc.signal(signal.SIGINT)
        self.assertEqual(proc.wait(), 0, proc.stderr)
        lines = proc.out_lines
        return harness.parse_counters(lines[lines.index("--- udpbeat serve statistics ---") + 1])

    def quiet_packets(self):
        """The packet count once it stops changing (two equal reads 0.1 s apart), or
        fails after a bounded wait: a loop never goes quiet."""
        deadline = time.monotonic() + 3 * harness.SCALE
        last = self.ns.packets()
        while True:
            time.sleep(0.1)
            now = self.ns.packets()
            if now == last:
                return now
            if time.monotonic() > deadline:
                raise AssertionError(f"still exchanging packets after 3 s: {last} -> {now}")
            last = now

    def run_matrix(self, targets, sources, payloads, *args):
        """Starts one server per mode; forges each payload to each target mode from each
        source mode (itself included) and checks what every forgery cost."""
        servers = {m: self.start(m, *args) for m in MODES}
        ports = {m: port for m, (_, port) in servers.items()}
        self.ns.count_between(sorted(ports.values()))
        t0 = time.monotonic()
        forged, worst = 0, (0, None)
        for a in targets:
            for b in sources:
                for name in payloads:
                    before = self.quiet_packets()
                    self.ns.forge(("127.0.0.1", ports[b]), ("127.0.0.1", ports[a]),
                                  LOOP_PAYLOADS[name]())
                    forged += 1
                    cost = self.quiet_packets() - before
                    what = f"forged {name} to {a} from {b}"
                    self.assertGreaterEqual(cost, 1, what)  # the forged datagram itself
                    self.assertLessEqual(cost, MAX_PACKETS_PER_FORGERY, what)
                    worst = max(worst, (cost, what))
        total = self.quiet_packets()
        # Nothing more over a further second: the exchanges have ended, not slowed.
        time.sleep(1)
        self.assertEqual(self.ns.packets(), total)
        counters = {m: self.stop(proc) for m, (proc, _) in servers.items()}
        received = sum(c["received"] for c in counters.values())
        replied = sum(c["replied"] for c in counters.values())
        refused = sum(c["refused"] for c in counters.values())
        report(f"loops: {forged} forged datagrams cost {total} packets in all (nft), worst "
               f"{worst[0]} ({worst[1]}); serve received {received}, replied {replied}, "
               f"refused {refused}; {time.monotonic() - t0:.1f}s")
        # Every packet between the servers was read by one of them: the forged ones and
        # every reply.
        self.assertEqual(received, total, counters)
        self.assertEqual(received, forged + replied, counters)
        self.assertGreater(refused, 0, counters)
        for c in counters.values():
            self.assertEqual(c["received"], c["replied"] + c["dropped"] + c["malformed"] +
                             c["rate_limited"] + c["refused"] + c["send_errors"], c)
        return counters

    def test_loops_to_auto(self):
        self.run_matrix(["auto"], MODES, LOOP_PAYLOADS)

    def test_loops_to_echo(self):
        self.run_matrix(["echo"], MODES, LOOP_PAYLOADS)

    def test_loops_to_stamp(self):
        self.run_matrix(["stamp"], MODES, LOOP_PAYLOADS)

    def test_loops_to_heartbeat(self):
        self.run_matrix(["heartbeat"], MODES, LOOP_PAYLOADS)

    def test_loops_without_the_budget(self):
        # The rules alone end the exchanges: the budget is only the last resort.
        c = self.run_matrix(["echo", "stamp"], ["echo", "stamp"], ["stamp", "text"],
                            "--max-rate", "0")
        self.assertEqual(sum(x["rate_limited"] for x in c.values()), 0, c)

    def test_answering_itself_on_a_wildcard_bind(self):
        # A request "from" the server's own port on one of the host's addresses
        # (127.0.0.1: its loopback interface's) is the server's own reply: refused at once,
        # whatever it holds. From an address that only routes here (127.0.0.5, any of
        # 127/8 does), it is answered, and the answer comes back from 127.0.0.1: refused.
        for mode in MODES:
            proc, port = self.start(mode, bind="0.0.0.0:0")
            self.ns.count_between([port])
            for name in LOOP_PAYLOADS:
                before = self.quiet_packets()
                self.ns.forge(("127.0.0.1", port), ("127.0.0.5", port), LOOP_PAYLOADS[name]())
                self.assertEqual(self.quiet_packets() - before, 1, f"{mode} {name}")
                before = self.quiet_packets()
                self.ns.forge(("127.0.0.5", port), ("127.0.0.1", port), LOOP_PAYLOADS[name]())
                self.assertLessEqual(self.quiet_packets() - before, 2, f"{mode} {name}")
            c = self.stop(proc)
            n = len(LOOP_PAYLOADS)
            self.assertGreaterEqual(c["refused"], n, (mode, c))
            self.assertLessEqual(c["received"], 3 * n, (mode, c))
            self.assertEqual(c["received"], c["replied"] + c["malformed"] + c["refused"], c)
            self.ns.sh(*self.ns.argv(NFT, "delete", "table", "inet", "ubeat_loop"))

    # Several forgeries at once, and replies delayed past a second. With one remembered
    # reply per source and a one-second window, every one of these was an endless
    # exchange (two echo servers: ~40,000 packets a second; one server answering itself
    # through two aliases with a 1.1 s delay: one packet every 1.1 s, for ever).

    def forge_at_once(self, src, dst, count=FORGED_AT_ONCE):
        """`count` distinct datagrams from src to dst, back to back; fails unless what they
        cost is bounded (a loop never goes quiet: quiet_packets fails after 3 s)."""
        before = self.quiet_packets()
        self.ns.forge(src, dst, *[many_payload(i) for i in range(count)])
        cost = self.quiet_packets() - before
        time.sleep(0.5)
        self.assertEqual(self.ns.packets() - before, cost, "the exchanges slowed, not ended")
        self.assertGreaterEqual(cost, count)
        self.assertLessEqual(cost, MAX_PACKETS_PER_FORGERY * count)
        return cost

    def test_many_forgeries_at_once_between_two_servers(self):
        for a, b in (("echo", "echo"), ("echo", "stamp"), ("stamp", "echo"),
                     ("stamp", "stamp"), ("auto", "auto")):
            (pa, port_a), (pb, port_b) = self.start(a), self.start(b)
            self.ns.count_between([port_a, port_b])
            cost = self.forge_at_once(("127.0.0.1", port_b), ("127.0.0.1", port_a))
            ca, cb = self.stop(pa), self.stop(pb)
            report(f"{FORGED_AT_ONCE} forged at once to {a} from {b}: {cost} packets; "
                   f"{a} {ca}, {b} {cb}")
            self.assertEqual(ca["send_errors"] + cb["send_errors"], 0, (ca, cb))
            self.ns.sh(*self.ns.argv(NFT, "delete", "table", "inet", "ubeat_loop"))

    def test_many_forgeries_at_once_answering_itself_through_aliases(self):
        # 127.0.0.2 and 127.0.0.3 only route here (not listed as the host's addresses):
        # the server answers each, and its own answer comes back from the other alias.
        for mode in ("echo", "auto"):
            proc, port = self.start(mode, bind="0.0.0.0:0")
            self.ns.count_between([port])
            cost = self.forge_at_once(("127.0.0.2", port), ("127.0.0.3", port))
            c = self.stop(proc)
            report(f"{FORGED_AT_ONCE} forged at once to a 0.0.0.0 {mode} server from its own "
                   f"port on an alias: {cost} packets; {c}")
            self.assertEqual(c["send_errors"], 0, c)
            self.ns.sh(*self.ns.argv(NFT, "delete", "table", "inet", "ubeat_loop"))

    def check_delayed_loop(self, delay_s, ports, src, dst):
        """One forged datagram where each reply waits `delay_s`: the exchange is over
        within a few delays, and then stays quiet for more than two of them."""
        self.ns.count_between(ports)
        self.ns.forge(src, dst, b"junk 0, delayed")
        time.sleep(3 * delay_s + 1.2 * harness.SCALE)
        settled = self.ns.packets()
        time.sleep(2 * delay_s + 0.2)
        self.assertEqual(self.ns.packets(), settled, "still exchanging packets")
        self.assertLessEqual(settled, MAX_PACKETS_PER_FORGERY)
        return settled

    def test_forgery_answering_itself_with_delayed_replies(self):
        proc, port = self.start("echo", "--delay", "1100ms", bind="0.0.0.0:0")
        cost = self.check_delayed_loop(1.1, [port], ("127.0.0.2", port), ("127.0.0.3", port))
        c = self.stop(proc)
        report(f"one forged to a 0.0.0.0 echo server with --delay 1100ms from itself: "
               f"{cost} packets; {c}")
        self.assertGreaterEqual(c["refused"], 1, c)

    def test_forgery_between_two_servers_with_delayed_replies(self):
        (pa, port_a), (pb, port_b) = (self.start("echo", "--delay", "1500ms"),
                                      self.start("echo", "--delay", "1500ms"))
        cost = self.check_delayed_loop(1.5, [port_a, port_b], ("127.0.0.1", port_b),
                                       ("127.0.0.1", port_a))
        ca, cb = self.stop(pa), self.stop(pb)
        report(f"one forged between two echo servers with --delay 1500ms: {cost} packets; "
               f"{ca} {cb}")
        self.assertGreaterEqual(ca["refused"] + cb["refused"], 1, (ca, cb))

    def test_broadcast_requests_not_answered(self):
        # A request to a broadcast address draws a reply from every server that hears it:
        # refused, not answered (whose reply could not even leave from that address).
        proc, port = self.start("echo", bind="0.0.0.0:0")
        client = (f"import socket\n"
                  f"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                  f"s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\n"
                  f"s.sendto(b'broadcast', ('127.255.255.255', {port}))\n"
                  f"s.sendto(b'unicast', ('127.0.0.1', {port}))\n"
                  f"s.settimeout({harness.STOP_TIMEOUT})\n"
                  f"print(s.recv(100).decode())\n")
        r = self.ns.sh(*self.ns.argv(sys.executable, "-c", client))
        self.assertEqual(r.stdout.strip(), "UNICAST")
        c = self.stop(proc)
        self.assertCounters(c, received=2, replied=1, refused=1, send_errors=0)


class ServeRefusalTest(UdpbeatTestCase):
    """The rules seen from an ordinary client on loopback (no forging needed)."""

    def test_echo_reply_refused_and_counted(self):
        metrics = os.path.join(self.tmpdir(), "serve.prom")
        s = self.serve("--metrics-file", metrics, "--metrics-interval", "50ms")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.3)
            sock.connect(s.addr)
            sock.send(b"PING 1 1700000000.5")   # the lab's echo reply: never answered
            with self.assertRaises(socket.timeout):
                sock.recv(2048)
            sock.send(b"Ping 1 1700000000.5")   # a request from the same socket is
            self.assertEqual(sock.recv(2048), b"PING 1 1700000000.5")
        c = s.stop()
        self.assertCounters(c, received=2, replied=1, refused=1, malformed=0)
        with open(metrics) as f:
            m = harness.parse_metrics(f.read())
        self.assertEqual(m[("udpbeat_serve_refused_total", frozenset())], 1, m)

    def test_reflection_refused_once(self):
        # An echo reply that comes straight back is a reflection (another echo server);
        # refused once, then forgotten, so a client that really repeats itself loses
        # only every other datagram.
        s = self.serve("--reply", "echo")
        got = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.3)
            sock.connect(s.addr)
            for payload in (b"hello", b"HELLO", b"HELLO", b"HELLO", b"hello"):
                sock.send(payload)
                try:
                    got.append(sock.recv(2048))
                except socket.timeout:
                    got.append(None)
        self.assertEqual(got, [b"HELLO", None, b"HELLO", None, b"HELLO"])
        self.assertCounters(s.stop(), received=5, replied=3, refused=2)

    def test_default_budget_is_on(self):
        # The default per-source budget keeps a bucket per source in the peer table;
        # --max-rate 0 turns it off.
        for args, peers in (((), 1), (("--max-rate", "0"), 0)):
            s = self.serve(*args)
            r = self.ping(s.target, "-c", "3", "-i", "1ms", "--proto", "seed")
            self.assertExit(r, 0)
            self.assertPackets(r, 3, 3, 0, "0.0")
            self.assertCounters(s.stop(), received=3, replied=3, rate_limited=0, peers=peers)

    def tmpdir(self):
        import tempfile
        d = tempfile.TemporaryDirectory(prefix="udpbeat-hardening-")
        self.addCleanup(d.cleanup)
        return d.name


# ---------------------------------------------------------------------------------------
# Item 6: delayed replies bounded in bytes.

DATAGRAM = 60000
FILL = 4000       # 240 MB of requests: far past the 64 MiB default
MIB = 1 << 20


@harness.serial
class DelayBytesTest(UdpbeatTestCase):

    def fill(self, s, count):
        """Sends `count` big requests in batches, each once serve has read the last, so
        the kernel drops (almost) none. Returns serve's interim counters."""
        payload = b"x" * DATAGRAM
        deadline = time.monotonic() + harness.RUN_TIMEOUT
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * MIB)
            sent = 0
            while sent < count:
                for _ in range(min(64, count - sent)):
                    sock.sendto(payload, s.addr)
                    sent += 1
                c = s.interim()
                while c["received"] + c["kernel_drops"] < sent:
                    self.assertLess(time.monotonic(), deadline, "serve did not keep up")
                    time.sleep(0.01)
                    c = s.interim()
        return c

    def run_delay(self, *args, delay="60s"):
        s = self.serve("--reply", "echo", *(("--delay", delay) if delay else ()), *args)
        c = self.fill(s, FILL)
        rss = harness.rss_kib(s.proc.pid)
        final = s.stop()
        return c, rss, final

    def test_default_bound(self):
        # The same traffic answered at once holds nothing: the memory serve needs anyway.
        control, control_rss, _ = self.run_delay(delay=None)
        c, rss, final = self.run_delay()
        self.assertEqual(c["dropped"], 0, "the bound's drops are counted apart")
        queued = c["received"] - c["delay_queue_full"]
        report(f"delay 60s, {FILL} requests of {DATAGRAM} B: queued {queued} "
               f"({queued * DATAGRAM / MIB:.1f} MiB of payload), "
               f"over the bound {c['delay_queue_full']}, "
               f"RSS {rss / 1024:.1f} MiB; answered at once: RSS "
               f"{control_rss / 1024:.1f} MiB; final counters {final}")
        self.assertEqual(control["replied"], control["received"], control)
        self.assertEqual(c["replied"], 0, c)
        self.assertGreater(c["delay_queue_full"], 0, c)
        # Each waiting reply is charged its payload plus a few hundred bytes.
        self.assertLessEqual(queued * DATAGRAM, 64 * MIB, c)
        self.assertGreaterEqual(queued * (DATAGRAM + 4096), 64 * MIB, c)
        # Memory follows: at most 64 MiB more than with nothing held (allocator and
        # sanitizer overheads allowed), where holding it all would take 229 MiB more.
        self.assertLess(rss - control_rss, (64 * 1.3 + 16) * 1024, (rss, control_rss))
        # At the stop, the held replies are sent; the counters add up.
        self.assertEqual(final["replied"], queued, final)
        self.assertEqual(final["received"], final["replied"] + final["delay_queue_full"], final)

    def test_small_bound(self):
        c, _, final = self.run_delay("--max-delay-bytes", str(MIB), "--threads", "1")
        queued = c["received"] - c["delay_queue_full"]
        self.assertLessEqual(queued * DATAGRAM, MIB, c)
        self.assertGreaterEqual(queued * (DATAGRAM + 4096), MIB, c)
        self.assertEqual(final["replied"], queued, final)

    def test_one_bound_for_all_threads(self):
        """--max-delay-bytes bounds the whole server: with two threads a 60,000-byte reply
        still fits a 65,536-byte bound while nothing else waits (an even split between the
        threads refused it)."""
        s = self.serve("--reply", "echo", "--delay", "50ms", "--threads", "2",
                       "--max-delay-bytes", "65536")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(harness.RUN_TIMEOUT)
            for i in range(3):  # one at a time: each has the bound to itself
                sock.sendto(b"x%d" % i * (DATAGRAM // 2), s.addr)
                data, _ = sock.recvfrom(65536)
                self.assertEqual(data, b"X%d" % i * (DATAGRAM // 2))
        final = s.stop()
        self.assertEqual((final["replied"], final["delay_queue_full"]), (3, 0), final)


if __name__ == "__main__":
    skipmain.main()
