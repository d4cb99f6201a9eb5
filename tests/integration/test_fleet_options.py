"""Options for watching a fleet, end to end on 127.0.0.0/8 (issue 15): --src-ports (one
session per source port, per-path loss in JSON and metrics), --tos / --dscp as a Python
reflector receives them and the reply's TOS as ping reports it, -I, --metrics-listen on a
busy or unparseable address and on :PORT (every address), and heartbeat's SIGHUP reload of
--targets seen in /metrics."""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import harness
from harness import (UdpbeatTestCase, free_tcp_port, http_get, ntp_from_ns, summary_of,
                     unittest)

IP_RECVTOS = getattr(socket, "IP_RECVTOS", 13)  # Linux
IP_TOS = getattr(socket, "IP_TOS", 1)
IPV6_RECVTCLASS = getattr(socket, "IPV6_RECVTCLASS", 66)
IPV6_TCLASS = getattr(socket, "IPV6_TCLASS", 67)
# Replies are waited for this long where every one must arrive: only a hang reaches it.
WAIT = f"{int(5 * harness.SCALE)}s"


class RecordingReflector(harness.UdpResponder):
    """A stateless STAMP reflector on 127.0.0.1 that records each request's source address,
    port and TOS (IP_RECVTOS); replies from a socket marked with `reply_tos`; never answers
    a source port in `drop_ports` (the first port seen when drop_first_port)."""

    ANCILLARY = socket.CMSG_SPACE(4)

    def __init__(self, reply_tos=None, drop_first_port=False, host="127.0.0.1"):
        self.reply_tos = reply_tos
        self.drop_first_port = drop_first_port
        self.dropped_port = None
        self.seen = []  # (source address, source port, tos)
        super().__init__(host)

    def configure(self, sock):
        if sock.family == socket.AF_INET6:  # IPv6: the traffic class
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVTCLASS, 1)
            if self.reply_tos is not None:
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_TCLASS, self.reply_tos)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
            if self.reply_tos is not None:
                sock.setsockopt(socket.IPPROTO_IP, IP_TOS, self.reply_tos)

    def handle(self, data, anc, peer):
        tos = None
        for level, kind, value in anc:
            if level == socket.IPPROTO_IP and kind == IP_TOS and value:
                tos = value[0]
            elif level == socket.IPPROTO_IPV6 and kind == IPV6_TCLASS and len(value) >= 4:
                tos = struct.unpack("=i", value[:4])[0]
        self.seen.append((peer[0], peer[1], tos))
        if len(data) < 44:
            return
        if self.drop_first_port and self.dropped_port is None:
            self.dropped_port = peer[1]
        if peer[1] == self.dropped_port:
            return
        now = ntp_from_ns(time.time_ns())
        seq, t1, err, ssid = struct.unpack_from("!IQHH", data)
        reply = harness.stamp_reflector_packet(seq, now, ssid, now, seq, t1, err, 64,
                                               length=len(data))
        self.send(reply, peer)


def series(metrics, name, **labels):
    """{labels dict as a frozenset: value} of every sample of `name` whose labels include
    `labels`."""
    want = set(labels.items())
    return {k[1]: v for k, v in metrics.items() if k[0] == name and want <= set(k[1])}


class FleetTestBase(UdpbeatTestCase):
    def reflector(self, **kw):
        r = RecordingReflector(**kw)
        self.addCleanup(r.close)
        return r

    def tempdir(self):
        d = tempfile.mkdtemp(prefix="udpbeat-fleet-")
        self.addCleanup(shutil.rmtree, d, True)
        return d


