"""STAMP authenticated mode (RFC 8762 §4.2.2, §4.3.2, §4.4; issue 15 item 4) and RFC 8972
Follow-Up Telemetry (issue 15 item 2), end to end: udpbeat ping against udpbeat serve
through a recording relay on 127.0.0.1, every packet checked here with Python's own
HMAC-SHA-256 and decoder, and against Python reflectors that know no TLV."""

import hashlib
import hmac
import os
import shutil
import struct
import tempfile
import time

import harness
from harness import (UdpbeatTestCase, free_tcp_port, http_get, ns_from_ntp, ntp_from_ns,
                     summary_of, unittest)

AUTH_SIZE = 112         # RFC 8762 §4.2.2 / §4.3.2: both authenticated packets
AUTH_HMAC_AT = 96       # the HMAC covers octets 0..95 and sits in 96..111
UNAUTH_SIZE = 44
FOLLOW_UP_TYPE = 7      # RFC 8972 §4.7
FOLLOW_UP_TLV = 20      # 4-octet header + 16
HMAC_TLV_TYPE = 8       # RFC 8972 §4.8
HMAC_TLV = 20           # 4-octet header + 16, the last TLV of an authenticated packet
TLV_U = 0x80            # unrecognized
# A key no output may ever show (asserted absent from stdout and stderr).
KEY_TEXT = b"UDPBEAT-TEST-SECRET-7f3a9c21e8d4b605"
# Replies are waited for this long where every one must arrive: only a hang reaches it.
WAIT = f"{int(5 * harness.SCALE)}s"


def tag(key, packet):
    """RFC 8762 §4.4: HMAC-SHA-256 over octets 0..95, truncated to 128 bits."""
    return hmac.new(key, packet[:AUTH_HMAC_AT], hashlib.sha256).digest()[:16]


def tlv_tag(key, packet):
    """RFC 8972 §4.8: HMAC-SHA-256 over the Sequence Number (octets 0..3) and the TLVs
    before the HMAC TLV (from octet 112 up to the packet's last 20), truncated to 128 bits."""
    covered = packet[:4] + packet[AUTH_SIZE:len(packet) - HMAC_TLV]
    return hmac.new(key, covered, hashlib.sha256).digest()[:16]


def reflector_fields(data, auth):
    """seq, T3, SSID, T2, sender seq of a reflector packet (either layout)."""
    if auth:
        seq, = struct.unpack_from("!I", data, 0)
        t3, = struct.unpack_from("!Q", data, 16)
        ssid, = struct.unpack_from("!H", data, 26)
        t2, = struct.unpack_from("!Q", data, 32)
        sseq, = struct.unpack_from("!I", data, 48)
    else:
        seq, t3, _, ssid, t2, sseq = struct.unpack_from("!IQHHQI", data, 0)
    return {"seq": seq, "t3": t3, "ssid": ssid, "t2": t2, "sender_seq": sseq}


def follow_up(data, base):
    """The Follow-Up Telemetry TLV right after the base packet: flags, type, length,
    reported reflector seq, timestamp (NTP), timestamp mode."""
    flags, typ, length = struct.unpack_from("!BBH", data, base)
    seq, ts, mode = struct.unpack_from("!IQB", data, base + 4)
    return {"flags": flags, "type": typ, "length": length, "seq": seq, "ts": ts, "mode": mode}


class TlvBlindReflector(harness.UdpResponder):
    """A STAMP reflector that knows RFC 8762 only: it answers with the unauthenticated
    reflector layout and returns whatever follows the 44-octet base unchanged (so a
    Follow-Up Telemetry TLV comes back as sent, its U flag still set)."""

    def __init__(self):
        self.requests = []
        super().__init__("127.0.0.1")

    def handle(self, data, anc, peer):
        if len(data) < UNAUTH_SIZE:
            return
        self.requests.append(data)
        t2 = ntp_from_ns(time.time_ns())
        seq, t1, err, ssid = struct.unpack_from("!IQHH", data)
        head = harness.stamp_reflector_packet(seq, ntp_from_ns(time.time_ns()), ssid, t2,
                                              seq, t1, err, 64)[:UNAUTH_SIZE]
        self.send(head + data[UNAUTH_SIZE:], peer)


