"""STAMP (issue 5): udpbeat serve as a session-reflector for raw packets built here
(symmetric size, malformed requests, stateful numbering), an independent decoder (scapy)
on packets captured between udpbeat ping and udpbeat serve, and the clock offset against
a reflector whose clock is 3.06 s ahead."""

import json
import os
import socket
import struct
import subprocess
import time

import harness
from harness import (UdpbeatTestCase, decode_stamp_reflector, ntp_from_ns, ns_from_ntp,
                     stamp_reflector_packet, stamp_sender_packet, unittest)

SYSTEM_PYTHON = "/usr/bin/python3"
SCAPY_HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stamp_scapy_decode.py")
SHIFT_NS = 3_060_000_000  # the lab's famous "Time difference = 3.06 s"
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux
NTP_SLACK_NS = 1000  # NTP fractions round to the nearest 2^-32 s, twice at most


def default_ttl():
    try:
        with open("/proc/sys/net/ipv4/ip_default_ttl") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 64


def scapy_available():
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return False
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", "import scapy.contrib.stamp"],
                              capture_output=True, timeout=harness.RUN_TIMEOUT).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class ShiftedReflector(harness.UdpResponder):
    """A minimal STAMP session-reflector whose clock is SHIFT_NS ahead: T2 is the kernel's
    receive timestamp (SO_TIMESTAMPNS) + shift, T3 the wall clock just before the send
    + shift. Stateless (reflector seq = sender seq); copies SSID, T1, error estimate."""

    ANCILLARY = socket.CMSG_SPACE(16)

    def __init__(self, shift_ns):
        self.shift = shift_ns
        self.answered = 0
        super().__init__("127.0.0.1")

    def configure(self, sock):
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)

    def handle(self, data, anc, peer):
        rx = None
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("=qq", value[:16])
                rx = sec * 1_000_000_000 + nsec
        if rx is None:
            rx = time.time_ns()
        if len(data) < 44:
            return
        seq, t1, err, ssid = struct.unpack_from("!IQHH", data)
        t2 = ntp_from_ns(rx + self.shift)
        t3 = ntp_from_ns(time.time_ns() + self.shift)
        reply = stamp_reflector_packet(seq, t3, ssid, t2, seq, t1, err, 255, len(data))
        self.answered += 1  # before the send: the sender may finish as soon as it lands
        self.send(reply, peer)


class StampReflectorTest(UdpbeatTestCase):

    def client(self, server):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.connect(server.addr)
        s.settimeout(harness.STARTUP_TIMEOUT)
        return s

    def exchange(self, sock, seq, length, ssid, error=0x8507):
        t1 = ntp_from_ns(time.time_ns())
        req = stamp_sender_packet(seq, t1, ssid, length, error)
        self.assertEqual(len(req), length)
        sock.send(req)
        reply = sock.recv(65536)
        return t1, reply

    def check_symmetric(self, mode):
        s = self.serve("--reply", mode)
        sock = self.client(s)
        ttl = default_ttl()
        lengths = (44, 45, 100, 1400)
        for i, length in enumerate(lengths):
            seq = 1000 + i
            # S=1, scale 5, multiplier 7: an estimate the reflector must copy, not rewrite.
            t1, reply = self.exchange(sock, seq, length, 0xBEEF, 0x8507)
            self.assertEqual(len(reply), length, f"reply to a {length}-octet request")
            r = decode_stamp_reflector(reply)
            self.assertEqual(r["seq_sender"], seq, r)
            self.assertEqual(r["seq"], seq, "stateless: reflector seq = sender seq")
            self.assertEqual(r["ts_sender"], t1, r)
            self.assertEqual(r["error_sender"], 0x8507, r)
            self.assertEqual(r["ssid"], 0xBEEF, r)
            self.assertLessEqual(r["ts_rx"], r["ts"], "T2 <= T3")
            self.assertLessEqual(t1, r["ts_rx"], "T1 <= T2 (one clock)")
            self.assertEqual(r["ttl"], ttl, r)
            self.assertEqual((r["mbz1"], r["mbz2"]), (0, bytes(3)), r)
            self.assertEqual(r["tail"], bytes(length - 44), "padding comes back as zeros")
            # The reflector's own estimate: Z=0 (NTP format) and a non-zero multiplier.
            self.assertEqual(r["error"] & 0x4000, 0, hex(r["error"]))
            self.assertNotEqual(r["error"] & 0xFF, 0, hex(r["error"]))
        # No reply to a 43-octet packet nor to garbage: the next reply is the next valid one.
        bad = [bytes(43), b"\xffgarbage"]
        if mode == "auto":
            # 44+ octets but not a sender packet (non-zero MBZ, not text). `--reply stamp`
            # reflects any packet of 44+ octets, so this one is garbage in auto mode only.
            bad.append(b"\xff" + b"garbage!" * 10)
        for b in bad:
            sock.send(b)
        t1, reply = self.exchange(sock, 2000, 44, 0xBEEF)
        self.assertEqual(decode_stamp_reflector(reply)["seq_sender"], 2000,
                         "a malformed request was answered")
        n = len(lengths) + 1
        self.assertCounters(s.stop(), received=n + len(bad), replied=n, malformed=len(bad),
                            dropped=0, send_errors=0)

    def test_symmetric_size_auto(self):
        self.check_symmetric("auto")

    def test_symmetric_size_stamp(self):
        self.check_symmetric("stamp")

    def test_stateful_two_ssids(self):
        s = self.serve("--stamp-stateful")
        sock = self.client(s)
        got = {0x1111: [], 0x2222: []}
        for k in range(5):
            for ssid, base in ((0x1111, 100), (0x2222, 7)):
                t1, reply = self.exchange(sock, base + k, 44, ssid)
                r = decode_stamp_reflector(reply)
                self.assertEqual((r["ssid"], r["seq_sender"], r["ts_sender"]),
                                 (ssid, base + k, t1), r)
                got[ssid].append(r["seq"])
        self.assertEqual(got, {0x1111: [0, 1, 2, 3, 4], 0x2222: [0, 1, 2, 3, 4]})
        # Two sessions, and the source's bucket of the default per-source budget.
        self.assertCounters(s.stop(), received=10, replied=10, malformed=0, peers=3,
                            peer_evictions=0)