class SourcePortsTest(FleetTestBase):
    def test_src_ports_four_paths_with_their_own_loss(self):
        refl = self.reflector(drop_first_port=True)
        metrics = os.path.join(self.tempdir(), "m.prom")
        r = self.ping(refl.target, "--src-ports", "4", "-c", "3", "-i", "10ms",
                      # one path is lost: its probes time out, and ping lingers as long again
                      "-W", f"{int(2 * harness.SCALE)}s",
                      "--json", "--metrics-file", metrics)
        self.assertExit(r, 0)  # the target answered (on three paths of four)
        ports = [p for _, p, _ in refl.seen]
        self.assertEqual(len(ports), 12, refl.seen)
        counts = {p: ports.count(p) for p in set(ports)}
        self.assertEqual(sorted(counts.values()), [3, 3, 3, 3], counts)
        self.assertEqual({a for a, _, _ in refl.seen}, {"127.0.0.1"})
        dropped = refl.dropped_port
        self.assertIn(dropped, counts)

        summary = summary_of(harness.json_events(r.stdout))
        self.assertEqual((summary["sent"], summary["received"], summary["lost"]), (12, 9, 3))
        self.assertEqual([p["path"] for p in summary["paths"]], [0, 1, 2, 3], summary["paths"])
        paths = {p["src_port"]: p for p in summary["paths"]}
        self.assertEqual(set(paths), set(counts), summary["paths"])
        for port, p in paths.items():
            want = (3, 0, 3) if port == dropped else (3, 3, 0)
            self.assertEqual((p["sent"], p["received"], p["lost"]), want, (port, dropped, p))
        port_of = {str(p["path"]): str(p["src_port"]) for p in summary["paths"]}

        with open(metrics) as f:
            text = f.read()
        m = harness.parse_metrics(text)
        promtool = shutil.which("promtool")
        if promtool:  # the info metric and the path label follow Prometheus' conventions
            p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=harness.RUN_TIMEOUT)
            self.assertEqual(p.returncode, 0, f"promtool check metrics\n{p.stdout}{p.stderr}")
        # The per-path series are labelled by the path's index, stable across restarts; the
        # kernel's ephemeral port is only in udpbeat_path_info, to join on.
        info = series(m, "udpbeat_path_info", target=refl.target)
        self.assertEqual({dict(k)["path"]: dict(k)["src_port"] for k in info}, port_of)
        self.assertEqual(set(info.values()), {1.0})
        sent = series(m, "udpbeat_path_probes_sent_total", target=refl.target)
        lost = series(m, "udpbeat_path_probes_lost_total", target=refl.target)
        for samples in (sent, lost):
            self.assertEqual({frozenset(dict(k)) for k in samples}, {frozenset({"target", "path"})},
                             samples)
        self.assertEqual({dict(k)["path"]: v for k, v in sent.items()},
                         {path: 3.0 for path in port_of})
        self.assertEqual({dict(k)["path"]: v for k, v in lost.items()},
                         {path: (3.0 if int(port) == dropped else 0.0)
                          for path, port in port_of.items()})

    def test_src_ports_range(self):
        for value in ("0", "1025", "-1", "x"):
            with self.subTest(value=value):
                r = harness.udpbeat("ping", "127.0.0.1:9", "-c", "1", "--src-ports", value)
                self.assertOneErrorLine(r, "1 to 1024")
        r = harness.udpbeat("heartbeat", "127.0.0.1:9", "-c", "1", "--src-ports", "0")
        self.assertOneErrorLine(r, "1 to 1024")


