"""Helpers for udpbeat's integration tests (Python standard library only).

Every test script is a unittest program. The udpbeat binary comes from the environment
(UDPBEAT) or the first command-line argument when it names an existing file. The lab's
four Python programs are the in-repo peers in tests/lab/ unless SEED_DIR (or a second
argument naming a directory) points at another copy, such as the lab's own programs in
../shared/seed/ (meson runs the @lab_interop tests a second time against those):

    python3 test_x.py [UDPBEAT [SEED_DIR]] [unittest args, e.g. TestClass.test_name]

Two markers, read by discover.py when meson registers the tests: @lab_interop (the
test drives the lab's programs) and @serial (the test must run alone).

Rules kept here: traffic only to 127.0.0.1 / ::1, ephemeral ports, every wait bounded,
every process started is killed by its PID in a cleanup (never by name).
"""

import json
import os
import queue
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

# Sanitizer builds are several times slower: every wait is generous, and the scale can
# be raised further with UDPBEAT_TEST_TIMEOUT_SCALE. No test asserts a timing.
SCALE = float(os.environ.get("UDPBEAT_TEST_TIMEOUT_SCALE", "1"))
STARTUP_TIMEOUT = 10.0 * SCALE
STOP_TIMEOUT = 10.0 * SCALE
RUN_TIMEOUT = 20.0 * SCALE

UDPBEAT = os.environ.get("UDPBEAT", "")
LAB_PEERS_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "..", "lab"))
SEED_DIR = os.environ.get("SEED_DIR", "") or LAB_PEERS_DIR
# The in-repo lab servers draw their simulated loss from this seed, so a run against them
# is the same every time (the lab's own servers ignore it). Its first draw keeps the
# datagram (see test_lab_peers), so the readiness probe costs one draw.
LAB_SEED = os.environ.get("UDPBEAT_LAB_SEED", "5")

LAB_INTEROP_MARK = "udpbeat_lab_interop"
SERIAL_MARK = "udpbeat_serial"


def lab_interop(cls):
    """Class decorator: these tests drive the lab's programs (seed_script, seed_server).
    They run against the in-repo peers (tests/lab/) and, where ../shared/seed exists at
    configure time, meson registers them a second time against the lab's own programs."""
    setattr(cls, LAB_INTEROP_MARK, True)
    return cls


def serial(obj):
    """Class or test-method decorator: run alone (meson is_parallel: false). For floods
    and deliberate buffer overflows, which load the CPUs and the loopback."""
    setattr(obj, SERIAL_MARK, True)
    return obj


def has_mark(test, mark):
    """Whether a TestCase instance carries a mark, on its method or on its class."""
    method = getattr(test, test._testMethodName, None)
    return bool(getattr(method, mark, False) or getattr(type(test), mark, False))


# The UdpbeatTestCase running now (set by its run()), so seed_script can insist on the mark.
_current_test = None

# serve's counters line: these six first, in this order; fields added later
# (", name words N") are parsed too, under their name with spaces as underscores.
COUNTERS_RE = re.compile(
    r"^received (\d+), replied (\d+), dropped (\d+), malformed (\d+), "
    r"send errors (\d+), kernel drops (\d+)((?:, [a-z][a-z ]*? \d+)*)$")
COUNTER_NAMES = ("received", "replied", "dropped", "malformed", "send_errors", "kernel_drops")
LISTEN_RE = re.compile(
    r"^udpbeat serve: listening on (\S+):(\d+) \(reply (\w+)(?:, (\d+) threads)?\)$")
THREAD_RE = re.compile(r"^thread (\d+): received (\d+), replied (\d+)$")
PACKETS_RE = re.compile(
    r"^Packets: Sent = (\d+), Received = (\d+), Lost = (\d+) \((\d+\.\d)% packet loss\)"
    r"(?:, \+(\d+) port unreachable)?(?:, (\d+) in flight)?(?:, (\d+) send errors)?$")
RICH_RE = re.compile(
    r"^late (\d+), duplicate (\d+), reordered (\d+), malformed (\d+), "
    r"longest loss burst (\d+)$")


def parse_counters(line):
    m = COUNTERS_RE.match(line.strip())
    if not m:
        return None
    c = dict(zip(COUNTER_NAMES, (int(g) for g in m.groups()[:6])))
    for field in filter(None, m.group(7).split(", ")):
        name, value = field.rsplit(" ", 1)
        c[name.replace(" ", "_")] = int(value)
    return c


