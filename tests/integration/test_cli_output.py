"""Write errors on standard output (issue 12 item 8): output that cannot be written ends
the run with exit 2 and one line naming the error, in every mode and for --help and
--version, never a silent exit 0."""

import os
import signal
import socket
import subprocess
import time

import harness
from harness import UdpbeatTestCase, unittest

ENOSPC_LINE = "udpbeat: write stdout: No space left on device"


class WriteErrorTest(UdpbeatTestCase):

    def setUp(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")

    def run_to(self, path, *args):
        with open(path, "w") as out:
            p = subprocess.run([harness.UDPBEAT, *args], stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.PIPE, text=True, timeout=harness.RUN_TIMEOUT)
        return harness.Result(args, p.returncode, "", p.stderr)

    def check_full(self, *args):
        r = self.run_to("/dev/full", *args)
        self.assertEqual(self.assertOneErrorLine(r), ENOSPC_LINE, r.describe())
        return r

    def test_ping_json(self):
        s = self.serve()
        self.check_full("ping", "-c", "2", "-i", "10ms", "--json", s.target)

    def test_ping_text(self):
        s = self.serve()
        self.check_full("ping", "-c", "2", "-i", "10ms", s.target)

    def test_ping_quiet_summary_only(self):
        s = self.serve()
        self.check_full("ping", "-c", "1", "-q", s.target)

    def test_ping_without_reply(self):
        # The write error outranks the measured outcome (exit 1 otherwise).
        s = self.serve("--loss", "1")
        self.check_full("ping", "-c", "1", "-W", "50ms", s.target)

    def test_heartbeat(self):
        s = self.serve()
        self.check_full("heartbeat", "-c", "2", "-i", "20ms", s.target)
        self.check_full("heartbeat", "-c", "2", "-i", "20ms", "--json", s.target)

    def test_plot_to_stdout(self):
        # The plot's own write fails first and says so; stdout's failure is the same one,
        # not a second line.
        s = self.serve()
        r = self.run_to("/dev/full", "ping", "-c", "2", "-i", "10ms", "-q", "--plot",
                        "/dev/stdout", s.target)
        self.assertEqual(self.assertOneErrorLine(r),
                         "udpbeat: write /dev/stdout: No space left on device", r.describe())

    def test_help_and_version(self):
        for args in (["--help"], ["-h"], ["ping", "--help"], ["help"], ["help", "serve"],
                     ["-V"], ["--version"]):
            with self.subTest(args=args):
                self.check_full(*args)

    def test_devnull_is_fine(self):
        r = self.run_to(os.devnull, "--version")
        self.assertExit(r, 0)
        self.assertEqual(r.stderr, "")

    def test_closed_stdout(self):
        p = subprocess.run(["sh", "-c", 'exec "$0" --version >&-', harness.UDPBEAT],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=harness.RUN_TIMEOUT)
        r = harness.Result(["--version", ">&-"], p.returncode, p.stdout, p.stderr)
        self.assertEqual(self.assertOneErrorLine(r), "udpbeat: write stdout: Bad file descriptor")

    def test_closed_stdin_and_stdout(self):
        # Closed 0 and 1 would be reused by the ring and a socket: the summary must not
        # be written into them (it once went to the io_uring descriptor).
        s = self.serve()
        p = subprocess.run(["sh", "-c", 'exec "$0" ping -c 1 "$1" <&- >&-', harness.UDPBEAT,
                            s.target], capture_output=True, text=True,
                           timeout=harness.RUN_TIMEOUT)
        r = harness.Result(["ping", "<&-", ">&-"], p.returncode, p.stdout, p.stderr)
        self.assertEqual(self.assertOneErrorLine(r), "udpbeat: write stdout: Bad file descriptor")
        self.assertCounters(s.stop(), received=1, malformed=0)

    def test_serve(self):
        # serve writes its "listening on" line first. Whether it stops at once or runs
        # until SIGINT, it must end with exit 2 and the one line.
        port = harness.free_udp_port()
        with open("/dev/full", "w") as out:
            p = subprocess.Popen([harness.UDPBEAT, "serve", "--bind", f"127.0.0.1:{port}"],
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                                 text=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        # Wait until it answers (or has exited), so SIGINT meets a running server.
        deadline = time.monotonic() + harness.STARTUP_TIMEOUT
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.1)
            while p.poll() is None and time.monotonic() < deadline:
                try:
                    sock.sendto(b"Ping 1 0.0", ("127.0.0.1", port))
                    sock.recvfrom(2048)
                    break
                except (socket.timeout, ConnectionRefusedError):
                    continue
        if p.poll() is None:
            os.kill(p.pid, signal.SIGINT)
        rc = p.wait(timeout=harness.STOP_TIMEOUT)
        err = p.stderr.read()
        p.stderr.close()
        r = harness.Result(["serve"], rc, "", err)
        self.assertEqual(self.assertOneErrorLine(r), ENOSPC_LINE, r.describe())


class MetricsFileErrorTest(UdpbeatTestCase):
    """A --metrics-file that cannot be written: mid-run it is told once and the run goes
    on; at the stop it decides the exit, 2, in every mode, with no second line."""

    FULL_LINE = "udpbeat: write /dev/full: No space left on device"

    def setUp(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")

    def test_ping_and_heartbeat(self):
        s = self.serve()
        for argv in (["ping", "-c", "3", "-i", "20ms", "-q"],
                     ["heartbeat", "-c", "3", "-i", "20ms", "-q"],
                     ["heartbeat", "-c", "3", "-i", "20ms", "-q", "--metrics-interval", "10ms"]):
            with self.subTest(argv=argv):
                r = harness.run([harness.UDPBEAT, *argv, "--metrics-file", "/dev/full",
                                 s.target])
                self.assertEqual(self.assertOneErrorLine(r), self.FULL_LINE, r.describe())
                self.assertIn("3 packets transmitted, 3 received", r.stdout)  # summary kept

    def test_serve(self):
        s = harness.Proc([harness.UDPBEAT, "serve", "--bind", "127.0.0.1:0", "-q",
                          "--metrics-file", "/dev/full", "--metrics-interval", "10ms"])
        self.addCleanup(s.kill)
        s.wait_line(self.FULL_LINE, stream="err")  # told at the first write, serving on
        time.sleep(0.1)  # several more failed writes: none told again
        s.signal(signal.SIGINT)
        rc = s.wait(harness.STOP_TIMEOUT)
        r = harness.Result(["serve"], rc, "", s.stderr)
        self.assertEqual(self.assertOneErrorLine(r), self.FULL_LINE, r.describe())


if __name__ == "__main__":
    harness.main()
