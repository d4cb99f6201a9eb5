"""udpbeat heartbeat (issue 4): against udpbeat serve and the lab's heartbeat server, the
lab's heartbeat client against udpbeat serve, outage detection with a server killed and
restarted on the same port, --exit-on-down, and the Prometheus metrics files."""

import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import harness
from harness import (HB_END_RE, HB_REPLY_RE, HB_STATE_RE, HB_TIMEOUT_RE, STAMP_REPLY_RE,
                     UdpbeatTestCase, unittest)


def hb_lines(stdout, rx):
    return [m for m in map(rx.match, stdout.splitlines()) if m]


class HeartbeatServeTest(UdpbeatTestCase):

    def check_twenty(self, proto, first_seq):
        s = self.serve()
        r = self.heartbeat(s.target, "--proto", proto, "-c", "20", "-i", "20ms")
        self.assertExit(r, 0)
        # STAMP: each reply as ping prints it, in ms, with the clock offset and residence;
        # seed: the lab's line, and no line of the other form.
        stamp = proto == "stamp"
        replies = hb_lines(r.stdout, STAMP_REPLY_RE if stamp else HB_REPLY_RE)
        self.assertEqual([int(m.group("seq" if stamp else 1)) for m in replies],
                         list(range(first_seq, first_seq + 20)), r.describe())
        self.assertEqual(hb_lines(r.stdout, HB_REPLY_RE if stamp else STAMP_REPLY_RE), [],
                         r.describe())
        for m in replies if stamp else []:
            self.assertEqual(m.group("host"), "127.0.0.1", m.group(0))
            self.assertIsNotNone(m.group("offset"), m.group(0))
            self.assertEqual(m.group("flags"), "", m.group(0))
        self.assertEqual(hb_lines(r.stdout, HB_TIMEOUT_RE), [], r.describe())
        self.assertEqual(hb_lines(r.stdout, HB_STATE_RE), [], r.describe())
        lines = r.stdout.splitlines()
        self.assertIn("--- Heartbeat statistics ---", lines)
        self.assertPackets(r, 20, 20, 0, "0.0")
        self.assertEqual(harness.parse_rich(r.stdout),
                         {"late": 0, "duplicate": 0, "reordered": 0, "malformed": 0, "burst": 0},
                         r.describe())
        ends = hb_lines(r.stdout, HB_END_RE)
        self.assertEqual([(m.group(1), m.group(2)) for m in ends], [("up", "0")], r.describe())
        self.assertEqual(ends[0].group(3), "0.000")
        self.assertEqual(lines[-1], ends[0].group(0), "the peer line closes the statistics")
        self.assertNotIn("Server is down!", r.stdout)
        self.assertEqual(r.stderr, "")
        self.assertCounters(s.stop(), received=20, replied=20, dropped=0, malformed=0)

    def test_heartbeat_serve_stamp(self):
        self.check_twenty("stamp", 0)

    def test_heartbeat_serve_seed(self):
        self.check_twenty("seed", 1)


@harness.lab_interop
class LabHeartbeatClientTest(UdpbeatTestCase):

    def test_lab_heartbeat_client_auto(self):
        # The lab's heartbeat client sends "Ping N <time>" (not "Heartbeat ..."). In auto
        # mode serve answers a Ping with the lab pinger's uppercase echo "PING N <time>":
        # the heartbeat client splits that into three words where it expects
        # "<seq> <time difference>", and dies on its first reply with a ValueError
        # traceback (exit 1), having printed nothing on stdout. `--reply heartbeat` is the
        # mode for this client (test_seed_interop covers it).
        s = self.serve("--reply", "auto")
        r = harness.run([sys.executable, harness.seed_script("UDPHeartbeatClient.py"),
                         "127.0.0.1", s.port, 10])
        self.assertExit(r, 1)
        self.assertEqual(r.stdout, "", r.describe())
        self.assertIn("ValueError: too many values to unpack (expected 2)", r.stderr,
                      r.describe())
        self.assertCounters(s.stop(), received=1, replied=1, dropped=0, malformed=0)

    def test_lab_heartbeat_client_heartbeat_ten(self):
        s = self.serve("--reply", "heartbeat")
        r = harness.run([sys.executable, harness.seed_script("UDPHeartbeatClient.py"),
                         "127.0.0.1", s.port, 10])
        self.assertExit(r, 0)
        self.assertEqual([int(m.group(1)) for m in hb_lines(r.stdout, HB_REPLY_RE)],
                         list(range(1, 11)), r.describe())
        self.assertNotIn("timed out", r.stdout)
        self.assertIn("Packets: Sent = 10, Received = 10, Lost = 0 (0.0% packet loss)",
                      r.stdout.splitlines(), r.describe())
        self.assertCounters(s.stop(), received=10, replied=10, malformed=0)


