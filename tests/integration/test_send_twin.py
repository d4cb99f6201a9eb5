"""Send-only twins (src/net/send_twin.cc): a run of a few sockets sends each socket's
probes from a twin on the same local address and port, so that the kernel's transmit
stamp is not followed by the wake-up of the receive armed on the connected socket. What
must hold whatever the twin does: every reply reaches the connected socket, every probe
gets the kernel's send time, a stranger's datagram to the port goes nowhere, and a run of
more than TargetSet::kMaxTwinnedSockets sockets keeps one descriptor per socket."""

import os
import re
import socket
import time

import harness
from harness import UdpbeatTestCase, unittest

MAX_TWINNED = 64  # TargetSet::kMaxTwinnedSockets


def udp_sockets(pid, detail=False):
    """The local ports of the UDP sockets process `pid` holds, one entry per socket; with
    `detail`, (port, bytes queued to read, datagrams dropped) from /proc/net/udp."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", link)
        if m:
            inodes.add(m.group(1))
    ports = []
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[9] in inodes:
                    port = int(fields[1].rsplit(":", 1)[1], 16)
                    rx_queue = int(fields[4].split(":")[1], 16)
                    ports.append((port, rx_queue, int(fields[12])) if detail else port)
    return sorted(ports)


class SendTwinTest(UdpbeatTestCase):
    def sockets_while_running(self, expected, target, *args):
        """Runs ping; returns (its UDP sockets' local ports once `expected` are open, or
        the most it held, its exit status, the process)."""
        p = self.spawn([harness.UDPBEAT, "ping", target, *args])
        ports = []
        deadline = time.monotonic() + harness.STARTUP_TIMEOUT
        while time.monotonic() < deadline and p.p.poll() is None and len(ports) < expected:
            try:
                now = udp_sockets(p.pid)
            except OSError:  # it ended meanwhile
                break
            if len(now) > len(ports):
                ports = now
            time.sleep(0.02)
        rc = p.wait(timeout=harness.RUN_TIMEOUT)
        return ports, rc, p

    def test_one_session_sends_from_a_twin_and_gets_every_reply(self):
        for proto in ("stamp", "seed"):
            with self.subTest(proto=proto):
                s = self.serve()
                ports, rc, p = self.sockets_while_running(2, s.target, "--proto", proto, "-c",
                                                           "40", "-i", "0.01")
                self.assertEqual(rc, 0, p.stdout + p.stderr)
                # Two sockets, one local port: the connected one and its twin.
                self.assertEqual(len(ports), 2, ports)
                self.assertEqual(ports[0], ports[1], ports)
                self.assertIn("40 packets transmitted, 40 received, 0% packet loss", p.stdout)
                self.assertIn("send times: kernel for 40 of 40 replies", p.stdout)
                s.stop()

    def test_a_stranger_reaches_neither_socket(self):
        s = self.serve()
        p = self.spawn([harness.UDPBEAT, "ping", s.target, "-c", "30", "-i", "0.02"])
        p.wait_line(r"seq=[0-9]+ ", timeout=harness.STARTUP_TIMEOUT)
        port = udp_sockets(p.pid)[0]  # STAMP: ping(8)'s reply lines
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
            for _ in range(20):  # a STAMP-sized datagram that is not a reply to anything
                stranger.sendto(bytes(44), ("127.0.0.1", port))
        # The twin's filter dropped them (the kernel counts it), none waits to be read.
        deadline = time.monotonic() + harness.STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            sockets = udp_sockets(p.pid, detail=True)
            if sum(d for _, _, d in sockets) >= 20:
                break
            time.sleep(0.02)
        self.assertEqual(sorted(d for _, _, d in sockets), [0, 20], sockets)
        self.assertEqual([q for _, q, _ in sockets], [0, 0], sockets)
        self.assertEqual(p.wait(timeout=harness.RUN_TIMEOUT), 0, p.stdout + p.stderr)
        self.assertIn("30 packets transmitted, 30 received, 0% packet loss", p.stdout)
        self.assertRegex(p.stdout, r"malformed 0,")

    def test_more_sockets_than_the_bound_have_no_twins(self):
        s = self.serve()
        n = MAX_TWINNED + 1
        ports, rc, p = self.sockets_while_running(n + 1, s.target, "--sessions", str(n), "-c",
                                                   "3", "-i", "0.2")
        self.assertEqual(rc, 0, p.stdout + p.stderr)
        self.assertEqual(len(ports), n, ports)
        self.assertEqual(len(set(ports)), n, ports)
        ports, rc, p = self.sockets_while_running(2 * MAX_TWINNED, s.target, "--sessions",
                                                   str(MAX_TWINNED), "-c", "3", "-i", "0.2")
        self.assertEqual(rc, 0, p.stdout + p.stderr)
        self.assertEqual(len(ports), 2 * MAX_TWINNED, len(ports))
        self.assertEqual(len(set(ports)), MAX_TWINNED)


if __name__ == "__main__":
    harness.main()
