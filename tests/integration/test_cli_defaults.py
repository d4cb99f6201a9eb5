"""ping(8)'s defaults and rules (issue 14 items 1 and 2): one probe a second unless told
otherwise, -i 0 for the lab's rhythm, intervals below 2 ms only for root, and a progress
line only on a terminal with several sessions or targets."""

import json
import os
import pty
import select
import shutil
import subprocess
import time

import harness
from harness import UdpbeatTestCase, unittest

NOBODY = 65534


def as_nobody(argv):
    """argv run as an unprivileged user: as is when we are not root, else through setpriv;
    None when neither is possible."""
    if os.geteuid() != 0:
        return list(argv)
    setpriv = shutil.which("setpriv")
    if not setpriv:
        return None
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
            *argv]


class DefaultIntervalTest(UdpbeatTestCase):

    def sent(self, *args):
        s = self.serve()
        r = self.ping(s.target, "--json", "-q", *args)
        self.assertExit(r, 0)
        summary = harness.json_events(r.stdout)[-1]
        self.assertCounters(s.stop(), received=summary["sent"])
        return summary["sent"]

    def test_one_probe_a_second_by_default(self):
        # Probes leave at 0 s and 1 s of a 1.5 s run: never more (the lab's rhythm sends
        # thousands in that time on loopback), at least the first.
        self.assertIn(self.sent("--duration", "1500ms"), (1, 2))

    def test_interval_zero_is_the_lab_rhythm(self):
        # The next probe as soon as the last is answered: many in a second on loopback.
        self.assertGreaterEqual(self.sent("-i", "0", "--duration", "1s"), 3)

    def test_heartbeat_interval_must_be_positive(self):
        r = self.heartbeat("127.0.0.1:9", "-i", "0")
        self.assertOneErrorLine(r, "--interval: '0' is out of range: give 1ns to 24h")


class UserIntervalTest(UdpbeatTestCase):
    """Users other than root may not send more often than every 2 ms, as with ping(8)."""

    def run_unprivileged(self, *args):
        argv = as_nobody([harness.UDPBEAT, *args])
        if argv is None:
            self.skipTest("running as root without setpriv: cannot run as another user")
        probe = subprocess.run(as_nobody([harness.UDPBEAT, "--version"]), capture_output=True,
                               text=True, timeout=harness.RUN_TIMEOUT)
        if probe.returncode != 0:
            self.skipTest(f"user {NOBODY} cannot run {harness.UDPBEAT}: {probe.stderr.strip()}")
        return harness.run(argv)

    def test_refused_below_2ms(self):
        for args, want in [
            (["ping", "-i", "1ms", "127.0.0.1:9"],
             "udpbeat: --interval: 1ms is below 2ms, the shortest interval allowed to users "
             "other than root (as with ping(8))"),
            (["ping", "-i", "0.001", "127.0.0.1:9"],
             "udpbeat: --interval: 1ms is below 2ms, the shortest interval allowed to users "
             "other than root (as with ping(8))"),
            (["heartbeat", "-i", "1999us", "127.0.0.1:9"],
             "udpbeat: --interval: 1.999ms is below 2ms, the shortest interval allowed to "
             "users other than root (as with ping(8))"),
            (["ping", "--rate", "501", "127.0.0.1:9"],
             "udpbeat: --rate: 501 is above 500, the highest rate allowed to users other than "
             "root (as with ping(8))"),
        ]:
            with self.subTest(args=args):
                r = self.run_unprivileged(*args)
                self.assertEqual(self.assertOneErrorLine(r), want, r.describe())

    def test_allowed_from_2ms_and_lab_rhythm(self):
        s = self.serve()
        for args in (["-i", "2ms"], ["--rate", "500"], ["-i", "0"]):
            with self.subTest(args=args):
                r = self.run_unprivileged("ping", s.target, "-c", "3", "-q", *args)
                self.assertExit(r, 0)
        r = self.run_unprivileged("heartbeat", s.target, "-c", "2", "-q", "-i", "2ms")
        self.assertExit(r, 0)

    def test_lab_rhythm_keeps_2ms_between_sends_for_users(self):
        """-i 0 sends the next probe once the last is answered, but for users other than
        root never sooner than 2 ms after the last (ping -A's floor): a fast peer does not
        turn it into a flood. Send times are the JSON's sent_unix_ns."""
        s = self.serve()
        r = self.run_unprivileged("ping", s.target, "-c", "20", "-i", "0", "--json")
        self.assertExit(r, 0)
        sent = sorted(e["sent_unix_ns"] for e in (json.loads(l) for l in r.stdout.splitlines())
                      if e["event"] == "reply")
        self.assertEqual(len(sent), 20, r.describe())
        gaps = [b - a for a, b in zip(sent, sent[1:])]
        # The floor is kept on the monotonic clock; 0.1 ms covers a wall-clock slew.
        self.assertGreaterEqual(min(gaps), 1_900_000, gaps)

    def test_root_may_go_lower(self):
        if os.geteuid() != 0:
            self.skipTest("not root")
        s = self.serve()
        r = self.ping(s.target, "-c", "5", "-i", "100us", "-q")
        self.assertExit(r, 0)
        self.assertPackets(r, 5, 5, 0)


class ProgressTest(UdpbeatTestCase):
    """The progress line (redrawn with ESC [K) appears only on a terminal, with several
    sessions or targets, and not with -q or --json."""

    def run_on_tty(self, *args):
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([harness.UDPBEAT, *args], stdin=subprocess.DEVNULL,
                                 stdout=slave, stderr=subprocess.PIPE)
        finally:
            os.close(slave)
        out = b""
        deadline = time.monotonic() + harness.RUN_TIMEOUT
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.2)
                if ready:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:  # EIO: the child closed the terminal
                        break
                    if not chunk:
                        break
                    out += chunk
                elif p.poll() is not None:
                    break
            rc = p.wait(timeout=harness.STOP_TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            os.close(master)
        err = p.stderr.read().decode()
        p.stderr.close()
        return rc, out.decode(errors="replace"), err

    def test_many_sessions_on_a_terminal(self):
        s = self.serve()
        # Three probes a session at 1/s: the run lasts over 2 s, past the first redraw.
        rc, out, err = self.run_on_tty("ping", s.target, "--sessions", "2", "-c", "3")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("\x1b[K", out)

    def test_one_session_or_quiet_or_json_on_a_terminal(self):
        s = self.serve()
        for args in (["-c", "3"], ["--sessions", "2", "-c", "3", "-q"],
                     ["--sessions", "2", "-c", "3", "--json"]):
            with self.subTest(args=args):
                rc, out, err = self.run_on_tty("ping", s.target, "-i", "600ms", *args)
                self.assertEqual(rc, 0, out + err)
                self.assertNotIn("\x1b[K", out)
                if "--json" in args:  # the terminal turned each newline into CR LF
                    events = harness.json_events(out.replace("\r\n", "\n"))
                    self.assertEqual([events[0]["event"], events[-1]["event"]],
                                     ["start", "summary"], out)

    def test_not_on_a_pipe(self):
        s = self.serve()
        r = self.ping(s.target, "--sessions", "2", "-c", "3")
        self.assertExit(r, 0)
        self.assertNotIn("\x1b[K", r.stdout)


if __name__ == "__main__":
    harness.main()