@harness.lab_interop
class HeartbeatLabServerTest(UdpbeatTestCase):

    def test_lab_server_nodrop(self):
        lab = self.seed_server("UDPHeartbeatServer.py", "nodrop")
        r = self.heartbeat(lab.target, "--proto", "seed", "-c", "30", "-i", "20ms",
                           "-W", "100ms")
        self.assertExit(r, 0)
        self.assertEqual([int(m.group(1)) for m in hb_lines(r.stdout, HB_REPLY_RE)],
                         list(range(1, 31)), r.describe())
        self.assertEqual(hb_lines(r.stdout, HB_TIMEOUT_RE), [], r.describe())
        self.assertPackets(r, 30, 30, 0, "0.0")
        self.assertEqual([(m.group(1), m.group(2)) for m in hb_lines(r.stdout, HB_END_RE)],
                         [("up", "0")], r.describe())
        self.assertEqual(harness.parse_rich(r.stdout)["malformed"], 0, r.describe())

    def test_lab_server_drop(self):
        # The lab's server drops when randint(0, 10) < 4: about 4 in 11.
        lab = self.seed_server("UDPHeartbeatServer.py")
        n = 30
        r = self.heartbeat(lab.target, "--proto", "seed", "-c", n, "-i", "20ms", "-W", "100ms")
        p = harness.parse_packets(r.stdout)
        self.assertIsNotNone(p, r.describe())
        rich = harness.parse_rich(r.stdout)
        self.assertEqual(p["sent"], n, r.describe())
        self.assertEqual(p["received"] + p["lost"], n, r.describe())
        self.assertEqual(rich["malformed"], 0, r.describe())
        lines = r.stdout.splitlines()
        replies = hb_lines(r.stdout, HB_REPLY_RE)
        timeouts = hb_lines(r.stdout, HB_TIMEOUT_RE)
        self.assertEqual(len(replies), p["received"] - rich["late"], r.describe())
        # A timed-out heartbeat is lost unless its reply came late.
        self.assertEqual(len(timeouts), p["lost"] + rich["late"], r.describe())
        self.assertEqual(sorted([int(m.group(1)) for m in replies] +
                                [int(m.group(1)) for m in timeouts]),
                         list(range(1, n + 1)), r.describe())
        # Outages and the final state follow from the order of replies and misses. A
        # timeout of a heartbeat older than the newest answered one is no miss: the peer
        # has answered since (it was sent before the last reply came in).
        run, outages, newest = 0, 0, 0
        for line in lines:
            m = HB_REPLY_RE.match(line)
            if m:
                run = 0
                newest = max(newest, int(m.group(1)))
                continue
            m = HB_TIMEOUT_RE.match(line)
            if m and int(m.group(1)) > newest:
                run += 1
                if run == 3:
                    outages += 1
        self.assertEqual(sum(l == "Server is down! 3 consecutive heartbeat responses were "
                                  "missed." for l in lines), outages, r.describe())
        expected_state = "down" if run >= 3 else ("suspect" if run > 0 else "up")
        ends = hb_lines(r.stdout, HB_END_RE)
        self.assertEqual([(m.group(1), int(m.group(2))) for m in ends],
                         [(expected_state, outages)], r.describe())
        self.assertExit(r, 1 if expected_state == "down" else 0)
        # P(no drop in 30) = (7/11)^30 < 1e-5; P(all dropped) = (4/11)^30 < 1e-13.
        self.assertGreater(p["lost"], 0, r.describe())
        self.assertGreater(p["received"], 0, r.describe())


