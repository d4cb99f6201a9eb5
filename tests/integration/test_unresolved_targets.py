"""The fleet agent (heartbeat --targets FILE) when a name of its file does not resolve: the
target is said on stderr with FILE:LINE, left out and tried again at the next SIGHUP; the
others run, the exit status is 1, /metrics says how many were left out and how the last
reload went. A typo on the command line is still exit 2 at start; ping --targets follows
heartbeat's rule. Also: --quiet still says a reload that worked.

Names end in .invalid, which never resolve (RFC 6761 §6.4). So that the resolver's query
stays on loopback, every run that resolves one is started in a mount namespace of its own
(unshare -m -r) whose /etc/resolv.conf names 127.0.0.1 only: there the query is answered
at once (refused, or NXDOMAIN), never sent off the host. Skipped where unshare cannot
make the namespace."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import harness
from harness import UdpbeatTestCase, free_tcp_port, unittest, wait_metrics

BAD = "old-host.invalid"
# Runs "$@" with /etc/resolv.conf replaced by $0 (mount namespace of the process only).
WRAP = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'


def unshare_works():
    try:
        r = subprocess.run(["unshare", "-m", "-r", "true"], capture_output=True,
                           timeout=harness.STOP_TIMEOUT)
        return r.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def value(metrics, name):
    return metrics.get((name, frozenset()))


class HermeticTestBase(UdpbeatTestCase):
    def setUp(self):
        super().setUp()
        if not unshare_works():
            raise unittest.SkipTest("unshare -m -r cannot make a mount namespace here")
        d = tempfile.TemporaryDirectory(prefix="udpbeat-unres-")
        self.addCleanup(d.cleanup)
        self.dir = d.name
        self.resolv = os.path.join(self.dir, "resolv.conf")
        with open(self.resolv, "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")

    def argv(self, *args):
        return ["unshare", "-m", "-r", "sh", "-c", WRAP, self.resolv, harness.UDPBEAT, *args]

    def run_udpbeat(self, *args):
        return harness.run(self.argv(*args))

    def run_with_metrics(self, mode, *args):
        """A run of `mode` with a metrics file: its Result and the file's text."""
        prom = os.path.join(self.dir, "m.prom")
        r = self.run_udpbeat(mode, *args, "-q", "--metrics-file", prom)
        with open(prom) as f:
            return r, f.read()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        tmp = path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
        return path


