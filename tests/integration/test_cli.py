"""Usage and system errors: exit 2 and one `udpbeat: ...` line on stderr; version; help."""

import re

import harness
from harness import UdpbeatTestCase, unittest


class ErrorTest(UdpbeatTestCase):

    def check_error(self, *args, contains=None):
        r = harness.udpbeat(*args)
        line = self.assertOneErrorLine(r, contains)
        self.assertEqual(r.stdout, "", r.describe())
        return line

    def test_negative_count(self):
        self.check_error("ping", "-c", "-1", "127.0.0.1", contains="--count")

    def test_bad_interval(self):
        self.check_error("ping", "-i", "abc", "127.0.0.1", contains="--interval")

    def test_bad_timeout(self):
        self.check_error("ping", "-W", "0", "127.0.0.1", contains="--timeout")

    def test_loss_out_of_range(self):
        self.check_error("serve", "--loss", "2", contains="--loss")

    def test_bad_reply_mode(self):
        self.check_error("serve", "--reply", "bogus", contains="--reply")

    def test_port_out_of_range(self):
        self.check_error("ping", "127.0.0.1:70000", contains="70000")

    def test_unresolvable_host(self):
        self.check_error("ping", "nosuch.invalid", contains="nosuch.invalid")

    def test_unknown_option(self):
        self.check_error("ping", "--bogus", "127.0.0.1", contains="--bogus")
        self.check_error("serve", "--bogus", contains="--bogus")

    def test_unknown_subcommand(self):
        self.check_error("bogus", contains="bogus")

    def test_missing_target(self):
        self.check_error("ping")

    def test_v4_and_v6(self):
        self.check_error("ping", "-4", "-6", "::1")

    def test_address_in_use(self):
        s = self.serve()
        line = self.check_error("serve", "--bind", s.target, contains="Address already in use")
        self.assertIn(str(s.port), line)
        # The first server is unharmed.
        self.assertExit(self.ping(s.target, "-c", "1"), 0)
        self.assertCounters(s.stop(), received=1, replied=1)

    def test_no_subcommand(self):
        r = harness.udpbeat()
        self.assertExit(r, 2)
        self.assertEqual(r.stdout, "")

    def test_help_unknown_topic(self):
        self.check_error("help", "nosuch", contains="nosuch")


class VersionHelpTest(UdpbeatTestCase):

    def test_version(self):
        for flag in ("--version", "-V"):
            r = harness.udpbeat(flag)
            self.assertExit(r, 0)
            self.assertRegex(r.stdout, r"^udpbeat \d+\.\d+\.\d+\n$")
            self.assertEqual(r.stderr, "")

    def test_help_ping_equals_ping_help(self):
        for sub in ("ping", "serve"):
            a = harness.udpbeat("help", sub)
            b = harness.udpbeat(sub, "--help")
            self.assertExit(a, 0)
            self.assertExit(b, 0)
            self.assertEqual(a.stdout, b.stdout)
            self.assertIn("Usage:", a.stdout)
            self.assertEqual(a.stderr, "")

    def test_help_equals_top_level_help(self):
        a = harness.udpbeat("help")
        b = harness.udpbeat("--help")
        self.assertExit(a, 0)
        self.assertExit(b, 0)
        self.assertIn("Subcommands:", b.stdout)
        self.assertEqual(a.stdout, b.stdout)


if __name__ == "__main__":
    harness.main()
