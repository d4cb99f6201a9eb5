"""Faults (issue 7, items 6 and 7): receive buffers that overflow (the client's: replies
the kernel dropped on this host are local drops, not network loss; the server's: its
kernel drops counter), ICMP port unreachable seen by heartbeat, and a LeakSanitizer-clean
serve/ping/heartbeat run in the sanitizer build."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import harness
import skipmain
from harness import UdpbeatTestCase, unittest

LOCAL_DROPS_RE = re.compile(r"^of the lost, (\d+) were dropped on this host \(socket receive "
                            r"buffer full\), not in the network")
RUN = 60.0 * harness.SCALE


def report(*args):
    print("MEASURED:", *args, file=sys.stderr, flush=True)


@harness.serial
class ClientOverflowTest(UdpbeatTestCase):
    """serve delays every reply by 300 ms; ping sends 10,000 probes a second and is
    stopped (SIGSTOP) for 0.5 s a second into the run. The replies due meanwhile pile up
    in its socket's receive buffer (net.core.rmem_default, ~208 KiB) and the kernel drops
    the rest: ping must count those as local drops. Loopback loses nothing, so every
    lost probe is a reply dropped locally or a request the server's own kernel dropped
    (its counter says how many)."""

    def run_stopped(self, *args):
        s = self.serve("--delay", "300ms")
        t0 = time.monotonic()
        ping = self.spawn([harness.UDPBEAT, "ping", s.target, "-q", "-i", "100us", "-c", "20000",
                           "-W", "2s", *args])
        time.sleep(1.0)
        ping.signal(signal.SIGSTOP)
        try:
            time.sleep(0.5)
        finally:
            ping.signal(signal.SIGCONT)
        rc = ping.wait(RUN)
        # serve learns of its own kernel's drops from the next datagram it reads (the
        # SO_RXQ_OVFL count it carries): drops in the run's last burst would otherwise be
        # missing from its counters and the lost == local + server drops check would flake.
        # One more probe, read after everything before it, makes the count current.
        self.assertExit(self.ping(s.target, "-c", "1", "--proto", "seed"), 0)
        c = s.stop()
        return ping, rc, c, time.monotonic() - t0

    def test_local_drops_json(self):
        ping, rc, c, secs = self.run_stopped("--json")
        self.assertEqual(rc, 0, ping.stdout[-3000:] + ping.stderr)
        summary = harness.json_events(ping.stdout)[-1]
        report(f"client overflow (json): sent {summary['sent']} received {summary['received']} "
               f"lost {summary['lost']} local_drops {summary['local_drops']} late "
               f"{summary['late']}; serve kernel drops {c['kernel_drops']}, counters {c}; "
               f"{secs:.1f}s")
        self.assertEqual(summary["sent"], 20000, summary)
        self.assertGreater(summary["local_drops"], 0, summary)
        self.assertEqual(summary["late"], 0, summary)
        # Every lost probe is accounted for on this host: a reply our kernel dropped, or a
        # request the server's kernel dropped. Nothing is network loss.
        self.assertEqual(summary["lost"], summary["local_drops"] + c["kernel_drops"],
                         (summary, c))
        self.assertEqual(c["received"] + c["kernel_drops"], 20000 + 1, c)
        self.assertEqual(c["replied"], c["received"], c)

    def test_local_drops_text(self):
        ping, rc, c, secs = self.run_stopped()
        self.assertEqual(rc, 0, ping.stdout[-3000:] + ping.stderr)
        p = harness.parse_packets(ping.stdout)
        self.assertIsNotNone(p, ping.stdout)
        m = [LOCAL_DROPS_RE.match(l) for l in ping.stdout.splitlines()]
        m = [x for x in m if x]
        report(f"client overflow (text): {p}; local drops line "
               f"{m[0].group(0) if m else None!r}; serve kernel drops {c['kernel_drops']}; "
               f"{secs:.1f}s")
        self.assertEqual(len(m), 1, ping.stdout)
        local = int(m[0].group(1))
        self.assertGreater(local, 0)
        self.assertEqual(p["lost"], local + c["kernel_drops"], (p, c, ping.stdout))


@harness.serial
class ServerOverflowTest(UdpbeatTestCase):

    def test_server_kernel_drops(self):
        # serve is stopped while 30,000 requests arrive: its socket buffer holds a few
        # hundred, the kernel drops the rest and serve reads the count (SO_RXQ_OVFL).
        # serve asks for an 8 MiB socket buffer (the kernel doubles it): 30,000 STAMP
        # requests of 1,000 bytes (~2 KiB of buffer each) are several times that.
        s = self.serve()
        n = 30000
        s.proc.signal(signal.SIGSTOP)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                for i in range(n):
                    sock.sendto(harness.stamp_sender_packet(i, 0xE000000000000000, 1,
                                                            length=1000), s.addr)
        finally:
            s.proc.signal(signal.SIGCONT)
        # A final ping after the queue is read: its datagram carries the current count.
        deadline = time.monotonic() + harness.STOP_TIMEOUT
        c = s.interim()
        while c["received"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
            c = s.interim()
        r = self.ping(s.target, "-c", "3", "-i", "20ms", "--proto", "seed")
        self.assertExit(r, 0)
        c = s.stop()
        report(f"server overflow: sent {n} while stopped; counters {c}")
        self.assertGreater(c["kernel_drops"], 0, c)
        self.assertEqual(c["received"] + c["kernel_drops"], n + 3, c)
        self.assertEqual(c["replied"], c["received"], c)


class HeartbeatUnreachableTest(UdpbeatTestCase):
    """heartbeat to a port nobody listens on: every timeout says why (ICMP port
    unreachable), in text and in JSON. -W half the interval: each probe's ICMP error
    arrives (within microseconds on loopback) before the next probe is sent."""

    def test_heartbeat_port_unreachable_text(self):
        port = harness.free_udp_port()
        r = self.heartbeat(f"127.0.0.1:{port}", "-c", "5", "-i", "100ms", "-W", "50ms",
                           "--misses", "10")
        timeouts = [harness.HB_TIMEOUT_RE.match(l) for l in r.stdout.splitlines()]
        timeouts = [m for m in timeouts if m]
        self.assertEqual([int(m.group(1)) for m in timeouts], [0, 1, 2, 3, 4], r.describe())
        self.assertEqual([m.group(2) for m in timeouts], [" (port unreachable)"] * 5,
                         r.describe())

    def test_heartbeat_port_unreachable_json(self):
        port = harness.free_udp_port()
        r = self.heartbeat(f"127.0.0.1:{port}", "-c", "5", "-i", "100ms", "-W", "50ms",
                           "--misses", "10", "--json")
        events = harness.json_events(r.stdout)
        unreachable = [e for e in events if e["event"] == "unreachable"]
        self.assertEqual([e["seq"] for e in unreachable], [0, 1, 2, 3, 4], r.describe())
        self.assertFalse([e for e in events if e["event"] == "timeout"], r.describe())
        summary = events[-1]
        self.assertEqual(summary["event"], "summary")
        self.assertEqual((summary["sent"], summary["received"], summary["lost"],
                          summary["unreachable"]), (5, 0, 5, 5), summary)

    # With the default timeout (= the interval) a probe's timeout fires together with the
    # next send, so ICMP errors and timeouts interleave; every timeout must still carry
    # its port-unreachable label (errors are counted, not a single flag).
    def test_heartbeat_port_unreachable_default_timeout(self):
        port = harness.free_udp_port()
        r = self.heartbeat(f"127.0.0.1:{port}", "-c", "20", "-i", "20ms", "--misses", "100",
                           "--json")
        events = harness.json_events(r.stdout)
        self.assertEqual(events[-1]["unreachable"], 20, events[-1])
        unreachable = [e["seq"] for e in events if e["event"] == "unreachable"]
        self.assertEqual(unreachable, list(range(20)), r.describe())


def links_asan(path):
    try:
        out = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out


class LeakTest(UdpbeatTestCase):
    """In the AddressSanitizer build: a full serve / ping / heartbeat run with
    LeakSanitizer on exits normally (0), i.e. no leak report (which would exit 23)."""

    def test_lsan_clean_full_run(self):
        if not links_asan(harness.UDPBEAT):
            self.skipTest("not an AddressSanitizer build")
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = "detect_leaks=1:exitcode=23"
        env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
        s = harness.Proc([harness.UDPBEAT, "serve", "--bind", "127.0.0.1:0", "--stamp-stateful",
                          "--max-rate", "1000"], env=env)
        self.addCleanup(s.kill)
        m = s.wait_line(harness.LISTEN_RE.pattern, timeout=harness.STARTUP_TIMEOUT * 3)
        target = f"127.0.0.1:{m.group(2)}"

        def run(*args):
            r = subprocess.run([harness.UDPBEAT, *args], env=env, capture_output=True,
                               text=True, timeout=RUN)
            self.assertEqual(r.returncode, 0, f"{args}\n{r.stdout[-2000:]}\n{r.stderr}")
            self.assertNotIn("LeakSanitizer", r.stderr)
            if "--json" in args:  # every JSON line the suite produces meets the schema
                harness.json_events(r.stdout)
            return r

        run("ping", target, "-c", "5", "-i", "10ms")
        run("ping", target, "-c", "5", "-i", "10ms", "--proto", "seed", "--json")
        run("ping", target, "--sessions", "4", "--rate", "50", "--duration", "200ms", "--json",
            "-q")
        run("heartbeat", target, "-c", "5", "-i", "10ms")
        run("heartbeat", target, "-c", "5", "-i", "10ms", "--proto", "seed", "--json")
        s.signal(signal.SIGINT)
        rc = s.wait(harness.STOP_TIMEOUT * 3)
        self.assertEqual(rc, 0, s.stderr)
        self.assertNotIn("LeakSanitizer", s.stderr)
        self.assertIn("--- udpbeat serve statistics ---", s.out_lines)


if __name__ == "__main__":
    skipmain.main()  # the leak test is SKIP (77) outside the sanitizer build