class UnresolvedAtStartTest(HermeticTestBase):
    def test_heartbeat_leaves_the_name_out(self):
        a = self.serve()
        path = self.write("targets", f"{a.target}\n{BAD}\n")
        r, text = self.run_with_metrics("heartbeat", "--targets", path, "-c", "3", "-i", "20ms")
        self.assertExit(r, 1)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.describe())
        self.assertTrue(lines[0].startswith(f"udpbeat: {path}:2: resolve {BAD}: "),
                        r.describe())
        self.assertCounters(a.stop(), received=3, replied=3)
        m = harness.parse_metrics(text)
        self.assertEqual(value(m, "udpbeat_targets"), 1)
        self.assertEqual(value(m, "udpbeat_targets_unresolved"), 1)
        self.assertEqual(value(m, "udpbeat_last_reload_successful"), 1)
        self.assertEqual(value(m, "udpbeat_reload_failures_total"), 0)
        self.assertGreater(value(m, "udpbeat_last_reload_success_timestamp_seconds"),
                           time.time() - 3600)
        if shutil.which("promtool"):  # its naming conventions (lint), silent when met
            p = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                               capture_output=True, timeout=harness.STOP_TIMEOUT)
            self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))

    def test_heartbeat_every_name_resolving_is_status_0(self):
        a = self.serve()
        path = self.write("targets", f"{a.target}\n")
        r, text = self.run_with_metrics("heartbeat", "--targets", path, "-c", "2", "-i", "20ms")
        self.assertExit(r, 0)
        self.assertEqual(r.stderr, "")
        self.assertEqual(value(harness.parse_metrics(text), "udpbeat_targets_unresolved"), 0)

    def test_no_name_resolves_is_refused(self):
        path = self.write("targets", f"# all gone\n{BAD}\nother.invalid:862\n")
        for mode in ("heartbeat", "ping"):
            with self.subTest(mode=mode):
                r = self.run_udpbeat(mode, "--targets", path, "-c", "1")
                self.assertExit(r, 2)
                lines = r.stderr.splitlines()
                self.assertEqual(len(lines), 3, r.describe())
                self.assertTrue(lines[0].startswith(f"udpbeat: {path}:2: resolve {BAD}: "))
                self.assertTrue(lines[1].startswith(
                    f"udpbeat: {path}:3: resolve other.invalid: "))
                self.assertEqual(lines[2], f"udpbeat: no target of {path} resolves (2 names)")
                self.assertEqual(r.stdout, "")

    def test_command_line_name_is_still_an_error(self):
        a = self.serve()
        path = self.write("targets", f"{a.target}\n")
        for mode in ("heartbeat", "ping"):
            with self.subTest(mode=mode):
                r = self.run_udpbeat(mode, BAD, "--targets", path, "-c", "1")
                line = self.assertOneErrorLine(r, f"resolve {BAD}: ")
                self.assertNotIn(path, line)
                self.assertEqual(r.stdout, "")

    def test_ping_leaves_the_name_out(self):
        a = self.serve()
        path = self.write("targets", f"{BAD}\n{a.target}\n")
        r, text = self.run_with_metrics("ping", "--targets", path, "-c", "2", "-i", "10ms")
        self.assertExit(r, 1)
        self.assertRegex(r.stderr, r"^udpbeat: " + re.escape(f"{path}:1: resolve {BAD}: ")
                         + r".+\n$")
        self.assertPackets(r, 2, 2, 0)
        m = harness.parse_metrics(text)
        self.assertEqual(value(m, "udpbeat_targets_unresolved"), 1)
        self.assertIsNone(value(m, "udpbeat_last_reload_successful"))  # ping never reloads


    def test_json_says_it_after_start(self):
        a = self.serve()
        path = self.write("targets", f"{a.target}\n{BAD} site=old\n")
        for mode in ("heartbeat", "ping"):
            with self.subTest(mode=mode):
                r = self.run_udpbeat(mode, "--targets", path, "-c", "1", "--json")
                self.assertExit(r, 1)
                events = harness.json_events(r.stdout)  # schema-checked by the harness
                self.assertEqual([e["event"] for e in events[:2]], ["start", "unresolved"])
                u = events[1]
                self.assertEqual((u["file"], u["line"], u["target"]), (path, 2, BAD))
                self.assertTrue(u["error"].startswith(f"resolve {BAD}: "), u)
                self.assertEqual(len(r.stderr.splitlines()), 1, r.describe())


