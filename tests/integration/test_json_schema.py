"""The JSON Lines of `ping --json` and `heartbeat --json` against their schema
(schema/udpbeat-events.schema.json, issue 14 item 3): every event kind, in every shape a
run takes (seed, STAMP with a stateful reflector, late and duplicate replies, unreachable,
several sessions, several targets, a heartbeat outage), so each part of the schema meets
real output even if no other test produces it. The harness validates every JSON line of
every test; these tests also check that an invalid line really fails, and what each
shape must contain."""

import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import harness
import skipmain
from harness import UdpbeatTestCase
from test_send_errors import OutputDropNamespace

# Which test below produces each event kind (test_every_kind_has_a_shape keeps this and the
# schema in step).
KIND_SHAPES = {
    "start": "test_seed_ping", "reply": "test_seed_ping", "summary": "test_seed_ping",
    "timeout": "test_stamp_stateful_loss", "late": "test_late",
    "duplicate": "test_duplicate", "unreachable": "test_unreachable",
    "session": "test_sessions", "target": "test_two_targets",
    "state": "test_heartbeat_outage", "send_error": "test_send_error",
    "reload": "test_heartbeat_reload", "unresolved": "test_unresolved",
    "follow_up": "test_follow_up",
}
STAMP_REPLY = {"residence_ns", "clock_offset_ns", "forward_ns", "backward_ns", "reflector_seq",
               "reflector_ttl"}


def schema():
    with open(harness.EVENTS_SCHEMA, encoding="utf-8") as f:
        return json.load(f)


class DoubleResponder:
    """Answers each lab-protocol request twice (upper-cased, as the lab's pinger server
    does once): every probe gets a duplicate. Stops after `limit` requests or `seconds`."""

    def __init__(self, limit=20, seconds=harness.RUN_TIMEOUT):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.limit, self.deadline = limit, time.monotonic() + seconds
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        n = 0
        while n < self.limit and not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                data, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            n += 1
            for _ in range(2):
                self.sock.sendto(data.upper(), peer)

    def close(self):
        self.stop.set()
        self.thread.join(harness.STOP_TIMEOUT)
        self.sock.close()


