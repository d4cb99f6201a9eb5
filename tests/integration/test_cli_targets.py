"""Many targets (issue 13 item 1): positional HOST[:PORT]... and --targets FILE on ping and
heartbeat. Every target is probed; a bad file is refused with FILE:LINE and exit 2; a
target given twice is an error."""

import os
import tempfile

import harness
from harness import UdpbeatTestCase, unittest


class TargetsTest(UdpbeatTestCase):

    def write(self, text):
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        path = os.path.join(d.name, "targets")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_ping_two_positional_targets(self):
        a, b = self.serve(), self.serve()
        r = self.ping(a.target, b.target, "-c", "3", "-i", "10ms")
        self.assertExit(r, 0)
        self.assertPackets(r, 6, 6, 0)
        self.assertCounters(a.stop(), received=3, replied=3)
        self.assertCounters(b.stop(), received=3, replied=3)

    def test_ping_file_then_positional(self):
        a, b, c = self.serve(), self.serve(), self.serve()
        path = self.write(f"# two of them\n{b.target} site=x role=db\n\n"
                          f"  {c.target}\tsite=y   # the third\n")
        r = self.ping(a.target, "--targets", path, "-c", "2", "-i", "10ms", "--json")
        self.assertExit(r, 0)
        events = harness.json_events(r.stdout)
        self.assertEqual(events[-1]["event"], "summary")
        self.assertEqual(events[-1]["sent"], 6, events[-1])
        for s in (a, b, c):
            self.assertCounters(s.stop(), received=2, replied=2)

    def test_ping_file_only(self):
        a = self.serve()
        path = self.write(f"{a.target}\n")
        r = harness.udpbeat("ping", "--targets", path, "-c", "1")
        self.assertExit(r, 0)
        self.assertCounters(a.stop(), received=1, replied=1)

    def test_heartbeat_many_targets(self):
        a, b = self.serve(), self.serve()
        path = self.write(f"{b.target} role=peer\n")
        r = self.heartbeat(a.target, "--targets", path, "-c", "2", "-i", "20ms", "-q")
        self.assertExit(r, 0)
        self.assertCounters(a.stop(), received=2, replied=2)
        self.assertCounters(b.stop(), received=2, replied=2)

    def check(self, args, want):
        r = harness.udpbeat(*args)
        self.assertEqual(self.assertOneErrorLine(r), "udpbeat: " + want, r.describe())
        self.assertEqual(r.stdout, "")

    def test_file_errors_name_file_and_line(self):
        for text, want in [
            ("127.0.0.1:9\n127.0.0.2:9\n127.0.0.1:9\n",
             "{p}:3: target '127.0.0.1:9' is already listed on line 1"),
            ("# ok\n127.0.0.1:0\n", "{p}:2: target '127.0.0.1:0': port 0 is out of range: give 1 "
             "to 65535"),
            ("h job=x\n", "{p}:1: label 'job' is reserved (udpbeat and Prometheus set target, "
             "state, direction, path, src_port, le, job and instance)"),
            ("h __x=1\n", "{p}:1: label '__x': names starting with __ are Prometheus'"),
            ("h site=a site=b\n", "{p}:1: label 'site' is given twice"),
            ("h site\n", "{p}:1: 'site' is not key=value (one target a line: HOST[:PORT] "
             "key=value ...)"),
            ("h 1x=y\n", "{p}:1: label '1x': not a Prometheus label name (letters, digits and "
             "'_', not starting with a digit)"),
            ("\n\n\th site=a#b\n", "{p}:3: '#' inside 'site=a#b': a comment starts after a "
             "space or tab"),
            ("# nothing\n", "{p} lists no target and none is given: give HOST[:PORT] or a line "
             "in the file"),
        ]:
            with self.subTest(text=text):
                path = self.write(text)
                self.check(["ping", "--targets", path, "-c", "1"], want.format(p=path))
                self.check(["heartbeat", "--targets", path, "-c", "1"], want.format(p=path))

    def test_missing_file(self):
        self.check(["heartbeat", "--targets", "/nonexistent/targets", "127.0.0.1:9"],
                   "targets file /nonexistent/targets: No such file or directory")

    def test_target_twice(self):
        self.check(["ping", "127.0.0.1:9", "127.0.0.1:9"], "target '127.0.0.1:9' is given twice")
        path = self.write("127.0.0.2:9\n127.0.0.1:9 site=a\n")
        self.check(["ping", "127.0.0.1:9", "--targets", path],
                   f"{path}:2: target '127.0.0.1:9' is also given on the command line")

    def test_bad_positional_targets(self):
        self.check(["ping", "127.0.0.1:9", "bad/host"],
                   "target 'bad/host': not a host name or address (write HOST[:PORT])")
        self.check(["heartbeat", "[::1"], "target '[::1': missing ']'")
        self.check(["ping", "site=x"], "target 'site=x': not a host name or address (write "
                   "HOST[:PORT])")

    def test_example_file_parses(self):
        # The documented example lists documentation addresses (and names that are left
        # out when they do not resolve): a key that cannot be read ends the run after the
        # file is parsed and before anything is resolved or sent.
        example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                               "contrib", "targets.example")
        r = harness.udpbeat("ping", "--targets", example, "-c", "1", "--auth-key",
                            "/nonexistent/udpbeat.key")
        line = self.assertOneErrorLine(r, "--auth-key")
        self.assertNotIn("targets.example", line)


if __name__ == "__main__":
    harness.main()
