"""serve's kernel drops counter reports every drop up to the end, and its live /metrics
value catches up without more traffic.

The kernel tells a reader of how many datagrams it dropped on a socket in two ways: the
SO_RXQ_OVFL count each datagram carries (the drops before that datagram was queued), and
SO_MEMINFO's drop count, read at any time. A burst that overflows the buffer and is then
followed by silence leaves every queued datagram carrying the count from before the
drops, so a server that only read SO_RXQ_OVFL reported 0 drops, in its closing line, its
final metrics and its live /metrics alike (test_faults.ServerOverflowTest needs one more
datagram after the burst for that reason; these tests send none).

The identity checked: on loopback each datagram sent to serve's socket is either queued,
and then read (received), or dropped by the kernel because the buffer is full (kernel
drops): received + kernel drops == sent, once serve has read its queue. The garbage sent
is malformed in mode auto, so serve sends nothing back."""

import os
import shutil
import signal
import socket
import sys
import tempfile
import time

import harness
from harness import UdpbeatTestCase, free_tcp_port, http_get, unittest

# serve asks for an 8 MiB receive buffer, which the kernel doubles (without privileges
# it is capped lower): 30,000 datagrams of 1,000 octets, each about 2 KiB of buffer, are
# several times what it holds while serve is stopped.
SENT = 30000
PAYLOAD = b"\xff" * 1000  # not text, not STAMP: malformed, never answered


def report(*args):
    print("MEASURED:", *args, file=sys.stderr, flush=True)


def metric(metrics, name):
    return metrics.get((name, frozenset()))


def kernel_view(port):
    """(octets queued, datagrams dropped) of the UDP sockets bound to 127.0.0.1:PORT, summed,
    as /proc/net/udp shows them: the kernel's own account, independent of serve's."""
    queued = drops = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] != f"0100007F:{port:04X}":
                continue
            queued += int(fields[4].split(":")[1], 16)
            drops += int(fields[-1])
    return queued, drops


def wait_queue_read(port):
    """Waits (bounded) until serve has read everything its sockets hold; returns the
    kernel's drop count then."""
    deadline = time.monotonic() + harness.STOP_TIMEOUT
    queued, drops = kernel_view(port)
    while queued > 0 and time.monotonic() < deadline:
        time.sleep(0.02)
        queued, drops = kernel_view(port)
    assert queued == 0, f"serve left {queued} octets unread in its socket buffer"
    return drops


@harness.serial
class ServeKernelDropsTest(UdpbeatTestCase):

    def flood_stopped(self, s):
        """SENT datagrams to serve while it is stopped (SIGSTOP), then SIGCONT."""
        s.proc.signal(signal.SIGSTOP)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                for _ in range(SENT):
                    sock.sendto(PAYLOAD, s.addr)
        finally:
            s.proc.signal(signal.SIGCONT)

    def test_closing_line_and_final_metrics_count_every_drop(self):
        d = tempfile.mkdtemp(prefix="udpbeat-drops-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "serve.prom")
        # Written at the start and at the end only.
        s = self.serve("--metrics-file", path, "--metrics-interval", "24h")
        self.flood_stopped(s)
        # Stopped as soon as its queue is read: nothing asks serve for its count before.
        kernel = wait_queue_read(s.port)
        c = s.stop()
        with open(path) as f:
            m = harness.parse_metrics(f.read())
        report(f"serve stopped while {SENT} datagrams came: the kernel dropped {kernel}; "
               f"closing counters {c}; final metrics kernel_drops "
               f"{metric(m, 'udpbeat_serve_kernel_drops_total')}")
        self.assertGreater(kernel, 0)
        self.assertEqual(c["kernel_drops"], kernel, c)
        self.assertEqual(c["received"] + c["kernel_drops"], SENT, c)
        self.assertCounters(c, malformed=c["received"], replied=0)
        self.assertEqual(metric(m, "udpbeat_serve_kernel_drops_total"), kernel, m)
        self.assertEqual(metric(m, "udpbeat_serve_received_total"), c["received"], m)

    def test_interim_line_counts_drops_now(self):
        s = self.serve()
        self.flood_stopped(s)
        kernel = wait_queue_read(s.port)
        c = s.interim()  # SIGQUIT
        report(f"SIGQUIT after a stopped serve's flood of {SENT}: the kernel dropped {kernel}; "
               f"counters {c}")
        self.assertGreater(kernel, 0)
        self.assertEqual(c["kernel_drops"], kernel, c)
        self.assertEqual(c["received"] + c["kernel_drops"], SENT, c)
        self.assertEqual(s.stop(), c)

    def test_live_metrics_catch_up_without_more_traffic(self):
        # Two threads: whichever worker the flood's source meets, its own sweep refreshes
        # its count; nothing here (no SIGQUIT, no datagram) asks for it.
        port = free_tcp_port()
        s = self.serve("--threads", "2", "--metrics-listen", f"127.0.0.1:{port}")
        self.flood_stopped(s)
        deadline = time.monotonic() + harness.STOP_TIMEOUT
        while True:
            m = harness.parse_metrics(http_get(port))
            received = metric(m, "udpbeat_serve_received_total")
            drops = metric(m, "udpbeat_serve_kernel_drops_total")
            if received + drops >= SENT or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        kernel = kernel_view(s.port)[1]
        report(f"live /metrics after a stopped serve's flood of {SENT}: received {received}, "
               f"kernel_drops {drops}; the kernel dropped {kernel}")
        self.assertGreater(drops, 0, m)
        self.assertEqual(drops, kernel, m)
        self.assertEqual(received + drops, SENT, m)
        c = s.stop()
        self.assertEqual(c["kernel_drops"], drops, c)
        self.assertEqual(c["received"] + c["kernel_drops"], SENT, c)


if __name__ == "__main__":
    harness.main()