class TosTest(FleetTestBase):
    def tos_seen(self, *args):
        refl = self.reflector()
        r = self.ping(refl.target, "-c", "2", "-i", "10ms", "-W", WAIT, *args)
        self.assertExit(r, 0)
        self.assertEqual(len(refl.seen), 2, refl.seen)
        return {t for _, _, t in refl.seen}

    def test_tos_and_dscp_as_received(self):
        self.assertEqual(self.tos_seen(), {0})
        self.assertEqual(self.tos_seen("--tos", "32"), {32})
        self.assertEqual(self.tos_seen("--tos", "0x20"), {32})
        self.assertEqual(self.tos_seen("--tos", "0xb8"), {184})
        self.assertEqual(self.tos_seen("--dscp", "8"), {32})
        self.assertEqual(self.tos_seen("--dscp", "46"), {184})
        self.assertEqual(self.tos_seen("--dscp", "0x2e"), {184})

    def test_heartbeat_tos(self):
        refl = self.reflector()
        r = self.heartbeat(refl.target, "-c", "2", "-i", "10ms", "-W", WAIT, "--dscp", "10")
        self.assertExit(r, 0)
        self.assertEqual({t for _, _, t in refl.seen}, {40}, refl.seen)

    def test_reply_tos_reported(self):
        refl = self.reflector(reply_tos=0x48)
        r = self.ping(refl.target, "-c", "3", "-i", "10ms", "-W", WAIT, "--tos", "32", "--json")
        self.assertExit(r, 0)
        replies = [e for e in harness.json_events(r.stdout) if e["event"] == "reply"]
        self.assertEqual(len(replies), 3, r.describe())
        self.assertEqual({e["tos"] for e in replies}, {0x48}, r.describe())
        self.assertEqual({t for _, _, t in refl.seen}, {32})

    @unittest.skipUnless(harness.has_ipv6_loopback(), "no IPv6 loopback")
    def test_ipv6_traffic_class(self):
        refl = self.reflector(reply_tos=0x48, host="::1")
        r = self.ping(refl.target, "-c", "2", "-i", "10ms", "-W", WAIT, "--tos", "0x20", "--json")
        self.assertExit(r, 0)
        self.assertEqual({t for _, _, t in refl.seen}, {0x20}, refl.seen)
        replies = [e for e in harness.json_events(r.stdout) if e["event"] == "reply"]
        self.assertEqual({e["tos"] for e in replies}, {0x48}, r.describe())

    def test_tos_range(self):
        for flag, value, rng in (("--tos", "256", "0 to 255"), ("--tos", "-1", "0 to 255"),
                                 ("--tos", "0x100", "0 to 255"), ("--tos", "0x", "0 to 255"),
                                 ("--tos", "eight", "0 to 255"), ("--dscp", "64", "0 to 63"),
                                 ("--dscp", "0x40", "0 to 63")):
            with self.subTest(flag=flag, value=value):
                r = harness.udpbeat("ping", "127.0.0.1:9", "-c", "1", flag, value)
                line = self.assertOneErrorLine(r, rng)
                self.assertIn(flag, line)
        r = harness.udpbeat("ping", "127.0.0.1:9", "-c", "1", "--tos", "8", "--dscp", "2")
        self.assertOneErrorLine(r, "exclude each other")


class LeadingZeroTest(FleetTestBase):
    """Numbers with leading zeros are decimal, as the range check reads them (CLI11 alone
    would take "010" as octal 8)."""

    def test_leading_zero_is_decimal(self):
        refl = self.reflector()
        r = self.ping(refl.target, "-c", "010", "-i", "10ms", "-W", WAIT, "--tos", "040")
        self.assertExit(r, 0)
        self.assertPackets(r, 10, 10, 0)
        self.assertEqual(len(refl.seen), 10)
        self.assertEqual({t for _, _, t in refl.seen}, {40})


class SourceAddressTest(FleetTestBase):
    def test_source_address(self):
        refl = self.reflector()
        r = self.ping(refl.target, "-I", "127.0.0.2", "-c", "2", "-i", "10ms", "-W", WAIT)
        self.assertExit(r, 0)
        self.assertPackets(r, 2, 2, 0)
        self.assertEqual({a for a, _, _ in refl.seen}, {"127.0.0.2"}, refl.seen)

    def test_source_address_with_src_ports(self):
        refl = self.reflector()
        r = self.ping(refl.target, "-I", "127.0.0.3", "--src-ports", "2", "-c", "2",
                      "-i", "10ms", "-W", WAIT)
        self.assertExit(r, 0)
        self.assertEqual({a for a, _, _ in refl.seen}, {"127.0.0.3"}, refl.seen)
        self.assertEqual(len({p for _, p, _ in refl.seen}), 2, refl.seen)


