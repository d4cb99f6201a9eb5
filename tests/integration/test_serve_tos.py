"""udpbeat serve replies with its request's DSCP (issue 13 item 2): ping and heartbeat
marking their probes see the mark come back from our own reflector, in every reply mode,
over IPv4, IPv6 and a dual-stack socket, with threads and delay; ECN bits are not copied;
an unmarked request gets an unmarked reply. Checked as ping reports it and, on the wire,
as a plain socket with IP_RECVTOS receives it. Loopback only."""

import socket
import time

import harness
from harness import UdpbeatTestCase, unittest

IP_RECVTOS = getattr(socket, "IP_RECVTOS", 13)  # Linux
IP_TOS = getattr(socket, "IP_TOS", 1)
# Replies are waited for this long where every one must arrive: only a hang reaches it.
WAIT = f"{int(5 * harness.SCALE)}s"


class ServeTosTest(UdpbeatTestCase):
    def reply_tos(self, client, target, *args):
        """The set of TOS values `udpbeat CLIENT` reports for its two replies."""
        r = harness.udpbeat(client, target, "-c", "2", "-i", "10ms", "-W", WAIT, "--json",
                            *args)
        self.assertExit(r, 0)
        replies = [e for e in harness.json_events(r.stdout) if e["event"] == "reply"]
        self.assertEqual(len(replies), 2, r.describe())
        return {e.get("tos") for e in replies}

    def check_marks(self, target, *args):
        self.assertEqual(self.reply_tos("ping", target, "--dscp", "10", *args), {0x28})
        self.assertEqual(self.reply_tos("ping", target, "--tos", "0xb8", *args), {0xb8})
        self.assertEqual(self.reply_tos("ping", target, *args), {0})

    def test_ipv4(self):
        s = self.serve()
        self.check_marks(s.target)
        c = s.stop()
        self.assertCounters(c, received=6, replied=6, send_errors=0)

    @unittest.skipUnless(harness.has_ipv6_loopback(), "no IPv6 loopback")
    def test_ipv6(self):
        s = self.serve(bind="[::1]:0")
        self.check_marks(s.target, "-6")

    @unittest.skipUnless(harness.has_ipv6_loopback(), "no IPv6 loopback")
    def test_dual_stack_socket(self):
        # An IPv4 request on a [::] socket carries IP_TOS, not IPV6_TCLASS, and its reply
        # (to a v4-mapped address) takes the IPv4 path.
        s = self.serve(bind="[::]:0")
        self.check_marks(f"127.0.0.1:{s.port}")
        self.check_marks(f"[::1]:{s.port}", "-6")

    def test_ecn_not_copied(self):
        # DSCP 46 with CE, and with ECT(0): the reply keeps DSCP 46 and is Not-ECT.
        s = self.serve()
        self.assertEqual(self.reply_tos("ping", s.target, "--tos", "0xbb"), {0xb8})
        self.assertEqual(self.reply_tos("ping", s.target, "--tos", "0xba"), {0xb8})
        # ECN alone is no mark: the reply is unmarked.
        self.assertEqual(self.reply_tos("ping", s.target, "--tos", "0x01"), {0})

    def test_every_reply_mode(self):
        # (serve's reply mode, client, its protocol)
        for mode, client, proto in (("auto", "ping", "stamp"), ("auto", "ping", "seed"),
                                    ("auto", "heartbeat", "seed"), ("stamp", "ping", "stamp"),
                                    ("echo", "ping", "seed"),
                                    ("heartbeat", "heartbeat", "seed")):
            with self.subTest(mode=mode, client=client, proto=proto):
                s = self.serve("--reply", mode)
                self.assertEqual(self.reply_tos(client, s.target, "--proto", proto,
                                                "--dscp", "10"), {0x28})
                self.assertEqual(self.reply_tos(client, s.target, "--proto", proto), {0})
                s.stop()

    def test_stateful_stamp(self):
        s = self.serve("--stamp-stateful")
        self.assertEqual(self.reply_tos("ping", s.target, "--follow-up", "--dscp", "34"),
                         {0x88})

    def test_threads_and_delay(self):
        # Per-datagram marks: threads share the port (SO_REUSEPORT), delayed replies keep
        # the mark they were built for.
        s = self.serve("--threads", "2", "--delay", "5ms")
        self.assertEqual(self.reply_tos("ping", s.target, "--dscp", "46"), {0xb8})
        self.assertEqual(self.reply_tos("ping", s.target, "--dscp", "8"), {0x20})
        self.assertEqual(self.reply_tos("ping", s.target), {0})

    def wire_tos(self, server, tos, seq):
        """The TOS byte of serve's reply to a STAMP request marked `tos`, as received."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            c.setsockopt(socket.IPPROTO_IP, IP_TOS, tos)
            c.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
            c.settimeout(5 * harness.SCALE)
            c.bind(("127.0.0.1", 0))
            ntp = harness.ntp_from_ns(time.time_ns())
            c.sendto(harness.stamp_sender_packet(seq, ntp, 7), server.addr)
            data, anc, _, _ = c.recvmsg(2048, socket.CMSG_SPACE(4))
            self.assertEqual(harness.decode_stamp_reflector(data)["seq_sender"], seq)
            marks = [v[0] for level, kind, v in anc if level == socket.IPPROTO_IP and
                     kind == IP_TOS and v]
            self.assertEqual(len(marks), 1, anc)
            return marks[0]

    def test_on_the_wire(self):
        s = self.serve()
        self.assertEqual(self.wire_tos(s, 0x29, 1), 0x28)
        self.assertEqual(self.wire_tos(s, 0xbb, 2), 0xb8)
        self.assertEqual(self.wire_tos(s, 0, 3), 0)


if __name__ == "__main__":
    harness.main()
