"""Usage and system errors: exit 2 and one `udpbeat: ...` line on stderr; version; help.
Every numeric option refuses what is out of its range with the range in the message;
unknown options and subcommands are named as such, with "did you mean" for a typo; a
repeated option takes its last value."""

import os
import re
import resource
import subprocess

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
        # A label longer than DNS allows (63 octets): the resolver refuses the name without
        # a query, so nothing leaves this host ("nosuch.invalid" went to the configured
        # name server). Names the name server is asked about: test_unresolved_targets.py,
        # with a resolver on loopback.
        name = "a" * 64 + ".invalid"
        self.check_error("ping", name, contains=f"resolve {name}")

    def test_unknown_option(self):
        self.check_error("ping", "--bogus", "127.0.0.1", contains="--bogus")
        self.check_error("serve", "--bogus", contains="--bogus")

    def test_unknown_subcommand(self):
        self.check_error("bogus", contains="bogus")

    def test_missing_target(self):
        self.check_error("ping", contains="no target")
        self.check_error("heartbeat", "-c", "1", contains="no target")

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


class UnknownArgumentTest(UdpbeatTestCase):
    """Issue 14 item 5: what was not understood is named, before anything else."""

    def check(self, args, want):
        r = harness.udpbeat(*args)
        self.assertEqual(self.assertOneErrorLine(r), want, r.describe())
        self.assertEqual(r.stdout, "")

    def test_unknown_short_option_before_target(self):
        # ping(8)'s -w: the message is about -w, not about the target after its value.
        self.check(["ping", "-w", "3", "127.0.0.1:12000"],
                   "udpbeat: unknown option -w for ping; for ping(8)'s -w (deadline) use "
                   "--duration")
        self.check(["heartbeat", "-x", "127.0.0.1:12000"], "udpbeat: unknown option -x for heartbeat")
        self.check(["ping", "-w"],  # no target either: the option still comes first
                   "udpbeat: unknown option -w for ping; for ping(8)'s -w (deadline) use "
                   "--duration")

    def test_did_you_mean_option(self):
        self.check(["ping", "--procto", "seed", "127.0.0.1"],
                   "udpbeat: unknown option --procto for ping (did you mean --proto?)")
        self.check(["heartbeat", "--mises=3", "127.0.0.1"],
                   "udpbeat: unknown option --mises for heartbeat (did you mean --misses?)")
        self.check(["serve", "--trheads", "2"],
                   "udpbeat: unknown option --trheads for serve (did you mean --threads?)")
        self.check(["ping", "--metric-file", "x", "127.0.0.1"],
                   "udpbeat: unknown option --metric-file for ping (did you mean "
                   "--metrics-file?)")
        self.check(["ping", "--zzzzzzzz", "127.0.0.1"],
                   "udpbeat: unknown option --zzzzzzzz for ping")

    def test_option_of_another_subcommand(self):
        self.check(["serve", "--json"],
                   "udpbeat: unknown option --json for serve (it is an option of ping and "
                   "heartbeat)")
        self.check(["ping", "--misses", "3", "127.0.0.1"],
                   "udpbeat: unknown option --misses for ping (it is an option of heartbeat)")
        self.check(["--count", "3", "ping", "127.0.0.1"],
                   "udpbeat: unknown option --count (it is an option of ping and heartbeat: put "
                   "it after the subcommand)")

    def test_did_you_mean_subcommand(self):
        self.check(["pnig", "127.0.0.1"],
                   "udpbeat: unknown subcommand 'pnig' (did you mean 'ping'?); see 'udpbeat help'")
        self.check(["hearbeat"], "udpbeat: unknown subcommand 'hearbeat' (did you mean "
                   "'heartbeat'?); see 'udpbeat help'")
        self.check(["nonsense"], "udpbeat: unknown subcommand 'nonsense'; see 'udpbeat help'")
        self.check(["help", "srve"], "udpbeat: help: no subcommand 'srve' (did you mean "
                   "'serve'?); the subcommands are serve, ping and heartbeat")

    def test_unexpected_positional(self):
        self.check(["serve", "127.0.0.1:12000"],
                   "udpbeat: unexpected argument '127.0.0.1:12000' for serve (it takes options "
                   "only)")
        self.check(["help", "ping", "serve"],
                   "udpbeat: unexpected argument 'serve' for help (give one subcommand)")

    def test_double_dash_ends_options(self):
        # After "--" an argument is a target, even one that starts with '-'.
        self.check(["ping", "--", "-x"],
                   "udpbeat: target '-x': not a host name or address (write HOST[:PORT])")
        self.check(["ping", "-c", "1", "--", "127.0.0.1:0"],
                   "udpbeat: target '127.0.0.1:0': port 0 is out of range: give 1 to 65535")

    def test_option_without_value(self):
        self.check(["ping", "127.0.0.1", "-c"], "udpbeat: --count needs a value (COUNT)")
        self.check(["serve", "--bind"], "udpbeat: --bind needs a value (ADDR:PORT)")