class OutageTest(UdpbeatTestCase):

    def wait_events(self, proc, predicate, what, timeout=harness.STARTUP_TIMEOUT):
        return proc.wait_for(lambda out, err: predicate(harness.json_events_live(out)),
                             timeout, what)

    def test_outage_and_recovery_json(self):
        s = self.serve()
        port = s.port
        hb = self.spawn([harness.UDPBEAT, "heartbeat", s.target, "-i", "20ms", "--misses", "3",
                         "--json", "-c", "0"])
        self.wait_events(hb, lambda ev: sum(e["event"] == "reply" for e in ev) >= 15,
                         "15 replies")
        s.kill()  # SIGKILL by PID
        self.wait_events(hb, lambda ev: any(e["event"] == "state" and e["to"] == "down"
                                            for e in ev), "the down transition")
        s2 = self.serve_port(port)

        def recovered(ev):
            downs = [i for i, e in enumerate(ev) if e["event"] == "state" and e["to"] == "down"]
            return downs and any(e["event"] == "state" and e["to"] == "up"
                                 for e in ev[downs[0]:])
        self.wait_events(hb, recovered, "the recovery")
        hb.signal(signal.SIGINT)
        rc = hb.wait()
        res = harness.Result(hb.argv, rc, hb.stdout, hb.stderr)
        self.assertEqual(rc, 0, res.describe())
        ev = harness.json_events(hb.stdout)
        states = [(e["from"], e["to"]) for e in ev if e["event"] == "state"]
        self.assertEqual(states, [("up", "suspect"), ("suspect", "down"), ("down", "up")],
                         res.describe())
        i_down = next(i for i, e in enumerate(ev) if e["event"] == "state" and e["to"] == "down")
        i_last_reply = max(i for i, e in enumerate(ev[:i_down]) if e["event"] == "reply")
        between = [e["event"] for e in ev[i_last_reply + 1:i_down]]
        misses = [x for x in between if x in ("timeout", "unreachable")]
        self.assertEqual(len(misses), 3, (between, res.describe()))
        self.assertEqual(ev[i_down]["consecutive_misses"], 3, ev[i_down])
        self.assertEqual(ev[i_down]["reason"], "3 consecutive heartbeats missed", ev[i_down])
        i_up = next(i for i, e in enumerate(ev) if e["event"] == "state" and e["to"] == "up")
        self.assertGreater(i_up, i_down)
        self.assertEqual(ev[i_up]["reason"], "on-time reply")
        # The transition is reported as the reply is taken, just before its reply event.
        self.assertEqual(ev[i_up + 1]["event"], "reply", "the reply that brought it up")
        summary = ev[-1]
        self.assertEqual(summary["event"], "summary")
        self.assertEqual((summary["state"], summary["outages"]), ("up", 1), summary)
        self.assertGreater(summary["time_down_ns"], 0)
        n_replies = sum(e["event"] == "reply" for e in ev)
        n_late = sum(e["event"] == "late" for e in ev)
        n_missed = sum(e["event"] in ("timeout", "unreachable") for e in ev)
        # A restarted server may answer requests queued while it was starting after their
        # timeout: those replies are late, counted received and not lost.
        self.assertEqual(summary["received"], n_replies + n_late, summary)
        self.assertEqual(summary["late"], n_late, summary)
        # At SIGINT the run ends: a heartbeat that could still be answered (sent less
        # than -W ago) is in flight, neither received nor lost; one past its timeout whose
        # timer had not fired yet is lost without a timeout event (at most 2 at -i 20ms).
        self.assertEqual(summary["received"] + summary["lost"] + summary["in_flight"],
                         summary["sent"], summary)
        self.assertIn(summary["lost"] - (n_missed - n_late), (0, 1, 2), summary)
        c = s2.stop()
        self.assertEqual(c["malformed"], 0, c)
        self.assertGreater(c["replied"], 0, c)

    def run_exit_on_down(self, k):
        s = self.serve()
        hb = self.spawn([harness.UDPBEAT, "heartbeat", s.target, "-i", "20ms", "--misses", k,
                         "--exit-on-down"])
        hb.wait_for(lambda out, err: sum(bool(STAMP_REPLY_RE.match(l)) for l in out) >= 5,
                    harness.STARTUP_TIMEOUT, "5 replies")
        s.kill()
        rc = hb.wait(harness.STARTUP_TIMEOUT)
        res = harness.Result(hb.argv, rc, hb.stdout, hb.stderr)
        self.assertEqual(rc, 1, res.describe())
        lines = hb.stdout.splitlines()
        down = f"Server is down! {k} consecutive heartbeat responses were missed."
        self.assertEqual(lines.count(down), 1, res.describe())
        i = lines.index(down)
        # Just before it: the k misses, the suspect transition after the first, the down one.
        state = [m for m in map(HB_STATE_RE.match, lines[:i]) if m]
        self.assertEqual([m.group(2) for m in state], ["suspect", "down"], res.describe())
        self.assertEqual(state[-1].group(3), f"{k} consecutive heartbeats missed", res.describe())
        tail = lines[:i - 1]
        last_reply = max(j for j, l in enumerate(tail) if STAMP_REPLY_RE.match(l))
        self.assertEqual(sum(bool(HB_TIMEOUT_RE.match(l)) for l in tail[last_reply:]), k,
                         res.describe())
        ends = hb_lines(hb.stdout, HB_END_RE)
        self.assertEqual([(m.group(1), m.group(2)) for m in ends], [("down", "1")],
                         res.describe())
        self.assertEqual(hb.stderr, "")

    def test_exit_on_down_3(self):
        self.run_exit_on_down(3)

    def test_exit_on_down_5(self):
        self.run_exit_on_down(5)