class ScapyDecodeTest(UdpbeatTestCase):

    def test_scapy_decodes_capture(self):
        if not scapy_available():
            self.skipTest(f"{SYSTEM_PYTHON} cannot import scapy.contrib.stamp "
                          "(Debian package python3-scapy)")
        s = self.serve()
        relay = harness.Relay(s.addr)
        self.addCleanup(relay.close)
        r = self.ping(f"127.0.0.1:{relay.addr[1]}", "--proto", "stamp", "--json", "-c", "5",
                      "-i", "20ms")
        self.assertExit(r, 0)
        relay.close()
        events = harness.json_events(r.stdout)
        replies = [e for e in events if e["event"] == "reply"]
        self.assertEqual([e["seq"] for e in replies], [0, 1, 2, 3, 4], r.describe())
        reqs = [d for k, d in relay.records if k == "req"]
        reps = [d for k, d in relay.records if k == "rep"]
        self.assertEqual((len(reqs), len(reps)), (5, 5), relay.records)
        packets = [{"kind": "sender", "hex": d.hex()} for d in reqs] + \
                  [{"kind": "reflector", "hex": d.hex()} for d in reps]
        p = subprocess.run([SYSTEM_PYTHON, SCAPY_HELPER], input=json.dumps(packets),
                           capture_output=True, text=True, timeout=harness.RUN_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        decoded = json.loads(p.stdout)
        senders = {d["seq"]: d for d in decoded[:5]}
        reflectors = {d["seq_sender"]: d for d in decoded[5:]}
        no_error = {"S": 0, "Z": 0, "scale": 0, "multiplier": 1}
        ssids = set()
        for e in replies:
            seq = e["seq"]
            snd, ref = senders[seq], reflectors[seq]
            ssids.add(snd["ssid"])
            # What udpbeat ping sent.
            self.assertEqual((snd["length"], snd["mbz"], snd["tlvs"]), (44, 0, 0), snd)
            self.assertEqual(snd["err_estimate"], no_error, snd)
            self.assertNotEqual(snd["ssid"], 0, snd)
            # What udpbeat serve reflected, against ping's JSON.
            self.assertEqual(ref["length"], 44, ref)
            self.assertEqual(e["bytes"], 44, e)
            self.assertEqual(ref["seq"], e["reflector_seq"], (ref, e))
            self.assertEqual(ref["seq"], seq, "stateless reflector")
            self.assertEqual(ref["ttl_sender"], e["reflector_ttl"], (ref, e))
            self.assertEqual(e["reflector_ttl"], default_ttl(), "the relay's outgoing TTL")
            self.assertEqual(ref["ssid"], snd["ssid"], (ref, snd))
            self.assertEqual(ref["ts_sender"], snd["ts"], (ref, snd))
            self.assertEqual(ref["err_estimate_sender"], snd["err_estimate"], ref)
            self.assertEqual(ref["err_estimate"]["Z"], 0, ref)
            self.assertNotEqual(ref["err_estimate"]["multiplier"], 0, ref)
            self.assertEqual((ref["mbz1"], ref["mbz2"], ref["tlvs"]), (0, 0, 0), ref)
            # My own decoder agrees with scapy's.
            mine = next(m for m in map(decode_stamp_reflector, reps) if m["seq_sender"] == seq)
            self.assertEqual((mine["seq"], mine["ts"], mine["ts_rx"], mine["ts_sender"],
                              mine["ttl"]),
                             (ref["seq"], ref["ts"], ref["ts_rx"], ref["ts_sender"],
                              ref["ttl_sender"]))
            # The four timestamps: T2, T3 from the wire, T1 and T4 from ping's report. The
            # packet carries the T1 user space read before the send; ping computes with the
            # kernel's transmit timestamp, a little later, where the kernel gave one.
            t1_wire, t2, t3 = (ns_from_ntp(snd["ts"]), ns_from_ntp(ref["ts_rx"]),
                               ns_from_ntp(ref["ts"]))
            t1, t4 = e["sent_unix_ns"], e["received_unix_ns"]
            self.assertLessEqual(t1_wire, t1 + NTP_SLACK_NS)
            self.assertLessEqual(t1, t2 + NTP_SLACK_NS)
            self.assertLessEqual(t2, t3)
            self.assertLessEqual(t3, t4 + NTP_SLACK_NS)
            self.assertAlmostEqual(e["forward_ns"], t2 - t1, delta=NTP_SLACK_NS, msg=e)
            self.assertAlmostEqual(e["backward_ns"], t4 - t3, delta=NTP_SLACK_NS, msg=e)
            self.assertAlmostEqual(e["residence_ns"], t3 - t2, delta=NTP_SLACK_NS, msg=e)
            self.assertAlmostEqual(e["clock_offset_ns"], ((t2 - t1) + (t3 - t4)) / 2,
                                   delta=NTP_SLACK_NS, msg=e)
        self.assertEqual(len(ssids), 1, "one session, one SSID")
        self.assertCounters(s.stop(), received=5, replied=5, malformed=0)


class ReflectedTtlTest(UdpbeatTestCase):
    """The TTL a reflector read from the request (its "Ses-Sender TTL"), on a [::] socket
    for IPv4 requests too: those carry only IPv4 control messages (IP_RECVTTL)."""

    @unittest.skipUnless(harness.has_ipv6_loopback(), "no IPv6 loopback")
    def test_dual_stack_reflector(self):
        s = self.serve(bind="[::]:0")
        for target in (f"127.0.0.1:{s.port}", f"[::1]:{s.port}"):
            with self.subTest(target=target):
                r = self.ping(target, "--json", "-c", "2", "-i", "20ms")
                self.assertExit(r, 0)
                replies = [e for e in harness.json_events(r.stdout) if e["event"] == "reply"]
                self.assertEqual(len(replies), 2, r.describe())
                for e in replies:
                    # Loopback: the sender's TTL (hop limit) unchanged, whatever it is; 0
                    # would say the reflector had no TTL to return.
                    self.assertEqual(e["reflector_ttl"], e["ttl"], e)
                    self.assertGreater(e["reflector_ttl"], 0, e)


class ClockOffsetTest(UdpbeatTestCase):

    def reflector(self):
        refl = ShiftedReflector(SHIFT_NS)
        self.addCleanup(refl.close)
        return refl

    def test_offset_ping(self):
        refl = self.reflector()
        r = self.ping(refl.target, "--proto", "stamp", "--json", "-c", "10", "-i", "20ms")
        self.assertExit(r, 0)
        summary = harness.json_events(r.stdout)[-1]
        self.assertEqual(summary["event"], "summary", r.describe())
        self.assertEqual((summary["sent"], summary["received"], summary["lost"]), (10, 10, 0))
        bound = summary["rtt_max_ns"] + 2_000_000
        self.assertAlmostEqual(summary["clock_offset_ns"], SHIFT_NS, delta=bound, msg=summary)
        for k in ("forward_min_ns", "backward_min_ns"):
            self.assertGreaterEqual(summary[k], 0, (k, summary))
            self.assertLess(summary[k], 50_000_000, (k, summary))
        self.assertAlmostEqual(summary["forward_raw_min_ns"], SHIFT_NS, delta=bound, msg=summary)
        self.assertAlmostEqual(summary["backward_raw_min_ns"], -SHIFT_NS, delta=bound,
                               msg=summary)
        self.assertEqual(refl.answered, 10)

    def test_offset_heartbeat(self):
        refl = self.reflector()
        r = self.heartbeat(refl.target, "--proto", "stamp", "-c", "5", "-i", "50ms")
        self.assertExit(r, 0)
        # Each reply as ping prints it, in ms: the clock offset is apart from the rtt (the
        # lab's "time difference" of 3.06 s would mix them).
        replies = [m for m in map(harness.STAMP_REPLY_RE.match, r.stdout.splitlines()) if m]
        self.assertEqual([int(m.group("seq")) for m in replies], [0, 1, 2, 3, 4], r.describe())
        self.assertNotIn("Time difference", r.stdout)
        for m in replies:
            rtt_ms, offset_ms = float(m.group("time")), float(m.group("offset"))
            self.assertTrue(m.group("offset").startswith("+"), m.group(0))
            self.assertLessEqual(abs(offset_ms - 3060), rtt_ms + 2, m.group(0))
            self.assertLess(rtt_ms, 1000, "the shift is not in the rtt: " + m.group(0))
        self.assertPackets(r, 5, 5, 0, "0.0")


if __name__ == "__main__":
    harness.main()
