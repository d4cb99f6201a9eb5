"""The lab-protocol peers the interop tests drive (tests/lab/): the clients' lines and
rules against a responder this test controls, and the servers' drop rule, measured
exactly with the draws fixed by UDPBEAT_LAB_SEED.

LabClientsTest is @lab_interop: where ../shared/seed exists it also runs against the
lab's own clients, which is what shows the in-repo ones print the same lines. The
server tests use what only the in-repo peers have (the seed, the lifetime bound, a quiet
stop on signals), so they run against those alone."""

import random
import re
import signal
import socket
import sys
import threading
import time

import harness
from harness import UdpbeatTestCase, unittest

REQUEST_RE = re.compile(r"^Ping (\d+) (\S+)$")
DOWN_LINE = "Server is down! 3 consecutive heartbeat responses were missed."


class Responder:
    """A UDP socket on 127.0.0.1 standing in for a lab server: answer(seq, data) returns
    the reply, or None to stay silent. Stops after `expect` datagrams (or a deadline)."""

    def __init__(self, answer, expect):
        self.answer, self.expect = answer, expect
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        deadline = time.monotonic() + harness.RUN_TIMEOUT
        while (not self.stopping.is_set() and len(self.requests) < self.expect
               and time.monotonic() < deadline):
            try:
                data, addr = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            text = data.decode(errors="replace")
            self.requests.append(text)
            m = REQUEST_RE.match(text)
            reply = self.answer(int(m.group(1)), data) if m else None
            if reply is not None:
                self.sock.sendto(reply, addr)

    def close(self):
        """Waits for the expected datagrams (bounded), then stops."""
        self.thread.join(harness.STOP_TIMEOUT)
        self.stopping.set()
        self.thread.join(harness.STOP_TIMEOUT)
        self.sock.close()

    def assert_requests(self, test, count):
        """The client sent `Ping 1 <time>` ... `Ping count <time>`, a float each."""
        seqs = []
        for text in self.requests:
            m = REQUEST_RE.match(text)
            test.assertIsNotNone(m, f"not a lab request: {text!r}")
            float(m.group(2))
            seqs.append(int(m.group(1)))
        test.assertEqual(seqs, list(range(1, count + 1)), self.requests)


@harness.lab_interop
class LabClientsTest(UdpbeatTestCase):

    def responder(self, answer, expect):
        r = Responder(answer, expect)
        self.addCleanup(r.close)
        return r

    def client(self, script, port, count):
        return harness.run([sys.executable, harness.seed_script(script), "127.0.0.1", port,
                            count])

    def test_pinger_client_lines(self):
        # Seq 2 goes unanswered: one timeout, and the loss percentage as Python prints
        # 1/3 * 100.
        lab = self.responder(lambda seq, data: None if seq == 2 else data.upper(), 3)
        r = self.client("UDPPingerClient.py", lab.port, 3)
        self.assertExit(r, 0)
        lab.close()
        lab.assert_requests(self, 3)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 9, r.describe())
        for i, seq in ((0, 1), (3, 3)):
            self.assertEqual(lines[i], f"Reply from 127.0.0.1: {lab.requests[seq - 1].upper()}")
            self.assertRegex(lines[i + 1], r"^RTT: \d+\.\d{6} seconds$")
        self.assertEqual(lines[2], "Request timed out")
        self.assertEqual(lines[5:8], ["", "--- Ping statistics ---",
                                      "Packets: Sent = 3, Received = 2, Lost = 1 "
                                      "(33.33333333333333% packet loss)"])
        self.assertRegex(lines[8], r"^RTTs: Min = \d+\.\d{6}s, Max = \d+\.\d{6}s, "
                                   r"Avg = \d+\.\d{6}s$")

    def test_pinger_client_silent_server(self):
        lab = self.responder(lambda seq, data: None, 3)
        r = self.client("UDPPingerClient.py", lab.port, 3)
        self.assertExit(r, 0)
        lab.close()
        lab.assert_requests(self, 3)
        self.assertEqual(r.stdout.splitlines(), ["Request timed out"] * 3 + [
            "", "--- Ping statistics ---",
            "Packets: Sent = 3, Received = 0, Lost = 3 (100.0% packet loss)"], r.describe())

    def test_heartbeat_client_misses_below_three(self):
        # Three misses, but never three in a row: the server is never declared down.
        silent = {2, 3, 5}
        lab = self.responder(lambda seq, data: None if seq in silent else f"{seq} -3.06".encode(),
                             7)
        r = self.client("UDPHeartbeatClient.py", lab.port, 7)
        self.assertExit(r, 0)
        lab.close()
        lab.assert_requests(self, 7)
        expected = [f"Heartbeat {n}: Request timed out" if n in silent else
                    f"Received heartbeat response {n}: Time difference = -3.060000 seconds"
                    for n in range(1, 8)]
        self.assertEqual(r.stdout.splitlines(), expected + [
            "", "--- Heartbeat statistics ---",
            "Packets: Sent = 7, Received = 4, Lost = 3 (42.857142857142854% packet loss)"],
            r.describe())

    def test_heartbeat_client_down_after_three(self):
        lab = self.responder(lambda seq, data: None, 3)
        r = self.client("UDPHeartbeatClient.py", lab.port, 10)
        self.assertExit(r, 0)
        lab.close()
        lab.assert_requests(self, 3)
        self.assertEqual(r.stdout.splitlines(), [
            "Heartbeat 1: Request timed out", "Heartbeat 2: Request timed out",
            "Heartbeat 3: Request timed out", DOWN_LINE,
            "", "--- Heartbeat statistics ---",
            "Packets: Sent = 3, Received = 0, Lost = 3 (100.0% packet loss)"], r.describe())