class InlineValueTest(UdpbeatTestCase):
    """`--opt=VALUE`: a flag refuses a value by name, and an empty value after the '=' is
    refused, not filled with the next argument."""

    def check(self, args, want):
        r = harness.udpbeat(*args)
        self.assertEqual(self.assertOneErrorLine(r), want, r.describe())
        self.assertEqual(r.stdout, "")

    def test_flag_with_a_value(self):
        self.check(["ping", "--json=foo", "127.0.0.1"], "udpbeat: --json takes no value")
        self.check(["ping", "--follow-up=2", "127.0.0.1"], "udpbeat: --follow-up takes no value")
        self.check(["ping", "-q=yes", "127.0.0.1"], "udpbeat: -q takes no value")
        self.check(["ping", "-qD=1", "127.0.0.1"], "udpbeat: -D takes no value")
        self.check(["heartbeat", "--exit-on-down=1", "127.0.0.1"],
                   "udpbeat: --exit-on-down takes no value")
        self.check(["serve", "--stamp-stateful=true"], "udpbeat: --stamp-stateful takes no value")
        self.check(["--version=1"], "udpbeat: --version takes no value")

    def test_empty_value(self):
        self.check(["ping", "--count=", "127.0.0.1"],
                   "udpbeat: --count: empty value after '=' (give COUNT)")
        self.check(["serve", "--bind="], "udpbeat: --bind: empty value after '=' (give ADDR:PORT)")

    def test_values_after_equals_still_work(self):
        # Not every '=' is a misuse: an option's value, a target after "--", another
        # subcommand's flag (named as unknown, as before).
        s = self.serve()
        r = harness.udpbeat("ping", "--count=1", "--interval=10ms", "--", s.target)
        self.assertExit(r, 0)
        self.assertPackets(r, 1, 1, 0)
        self.check(["serve", "--json=1"],
                   "udpbeat: unknown option --json for serve (it is an option of ping and "
                   "heartbeat)")


class RepeatedOptionTest(UdpbeatTestCase):
    """A repeated option takes its last value, as ping(8)'s do."""

    def test_last_count_wins(self):
        s = self.serve()
        r = self.ping(s.target, "-c", "5", "-i", "0", "-c", "2", "--count", "3", "-i", "10ms")
        self.assertExit(r, 0)
        self.assertPackets(r, 3, 3, 0)
        self.assertCounters(s.stop(), received=3, replied=3)

    def test_last_of_a_refused_value_is_still_checked(self):
        # Every value is checked, not only the one kept.
        r = harness.udpbeat("ping", "-c", "abc", "-c", "1", "127.0.0.1")
        self.assertOneErrorLine(r, "--count: 'abc' is not a whole number")

    def test_flags_repeat(self):
        s = self.serve()
        r = self.ping(s.target, "-q", "-q", "-c", "1", "--json", "--json", "-4", "-4")
        self.assertExit(r, 0)
        self.assertEqual(harness.json_events(r.stdout)[-1]["event"], "summary")