def parse_packets(stdout):
    """The `Packets: Sent = ...` line of ping's text statistics as a dict, or None."""
    for line in stdout.splitlines():
        m = PACKETS_RE.match(line)
        if m:
            return {"sent": int(m.group(1)), "received": int(m.group(2)),
                    "lost": int(m.group(3)), "loss_percent": m.group(4),
                    "unreachable": int(m.group(5)) if m.group(5) else 0,
                    "in_flight": int(m.group(6)) if m.group(6) else 0,
                    "send_errors": int(m.group(7)) if m.group(7) else 0}
    return None


def parse_rich(stdout):
    """ping's `late N, duplicate N, ...` line as a dict, or None."""
    for line in stdout.splitlines():
        m = RICH_RE.match(line)
        if m:
            return dict(zip(("late", "duplicate", "reordered", "malformed", "burst"),
                            (int(g) for g in m.groups())))
    return None


def _setup_paths_from_argv():
    """Takes UDPBEAT (and SEED_DIR) from argv[1] (and argv[2]) when given there; returns
    the rest."""
    global UDPBEAT, SEED_DIR
    argv = list(sys.argv)
    if len(argv) >= 2 and os.path.isfile(argv[1]):
        UDPBEAT = argv.pop(1)
        if len(argv) >= 2 and os.path.isdir(argv[1]):
            SEED_DIR = argv.pop(1)
    return argv


def main():
    argv = _setup_paths_from_argv()
    if not UDPBEAT or not os.access(UDPBEAT, os.X_OK):
        print(f"harness: UDPBEAT={UDPBEAT!r} is not an executable (set UDPBEAT or pass "
              "it as the first argument)", file=sys.stderr)
        sys.exit(2)
    if not os.path.isdir(SEED_DIR):
        print(f"harness: SEED_DIR={SEED_DIR!r} is not a directory", file=sys.stderr)
        sys.exit(2)
    unittest.main(argv=argv, verbosity=2)


def seed_script(name):
    """One of the lab's four programs: the in-repo peer, or SEED_DIR's copy."""
    if _current_test is not None and not has_mark(_current_test, LAB_INTEROP_MARK):
        raise AssertionError(f"{_current_test.id()} runs the lab's {name} but is not marked "
                             "@harness.lab_interop (so it would never be cross-checked "
                             "against ../shared/seed)")
    return os.path.join(SEED_DIR, name)


def lab_peer_script(name):
    """One of the in-repo peers (tests/lab/) whatever SEED_DIR says: for tests of the
    peers themselves, such as their UDPBEAT_LAB_SEED, which the lab's programs lack."""
    return os.path.join(LAB_PEERS_DIR, name)


def lab_env(**extra):
    """The environment for a lab program: ours, with the in-repo servers' loss seed."""
    env = dict(os.environ, UDPBEAT_LAB_SEED=LAB_SEED)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def rss_kib(pid):
    """The process's resident set (VmRSS), in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def free_udp_port(host="127.0.0.1"):
    """A port that was free a moment ago (bind port 0, read it, close)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_tcp_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path="/metrics", host="127.0.0.1"):
    """The body of an HTTP/1.0 GET to HOST:PORT; asserts a 200 status line."""
    with socket.create_connection((host, port), timeout=STOP_TIMEOUT) as c:
        name = f"[{host}]" if ":" in host else host
        c.sendall(f"GET {path} HTTP/1.0\r\nHost: {name}\r\n\r\n".encode())
        chunks = []
        while True:
            b = c.recv(65536)
            if not b:
                break
            chunks.append(b)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], head
    return body.decode()