class SchemaTest(UdpbeatTestCase):
    """The schema itself, and that the check rejects what it must."""

    def test_schema_is_valid(self):
        p = subprocess.run([harness.SYSTEM_PYTHON, harness.EVENTS_VALIDATOR, "--check-schema"],
                           capture_output=True, text=True, timeout=harness.RUN_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_every_kind_has_a_shape(self):
        kinds = schema()["properties"]["event"]["enum"]
        self.assertEqual(sorted(kinds), sorted(KIND_SHAPES))
        for test in set(KIND_SHAPES.values()):
            self.assertTrue(hasattr(JsonShapesTest, test), test)

    def real_lines(self):
        s = self.serve()
        r = self.ping(s.target, "--json", "-c", "2", "-i", "10ms")
        self.assertExit(r, 0)
        return {json.loads(l)["event"]: json.loads(l) for l in r.stdout.splitlines()}

    def assertRejected(self, obj, *words):
        line = obj if isinstance(obj, str) else json.dumps(obj)
        with self.assertRaises(AssertionError) as cm:
            harness.check_json_lines([("a test's mutation", line)])
        message = str(cm.exception)
        self.assertIn("do not match", message)
        self.assertIn(line[:200], message)  # the object itself
        for w in words:
            self.assertIn(w, message)

    def test_wrong_lines_fail(self):
        ev = self.real_lines()
        start, reply, summary = ev["start"], ev["reply"], ev["summary"]
        harness.check_json_lines([("real", json.dumps(o)) for o in ev.values()])  # valid
        # What issue 14 found: a float where an integer belongs, a unit beside _ns, events
        # without a time.
        self.assertRejected(dict(summary, residence_max_ns=2206174.0), "2206174.0",
                            "/residence_max_ns", "integer")
        self.assertRejected(dict(reply, time_difference_s=0.5), "time_difference_s")
        no_sent = dict(reply)
        del no_sent["sent_unix_ns"]
        self.assertRejected(no_sent, "'sent_unix_ns' is a required property")
        self.assertRejected({"event": "timeout", "seq": 4, "target": reply["target"],
                             "sent_unix_ns": reply["sent_unix_ns"]}, "time_unix_ns")
        # Types, enums, undocumented fields, nested objects, families written whole.
        self.assertRejected(dict(reply, rtt_ns="81234"), "/rtt_ns")
        self.assertRejected(dict(reply, rtt_ns=-1), "/rtt_ns")
        self.assertRejected(dict(reply, event="pong"), "pong")
        self.assertRejected(dict(start, protocol="twamp"), "twamp")
        self.assertRejected(dict(start, targets=[dict(start["targets"][0], port=1)]),
                            "/targets/0", "port")
        self.assertRejected(dict(summary, paths=[{"src_port": 1, "sent": 1, "received": 1}]),
                            "lost")
        partial = dict(summary)
        del partial["rtt_p99_ns"]
        self.assertRejected(partial, "rtt_p99_ns")
        self.assertRejected(dict(summary, forward_lost=1), "forward_lost")
        self.assertRejected(dict(summary, targets=2), "target")
        self.assertRejected('{"event": "summary", "sent": NaN}', "not JSON")
        self.assertRejected("Reply from 127.0.0.1: seq 1", "not JSON")

    def test_invalid_line_fails_its_test(self):
        # The hook, end to end: a test that merely parses a wrong line fails, naming it.
        class Inner(UdpbeatTestCase):
            def test_parse(self):
                harness.json_events('{"event": "reply", "seq": 1}\n')

        outer = harness._current_test
        result = unittest.TestResult()
        try:
            Inner("test_parse").run(result)
        finally:
            harness._current_test = outer
        self.assertEqual(len(result.failures), 1, result.errors)
        self.assertIn('{"event": "reply", "seq": 1}', result.failures[0][1])
        self.assertIn("is a required property", result.failures[0][1])


class JsonShapesTest(UdpbeatTestCase):
    """Each shape of run, its lines validated, and what the shape must print."""

    def events(self, r, code=0):
        """Validates r's lines now (the harness would at the end anyway), checks what every
        run holds, returns the events."""
        self.assertExit(r, code)
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        harness.check_json_lines([(str(r.argv), l) for l in lines])
        ev = [json.loads(l) for l in lines]
        self.assertEqual(ev[0]["event"], "start", r.describe())
        self.assertEqual(ev[-1]["event"], "summary", r.describe())
        self.assertEqual([e["event"] for e in ev].count("start"), 1, r.describe())
        self.assertEqual([e["event"] for e in ev].count("summary"), 1, r.describe())
        named = {t["target"] for t in ev[0]["targets"]}
        for e in ev[1:-1]:
            if e["event"] == "reload":  # heartbeat's SIGHUP: the targets from here on
                named |= {t["target"] for t in e["targets"]}
            elif "target" in e and e["event"] != "unresolved":  # that one is left out
                self.assertIn(e["target"], named, e)
        for e in ev:
            if "received_unix_ns" in e:
                self.assertGreaterEqual(e["received_unix_ns"], e["sent_unix_ns"], e)
            if "time_unix_ns" in e and "sent_unix_ns" in e:
                self.assertGreaterEqual(e["time_unix_ns"], e["sent_unix_ns"], e)
            for k in ("sent_unix_ns", "received_unix_ns", "time_unix_ns"):
                if k in e:
                    self.assertGreaterEqual(e[k], ev[0]["start_unix_ns"], e)
        return ev

    @staticmethod
    def kinds(ev):
        return collections.Counter(e["event"] for e in ev)

    def test_seed_ping(self):
        s = self.serve()
        ev = self.events(self.ping(s.target, "--proto", "seed", "--json", "-c", "5",
                                   "-i", "10ms"))
        self.assertEqual(self.kinds(ev), {"start": 1, "reply": 5, "summary": 1})
        start = ev[0]
        self.assertEqual((start["mode"], start["protocol"], start["interval_ns"],
                          start["sessions"], start["targets"]),
                         ("ping", "seed", 10_000_000, 1, [{"target": s.target}]))
        for e in ev[1:-1]:
            self.assertFalse(STAMP_REPLY & set(e), e)
        self.assertEqual([e["seq"] for e in ev[1:-1]], [1, 2, 3, 4, 5])
        self.assertEqual((ev[-1]["sent"], ev[-1]["received"]), (5, 5))

    def test_stamp_stateful_loss(self):
        # The seeded loss drops some of the 20 requests, and some before a delivered one
        # (the same ones every run): the reflector's numbering shows them, and the loss
        # splits by direction.
        s = self.serve("--stamp-stateful", "--loss", "0.4", "--seed", "1")
        ev = self.events(self.ping(s.target, "--json", "-c", "20", "-i", "10ms",
                                   "-W", "300ms"))
        k = self.kinds(ev)
        self.assertEqual(ev[0]["protocol"], "stamp")
        self.assertGreater(k["timeout"], 0, k)
        summary = ev[-1]
        self.assertEqual(k["reply"] + k["late"], summary["received"], (k, summary))
        self.assertEqual(k["timeout"], summary["lost"] + summary["late"], (k, summary))
        for e in ev:
            if e["event"] in ("reply", "late"):
                self.assertLessEqual(STAMP_REPLY, set(e), e)
        self.assertIs(summary["reflector_stateful"], True, summary)
        self.assertEqual(summary["forward_lost"] + summary["backward_lost"] +
                         summary["unattributed_lost"], summary["lost"], summary)

    def test_follow_up(self):
        """RFC 8972 follow-up telemetry: each follow_up event completes an earlier reply
        event (the same probe and reflector numbers) with the exact T3, shifting its
        residence, backward delay and RTT by exactly the T3 correction; one per exact T3."""
        s = self.serve("--stamp-stateful")
        ev = self.events(self.ping(s.target, "--json", "--follow-up", "-c", "10", "-i", "10ms",
                                   "-W", f"{int(5 * harness.SCALE)}s"))
        summary = ev[-1]
        self.assertIs(ev[0]["follow_up"], True)
        fus = [(i, e) for i, e in enumerate(ev) if e["event"] == "follow_up"]
        self.assertGreater(len(fus), 0, ev)
        self.assertEqual(len(fus), summary["follow_up_t3"], summary)
        replies = {e["seq"]: (i, e) for i, e in enumerate(ev) if e["event"] == "reply"}
        for i, f in fus:
            j, rep = replies[f["seq"]]
            self.assertLess(j, i, "a follow_up comes after the reply it completes")
            self.assertEqual((f["reflector_seq"], f["sent_unix_ns"]),
                             (rep["reflector_seq"], rep["sent_unix_ns"]), (f, rep))
            shift = f["t3_unix_ns"] - f["t3_estimate_unix_ns"]
            self.assertEqual(f["residence_ns"] - rep["residence_ns"], shift, (f, rep))
            self.assertEqual(rep["backward_ns"] - f["backward_ns"], shift, (f, rep))
            self.assertLessEqual(f["rtt_ns"], rep["rtt_ns"] + 1, (f, rep))

    def test_late(self):
        # Every reply 50 ms late for a 10 ms timeout; probe 0's reply is due long before
        # the run ends (the last probe leaves at 200 ms).
        s = self.serve("--delay", "50ms")
        ev = self.events(self.ping(s.target, "--json", "-c", "5", "-i", "50ms", "-W", "10ms"))
        k = self.kinds(ev)
        self.assertEqual(k["timeout"], 5, k)
        self.assertGreater(k["late"], 0, k)
        self.assertEqual(k["reply"], 0, k)
        self.assertEqual(ev[-1]["late"], k["late"], ev[-1])

    def test_duplicate(self):
        d = DoubleResponder()
        self.addCleanup(d.close)
        ev = self.events(self.ping(f"127.0.0.1:{d.port}", "--proto", "seed", "--json",
                                   "-c", "3", "-i", "20ms"))
        k = self.kinds(ev)
        self.assertEqual(k["reply"], 3, k)
        self.assertGreater(k["duplicate"], 0, k)
        self.assertEqual(ev[-1]["duplicate"], k["duplicate"], ev[-1])

    def test_unreachable(self):
        port = harness.free_udp_port()
        ev = self.events(self.ping(f"127.0.0.1:{port}", "--json", "-c", "2", "-i", "100ms",
                                   "-W", "50ms"), code=1)
        k = self.kinds(ev)
        self.assertEqual(k["unreachable"], 2, k)
        self.assertEqual((ev[-1]["unreachable"], ev[-1]["received"]), (2, 0), ev[-1])
        self.assertFalse(any(k.startswith("rtt_") for k in ev[-1]), "no RTT without replies")

    def test_send_error(self):
        # Needs a namespace of its own (root): its output rule refuses requests 1 and 2.
        ns = OutputDropNamespace(port=8622, seqs=(1, 2))
        self.addCleanup(ns.delete)
        ns.create()
        ns.start_server(self)
        ev = self.events(ns.ping("--json", "-c", "4", "-i", "10ms", "-W", "500ms"))
        k = self.kinds(ev)
        self.assertEqual((k["send_error"], k["reply"]), (2, 2), k)
        self.assertEqual([e["seq"] for e in ev if e["event"] == "send_error"], [1, 2])
        self.assertEqual((ev[-1]["sent"], ev[-1]["send_errors"], ev[-1]["lost"]), (2, 2, 0))

    def test_sessions(self):
        s = self.serve()
        ev = self.events(self.ping(s.target, "--json", "-c", "3", "-i", "10ms",
                                   "--sessions", "3"))
        sessions = [e for e in ev if e["event"] == "session"]
        self.assertEqual(ev[0]["sessions"], 3)
        self.assertEqual(sorted(e["session"] for e in sessions), [0, 1, 2])
        self.assertEqual(len({e["local_port"] for e in sessions}), 3)
        for e in sessions:
            self.assertEqual((e["sent"], e["target"]), (3, s.target), e)
        self.assertEqual(ev[-1]["sent"], 9)

    def several_targets(self):
        """Skips unless this build's command line takes several targets."""
        if "--targets" not in harness.udpbeat("ping", "--help").stdout:
            self.skipTest("this build's ping takes one target")

    def test_two_targets(self):
        self.several_targets()
        a, b = self.serve(), self.serve()
        with tempfile.NamedTemporaryFile("w", suffix=".targets", delete=False) as f:
            f.write(f"{b.target} site=b role=edge\n")
        self.addCleanup(os.unlink, f.name)
        named = f"localhost:{a.port}"  # a name, so the events also carry its address
        ev = self.events(self.ping(named, "--targets", f.name, "--json", "-c", "3",
                                   "-i", "10ms", "--src-ports", "2"))
        self.assertEqual(ev[0]["targets"],
                         [{"target": named, "address": a.target},
                          {"target": b.target, "labels": {"site": "b", "role": "edge"}}])
        targets = [e for e in ev if e["event"] == "target"]
        self.assertEqual([t["target"] for t in targets], [named, b.target])
        self.assertEqual(targets[0]["address"], a.target)
        self.assertEqual(targets[1]["labels"], {"site": "b", "role": "edge"})
        for t in targets:
            self.assertEqual(len(t["paths"]), 2, t)
            self.assertEqual(sum(p["sent"] for p in t["paths"]), t["sent"], t)
        self.assertEqual(ev[-1]["targets"], 2)
        self.assertNotIn("target", ev[-1])
        # heartbeat: the detector's figures per target and in total.
        ev = self.events(self.heartbeat(named, "--targets", f.name, "--json", "-c", "3",
                                        "-i", "10ms"))
        targets = [e for e in ev if e["event"] == "target"]
        self.assertEqual([(t["target"], t["state"], t["sessions"]) for t in targets],
                         [(named, "up", 1), (b.target, "up", 1)])
        self.assertEqual((ev[-1]["state"], ev[-1]["sessions"], ev[-1]["targets"]),
                         ("up", 2, 2))

    def test_seed_heartbeat(self):
        s = self.serve()
        ev = self.events(self.heartbeat(s.target, "--proto", "seed", "--json", "-c", "3",
                                        "-i", "10ms"))
        replies = [e for e in ev if e["event"] == "reply"]
        self.assertEqual(len(replies), 3, ev)
        for e in replies:
            self.assertIn("time_difference_ns", e)
        self.assertEqual((ev[0]["mode"], ev[-1]["state"], ev[-1]["outages"]),
                         ("heartbeat", "up", 0))

    def test_heartbeat_reload(self):
        # A targets file of one, then two after SIGHUP: a reload event naming both.
        a, b = self.serve(), self.serve()
        d = tempfile.mkdtemp(prefix="udpbeat-schema-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "targets")
        with open(path, "w") as f:
            f.write(f"{a.target} role=db\n")
        hb = self.spawn([harness.UDPBEAT, "heartbeat", "--targets", path, "-i", "20ms",
                         "--json", "-c", "0"])
        hb.wait_line(r'"event":"reply"')
        with open(path, "w") as f:
            f.write(f"{a.target} role=db\n{b.target}\n")
        hb.signal(signal.SIGHUP)
        hb.wait_line(r'"event":"reload"')
        hb.signal(signal.SIGINT)
        rc = hb.wait()
        ev = self.events(harness.Result(hb.argv, rc, hb.stdout, hb.stderr))
        reload = [e for e in ev if e["event"] == "reload"]
        self.assertEqual(len(reload), 1, reload)
        self.assertEqual(reload[0]["targets_before"], 1)
        self.assertEqual([t["target"] for t in reload[0]["targets"]], [a.target, b.target])

    def test_unresolved(self):
        # -4 and an IPv6 literal: a target of the file that does not resolve, without a
        # query to any resolver. It is left out, said after start; the other is pinged.
        s = self.serve()
        d = tempfile.mkdtemp(prefix="udpbeat-schema-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "targets")
        with open(path, "w") as f:
            f.write(f"{s.target}\n[::1]:9\n")
        ev = self.events(harness.udpbeat("ping", "-4", "--targets", path, "--json", "-c", "1"),
                         code=1)
        self.assertEqual(ev[1]["event"], "unresolved", ev)
        self.assertEqual((ev[1]["line"], ev[1]["target"]), (2, "[::1]:9"))

    def test_heartbeat_outage(self):
        # Replies, the server gone (misses, down), back on the same port (up), Ctrl-C.
        s = self.serve()
        port = s.port
        hb = self.spawn([harness.UDPBEAT, "heartbeat", s.target, "-i", "20ms", "--misses", "2",
                         "--phi", "8", "--json", "-c", "0"])

        def wait(predicate, what):
            hb.wait_for(lambda out, err: predicate(harness.json_events_live(out)),
                        harness.STARTUP_TIMEOUT, what)
        wait(lambda ev: sum(e["event"] == "reply" for e in ev) >= 5, "5 replies")
        s.stop()
        wait(lambda ev: any(e["event"] == "state" and e["to"] == "down" for e in ev),
             "the down transition")
        self.serve_port(port)
        wait(lambda ev: any(e["event"] == "state" and e["from"] == "down" for e in ev),
             "the recovery")
        hb.signal(signal.SIGINT)
        rc = hb.wait()
        ev = self.events(harness.Result(hb.argv, rc, hb.stdout, hb.stderr))
        states = [(e["from"], e["to"]) for e in ev if e["event"] == "state"]
        self.assertEqual(states[0][0], "up", states)
        self.assertIn("down", [to for _, to in states], states)
        self.assertIn(("down", "up"), states)
        k = self.kinds(ev)
        self.assertGreater(k["timeout"] + k["unreachable"], 0, k)
        summary = ev[-1]
        self.assertGreaterEqual(summary["outages"], 1, summary)
        self.assertGreater(summary["time_down_ns"], 0, summary)


if __name__ == "__main__":
    skipmain.main()