class MetricsTest(UdpbeatTestCase):

    def test_metrics_files(self):
        d = tempfile.mkdtemp(prefix="udpbeat-metrics-")
        self.addCleanup(shutil.rmtree, d, True)
        f_hb, f_serve = os.path.join(d, "heartbeat.prom"), os.path.join(d, "serve.prom")
        s = self.serve("--metrics-file", f_serve, "--metrics-interval", "100ms")
        r = self.heartbeat(s.target, "--metrics-file", f_hb, "--metrics-interval", "100ms",
                           "-c", "10", "-i", "20ms")
        self.assertExit(r, 0)
        self.assertPackets(r, 10, 10, 0, "0.0")
        self.assertCounters(s.stop(), received=10, replied=10, malformed=0)
        self.assertEqual(sorted(os.listdir(d)), ["heartbeat.prom", "serve.prom"],
                         "a temporary file was left behind")
        promtool = shutil.which("promtool") or (
            "/usr/bin/promtool" if os.access("/usr/bin/promtool", os.X_OK) else None)
        for f in (f_hb, f_serve):
            with open(f) as fh:
                text = fh.read()
            if promtool:
                with open(f) as fh:
                    p = subprocess.run([promtool, "check", "metrics"], stdin=fh,
                                       capture_output=True, text=True, timeout=harness.RUN_TIMEOUT)
                self.assertEqual(p.returncode, 0,
                                 f"promtool check metrics < {f}\n{p.stdout}{p.stderr}\n{text}")
            if f == f_hb:
                m = harness.parse_metrics(text)
                t = frozenset({("target", s.target)})
                expected = {
                    "udpbeat_probes_sent_total": 10,
                    "udpbeat_replies_total": 10,
                    "udpbeat_probes_lost_total": 0,
                    "udpbeat_replies_late_total": 0,
                    "udpbeat_replies_duplicate_total": 0,
                    "udpbeat_replies_reordered_total": 0,
                    "udpbeat_up": 1,
                    "udpbeat_state_changes_total": 0,
                    "udpbeat_down_seconds_total": 0,
                    "udpbeat_rtt_seconds_count": 10,
                }
                self.assertEqual({k: m.get((k, t)) for k in expected}, expected, text)
                for st, v in (("up", 1), ("suspect", 0), ("down", 0)):
                    self.assertEqual(m.get(("udpbeat_state", t | {("state", st)})), v, text)
                # A Prometheus histogram: cumulative buckets up to +Inf = count.
                buckets = sorted((float(dict(k[1])["le"]), v) for k, v in m.items()
                                 if k[0] == "udpbeat_rtt_seconds_bucket")
                self.assertEqual(buckets[-1], (float("inf"), 10), text)
                self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets), text)
                self.assertGreater(m.get(("udpbeat_rtt_seconds_sum", t)), 0, text)
                self.assertGreater(m.get(("udpbeat_last_rtt_seconds", t)), 0, text)
                self.assertEqual(m.get(("udpbeat_build_info", frozenset(
                    {("version", harness.udpbeat("--version").stdout.split()[-1])}))), 1, text)
            else:
                m = harness.parse_metrics(text)
                none = frozenset()
                expected = {
                    "udpbeat_serve_received_total": 10,
                    "udpbeat_serve_replied_total": 10,
                    "udpbeat_serve_dropped_total": 0,
                    "udpbeat_serve_malformed_total": 0,
                    "udpbeat_serve_rate_limited_total": 0,
                    "udpbeat_serve_send_errors_total": 0,
                    "udpbeat_serve_kernel_drops_total": 0,
                    "udpbeat_serve_peer_evictions_total": 0,
                    # The client's source: the default per-source budget's bucket.
                    "udpbeat_serve_peers": 1,
                }
                self.assertEqual({k: m.get((k, none)) for k in expected}, expected, text)
        if not promtool:
            self.skipTest("promtool not installed (Debian package prometheus): "
                          "counters checked, format not validated")