class UnresolvedReloadTest(HermeticTestBase):
    def test_json_reload_says_it_first(self):
        a = self.serve()
        path = self.write("targets", f"{a.target}\n")
        hb = self.spawn(self.argv("heartbeat", "--targets", path, "-i", "20ms", "--json"))
        hb.wait_line(r'"event":"start"')
        self.write("targets", f"{BAD}\n{a.target}\n")
        start = len(hb.out_lines)
        hb.signal(signal.SIGHUP)
        hb.wait_line(r'"event":"reload"', start=start)
        hb.signal(signal.SIGINT)
        self.assertEqual(hb.wait(), 1, hb.stderr)
        events = [e for e in harness.json_events_live(hb.out_lines[start:])
                  if e["event"] in ("unresolved", "reload")]
        self.assertEqual([e["event"] for e in events], ["unresolved", "reload"])
        self.assertEqual((events[0]["line"], events[0]["target"]), (1, BAD))

    def reload(self, hb, regex):
        start = len(hb.err_lines)
        hb.signal(signal.SIGHUP)
        hb.wait_line(regex, stream="err", start=start)
        return hb.err_lines[start:]

    def test_reloads_say_and_count_what_happened(self):
        a, b = self.serve(), self.serve()
        path = self.write("targets", f"{a.target}\n")
        mport = free_tcp_port()
        hb = self.spawn(self.argv("heartbeat", "--targets", path, "-i", "20ms", "-q",
                                  "--metrics-listen", f"127.0.0.1:{mport}"))
        m0 = wait_metrics(mport, lambda m: value(m, "udpbeat_targets") == 1, "A watched")
        self.assertEqual(value(m0, "udpbeat_last_reload_successful"), 1)
        t0 = value(m0, "udpbeat_last_reload_success_timestamp_seconds")

        # A name that does not resolve: said with FILE:LINE, left out, the rest applied.
        self.write("targets", f"{a.target}\n{BAD}\n{b.target}\n")
        errs = self.reload(hb, r"^udpbeat: reloaded ")
        self.assertEqual(len(errs), 2, hb.stderr)
        self.assertTrue(errs[0].startswith(f"udpbeat: {path}:2: resolve {BAD}: "), errs)
        self.assertEqual(errs[1], f"udpbeat: reloaded {path}: 2 targets (1 before, "
                         "1 unresolved)")
        m1 = wait_metrics(mport, lambda m: value(m, "udpbeat_targets") == 2,
                               "A and B watched")
        self.assertEqual(value(m1, "udpbeat_targets_unresolved"), 1)
        self.assertEqual(value(m1, "udpbeat_last_reload_successful"), 1)
        self.assertGreaterEqual(value(m1, "udpbeat_last_reload_success_timestamp_seconds"), t0)

        # A file that does not parse: refused, counted, the targets kept.
        self.write("targets", f"{a.target}\nnot a target\n")
        errs = self.reload(hb, r"^udpbeat: reload: ")
        self.assertTrue(errs[-1].endswith("(targets unchanged)"), errs)
        m2 = wait_metrics(mport, lambda m: value(m, "udpbeat_last_reload_successful") == 0,
                               "the failure")
        self.assertEqual(value(m2, "udpbeat_reload_failures_total"), 1)
        self.assertEqual(value(m2, "udpbeat_targets"), 2)

        # Every name gone: refused as well (nothing would be watched).
        self.write("targets", f"{BAD}\n")
        errs = self.reload(hb, r"^udpbeat: reload: ")
        self.assertEqual(errs[-1], f"udpbeat: reload: no target of {path} resolves (1 name) "
                         "(targets unchanged)")
        wait_metrics(mport, lambda m: value(m, "udpbeat_reload_failures_total") == 2,
                          "the second failure")

        # Fixed: applied, nothing left out.
        self.write("targets", f"{a.target}\n")
        errs = self.reload(hb, r"^udpbeat: reloaded ")
        self.assertEqual(errs, [f"udpbeat: reloaded {path}: 1 target (2 before, "
                                "0 unresolved)"])
        m3 = wait_metrics(mport, lambda m: value(m, "udpbeat_targets") == 1, "A alone")
        self.assertEqual(value(m3, "udpbeat_targets_unresolved"), 0)
        self.assertEqual(value(m3, "udpbeat_last_reload_successful"), 1)
        hb.signal(signal.SIGINT)
        self.assertEqual(hb.wait(), 0, hb.stderr)
        self.assertEqual([x for x in hb.out_lines if "reloaded" in x], [])  # -q: stderr


class QuietReloadTest(UdpbeatTestCase):
    """--quiet (the agent's unit) still says a reload that worked, on stderr, and /metrics
    says how the last one went."""

    def test_quiet_reload_is_said(self):
        a, b = self.serve(), self.serve()
        d = tempfile.TemporaryDirectory(prefix="udpbeat-quiet-")
        self.addCleanup(d.cleanup)
        path = os.path.join(d.name, "targets")
        with open(path, "w") as f:
            f.write(f"{a.target}\n")
        mport = free_tcp_port()
        hb = self.spawn([harness.UDPBEAT, "heartbeat", "--targets", path, "-i", "20ms", "-q",
                         "--metrics-listen", f"127.0.0.1:{mport}"])
        wait_metrics(mport, lambda m: value(m, "udpbeat_targets") == 1, "A watched")
        with open(path, "w") as f:
            f.write(f"{a.target}\n{b.target}\n")
        hb.signal(signal.SIGHUP)
        m = hb.wait_line(r"^udpbeat: reloaded ", stream="err")
        self.assertEqual(m.string, f"udpbeat: reloaded {path}: 2 targets (1 before, "
                         "0 unresolved)")
        after = wait_metrics(mport, lambda m: value(m, "udpbeat_targets") == 2, "B watched")
        self.assertEqual(value(after, "udpbeat_last_reload_successful"), 1)
        self.assertEqual(value(after, "udpbeat_reload_failures_total"), 0)
        hb.signal(signal.SIGINT)
        self.assertEqual(hb.wait(), 0, hb.stderr)
        self.assertEqual(len(hb.err_lines), 1, hb.stderr)


if __name__ == "__main__":
    harness.main()