class ZeroSsidAuthReflector(harness.UdpResponder):
    """An authenticated RFC 8762 reflector that knows no RFC 8972 (stateless, §4.3.2 layout):
    it leaves the SSID octets zero, so sessions sharing a socket are told apart by the
    sender's sequence number it returns, at octets 48..51 in this layout."""

    def __init__(self, key):
        self.key = key
        self.ssids = []  # of the requests it answered
        super().__init__("127.0.0.1")

    def handle(self, data, anc, peer):
        if len(data) < AUTH_SIZE or data[AUTH_HMAC_AT:AUTH_SIZE] != tag(self.key, data):
            return
        t2 = ntp_from_ns(time.time_ns())
        seq, = struct.unpack_from("!I", data, 0)
        t1, err, ssid = struct.unpack_from("!QHH", data, 16)
        self.ssids.append(ssid)
        rep = bytearray(len(data))
        struct.pack_into("!I", rep, 0, seq)  # stateless: the sender's number
        struct.pack_into("!QH", rep, 16, ntp_from_ns(time.time_ns()), 1)
        struct.pack_into("!Q", rep, 32, t2)
        struct.pack_into("!I", rep, 48, seq)
        struct.pack_into("!QH", rep, 64, t1, err)
        rep[80] = 64
        rep[AUTH_HMAC_AT:AUTH_SIZE] = tag(self.key, rep)
        self.send(bytes(rep), peer)