class HeartbeatUsageTest(UdpbeatTestCase):

    def test_phi_zero(self):
        r = self.heartbeat(f"127.0.0.1:{harness.free_udp_port()}", "--phi", "0", "-c", "1")
        self.assertOneErrorLine(r)

    def test_misses_zero(self):
        r = self.heartbeat(f"127.0.0.1:{harness.free_udp_port()}", "--misses", "0", "-c", "1")
        self.assertOneErrorLine(r)



class DeafToOnePort(harness.UdpResponder):
    """A STAMP reflector that answers every source port but one: the first it hears from
    (the first session to send), or every port with deaf_to_all. Records the deaf port."""

    def __init__(self, deaf_to_all=False):
        self.deaf_to_all = deaf_to_all
        self.deaf_port = None
        self.seq = 0
        super().__init__()

    def handle(self, data, ancillary, peer):
        if self.deaf_port is None:
            self.deaf_port = peer[1]
        if self.deaf_to_all or peer[1] == self.deaf_port or len(data) < 44:
            return
        t = harness.ntp_from_ns(time.time_ns())
        seq, ts, err, ssid = struct.unpack_from("!IQHH", data)
        self.send(harness.stamp_reflector_packet(self.seq, t, ssid, t, seq, ts, err, 64,
                                                 len(data)), peer)
        self.seq += 1


SESSION_STATE_RE = re.compile(r"^\S+ peer (\S+) \((session \d+|source port \d+)\) is "
                              r"(up|suspect|down) \((.*)\)( after \d+\.\d{3} s down)?$")
SESSIONS_END_RE = re.compile(r"^peer (up|suspect|down) at the end \((\d+) of (\d+) sessions "
                             r"down\), (\d+) outages, (\d+\.\d{3}) s down$")