class RangeTest(UdpbeatTestCase):
    """Issue 12 items 9 and 12: every number is checked against its option's range, and
    the message states it; nothing is converted by a library that wraps or rounds."""

    def check(self, args, want):
        r = harness.udpbeat(*args)
        self.assertEqual(self.assertOneErrorLine(r), "udpbeat: " + want, r.describe())
        self.assertEqual(r.stdout, "")

    def test_whole_numbers(self):
        t = "127.0.0.1:9"
        for args, want in [
            (["heartbeat", "--misses", "4294967295", t],
             "--misses: '4294967295' is out of range: give 1 to 1000"),
            (["heartbeat", "--misses", "0", t], "--misses: '0' is out of range: give 1 to 1000"),
            (["ping", "-c", "-1", t], "--count: '-1' is out of range: give 0 to 2147483647"),
            (["ping", "-c", "4294967296", t],
             "--count: '4294967296' is out of range: give 0 to 2147483647"),
            (["ping", "-c", "1.5", t],
             "--count: '1.5' is not a whole number: give 0 to 2147483647"),
            (["ping", "-c", "0x10", t],
             "--count: '0x10' is not a whole number: give 0 to 2147483647"),
            (["ping", "-c", "+3", t], "--count: '+3' is not a whole number: give 0 to 2147483647"),
            (["heartbeat", "-c", "99999999999999999999999", t],
             "--count: '99999999999999999999999' is out of range: give 0 to 2147483647"),
            (["serve", "--seed", "1e23"],
             "--seed: '1e23' is not a whole number: give 0 to 18446744073709551615"),
            (["serve", "--seed", "18446744073709551616"],
             "--seed: '18446744073709551616' is out of range: give 0 to 18446744073709551615"),
            (["serve", "--max-peers", "0"],
             "--max-peers: '0' is out of range: give 1 to 16777216"),
            (["ping", "-s", "65508", t], "--size: '65508' is out of range: give 0 to 65507"),
            (["ping", "--sessions", "0", t],
             "--sessions: '0' is out of range: give 1 to 100000"),
            (["heartbeat", "--sockets", "100001", t],
             "--sockets: '100001' is out of range: give 1 to 100000"),
            (["ping", "--src-ports", "1025", t],
             "--src-ports: '1025' is out of range: give 1 to 1024"),
            (["ping", "--src-ports", "0", t], "--src-ports: '0' is out of range: give 1 to 1024"),
            (["ping", "--tos", "256", t], "--tos: '256' is out of range: give 0 to 255"),
            (["heartbeat", "--dscp", "64", t], "--dscp: '64' is out of range: give 0 to 63"),
        ]:
            with self.subTest(args=args):
                self.check(args, want)

    def test_threads_bounded_by_cpus(self):
        cpus = len(os.sched_getaffinity(0))
        top = max(4, 4 * cpus)
        for n in ("4294967297", str(top + 1), "0"):
            with self.subTest(n=n):
                self.check(["serve", "--threads", n],
                           f"--threads: '{n}' is out of range: give 1 to {top}")
        r = harness.udpbeat("serve", "--help")
        self.assertIn(f"1 to {top} here (4 per CPU)", r.stdout)

    def test_real_numbers(self):
        t = "127.0.0.1:9"
        for args, want in [
            (["ping", "--rate", "1e20", t],
             "--rate: '1e20' is out of range: give 0.001 to 1000000000"),
            (["ping", "--rate", "0", t], "--rate: '0' is out of range: give 0.001 to 1000000000"),
            (["ping", "--rate", "inf", t], "--rate: 'inf' is not a number: give 0.001 to "
             "1000000000"),
            (["ping", "--rate", "nan", t], "--rate: 'nan' is not a number: give 0.001 to "
             "1000000000"),
            (["heartbeat", "--phi", "0", t], "--phi: '0' is out of range: give 0.1 to 100"),
            (["heartbeat", "--phi", "1e999", t], "--phi: '1e999' is out of range: give 0.1 to 100"),
            (["serve", "--loss", "2"], "--loss: '2' is out of range: give 0 to 1"),
            (["serve", "--loss", "-0.5"], "--loss: '-0.5' is out of range: give 0 to 1"),
            (["serve", "--loss", "0x1p-1"], "--loss: '0x1p-1' is not a number: give 0 to 1"),
            (["serve", "--max-rate", "1e10"],
             "--max-rate: '1e10' is out of range: give 0 to 1000000000"),
        ]:
            with self.subTest(args=args):
                self.check(args, want)

    def test_durations(self):
        t = "127.0.0.1:9"
        for args, want in [
            (["ping", "-W", "9223372000s", t],
             "--timeout: '9223372000s' is out of range: give 1us to 1h"),
            (["ping", "-W", "0", t], "--timeout: '0' is out of range: give 1us to 1h"),
            (["ping", "-i", "2562048h", t], "--interval: '2562048h' is out of range: give 0 to 24h"),
            (["heartbeat", "-i", "0", t], "--interval: '0' is out of range: give 1ns to 24h"),
            (["heartbeat", "-W", "2h", t], "--timeout: '2h' is out of range: give 1us to 1h"),
            (["heartbeat", "--phi-pause", "61m", t],
             "--phi-pause: '61m' is out of range: give 0 to 1h"),
            (["ping", "--duration", "0", t], "--duration: '0' is out of range: give 1ms to 8760h"),
            (["ping", "--metrics-interval", "1ms", t],
             "--metrics-interval: '1ms' is out of range: give 10ms to 24h"),
            (["serve", "--delay", "99999999999h"],
             "--delay: '99999999999h' is out of range: give 0 to 1h"),
            (["serve", "--jitter", "2h"], "--jitter: '2h' is out of range: give 0 to 1h"),
            (["serve", "--metrics-interval", "25h"],
             "--metrics-interval: '25h' is out of range: give 10ms to 24h"),
            (["ping", "-i", "1s1s", t], "--interval: invalid duration '1s1s': give one number "
             "and one unit (e.g. 90s, not 1m30s)"),
            (["ping", "-W", "5ms10s", t], "--timeout: invalid duration '5ms10s': give one number "
             "and one unit (e.g. 90s, not 1m30s)"),
            (["ping", "-i", "0x10", t],
             "--interval: invalid duration '0x10' (use e.g. 250ms, 1.5s or 2)"),
            (["ping", "-i", "0x1p3", t],
             "--interval: invalid duration '0x1p3' (use e.g. 250ms, 1.5s or 2)"),
            # Given empty is given: refused, never taken for the option left out.
            (["ping", "-i", "", t], "--interval: invalid duration '' (use e.g. 250ms, 1.5s or 2)"),
            (["ping", "--duration", "", t],
             "--duration: invalid duration '' (use e.g. 250ms, 1.5s or 2)"),
            (["heartbeat", "-W", "", t],
             "--timeout: invalid duration '' (use e.g. 250ms, 1.5s or 2)"),
            (["serve", "--delay", ""], "--delay: invalid duration '' (use e.g. 250ms, 1.5s or 2)"),
        ]:
            with self.subTest(args=args):
                self.check(args, want)

    def test_ports(self):
        for args, want in [
            (["ping", "127.0.0.1:0"],
             "target '127.0.0.1:0': port 0 is out of range: give 1 to 65535"),
            (["heartbeat", "[::1]:0"], "target '[::1]:0': port 0 is out of range: give 1 to 65535"),
            (["ping", "127.0.0.1:+23000"],
             "target '127.0.0.1:+23000': port '+23000' is not a number: give 1 to 65535"),
            (["ping", "127.0.0.1:65536"],
             "target '127.0.0.1:65536': port 65536 is out of range: give 1 to 65535"),
            (["serve", "--bind", "127.0.0.1:+23000"],
             "address '127.0.0.1:+23000': port must be 0 to 65535 (digits only)"),
            (["serve", "--metrics-listen", "127.0.0.1"],
             "--metrics-listen: '127.0.0.1' has no port: give ADDR:PORT, the port 1 to 65535 "
             "(e.g. 127.0.0.1:9101 or [::1]:9101)"),
            (["serve", "--metrics-listen", "[::1]:0"],
             "--metrics-listen: '[::1]:0': port 0 is out of range: give 1 to 65535"),
            (["heartbeat", "--metrics-listen", "localhost:9101", "127.0.0.1:9"],
             "--metrics-listen: address 'localhost:9101': not a numeric IPv4 or IPv6 address"),
            (["heartbeat", "--metrics-listen", "127.0.0.1:99999", "127.0.0.1:9"],
             "--metrics-listen: address '127.0.0.1:99999': port must be 0 to 65535 (digits "
             "only)"),
        ]:
            with self.subTest(args=args):
                self.check(args, want)