class KeyFiles:
    """Key files in a private temporary directory, removed by the test's cleanup."""

    def __init__(self, test):
        self.dir = tempfile.mkdtemp(prefix="udpbeat-auth-")
        test.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, content, mode=0o600):
        path = os.path.join(self.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(path, mode)  # whatever the umask
        return path


class AuthTestBase(UdpbeatTestCase):
    def setUp(self):
        self.keys = KeyFiles(self)
        self.key = KEY_TEXT
        # One trailing newline is not part of the key (LoadAuthKey, as `echo` leaves it).
        self.key_file = self.keys.write("key", KEY_TEXT + b"\n")

    def relay(self, addr, mutate=None):
        r = harness.Relay(addr, mutate)
        self.addCleanup(r.close)
        return r

    def assertNoKey(self, result):
        for stream in (result.stdout, result.stderr):
            self.assertNotIn(KEY_TEXT.decode(), stream, result.describe())
            self.assertNotIn(KEY_TEXT[:16].decode(), stream, result.describe())


class StampAuthTest(AuthTestBase):
    def test_auth_ping_answered_with_signed_112_octet_packets(self):
        s = self.serve("--auth-key", self.key_file)
        relay = self.relay(s.addr)
        r = self.ping(relay.target, "--auth-key", self.key_file, "-c", "5", "-i", "10ms",
                      "-W", WAIT, "--json")
        self.assertExit(r, 0)
        events = harness.json_events(r.stdout)
        replies = [e for e in events if e["event"] == "reply"]
        self.assertEqual([e["seq"] for e in replies], [0, 1, 2, 3, 4], r.describe())
        self.assertEqual({e["bytes"] for e in replies}, {AUTH_SIZE}, r.describe())
        summary = summary_of(events)
        self.assertEqual((summary["sent"], summary["received"], summary["lost"],
                          summary["malformed"]), (5, 5, 0, 0), r.describe())
        # On the wire, checked with Python's HMAC, not udpbeat's.
        reqs, reps = relay.of("req"), relay.of("rep")
        self.assertEqual(len(reqs), 5)
        self.assertEqual(len(reps), 5)
        for p in reqs + reps:
            self.assertEqual(len(p), AUTH_SIZE)
            self.assertEqual(p[AUTH_HMAC_AT:], tag(self.key, p), p.hex())
        for p in reqs:  # the sender's MBZ octets 4..15 (authenticated layout)
            self.assertEqual(p[4:16], bytes(12), p.hex())
        for i, p in enumerate(reps):
            f = reflector_fields(p, auth=True)
            self.assertEqual(f["sender_seq"], i)
            self.assertGreater(f["t3"], 0)
            self.assertGreaterEqual(f["t3"], f["t2"])
        s.stop()
        self.assertCounters(s.counters, received=5, replied=5, malformed=0)

    def test_ping_without_key_gets_nothing(self):
        s = self.serve("--auth-key", self.key_file)
        r = self.ping(s.target, "-c", "3", "-i", "10ms", "-W", "200ms")
        self.assertExit(r, 1)
        self.assertPackets(r, 3, 0, 3, "100.0")
        # A 112-octet unauthenticated request (the size is not what gives it away).
        r = self.ping(s.target, "-c", "3", "-i", "10ms", "-W", "200ms", "-s", AUTH_SIZE)
        self.assertExit(r, 1)
        self.assertPackets(r, 3, 0, 3, "100.0")
        s.stop()
        # Unsigned requests, whatever their size: the 44-octet ones are too short to carry
        # an HMAC, the 112-octet ones fail theirs. Both are unauthenticated, not malformed
        # (udpbeat-serve(1), --auth-key).
        self.assertCounters(s.counters, received=6, replied=0, malformed=0, unauthenticated=6)

    def test_wrong_key_gets_nothing(self):
        wrong = self.keys.write("wrong", b"another-key-of-the-right-length-0123\n")
        s = self.serve("--auth-key", self.key_file)
        relay = self.relay(s.addr)
        r = self.ping(relay.target, "--auth-key", wrong, "-c", "3", "-i", "10ms", "-W", "200ms")
        self.assertExit(r, 1)
        self.assertPackets(r, 3, 0, 3, "100.0")
        self.assertEqual(len(relay.of("req")), 3)
        self.assertEqual(relay.of("rep"), [])
        s.stop()
        self.assertCounters(s.counters, received=3, replied=0, malformed=0)

    def test_rejected_requests_counted_unauthenticated(self):
        wrong = self.keys.write("wrong", b"another-key-of-the-right-length-0123\n")
        metrics_port = free_tcp_port()
        s = self.serve("--auth-key", self.key_file, "--metrics-listen",
                       f"127.0.0.1:{metrics_port}")
        r = self.ping(s.target, "--auth-key", wrong, "-c", "2", "-i", "10ms", "-W", "200ms")
        self.assertExit(r, 1)
        r = self.ping(s.target, "-c", "2", "-i", "10ms", "-W", "200ms", "-s", AUTH_SIZE)
        self.assertExit(r, 1)
        interim = s.interim()
        self.assertCounters(interim, received=4, replied=0, unauthenticated=4)
        deadline = time.monotonic() + harness.STARTUP_TIMEOUT
        value = None
        while time.monotonic() < deadline:
            m = harness.parse_metrics(http_get(metrics_port))
            value = m.get(("udpbeat_serve_unauthenticated_total", frozenset()))
            if value == 4:
                break
            time.sleep(0.1)
        self.assertEqual(value, 4)
        s.stop()
        self.assertCounters(s.counters, received=4, unauthenticated=4)

    def test_reply_failing_its_hmac_is_malformed_never_received(self):
        s = self.serve("--auth-key", self.key_file)

        def flip(data):  # octet 33: inside T2, covered by the HMAC
            return data[:33] + bytes([data[33] ^ 0x01]) + data[34:]

        relay = self.relay(s.addr, flip)
        r = self.ping(relay.target, "--auth-key", self.key_file, "-c", "4", "-i", "10ms",
                      "-W", "200ms", "--json")
        self.assertExit(r, 1)
        events = harness.json_events(r.stdout)
        self.assertEqual([e for e in events if e["event"] == "reply"], [], r.describe())
        summary = summary_of(events)
        self.assertEqual((summary["sent"], summary["received"], summary["malformed"]),
                         (4, 0, 4), r.describe())
        # The reflector did answer, and correctly: only the relay broke the replies.
        reps = relay.of("rep")
        self.assertEqual(len(reps), 4)
        for p in reps:
            self.assertEqual(p[AUTH_HMAC_AT:], tag(self.key, p))

    def test_key_file_readable_by_others_refused(self):
        for mode, word in ((0o644, "readable"), (0o640, "readable"), (0o602, "accessible")):
            path = self.keys.write(f"key{mode:o}", KEY_TEXT + b"\n", mode)
            for argv in (["serve", "--bind", "127.0.0.1:0", "--auth-key", path],
                         ["ping", "127.0.0.1:9", "-c", "1", "--auth-key", path],
                         ["heartbeat", "127.0.0.1:9", "-c", "1", "--auth-key", path]):
                with self.subTest(mode=oct(mode), mode_of=argv[0]):
                    r = harness.udpbeat(*argv)
                    line = self.assertOneErrorLine(r)
                    self.assertIn(f"{mode:04o}", line)
                    self.assertIn(path, line)
                    self.assertIn(word, line)
                    self.assertEqual(r.stdout, "")
                    self.assertNoKey(r)

    def test_bad_key_files_never_show_the_key(self):
        short = self.keys.write("short", KEY_TEXT[:15])
        r = harness.udpbeat("ping", "127.0.0.1:9", "-c", "1", "--auth-key", short)
        line = self.assertOneErrorLine(r, "at least 16")
        self.assertNotIn(KEY_TEXT[:15].decode(), line)
        r = harness.udpbeat("serve", "--auth-key", self.keys.dir)
        self.assertOneErrorLine(r, "not a regular file")
        r = harness.udpbeat("serve", "--auth-key", os.path.join(self.keys.dir, "absent"))
        self.assertOneErrorLine(r, "absent")

    def test_auth_sender_against_unauthenticated_serve(self):
        """RFC 8762 has no mode negotiation (§4: the mode is configured on both ends). An
        unauthenticated reflector reads the 112-octet request in the unauthenticated
        layout: serve's auto mode refuses it (its octets 16..43 are not zero, so it does not
        look like a STAMP sender packet) and answers nothing; `--reply stamp` reflects it in
        the unauthenticated layout, whose HMAC octets the sender cannot verify: malformed
        at ping, never received. Either way no measurement comes out of a mode mismatch."""
        s = self.serve()
        r = self.ping(s.target, "--auth-key", self.key_file, "-c", "3", "-i", "10ms",
                      "-W", "200ms")
        self.assertExit(r, 1)
        self.assertPackets(r, 3, 0, 3, "100.0")
        s.stop()
        self.assertCounters(s.counters, received=3, replied=0, malformed=3)

        s = self.serve("--reply", "stamp")
        relay = self.relay(s.addr)
        r = self.ping(relay.target, "--auth-key", self.key_file, "-c", "3", "-i", "10ms",
                      "-W", "200ms")
        self.assertExit(r, 1)
        self.assertPackets(r, 3, 0, 3, "100.0")
        self.assertEqual(harness.parse_rich(r.stdout)["malformed"], 3, r.describe())
        reps = relay.of("rep")
        self.assertEqual([len(p) for p in reps], [AUTH_SIZE] * 3)
        s.stop()
        self.assertCounters(s.counters, received=3, replied=3)

    def test_unauth_sender_against_auth_serve_heartbeat(self):
        """heartbeat with the key against an authenticated serve: every heartbeat answered."""
        s = self.serve("--auth-key", self.key_file)
        r = self.heartbeat(s.target, "--auth-key", self.key_file, "-c", "3", "-i", "20ms",
                           "-W", WAIT, "--json")
        self.assertExit(r, 0)
        summary = summary_of(harness.json_events(r.stdout))
        self.assertEqual((summary["sent"], summary["received"]), (3, 3), r.describe())


class SharedSocketAuthTest(AuthTestBase):
    """Sessions sharing a socket (--sockets below --sessions) are told apart by the SSID
    each reply returns (and by disjoint sender sequence ranges), which the authenticated
    layout keeps at octets 26..27 and 48..51, not 14..15 and 24..27: read in the wrong
    layout, half the replies went to the wrong session and failed there as malformed."""

    SESSIONS = 4
    SOCKETS = 2
    COUNT = 5

    def shared(self, *args):
        return ("--auth-key", self.key_file, "--sessions", str(self.SESSIONS),
                "--sockets", str(self.SOCKETS), "-c", str(self.COUNT), "-W", WAIT,
                "--json", *args)

    def check_ping(self, r):
        self.assertExit(r, 0)
        events = harness.json_events(r.stdout)
        sessions = [e for e in events if e["event"] == "session"]
        self.assertEqual(sorted(e["session"] for e in sessions), list(range(self.SESSIONS)),
                         r.describe())
        self.assertEqual(len({e["local_port"] for e in sessions}), self.SOCKETS,
                         "sessions share the sockets: the case under test")
        for e in sessions:
            self.assertEqual((e["sent"], e["received"], e["lost"], e["malformed"]),
                             (self.COUNT, self.COUNT, 0, 0), e)
        summary = summary_of(events)
        n = self.SESSIONS * self.COUNT
        self.assertEqual((summary["sent"], summary["received"], summary["lost"],
                          summary["malformed"]), (n, n, 0, 0), r.describe())
        return summary

    def test_ping_sessions_sharing_sockets(self):
        s = self.serve("--auth-key", self.key_file)
        r = self.ping(s.target, *self.shared("-i", "20ms"))
        self.check_ping(r)
        n = self.SESSIONS * self.COUNT
        self.assertCounters(s.stop(), received=n, replied=n, malformed=0, unauthenticated=0)

    def test_ping_sessions_sharing_sockets_stateful_follow_up(self):
        """Follow-up telemetry puts TLVs (and the HMAC TLV) after octet 112: the routing
        reads the base packet only, and each session gets its own reflector state."""
        s = self.serve("--auth-key", self.key_file, "--stamp-stateful")
        r = self.ping(s.target, *self.shared("-i", "20ms", "--follow-up"))
        self.check_ping(r)
        # Each session's own reports: reply k gives the exact T3 of reply k - 1 (when its
        # transmit timestamp is back by then), so at most COUNT - 1 per session.
        for e in harness.json_events(r.stdout):
            if e["event"] == "session":
                self.assertIn(e["follow_up_t3"], range(1, self.COUNT), e)
        n = self.SESSIONS * self.COUNT
        self.assertCounters(s.stop(), received=n, replied=n, malformed=0, unauthenticated=0)

    def test_heartbeat_sessions_sharing_sockets(self):
        s = self.serve("--auth-key", self.key_file)
        r = self.heartbeat(s.target, *self.shared("-i", "50ms"))
        self.assertExit(r, 0)
        summary = summary_of(harness.json_events(r.stdout))
        n = self.SESSIONS * self.COUNT
        self.assertEqual((summary["sent"], summary["received"], summary["malformed"],
                          summary["sessions"], summary["sessions_down"], summary["outages"]),
                         (n, n, 0, self.SESSIONS, 0, 0), r.describe())
        self.assertCounters(s.stop(), received=n, replied=n, malformed=0, unauthenticated=0)


    def test_ping_sessions_sharing_a_socket_reflector_without_ssid(self):
        refl = ZeroSsidAuthReflector(self.key)
        self.addCleanup(refl.close)
        r = self.ping(refl.target, "--auth-key", self.key_file, "--sessions", "4", "--sockets",
                      "1", "-c", str(self.COUNT), "-i", "20ms", "-W", WAIT, "--json")
        self.assertExit(r, 0)
        sessions = [e for e in harness.json_events(r.stdout) if e["event"] == "session"]
        self.assertEqual(sorted(e["session"] for e in sessions), [0, 1, 2, 3], r.describe())
        for e in sessions:
            self.assertEqual((e["sent"], e["received"], e["lost"], e["malformed"]),
                             (self.COUNT, self.COUNT, 0, 0), e)
        # Four sessions on one socket, each its SSID (octets 26..27 of the requests).
        self.assertEqual(sorted(set(refl.ssids)), [1, 2, 3, 4], refl.ssids)


class FollowUpTelemetryTest(AuthTestBase):
    def check_follow_up(self, reps, auth, summary):
        """Every reply carries the TLV, understood (U clear); from the second on it reports
        the reflector's previous reply in this session, sent at or after that reply's own
        T3; and ping's residence figures are those the reports give."""
        base = AUTH_SIZE if auth else UNAUTH_SIZE
        fields = [reflector_fields(p, auth) for p in reps]
        fus = [follow_up(p, base) for p in reps]
        for i, (p, fu) in enumerate(zip(reps, fus)):
            self.assertEqual(len(p), base + FOLLOW_UP_TLV + (HMAC_TLV if auth else 0))
            self.assertEqual((fu["flags"], fu["type"], fu["length"]), (0, FOLLOW_UP_TYPE, 16),
                             p.hex())
            if auth:
                self.assertEqual(p[AUTH_HMAC_AT:AUTH_SIZE], tag(self.key, p))
                # The report is signed too (RFC 8972 §4.8), understood, over the reply.
                self.assertEqual(struct.unpack_from("!BBH", p, len(p) - HMAC_TLV),
                                 (0, HMAC_TLV_TYPE, 16), p.hex())
                self.assertEqual(p[-16:], tlv_tag(self.key, p), p.hex())
        self.assertEqual((fus[0]["seq"], fus[0]["ts"]), (0, 0), "nothing to report yet")
        by_seq = {f["seq"]: f for f in fields}
        reported = 0
        for prev, fu in zip(fields, fus[1:]):
            if fu["ts"] == 0:
                continue  # no transmit timestamp had come back yet: allowed
            reported += 1
            # The newest reply whose transmit time the reflector knows: the previous one,
            # or under load an older one (the previous one's timestamp still on its way).
            self.assertLessEqual(fu["seq"], prev["seq"])
            reply = by_seq[fu["seq"]]
            self.assertGreater(fu["ts"], reply["t3"], "sent before its own T3?")
            self.assertLess(ns_from_ntp(fu["ts"]) - ns_from_ntp(reply["t3"]), 10**9)
            # SW local, the kernel's software timestamp (IANA STAMP Timestamping Methods)
            self.assertEqual(fu["mode"], 2)
        self.assertGreater(reported, 0, fus)
        # What ping computes: T3 replaced by the reported send time where there is one.
        residences = []
        for i, f in enumerate(fields):
            t3 = f["t3"]
            if i + 1 < len(fus) and fus[i + 1]["ts"] != 0 and fus[i + 1]["seq"] == f["seq"]:
                t3 = fus[i + 1]["ts"]
            residences.append(ns_from_ntp(t3) - ns_from_ntp(f["t2"]))
        self.assertEqual(summary["residence_max_ns"], max(residences), (summary, residences))
        self.assertLessEqual(abs(summary["residence_avg_ns"] -
                                 sum(residences) / len(residences)), 1, (summary, residences))

    def ping_ten(self, target, interval="10ms"):
        """ping --follow-up --json of 10 probes, every one answered: (events, summary)."""
        r = self.ping(target, "--follow-up", "-c", "10", "-i", interval, "-W", WAIT, "--json")
        self.assertExit(r, 0)
        events = harness.json_events(r.stdout)
        summary = summary_of(events)
        self.assertEqual((summary["sent"], summary["received"], summary["malformed"]),
                         (10, 10, 0), r.describe())
        return events, summary

    def test_follow_up_from_stateful_serve(self):
        s = self.serve("--stamp-stateful")
        relay = self.relay(s.addr)
        events, summary = self.ping_ten(relay.target)
        self.assertEqual({e["bytes"] for e in events if e["event"] == "reply"},
                         {UNAUTH_SIZE + FOLLOW_UP_TLV})
        reqs = relay.of("req")
        for p in reqs:  # the request: the TLV with U set (RFC 8972 §4), zeros
            self.assertEqual(follow_up(p, UNAUTH_SIZE),
                             {"flags": TLV_U, "type": FOLLOW_UP_TYPE, "length": 16, "seq": 0,
                              "ts": 0, "mode": 0})
        self.check_follow_up(relay.of("rep"), False, summary)

    def test_follow_up_from_delayed_serve(self):
        """Issue 15 G1: a reply that --delay holds is stamped by the kernel when it really
        leaves, and that time is reported: the held time shows as the reflector's residence
        in the follow_up events, never less than the delay (the timer never fires early),
        and the summary counts the exact T3s. Held longer than the interval (30 ms at 20),
        a reply's send time is known only after the next request came: the reports lag,
        and still complete their own exchanges."""
        for delay_ms in (5, 30):
            s = self.serve("--stamp-stateful", "--delay", f"{delay_ms}ms")
            events, summary = self.ping_ten(s.target, "20ms")
            fus = [e for e in events if e["event"] == "follow_up"]
            self.assertGreater(len(fus), 0, (delay_ms, events))
            self.assertEqual(len(fus), summary["follow_up_t3"], summary)
            self.assertEqual(summary["follow_up_refused"], 0, summary)
            for e in fus:
                self.assertGreaterEqual(e["residence_ns"], delay_ms * 1_000_000, e)
                # Written before the hold, the estimate is earlier than the real send.
                self.assertGreater(e["t3_unix_ns"], e["t3_estimate_unix_ns"], e)
            s.stop()
        s = self.serve("--stamp-stateful", "--delay", "5ms")
        r = self.ping(s.target, "--follow-up", "-q", "-c", "4", "-i", "20ms", "-W", WAIT)
        self.assertExit(r, 0)
        self.assertRegex(r.stdout, r"reflector send times: exact \(follow-up\) for [1-3] of 4 "
                                   r"replies, the reflector's own T3 for the rest\n", r.describe())

    def test_follow_up_authenticated(self):
        s = self.serve("--stamp-stateful", "--auth-key", self.key_file)
        relay = self.relay(s.addr)
        r = self.ping(relay.target, "--follow-up", "--auth-key", self.key_file, "-c", "10",
                      "-i", "10ms", "-W", WAIT, "--json")
        self.assertExit(r, 0)
        events = harness.json_events(r.stdout)
        summary = summary_of(events)
        self.assertEqual((summary["sent"], summary["received"], summary["malformed"]),
                         (10, 10, 0), r.describe())
        self.assertEqual({e["bytes"] for e in events if e["event"] == "reply"},
                         {AUTH_SIZE + FOLLOW_UP_TLV + HMAC_TLV})
        for p in relay.of("req"):
            self.assertEqual(p[AUTH_HMAC_AT:AUTH_SIZE], tag(self.key, p))
            self.assertEqual(p[-16:], tlv_tag(self.key, p), p.hex())
        self.check_follow_up(relay.of("rep"), True, summary)

    def test_forged_follow_up_report_is_malformed(self):
        """The base HMAC covers octets 0..95 only: a relay that moves the reported send
        time (octets 116..123) must be caught by the HMAC TLV, and the reply counted
        malformed, never used for residence or backward delay."""
        s = self.serve("--stamp-stateful", "--auth-key", self.key_file)

        def later(data):  # one second later in the report, where there is one
            if len(data) < AUTH_SIZE + FOLLOW_UP_TLV or data[AUTH_SIZE + 8:AUTH_SIZE + 16] == bytes(8):
                return data
            ts, = struct.unpack_from("!Q", data, AUTH_SIZE + 8)
            return data[:AUTH_SIZE + 8] + struct.pack("!Q", ts + (1 << 32)) + data[AUTH_SIZE + 16:]

        relay = self.relay(s.addr, later)
        r = self.ping(relay.target, "--follow-up", "--auth-key", self.key_file, "-c", "6",
                      "-i", "10ms", "-W", "1s", "--json")
        summary = summary_of(harness.json_events(r.stdout))
        reps = relay.of("rep")
        forged = sum(1 for p in reps if p[AUTH_SIZE + 8:AUTH_SIZE + 16] != bytes(8))
        self.assertGreater(forged, 0, "no report to forge: the test proves nothing")
        self.assertEqual(summary["malformed"], forged, r.describe())
        self.assertEqual(summary["received"], 6 - forged, r.describe())
        # What was received was measured with T3, never a forged report: under a second.
        self.assertLess(summary.get("residence_max_ns", 0), 10**9, summary)

    def test_tampered_request_tlvs_flagged_not_signed(self):
        """A request whose HMAC TLV fails comes back with I set and is not re-signed
        (RFC 8972 §4.8); ping counts it malformed."""
        s = self.serve("--stamp-stateful", "--auth-key", self.key_file)
        relay = self.relay(s.addr)
        relay.mutate_request = lambda d: d[:-1] + bytes([d[-1] ^ 1])
        r = self.ping(relay.target, "--follow-up", "--auth-key", self.key_file, "-c", "3",
                      "-i", "10ms", "-W", "300ms", "--json")
        summary = summary_of(harness.json_events(r.stdout))
        self.assertEqual((summary["received"], summary["malformed"]), (0, 3), r.describe())
        for p in relay.of("rep"):
            flags, typ, _ = struct.unpack_from("!BBH", p, len(p) - HMAC_TLV)
            self.assertEqual((flags, typ), (0x20, HMAC_TLV_TYPE), p.hex())

    def test_follow_up_from_stateless_serve(self):
        """A stateless reflector cannot report a previous reply (RFC 8972 §4.7): serve
        returns the TLV marked unrecognized and ping measures with T3 as usual."""
        s = self.serve()
        relay = self.relay(s.addr)
        _, summary = self.ping_ten(relay.target)
        reps = relay.of("rep")
        self.assertEqual(len(reps), 10)
        residences = []
        for p in reps:
            fu = follow_up(p, UNAUTH_SIZE)
            self.assertEqual((fu["flags"] & TLV_U, fu["type"]), (TLV_U, FOLLOW_UP_TYPE))
            f = reflector_fields(p, False)
            residences.append(ns_from_ntp(f["t3"]) - ns_from_ntp(f["t2"]))
        self.assertEqual(summary["residence_max_ns"], max(residences))
        self.assertEqual((summary["follow_up_t3"], summary["follow_up_refused"]), (0, 10), summary)
        # The text summary names the cause it saw: the request not taken up, not "none
        # reported" (issue 15 G1).
        r = self.ping(s.target, "--follow-up", "-q", "-c", "3", "-i", "10ms", "-W", WAIT)
        self.assertExit(r, 0)
        self.assertIn("reflector send times: exact (follow-up) for 0 of 3 replies; the reflector "
                      "did not take the request up (3 replies returned it unrecognised, left it "
                      "out or did not sign it: a stateless reflector, or one without RFC 8972 "
                      "follow-up), its own T3 used\n", r.stdout)

    def test_follow_up_against_tlv_blind_reflector(self):
        """A reflector that knows no TLV and returns the trailer unchanged: ping completes,
        every reply received."""
        refl = TlvBlindReflector()
        self.addCleanup(refl.close)
        self.ping_ten(refl.target)
        self.assertEqual(len(refl.requests), 10)


if __name__ == "__main__":
    harness.main()