class SessionStateTest(UdpbeatTestCase):
    """A target of several sessions (or source ports) is up while any of them hears it;
    each session's own changes are reported, naming it."""

    def reflector(self, **kw):
        refl = DeafToOnePort(**kw)
        self.addCleanup(refl.close)
        return refl

    def test_one_session_of_three_down(self):
        refl = self.reflector()
        r = self.heartbeat(refl.target, "--sessions", "3", "-c", "8", "-i", "50ms",
                           "-W", "40ms")
        self.assertExit(r, 0)  # the peer answered the other two sessions: up
        lines = hb_lines(r.stdout, SESSION_STATE_RE)
        self.assertEqual([(m.group(3), m.group(4)) for m in lines],
                         [("suspect", "1 heartbeat missed"),
                          ("down", "3 consecutive heartbeats missed")], r.describe())
        self.assertEqual(len({m.group(2) for m in lines}), 1, r.describe())
        self.assertEqual(hb_lines(r.stdout, HB_STATE_RE), [], "the peer never changed")
        self.assertNotIn("Server is down!", r.stdout)
        ends = hb_lines(r.stdout, SESSIONS_END_RE)
        self.assertEqual([m.groups()[:4] for m in ends], [("up", "1", "3", "0")], r.describe())

    def test_json_names_the_session_and_its_port(self):
        refl = self.reflector()
        r = self.heartbeat(refl.target, "--json", "--sessions", "2", "-c", "6", "-i", "50ms",
                           "-W", "40ms")
        self.assertExit(r, 0)
        events = harness.json_events(r.stdout)  # validated against the schema
        states = [e for e in events if e["event"] == "state"]
        self.assertEqual([e["to"] for e in states], ["suspect", "down"], r.describe())
        self.assertEqual({e["local_port"] for e in states}, {refl.deaf_port}, states)
        sessions = {e["session"] for e in states}
        self.assertEqual(len(sessions), 1, states)
        summary = events[-1]
        self.assertEqual((summary["state"], summary["sessions"], summary["sessions_down"],
                          summary["outages"]), ("up", 2, 1, 0), summary)

    def test_source_port_named(self):
        refl = self.reflector()
        r = self.heartbeat(refl.target, "--src-ports", "2", "-c", "6", "-i", "50ms",
                           "-W", "40ms")
        self.assertExit(r, 0)
        lines = hb_lines(r.stdout, SESSION_STATE_RE)
        self.assertEqual({m.group(2) for m in lines}, {f"source port {refl.deaf_port}"},
                         r.describe())

    def test_every_session_down_is_the_peer_down(self):
        refl = self.reflector(deaf_to_all=True)
        r = self.heartbeat(refl.target, "--sessions", "2", "-c", "6", "-i", "50ms",
                           "-W", "40ms")
        self.assertExit(r, 1)
        self.assertEqual(sorted(m.group(3) for m in hb_lines(r.stdout, SESSION_STATE_RE)),
                         ["down", "down", "suspect", "suspect"], r.describe())
        peer = [m.group(2) for m in hb_lines(r.stdout, HB_STATE_RE)]
        self.assertEqual(peer, ["suspect", "down"], r.describe())
        self.assertEqual(r.stdout.count("Server is down!"), 1, r.describe())
        ends = hb_lines(r.stdout, SESSIONS_END_RE)
        self.assertEqual([m.groups()[:4] for m in ends], [("down", "2", "2", "1")],
                         r.describe())

    def test_exit_on_down_waits_for_every_session(self):
        refl = self.reflector()
        r = self.heartbeat(refl.target, "--sessions", "2", "-c", "6", "-i", "50ms",
                           "-W", "40ms", "--exit-on-down")
        self.assertExit(r, 0)  # one session down is not the peer down: ran to the end
        self.assertEqual(harness.parse_packets(r.stdout)["sent"], 12, r.describe())


if __name__ == "__main__":
    harness.main()