class MetricsListenTest(FleetTestBase):
    def test_busy_port(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            addr = f"127.0.0.1:{busy.getsockname()[1]}"
            for argv in (["heartbeat", "127.0.0.1:9", "-i", "10ms", "--metrics-listen", addr],
                         ["serve", "--bind", "127.0.0.1:0", "--metrics-listen", addr]):
                with self.subTest(mode=argv[0]):
                    # The run's bound catches a hang; without -c heartbeat would run forever.
                    r = harness.udpbeat(*argv, timeout=5 * harness.SCALE)
                    line = self.assertOneErrorLine(r, addr)
                    self.assertIn("in use", line)
                    self.assertEqual(r.stdout, "")

    def test_unparseable_address(self):
        for bad in ("nonsense", "1.2.3:80", "localhost:9101", "127.0.0.1", "127.0.0.1:0",
                    "127.0.0.1:65536", "[::1]", ":", ":0", ":70000", ":x"):
            for mode in ("heartbeat", "serve"):
                with self.subTest(address=bad, mode=mode):
                    argv = ([mode, "127.0.0.1:9", "-c", "1"] if mode == "heartbeat"
                            else [mode, "--bind", "127.0.0.1:0"])
                    r = harness.udpbeat(*argv, "--metrics-listen", bad,
                                        timeout=5 * harness.SCALE)
                    line = self.assertOneErrorLine(r, "--metrics-listen")
                    self.assertIn(bad, line)


class MetricsListenAnyTest(FleetTestBase):
    """--metrics-listen :PORT: every address, IPv4 and (where there is IPv6) IPv6."""

    def check(self, argv, port):
        p = self.spawn([harness.UDPBEAT, *argv, "--metrics-listen", f":{port}"])
        harness.wait_metrics(port, lambda m: any(k[0] == "udpbeat_build_info" for k in m),
                     "the endpoint on IPv4")
        if harness.has_ipv6_loopback():
            self.assertIn("udpbeat_build_info", http_get(port, host="::1"))
        p.signal(signal.SIGINT)
        p.wait()
        self.assertEqual(p.stderr, "")

    def test_heartbeat(self):
        a = self.serve()
        self.check(["heartbeat", a.target, "-i", "20ms", "-q"], free_tcp_port())

    def test_serve(self):
        self.check(["serve", "--bind", "127.0.0.1:0", "-q"], free_tcp_port())


class ReloadTest(FleetTestBase):
    def metrics(self, port):
        return harness.parse_metrics(http_get(port))

    def wait_metrics(self, port, predicate, what):
        return harness.wait_metrics(port, predicate, what)

    @staticmethod
    def sent(m, target):
        v = series(m, "udpbeat_probes_sent_total", target=target)
        return next(iter(v.values())) if v else None

    @staticmethod
    def state(m, target):
        v = series(m, "udpbeat_state", target=target)
        up = [dict(k)["state"] for k, x in v.items() if x == 1]
        return up[0] if len(up) == 1 else None

    def test_sighup_reload(self):
        a, b, c = self.serve(), self.serve(), self.serve()
        d = self.tempdir()
        path = os.path.join(d, "targets")
        with open(path, "w") as f:
            f.write(f"{a.target} site=a\n{b.target} site=b\n")
        mport = free_tcp_port()
        # A timeout no loaded machine reaches, so B's state cannot change by accident.
        hb = self.spawn([harness.UDPBEAT, "heartbeat", "--targets", path, "-i", "20ms", "-q",
                         "-W", f"{int(10 * harness.SCALE)}s", "--misses", "100",
                         "--metrics-listen", f"127.0.0.1:{mport}"])
        self.wait_metrics(mport, lambda m: (self.sent(m, a.target) or 0) > 0 and
                          (self.sent(m, b.target) or 0) > 0, "probes to A and B")
        before = self.metrics(mport)
        b_before = self.sent(before, b.target)
        self.assertEqual(self.state(before, b.target), "up")
        self.assertIsNone(self.sent(before, c.target))

        # Replaced by a new file, as an editor or a config manager does.
        tmp = path + ".new"
        with open(tmp, "w") as f:
            f.write(f"{b.target} site=b\n{c.target} site=c\n")
        os.replace(tmp, path)
        hb.signal(signal.SIGHUP)
        after = self.wait_metrics(
            mport, lambda m: (self.sent(m, c.target) or 0) > 0 and
            self.sent(m, a.target) is None, "C probed and A gone")
        self.assertEqual(series(after, "udpbeat_up", target=a.target), {})
        self.assertEqual(series(after, "udpbeat_state", target=a.target), {})
        self.assertGreater(self.sent(after, b.target), b_before)  # kept counting, no reset
        self.assertEqual(self.state(after, b.target), "up")
        self.assertEqual(series(after, "udpbeat_state_changes_total", target=b.target),
                         series(before, "udpbeat_state_changes_total", target=b.target))
        self.assertEqual(series(after, "udpbeat_up", target=c.target),
                         {frozenset({("target", c.target), ("site", "c")}): 1.0})

        # A file with an error: refused as a whole, one line, the running set kept.
        with open(path, "w") as f:
            f.write(f"{a.target}\nnot a target at all\n")
        start = len(hb.err_lines)
        hb.signal(signal.SIGHUP)
        hb.wait_line(r"^udpbeat: reload: ", stream="err", start=start)
        b_mid = self.sent(self.metrics(mport), b.target)
        kept = self.wait_metrics(mport, lambda m: (self.sent(m, b.target) or 0) > b_mid,
                                 "B still probed")
        self.assertIsNone(self.sent(kept, a.target))
        self.assertGreater(self.sent(kept, c.target), 0)
        hb.signal(signal.SIGINT)
        self.assertEqual(hb.wait(), 0, hb.stderr)
        errs = [line for line in hb.err_lines[start:] if line.strip()]
        self.assertEqual(len(errs), 1, hb.stderr)
        self.assertIn(f"{path}:2", errs[0])
        self.assertTrue(errs[0].endswith("(targets unchanged)"), errs[0])

    def test_reload_past_the_open_file_limit(self):
        """A reload that would need more descriptors than are free is refused whole, with
        the figures, before anything is touched; the run goes on with its targets and ends
        by its count. (It used to fail halfway: targets made but never started kept the
        run from ending, and the emptied slots crashed it on SIGINT.)"""
        a, b = self.serve(), self.serve()
        port = a.target.rsplit(":", 1)[1]
        d = self.tempdir()
        path = os.path.join(d, "targets")
        with open(path, "w") as f:
            f.write(f"{a.target}\n")
        hb = self.spawn(["prlimit", "--nofile=64:64", harness.UDPBEAT, "heartbeat",
                         "--targets", path, "-i", "50ms", "-c", "40"])
        hb.wait_line(r" seq=1 ")
        with open(path, "w") as f:  # 80 targets cannot fit in 64 descriptors
            f.write("".join(f"127.0.1.{i}:{port}\n" for i in range(1, 81)) + f"{a.target}\n")
        start = len(hb.err_lines)
        hb.signal(signal.SIGHUP)
        line = hb.wait_line(r"^udpbeat: reload: ", stream="err", start=start).string
        self.assertRegex(line, r"^udpbeat: reload: 80 new targets need \d+ sockets and \d+ "
                         r"descriptors are free .*ulimit -n\) \(targets unchanged\)$")
        # One more target fits: the set is intact and still reloads.
        with open(path, "w") as f:
            f.write(f"{a.target}\n{b.target}\n")
        hb.signal(signal.SIGHUP)
        hb.wait_line(r" reloaded .*: 2 targets \(1 before, 0 unresolved\)$")
        self.assertEqual(hb.wait(harness.RUN_TIMEOUT), 0, hb.stderr)
        self.assertEqual(len([x for x in hb.err_lines if x.strip()]), 1, hb.stderr)
        self.assertRegex(hb.stdout, rf"{re.escape(a.target)} +40 +40 ")

    def test_sighup_reload_is_told(self):
        """The reload is a line in the text (with the time, as state lines) and a `reload`
        event in JSON naming every target now watched."""
        a, b = self.serve(), self.serve()
        d = self.tempdir()
        path = os.path.join(d, "targets")
        with open(path, "w") as f:
            f.write(f"{a.target} site=a\n")
        for json_mode in (False, True):
            with self.subTest(json=json_mode):
                with open(path, "w") as f:
                    f.write(f"{a.target} site=a\n")
                hb = self.spawn([harness.UDPBEAT, "heartbeat", "--targets", path, "-i", "50ms"] +
                                (["--json"] if json_mode else []))
                hb.wait_line(r'"event":"start"' if json_mode else r" bytes from \S+: seq=1 ")
                with open(path, "w") as f:
                    f.write(f"{a.target} site=a\n{b.target} site=b\n")
                hb.signal(signal.SIGHUP)
                if json_mode:
                    hb.wait_line(r'"event":"reload"')
                    ev = [e for e in harness.json_events_live(hb.out_lines)
                          if e["event"] == "reload"]
                    self.assertEqual(len(ev), 1, hb.out_lines)
                    self.assertEqual(ev[0]["file"], path)
                    self.assertEqual(ev[0]["targets_before"], 1)
                    self.assertEqual([(t["target"], t["labels"]) for t in ev[0]["targets"]],
                                     [(a.target, {"site": "a"}), (b.target, {"site": "b"})])
                else:
                    line = hb.wait_line(r"reloaded ").string
                    self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z reloaded "
                                     + re.escape(path) + r": 2 targets \(1 before, 0 unresolved\)$")
                hb.signal(signal.SIGINT)
                self.assertEqual(hb.wait(), 0, hb.stderr)

    def test_sighup_refusals_keep_the_targets(self):
        a = self.serve()
        d = self.tempdir()
        path = os.path.join(d, "targets")
        with open(path, "w") as f:
            f.write(f"{a.target}\n")
        mport = free_tcp_port()
        hb = self.spawn([harness.UDPBEAT, "heartbeat", "--targets", path, "-i", "20ms", "-q",
                         "--metrics-listen", f"127.0.0.1:{mport}"])
        self.wait_metrics(mport, lambda m: (self.sent(m, a.target) or 0) > 0, "probes to A")
        for what, content, expect in (("empty", "# nothing here\n", "no target"),
                                      ("missing", None, path),
                                      ("bad label", f"{a.target} 9x=1\n", f"{path}:1")):
            with self.subTest(file=what):
                if content is None:
                    os.remove(path)
                else:
                    with open(path, "w") as f:
                        f.write(content)
                start = len(hb.err_lines)
                hb.signal(signal.SIGHUP)
                m = hb.wait_line(r"^udpbeat: reload: ", stream="err", start=start)
                self.assertIn(expect, m.string)
                self.assertTrue(m.string.endswith("(targets unchanged)"), m.string)
                before = self.sent(self.metrics(mport), a.target)
                self.wait_metrics(mport, lambda m: (self.sent(m, a.target) or 0) > before,
                                  "A still probed")
        hb.signal(signal.SIGINT)
        self.assertEqual(hb.wait(), 0, hb.stderr)
        self.assertEqual(len([x for x in hb.err_lines if x.strip()]), 3, hb.stderr)


if __name__ == "__main__":
    harness.main()