class ClientOptionErrorTest(UdpbeatTestCase):
    """The new client options' combinations and forms."""

    def check(self, args, want):
        r = harness.udpbeat(*args)
        self.assertEqual(self.assertOneErrorLine(r), "udpbeat: " + want, r.describe())

    def test_exclusions(self):
        t = "127.0.0.1:9"
        self.check(["ping", "--tos", "8", "--dscp", "2", t], "--tos and --dscp exclude each other")
        self.check(["ping", "--src-ports", "4", "--sessions", "2", t],
                   "--src-ports and --sessions exclude each other (each source port is a session)")
        self.check(["heartbeat", "--src-ports", "4", "--sockets", "2", t],
                   "--src-ports and --sockets exclude each other (each source port is its own "
                   "socket)")
        self.check(["ping", "--rate", "5", "-i", "1s", t], "--rate and --interval exclude each other")

    def test_source_address(self):
        self.check(["ping", "-I", "eth0", "127.0.0.1:9"],
                   "--source: 'eth0' is not a numeric IPv4 or IPv6 address (without a port)")
        self.check(["ping", "-I", "127.0.0.1:5000", "127.0.0.1:9"],
                   "--source: '127.0.0.1:5000' is not a numeric IPv4 or IPv6 address (without a "
                   "port)")
        self.check(["ping", "-I", "::1", "127.0.0.1:9"],
                   "--source: ::1 is IPv6 but target 127.0.0.1:9 is IPv4")
        self.check(["heartbeat", "--source", "127.0.0.1", "[::1]:9"],
                   "--source: 127.0.0.1 is IPv4 but target [::1]:9 is IPv6")
        self.check(["ping", "-6", "-I", "127.0.0.1", "localhost:9"],
                   "--source: 127.0.0.1 is IPv4 but -6 asks for IPv6")

    def test_stamp_only_options(self):
        self.check(["ping", "--proto", "seed", "--follow-up", "127.0.0.1:9"],
                   "--follow-up: STAMP only (not with --proto seed)")
        self.check(["heartbeat", "--proto", "seed", "--auth-key", "/nonexistent", "127.0.0.1:9"],
                   "--auth-key: STAMP only (not with --proto seed)")
        self.check(["ping", "--auth-key", "/nonexistent/key", "127.0.0.1:9"],
                   "--auth-key: key file '/nonexistent/key': No such file or directory")
        self.check(["serve", "--auth-key", "/nonexistent/key"],
                   "--auth-key: key file '/nonexistent/key': No such file or directory")

    def test_accepted(self):
        # Options the modes read (or will): a run with each of them still answers.
        s = self.serve()
        key = os.path.join(self.tmpdir(), "key")
        with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("0123456789abcdef0123456789abcdef\n")
        keyed = self.serve("--auth-key", key)
        for server, extra in (
                (s, ["--tos", "184"]), (s, ["--dscp", "46"]), (s, ["-D"]),
                (s, ["-I", "127.0.0.1"]), (s, ["--source", "127.0.0.1", "-4"]),
                (s, ["--follow-up"]), (s, ["--src-ports", "1"]), (s, ["--metrics-interval", "1s"]),
                (keyed, ["--auth-key", key])):
            with self.subTest(extra=extra):
                r = self.ping(server.target, "-c", "1", *extra)
                self.assertExit(r, 0)
                self.assertEqual(r.stderr, "")

    def tmpdir(self):
        import tempfile
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        return d.name


