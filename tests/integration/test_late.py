"""Replies after their timeout are reported as late for their own seq, not as replies."""

import json
import re

import harness
from harness import UdpbeatTestCase, unittest

LATE_RE = re.compile(r"^Late reply from 127\.0\.0\.1: seq (\d+) after \d+\.\d{6} seconds "
                     r"\(timed out\)$")


class LateTest(UdpbeatTestCase):

    def late_run(self, *extra):
        # Every reply is 300 ms late for a 100 ms timeout; pings 500 ms apart.
        s = self.serve("--delay", "300ms")
        r = self.ping(s.target, "--proto", "seed", "-c", "3", "-i", "500ms", "-W", "100ms",
                      *extra)
        c = s.stop()
        self.assertCounters(c, received=3, replied=3, malformed=0)
        return r

    def test_late_text(self):
        r = self.late_run()
        self.assertExit(r, 0)
        lines = r.stdout.splitlines()
        timeouts = [i for i, l in enumerate(lines) if l == "Request timed out"]
        late = [(i, int(m.group(1))) for i, m in
                ((i, LATE_RE.match(l)) for i, l in enumerate(lines)) if m]
        self.assertEqual(len(timeouts), 3, r.describe())
        self.assertEqual([seq for _, seq in late], [1, 2, 3], r.describe())
        for k in range(3):  # the k-th timeout comes before seq k+1's late reply
            self.assertLess(timeouts[k], late[k][0], r.describe())
        self.assertFalse(any(l.startswith("Reply from") for l in lines), r.describe())
        self.assertPackets(r, 3, 3, 0, "0.0")
        self.assertEqual(harness.parse_rich(r.stdout)["late"], 3, r.describe())

    def test_late_json(self):
        r = self.late_run("--json")
        self.assertExit(r, 0)
        objs = [json.loads(l) for l in r.stdout.splitlines()]
        events = [(o["event"], o.get("seq")) for o in objs[:-1]]
        self.assertNotIn("reply", [e for e, _ in events])
        for seq in (1, 2, 3):
            mine = [e for e, s in events if s == seq]
            self.assertEqual(mine, ["timeout", "late"], r.describe())
        for o in objs[:-1]:
            if o["event"] == "late":
                self.assertGreater(o["rtt_ns"], 0)
        summary = objs[-1]
        self.assertEqual(summary["event"], "summary")
        self.assertEqual((summary["sent"], summary["received"], summary["lost"],
                          summary["late"]), (3, 3, 0, 3), r.describe())

    def test_late_json_first_two(self):
        # What holds regardless of the bug above: seqs 1 and 2 (whose late replies arrive
        # while ping still runs) are each a timeout followed by a late reply, never a reply.
        r = self.late_run("--json")
        self.assertExit(r, 0)
        objs = [json.loads(l) for l in r.stdout.splitlines()]
        events = [(o["event"], o.get("seq")) for o in objs[:-1]]
        self.assertNotIn("reply", [e for e, _ in events], r.describe())
        for seq in (1, 2):
            self.assertEqual([e for e, s in events if s == seq], ["timeout", "late"],
                             r.describe())
        self.assertEqual([e for e, s in events if s == 3][:1], ["timeout"], r.describe())
        summary = objs[-1]
        self.assertEqual(summary["sent"], 3)
        self.assertEqual(summary["late"], sum(e == "late" for e, _ in events))
        self.assertEqual(summary["received"] + summary["lost"], 3)
        self.assertEqual(summary["received"], summary["late"])


if __name__ == "__main__":
    harness.main()
