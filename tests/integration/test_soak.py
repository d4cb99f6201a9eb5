"""The soak of issue 12, 30 seconds of it: tools/soak.sh 30 (serve --threads 2 under
2,000 ping sessions, junk, 50,000 spoofed sources, heartbeat clients of a server stopped
and restarted, forged loop attempts; RSS, descriptors, counters, state changes and stop
times judged by the script). Its summary goes to the test log.

Needs root and network namespaces (the script runs everything inside one it creates and
deletes); skipped otherwise, exit 77."""

import os
import shutil
import signal
import subprocess
import sys

import harness
import skipmain
from harness import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOAK = os.path.normpath(os.path.join(HERE, "..", "..", "tools", "soak.sh"))
SECONDS = 30
# The run is 30 s of load plus start-up and stops (about 10 s): beyond this it hangs.
HANG_BOUND = 90.0 * harness.SCALE


def netns_unavailable():
    """Why `ip netns` cannot be used here, or None."""
    ip = shutil.which("ip") or "/usr/sbin/ip"
    if not os.access(ip, os.X_OK):
        return "no ip(8) (iproute2)"
    name = f"udpbeat-soak-probe-{os.getpid()}"
    r = subprocess.run([ip, "netns", "add", name], capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        return f"ip netns add failed: {r.stderr.strip()}"
    subprocess.run([ip, "netns", "delete", name], capture_output=True, timeout=20)
    return None


class SoakTest(unittest.TestCase):

    @harness.serial
    def test_soak_30s(self):
        if os.geteuid() != 0:
            self.skipTest("needs root: the soak runs in a network namespace with a raw socket")
        why = netns_unavailable()
        if why:
            self.skipTest(f"network namespaces unavailable: {why}")
        env = dict(os.environ, UDPBEAT=harness.UDPBEAT)
        p = subprocess.Popen(["bash", SOAK, str(SECONDS)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             errors="replace", env=env)
        try:
            out, err = p.communicate(timeout=HANG_BOUND)
        except subprocess.TimeoutExpired:
            # The script's trap stops what it started and deletes its namespace.
            p.send_signal(signal.SIGTERM)
            try:
                out, err = p.communicate(timeout=harness.STOP_TIMEOUT + 15)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            self.fail(f"tools/soak.sh {SECONDS} still running after {HANG_BOUND:.0f} s\n"
                      f"stdout:\n{out}\nstderr:\n{err}")
        print(out, file=sys.stderr, end="")
        print(err, file=sys.stderr, end="")
        lines = out.strip().splitlines()
        self.assertNotEqual(p.returncode, 77, f"the script could not run: {out}")
        self.assertEqual(p.returncode, 0, f"{lines[-1] if lines else ''}\n{out}\n{err}")
        self.assertEqual(lines[-1], "soak: PASS", out)
        # The summary names every part of the load.
        for what in ("soak: load: ping 2000 sessions", "soak: serve identity:", "soak: serve:",
                     "soak: heartbeat --proto stamp:", "soak: heartbeat --proto seed:",
                     "soak: stop on SIGINT:"):
            self.assertTrue(any(l.startswith(what) for l in lines), (what, out))


if __name__ == "__main__":
    skipmain.main()