class FileLimitTest(UdpbeatTestCase):
    """Issue 12 item 11: the open-file hint never underflows, whatever the limit."""

    def run_limited(self, limit, *args):
        def lower():
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        p = subprocess.run([harness.UDPBEAT, *args], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, preexec_fn=lower,
                           timeout=harness.RUN_TIMEOUT)
        return harness.Result(args, p.returncode, p.stdout, p.stderr)

    def test_tiny_limit(self):
        r = self.run_limited(10, "ping", "-c", "2", "127.0.0.1:9")
        line = self.assertOneErrorLine(r)
        self.assertEqual(line, "udpbeat: 1 socket needs 33 open files (32 besides the sockets) "
                         "but the limit is 10 (RLIMIT_NOFILE, raised to its hard limit): raise "
                         "it to 33 or more (ulimit -n)")

    def test_limit_fits_fewer_than_one_socket_per_target(self):
        r = self.run_limited(33, "ping", "-c", "1", "127.0.0.1:9", "127.0.0.2:9")
        self.assertEqual(self.assertOneErrorLine(r),
                         "udpbeat: 2 sockets need 34 open files (32 besides the sockets) but the "
                         "limit is 33 (RLIMIT_NOFILE, raised to its hard limit): raise it to 34 or "
                         "more (ulimit -n)")

    def test_hints_sockets_or_source_ports(self):
        r = self.run_limited(50, "ping", "-c", "1", "--sessions", "40", "127.0.0.1:9")
        self.assertIn("40 sockets need 72 open files", self.assertOneErrorLine(r))
        self.assertIn("use --sockets 18 or fewer to share sockets", r.stderr)
        r = self.run_limited(50, "heartbeat", "-c", "1", "--src-ports", "40", "127.0.0.1:9")
        self.assertIn("use --src-ports 18 or fewer, or raise the limit (ulimit -n)",
                      self.assertOneErrorLine(r))

    def test_one_ping_needs_33(self):
        s = self.serve()
        r = self.run_limited(33, "ping", "-c", "1", s.target)
        self.assertExit(r, 0)


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