def wait_metrics(port, predicate, what):
    """The parsed GET /metrics of 127.0.0.1:PORT once `predicate` holds for it (a refused
    connection: not listening yet); AssertionError after STARTUP_TIMEOUT."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    m = None
    while time.monotonic() < deadline:
        try:
            m = parse_metrics(http_get(port))
        except ConnectionRefusedError:
            time.sleep(0.1)
            continue
        if predicate(m):
            return m
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last metrics: {m}")


def summary_of(events):
    """The one summary event of a JSON run (asserts there is exactly one)."""
    s = [e for e in events if e["event"] == "summary"]
    assert len(s) == 1, f"not one summary: {events!r}"
    return s[0]


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class UdpResponder:
    """A UDP peer written in the test: one socket bound to an ephemeral port of `host`
    (IPv4 or IPv6 by the address), and a daemon thread that waits on it in a select loop
    (50 ms polls, so close() is prompt) until close(). A subclass sets its own state, then
    calls this __init__ (which starts the thread); it says how one datagram is handled in
    handle(), and may set socket options before the bind in configure() and ask for
    ANCILLARY octets of control data (recvmsg)."""

    ANCILLARY = 0

    def __init__(self, host="127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.configure(self.sock)
        self.sock.bind((host, 0))
        self.addr = self.sock.getsockname()[:2]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def target(self):
        host, port = self.addr
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def configure(self, sock):
        """Socket options to set before the bind; none by default."""

    def handle(self, data, ancillary, peer):
        """One datagram from `peer` (ancillary: recvmsg's control messages)."""
        raise NotImplementedError

    def send(self, data, peer):
        """Sends from the bound socket; a failed send is the test's to notice, not the
        thread's (it must keep serving)."""
        try:
            self.sock.sendto(data, peer)
        except OSError:
            pass

    def _sockets(self):
        return [self.sock]

    def _ready(self, sock):
        try:
            data, anc, _, peer = sock.recvmsg(65536, self.ANCILLARY)
        except OSError:
            return
        self.handle(data, anc, peer)

    def _run(self):
        while not self._stop.is_set():
            ready, _, _ = select.select(self._sockets(), [], [], 0.05)
            for s in ready:
                self._ready(s)

    def close(self):
        self._stop.set()
        self._thread.join(STOP_TIMEOUT)
        self.sock.close()


class Relay(UdpResponder):
    """A UDP relay on 127.0.0.1 between a client and a server: the client talks to `addr`
    (`target`), the relay forwards from its own socket to `server_addr` and back. Records
    every datagram as ("req" | "rep", bytes) as it arrived, then passes each request
    through `mutate_request` and each reply through `mutate` (bytes -> bytes) where set."""

    def __init__(self, server_addr, mutate=None):
        self.mutate = mutate
        self.mutate_request = None
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.connect(server_addr)
        self.records = []
        self.client = None
        super().__init__("127.0.0.1")

    def of(self, kind):
        """The recorded datagrams of one kind ("req" or "rep"), in order."""
        return [d for k, d in list(self.records) if k == kind]

    def _sockets(self):
        return [self.sock, self.back]

    def _ready(self, sock):
        try:
            if sock is self.sock:
                data, self.client = self.sock.recvfrom(65536)
                self.records.append(("req", data))
                if self.mutate_request is not None:
                    data = self.mutate_request(data)
                self.back.send(data)
            else:
                data = self.back.recv(65536)
                self.records.append(("rep", data))
                if self.mutate is not None:
                    data = self.mutate(data)
                if self.client:
                    self.sock.sendto(data, self.client)
        except OSError:
            pass

    def close(self):
        super().close()
        self.back.close()


class Proc:
    """A child process whose stdout/stderr lines are collected by reader threads."""

    def __init__(self, argv, env=None):
        self.argv = [str(a) for a in argv]
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env, text=True,
                                  errors="replace", bufsize=1)
        _note_json_proc(self)
        self.pid = self.p.pid
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.out_lines = []
        self.err_lines = []
        self._eof = {"out": False, "err": False}
        self._threads = [
            threading.Thread(target=self._read, args=(self.p.stdout, self.out_lines, "out"),
                             daemon=True),
            threading.Thread(target=self._read, args=(self.p.stderr, self.err_lines, "err"),
                             daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _read(self, stream, sink, name):
        try:
            for line in stream:
                with self._cond:
                    sink.append(line.rstrip("\n"))
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._eof[name] = True
                self._cond.notify_all()

    @property
    def stdout(self):
        with self._lock:
            return "\n".join(self.out_lines) + ("\n" if self.out_lines else "")

    @property
    def stderr(self):
        with self._lock:
            return "\n".join(self.err_lines) + ("\n" if self.err_lines else "")

    def wait_for(self, predicate, timeout, what="condition"):
        """Waits until predicate(out_lines, err_lines) is true; returns its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                v = predicate(self.out_lines, self.err_lines)
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0 or (self._eof["out"] and self._eof["err"]):
                    raise AssertionError(
                        f"timed out after {timeout:.1f}s waiting for {what} from {self.argv}\n"
                        f"stdout:\n" + "\n".join(self.out_lines) +
                        "\nstderr:\n" + "\n".join(self.err_lines))
                self._cond.wait(min(left, 0.2))

    def wait_line(self, regex, stream="out", start=0, timeout=STARTUP_TIMEOUT):
        """Waits for a line (index >= start) matching regex; returns the match object."""
        rx = re.compile(regex)

        def find(out, err):
            lines = out if stream == "out" else err
            for line in lines[start:]:
                m = rx.search(line)
                if m:
                    return m
            return None
        return self.wait_for(find, timeout, f"a line matching {regex!r} on std{stream}")

    def signal(self, signo):
        if self.p.poll() is None:
            os.kill(self.pid, signo)

    def wait(self, timeout=STOP_TIMEOUT):
        """Waits for exit and for both pipes to drain; returns the exit status."""
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.argv} did not exit within {timeout:.1f}s\n"
                                 f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}")
        for t in self._threads:
            t.join(timeout)
        return rc

    def kill(self):
        if self.p.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        for t in self._threads:
            t.join(1)
        for s in (self.p.stdout, self.p.stderr):
            try:
                s.close()
            except Exception:
                pass


class Result:
    def __init__(self, argv, returncode, stdout, stderr):
        self.argv, self.returncode, self.stdout, self.stderr = argv, returncode, stdout, stderr

    def describe(self):
        return (f"command: {self.argv}\nexit: {self.returncode}\n"
                f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}")


def run(argv, timeout=RUN_TIMEOUT):
    """Runs a command to completion (killed after timeout); returns a Result."""
    argv = [str(a) for a in argv]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, errors="replace")
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=STOP_TIMEOUT)
        raise AssertionError(f"{argv} did not finish within {timeout:.1f}s\n"
                             f"stdout:\n{out}\nstderr:\n{err}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(STOP_TIMEOUT)
    if is_json_run(argv):
        _note_json_lines(out.splitlines(), f"{argv} (exit {p.returncode})")
    return Result(argv, p.returncode, out, err)


def udpbeat(*args, timeout=RUN_TIMEOUT):
    return run([UDPBEAT, *args], timeout=timeout)


class Server:
    """A running `udpbeat serve` bound to an ephemeral port."""

    def __init__(self, *args, bind="127.0.0.1:0"):
        self.proc = Proc([UDPBEAT, "serve", "--bind", bind, *args])
        try:
            m = self.proc.wait_line(LISTEN_RE.pattern, timeout=STARTUP_TIMEOUT)
        except BaseException:
            self.proc.kill()
            raise
        self.host = m.group(1).strip("[]")
        self.port = int(m.group(2))
        self.mode = m.group(3)
        self.counters = None
        self.returncode = None

    @property
    def target(self):
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def addr(self):
        return (self.host, self.port)

    def interim(self, timeout=STOP_TIMEOUT):
        """SIGQUIT: returns the counters line it prints on stderr (the server keeps running)."""
        start = len(self.proc.err_lines)
        self.proc.signal(signal.SIGQUIT)
        m = self.proc.wait_line(COUNTERS_RE.pattern, stream="err", start=start, timeout=timeout)
        return parse_counters(m.group(0))

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGINT; waits for exit; returns the final counters (also kept in .counters)."""
        self.proc.signal(signal.SIGINT)
        self.returncode = self.proc.wait(timeout)
        lines = self.proc.out_lines
        assert self.returncode == 0, f"serve exited {self.returncode}\n{self.proc.stderr}"
        try:
            i = lines.index("--- udpbeat serve statistics ---")
        except ValueError:
            raise AssertionError("serve printed no statistics:\n" + self.proc.stdout)
        assert lines[i - 1] == "", f"no blank line before the statistics: {lines!r}"
        self.counters = parse_counters(lines[i + 1]) if i + 1 < len(lines) else None
        assert self.counters is not None, "no counters line:\n" + self.proc.stdout
        return self.counters

    def kill(self):
        self.proc.kill()


class SeedServer:
    """One of the lab's Python servers on a free 127.0.0.1 port (retried if taken)."""

    def __init__(self, script, *args, attempts=5):
        last = None
        for _ in range(attempts):
            port = free_udp_port()
            proc = Proc([sys.executable, "-u", seed_script(script), port, *args],
                        env=lab_env())
            try:
                if self._wait_ready(proc, port):
                    self.proc, self.port = proc, port
                    return
                last = proc.stderr
            except BaseException:
                proc.kill()
                raise
            proc.kill()
        raise AssertionError(f"{script} did not start: {last}")

    @staticmethod
    def _wait_ready(proc, port):
        """Polls with a probe datagram until the server answers (it prints nothing)."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.1)
            while time.monotonic() < deadline:
                if proc.p.poll() is not None:
                    return False
                try:
                    s.sendto(b"Ping 0 0.0", ("127.0.0.1", port))
                    s.recvfrom(2048)
                    return True
                except (socket.timeout, ConnectionRefusedError):
                    continue
        return False

    @property
    def target(self):
        return f"127.0.0.1:{self.port}"

    def kill(self):
        self.proc.kill()


class UdpbeatTestCase(unittest.TestCase):
    """Adds helpers that register cleanups so nothing outlives a test."""

    maxDiff = None

    def run(self, result=None):
        global _current_test
        _current_test = self
        # Registered first, so it runs last: after every process the test started is
        # stopped and has printed all it will.
        self._json_ledger = _JsonLedger()
        self.addCleanup(self._json_ledger.check)
        try:
            return super().run(result)
        finally:
            _current_test = None

    def serve(self, *args, bind="127.0.0.1:0"):
        s = Server(*args, bind=bind)
        self.addCleanup(s.kill)
        return s

    def seed_server(self, script, *args):
        s = SeedServer(script, *args)
        self.addCleanup(s.kill)
        return s

    def spawn(self, argv):
        p = Proc(argv)
        self.addCleanup(p.kill)
        return p

    def ping(self, target, *args, timeout=RUN_TIMEOUT):
        return udpbeat("ping", target, *args, timeout=timeout)

    def heartbeat(self, target, *args, timeout=RUN_TIMEOUT):
        return udpbeat("heartbeat", target, *args, timeout=timeout)

    def serve_port(self, port, *args):
        """`udpbeat serve` on 127.0.0.1:PORT exactly (retried while the port is busy)."""
        s = serve_on_port(port, *args)
        self.addCleanup(s.kill)
        return s

    def assertExit(self, result, code):
        self.assertEqual(result.returncode, code, result.describe())

    def assertPackets(self, result, sent, received, lost, loss_percent=None):
        p = parse_packets(result.stdout)
        self.assertIsNotNone(p, "no Packets line\n" + result.describe())
        self.assertEqual((p["sent"], p["received"], p["lost"]), (sent, received, lost),
                         result.describe())
        if loss_percent is not None:
            self.assertEqual(p["loss_percent"], loss_percent, result.describe())
        return p

    def assertCounters(self, counters, **expected):
        got = {k: counters[k] for k in expected}
        self.assertEqual(got, expected, f"serve counters {counters}")

    def assertOneErrorLine(self, result, contains=None):
        """Exit 2 and exactly one stderr line `udpbeat: ...`."""
        self.assertExit(result, 2)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, result.describe())
        self.assertTrue(lines[0].startswith("udpbeat: "), result.describe())
        if contains is not None:
            self.assertIn(contains, lines[0], result.describe())
        return lines[0]


# ---------------------------------------------------------------------------------------
# Heartbeat, STAMP and load helpers (added with test_heartbeat, test_stamp, test_load).

# A STAMP reply, ping's and heartbeat's alike: ping(8)'s form with udpbeat's extras, in ms.
STAMP_REPLY_RE = re.compile(
    r"^(?P<bytes>\d+) bytes from (?P<host>\S+): seq=(?P<seq>\d+)(?: ttl=(?P<ttl>\d+))?"
    r"(?: tos=0x[0-9a-f]{2})? time=(?P<time>\d+\.\d{3}) ms"
    r"(?: offset=(?P<offset>[+-]\d+\.\d{3}) ms residence=(?P<residence>\d+\.\d{3}) ms)?"
    r"(?P<flags>(?: \((?:late|DUP!|reordered)\))*)$")

# heartbeat's text lines; its replies with the lab protocol (--proto seed), the lab's
HB_REPLY_RE = re.compile(r"^Received heartbeat response (\d+): Time difference = (-?\d+\.\d{6}) "
                         r"seconds$")
HB_TIMEOUT_RE = re.compile(r"^Heartbeat (\d+): Request timed out( \(port unreachable\))?$")
HB_STATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z peer (\S+) is "
                         r"(up|suspect|down) \((.*)\)( after \d+\.\d{3} s down)?$")
HB_END_RE = re.compile(r"^peer (up|suspect|down) at the end, (\d+) outages, (\d+\.\d{3}) s down$")


def json_events(text, schema=True):
    """stdout of a --json run: one object per line (raises on any other line). Every line
    is also checked against udpbeat's schema (see _JsonLedger) unless schema is False,
    for JSON Lines that are not udpbeat's (a helper program's report)."""
    lines = [line for line in text.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]
    if schema:
        _note_json_lines(lines, "json_events() (schema=False if this is not udpbeat's output)")
    return events


def json_events_live(lines):
    """Like json_events on a Proc's out_lines while it runs (a partial last line is skipped;
    the whole output is checked against the schema when the test ends)."""
    out, complete = [], []
    for line in list(lines):
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
        complete.append(line)
    # Polled many times over a growing list: noted for the test's check, never checked here.
    ledger = _ledger()
    if ledger is not None:
        ledger.add(complete, "json_events_live()")
    return out


# ---------------------------------------------------------------------------------------
# JSON Schema: every line a `ping --json` or `heartbeat --json` run prints in a test (run(),
# a Proc, json_events, json_events_live) is validated against
# schema/udpbeat-events.schema.json, once per test, after its cleanups, by
# schema/validate_events.py under /usr/bin/python3 (the interpreter that sees Debian's
# python3-jsonschema; the tests may run under another). An invalid line fails the test with
# the object and the schema's complaint.

SCHEMA_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                           "..", "schema"))
EVENTS_SCHEMA = os.path.join(SCHEMA_DIR, "udpbeat-events.schema.json")
EVENTS_VALIDATOR = os.path.join(SCHEMA_DIR, "validate_events.py")
SYSTEM_PYTHON = "/usr/bin/python3"


def is_json_run(argv):
    """Whether argv runs `udpbeat ping|heartbeat ... --json` (directly or under a wrapper
    such as `ip netns exec`)."""
    argv = [str(a) for a in argv]
    if not UDPBEAT or UDPBEAT not in argv:
        return False
    i = argv.index(UDPBEAT)
    return argv[i + 1:i + 2] in (["ping"], ["heartbeat"]) and "--json" in argv[i + 2:]


def check_json_lines(items):
    """Validates [(source, line), ...] now, in one run of the validator; raises
    AssertionError naming every invalid object, where it came from and what is wrong."""
    items = [(src, line) for src, line in items if line.strip()]
    if not items:
        return
    try:
        p = subprocess.run([SYSTEM_PYTHON, EVENTS_VALIDATOR, "--report-json"],
                           input="".join(line + "\n" for _, line in items),
                           capture_output=True, text=True, timeout=RUN_TIMEOUT * 3)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise AssertionError(f"cannot run {EVENTS_VALIDATOR} with {SYSTEM_PYTHON}: {e}")
    if p.returncode == 0:
        return
    if p.returncode != 1 or not p.stdout.strip():
        raise AssertionError(f"{EVENTS_VALIDATOR} failed (exit {p.returncode}): "
                             f"{p.stderr.strip()}")
    bad = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    # One entry per distinct complaint, with its first object: 500 replies that all miss
    # the same field make one paragraph, not 500.
    groups = {}
    for f in bad:  # the same rule broken at the same place, whatever the value
        groups.setdefault((f["at"], f["schema_at"]) if f["at"] else f["error"], []).append(f)
    msg = [f"{len(bad)} of {len(items)} JSON lines do not match {EVENTS_SCHEMA}:"]
    for fs in groups.values():
        f = fs[0]
        src, line = items[f["line"] - 1]
        many = f" ({len(fs)} lines, the first:)" if len(fs) > 1 else ""
        msg.append(f"- {f['error']} (at {f['at']}; schema {f['schema_at']}){many}\n"
                   f"  from {src}\n  {line[:3000]}")
    raise AssertionError("\n".join(msg))


class _JsonLedger:
    """The JSON lines one test saw, each once, checked together when the test ends."""

    def __init__(self):
        self.items = []
        self.seen = set()
        self.procs = []

    def add(self, lines, source):
        for line in lines:
            if line.strip() and line not in self.seen:
                self.seen.add(line)
                self.items.append((source, line))

    def check(self):
        # Lines of the test's processes first, under their command line (the most telling
        # source), then whatever else the test parsed.
        noted, self.items, self.seen = self.items, [], set()
        for proc in self.procs:
            lines = list(proc.out_lines)
            # A process killed (or still running) may have been cut mid-line: its last line
            # is checked only when complete.
            if lines and (proc.p.returncode is None or proc.p.returncode < 0):
                try:
                    json.loads(lines[-1])
                except ValueError:
                    lines.pop()
            self.add(lines, f"{proc.argv} (exit {proc.p.returncode})")
        self.procs = []
        for source, line in noted:
            self.add([line], source)
        items, self.items = self.items, []
        check_json_lines(items)


def _ledger():
    return getattr(_current_test, "_json_ledger", None)


def _note_json_lines(lines, source):
    """Checks lines when the current test ends, or now outside a UdpbeatTestCase."""
    ledger = _ledger()
    if ledger is not None:
        ledger.add(lines, source)
    else:
        check_json_lines([(source, line) for line in lines])


def _note_json_proc(proc):
    ledger = _ledger()
    if ledger is not None and is_json_run(proc.argv):
        ledger.procs.append(proc)


def parse_metrics(text):
    """Prometheus text exposition: {(name, frozenset(labels.items())): value}."""
    rx = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
    lrx = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = rx.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(lrx.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


# STAMP (RFC 8762 unauthenticated mode, RFC 8972 SSID), written independently of udpbeat.
NTP_UNIX_OFFSET = 2208988800


def ntp_from_ns(ns):
    secs, rem = divmod(ns, 1_000_000_000)
    frac = ((rem << 32) + 500_000_000) // 1_000_000_000
    if frac > 0xFFFFFFFF:
        frac, secs = 0, secs + 1
    return ((secs + NTP_UNIX_OFFSET) << 32) | frac


def ns_from_ntp(ntp):
    secs, frac = ntp >> 32, ntp & 0xFFFFFFFF
    return (secs - NTP_UNIX_OFFSET) * 1_000_000_000 + ((frac * 1_000_000_000 + (1 << 31)) >> 32)


def stamp_sender_packet(seq, ntp, ssid, length=44, error=0x0001):
    """Session-sender packet: seq, T1, error estimate, SSID (octets 14-15), zeros."""
    assert length >= 16
    head = struct.pack("!IQHH", seq, ntp, error, ssid)
    return head + bytes(length - len(head))


def stamp_reflector_packet(seq, t3, ssid, t2, sender_seq, sender_ntp, sender_error, ttl,
                           length=44, error=0x0001):
    head = struct.pack("!IQHHQIQHHB3x", seq, t3, error, ssid, t2, sender_seq, sender_ntp,
                       sender_error, 0, ttl)
    return head + bytes(max(length, 44) - len(head))


def decode_stamp_reflector(data):
    """Reflector packet fields as a dict (44+ octets)."""
    (seq, t3, err, ssid, t2, sseq, sts, serr, mbz1, ttl) = struct.unpack_from(
        "!IQHHQIQHHB", data)
    return {"seq": seq, "ts": t3, "error": err, "ssid": ssid, "ts_rx": t2, "seq_sender": sseq,
            "ts_sender": sts, "error_sender": serr, "mbz1": mbz1, "ttl": ttl,
            "mbz2": data[41:44], "tail": data[44:]}


def decode_stamp_sender(data):
    seq, ts, err, ssid = struct.unpack_from("!IQHH", data)
    return {"seq": seq, "ts": ts, "error": err, "ssid": ssid, "mbz": data[16:44]}


def serve_on_port(port, *args, attempts=20):
    """A `udpbeat serve` bound to 127.0.0.1:PORT, retried while the port is briefly busy."""
    last = None
    for _ in range(attempts):
        try:
            return Server(*args, bind=f"127.0.0.1:{port}")
        except AssertionError as e:
            last = e
            time.sleep(0.05)
    raise AssertionError(f"could not bind 127.0.0.1:{port} again: {last}")