def kept(seed, n, skip=0):
    """Which of n datagrams the lab's rule keeps after `skip` draws (1-based)."""
    rng = random.Random(seed)
    draws = [rng.randint(0, 10) for _ in range(skip + n)][skip:]
    return [i for i, d in enumerate(draws, 1) if d >= 4]


class PeerServersTest(UdpbeatTestCase):
    """The in-repo servers: UDPBEAT_LAB_SEED, UDPBEAT_LAB_LIFETIME and the quiet stop."""

    N = 40

    def start(self, script, *args, **env):
        """The peer on a free port, retried while the port is taken; returns (proc, port)."""
        last = ""
        for _ in range(5):
            port = harness.free_udp_port()
            proc = self.spawn_env([sys.executable, "-u", harness.lab_peer_script(script), port,
                                   *args], harness.lab_env(**env))
            if self.ready(script, proc, port):
                return proc, port
            last = proc.stderr
            proc.kill()
        self.fail(f"{script} did not start: {last}")

    def spawn_env(self, argv, env):
        p = harness.Proc(argv, env=env)
        self.addCleanup(p.kill)
        return p

    def ready(self, script, proc, port):
        if script == "UDPHeartbeatServer.py":
            proc.wait_for(lambda out, err: out or proc.p.poll() is not None,
                          harness.STARTUP_TIMEOUT, "the ready line or an exit")
            return proc.p.poll() is None
        # The pinger server prints nothing: probe it on a connected socket, which hears
        # "refused" until the server is bound, then one probe, one draw (the caller's
        # seed keeps its first datagram, so that probe is answered).
        deadline = time.monotonic() + harness.STARTUP_TIMEOUT
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("127.0.0.1", port))
            s.settimeout(harness.STARTUP_TIMEOUT)
            while time.monotonic() < deadline and proc.p.poll() is None:
                try:
                    s.send(b"Ping 0 0.0")
                    self.assertEqual(s.recv(2048), b"PING 0 0.0")
                    return True
                except ConnectionRefusedError:
                    time.sleep(0.05)
                except socket.timeout:
                    self.fail(f"{script} on port {port} did not answer the probe")
        return False

    def exchange(self, port, n, reply_count):
        """Sends Ping 1..n at once; returns the first reply_count replies."""
        replies = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("127.0.0.1", port))
            requests = [f"Ping {i} {time.time()}".encode() for i in range(1, n + 1)]
            for req in requests:
                s.send(req)
            s.settimeout(harness.STARTUP_TIMEOUT)
            while len(replies) < reply_count:
                try:
                    replies.append(s.recv(2048))
                except socket.timeout:
                    self.fail(f"{len(replies)} replies of the {reply_count} expected: {replies}")
        return requests, replies

    def test_harness_seed_keeps_first_datagram(self):
        # harness.SeedServer's readiness probe then costs exactly one draw.
        self.assertEqual(kept(int(harness.LAB_SEED), 1), [1])

    def test_pinger_server_drop_rule_exact(self):
        for seed in (5, 11, 17):
            with self.subTest(seed=seed):
                self.assertEqual(kept(seed, 1), [1], "the probe must be answered")
                want = kept(seed, self.N, skip=1)
                self.assertTrue(0 < len(want) < self.N, want)
                proc, port = self.start("UDPPingerServer.py", UDPBEAT_LAB_SEED=seed)
                requests, replies = self.exchange(port, self.N, len(want))
                self.assertEqual(replies, [requests[i - 1].upper() for i in want])
                proc.signal(signal.SIGTERM)
                self.assertEqual(proc.wait(), 0, proc.stderr)

    def test_heartbeat_server_drop_rule_exact(self):
        for seed in (1, 2, 42):
            with self.subTest(seed=seed):
                want = kept(seed, self.N)
                self.assertTrue(0 < len(want) < self.N, want)
                proc, port = self.start("UDPHeartbeatServer.py", UDPBEAT_LAB_SEED=seed)
                requests, replies = self.exchange(port, self.N, len(want))
                got = [re.fullmatch(rb"(\d+) (-?\d+\.\d{6})", r) for r in replies]
                self.assertTrue(all(got), replies)
                self.assertEqual([int(m.group(1)) for m in got], want)
                proc.wait_for(lambda out, err: len(out) > len(want), harness.STARTUP_TIMEOUT,
                              "a line per kept message")
                self.assertEqual(proc.out_lines, [
                    "The server is ready to receive heartbeats..."] + [
                    f"Received message: {requests[i - 1].decode()}" for i in want])
                proc.signal(signal.SIGINT)
                self.assertEqual(proc.wait(), 0, proc.stderr)
                self.assertEqual(proc.stderr, "")

    def test_nodrop_answers_everything(self):
        for script in ("UDPPingerServer.py", "UDPHeartbeatServer.py"):
            with self.subTest(script=script):
                proc, port = self.start(script, "nodrop", UDPBEAT_LAB_SEED=5)
                requests, replies = self.exchange(port, self.N, self.N)
                self.assertEqual(len(replies), self.N)
                proc.signal(signal.SIGTERM)
                self.assertEqual(proc.wait(), 0, proc.stderr)

    def test_servers_stop_quietly_on_signals(self):
        for script in ("UDPPingerServer.py", "UDPHeartbeatServer.py"):
            for signo in (signal.SIGINT, signal.SIGTERM):
                with self.subTest(script=script, signal=signo.name):
                    proc, _ = self.start(script, UDPBEAT_LAB_SEED=5)
                    proc.signal(signo)
                    self.assertEqual(proc.wait(), 0, proc.stderr)
                    self.assertEqual(proc.stderr, "")

    def test_server_lifetime(self):
        proc, _ = self.start("UDPHeartbeatServer.py", UDPBEAT_LAB_LIFETIME="0.5")
        self.assertEqual(proc.wait(), 0, proc.stderr)
        self.assertEqual(proc.err_lines,
                         ["UDPHeartbeatServer.py: stopping after UDPBEAT_LAB_LIFETIME seconds"])

    def test_heartbeat_server_dies_on_malformed_message(self):
        # As the lab's does, but with one line on stderr instead of a traceback.
        proc, port = self.start("UDPHeartbeatServer.py", "nodrop")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"hello", ("127.0.0.1", port))
        self.assertEqual(proc.wait(), 1)
        self.assertEqual(len(proc.err_lines), 1, proc.stderr)
        self.assertRegex(proc.err_lines[0], r"^UDPHeartbeatServer\.py: malformed heartbeat "
                                            r"'hello' from 127\.0\.0\.1:\d+: expected ")

    def test_bind_in_use(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            for script in ("UDPPingerServer.py", "UDPHeartbeatServer.py"):
                r = harness.run([sys.executable, harness.lab_peer_script(script), port])
                self.assertExit(r, 1)
                self.assertEqual(r.stderr, f"{script}: bind 127.0.0.1:{port}: "
                                           "Address already in use\n")

    def test_usage_errors(self):
        cases = [("UDPPingerServer.py", ["0"]), ("UDPPingerServer.py", ["12000", "drop"]),
                 ("UDPHeartbeatServer.py", ["x"]), ("UDPHeartbeatServer.py", ["1", "2", "3"]),
                 ("UDPPingerClient.py", []), ("UDPPingerClient.py", ["127.0.0.1", "70000"]),
                 ("UDPHeartbeatClient.py", ["127.0.0.1", "9", "0"]),
                 ("UDPHeartbeatClient.py", ["127.0.0.1"])]
        for script, args in cases:
            with self.subTest(script=script, args=args):
                r = harness.run([sys.executable, harness.lab_peer_script(script), *args])
                self.assertExit(r, 2)
                self.assertEqual(r.stdout, "")
                self.assertRegex(r.stderr, rf"^{re.escape(script)}: .* \(usage: "
                                           rf"{re.escape(script)} [A-Z].*\)\n$")

    def test_client_sigterm_prints_statistics(self):
        lab = Responder(lambda seq, data: None, 100)
        self.addCleanup(lab.close)
        proc = self.spawn_env([sys.executable, "-u",
                               harness.lab_peer_script("UDPPingerClient.py"), "127.0.0.1",
                               lab.port, 100], None)
        proc.wait_line(r"^Request timed out$")
        proc.signal(signal.SIGTERM)
        self.assertEqual(proc.wait(), 128 + signal.SIGTERM, proc.stderr)
        self.assertEqual(proc.stderr, "")
        self.assertIn("--- Ping statistics ---", proc.out_lines)
        m = re.fullmatch(r"Packets: Sent = (\d+), Received = 0, Lost = (\d+) "
                         r"\(100\.0% packet loss\)", proc.out_lines[-1])
        self.assertIsNotNone(m, proc.stdout)
        self.assertEqual(m.group(1), m.group(2))
        lab.stopping.set()


if __name__ == "__main__":
    harness.main()
