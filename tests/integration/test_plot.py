"""The --plot SVG of a real run prints the run's own counts.

Replies around the timeout, from a server whose delay is seeded (so the run is the same
shape every time): a histogram bucket straddles the timeout, holding on-time and late
replies alike. The plot used to call a whole bucket late when its midpoint was past the
timeout (13 late in the picture, 10 in the summary); now every count it prints is the
run's result and each bar is the replies the tracker classified. Loopback only; about
three seconds of probes.
"""

import json
import os
import re
import shutil
import socket
import tempfile
import xml.etree.ElementTree as ET

import harness
import skipmain
from harness import UdpbeatTestCase

SVG_NS = "{http://www.w3.org/2000/svg}"
# A bar's tooltip ends with the replies it stands for: ": N", or ": N late".
BAR_TITLE_RE = re.compile(r": (\d+)( late)?$")
SUBTITLE_RE = re.compile(r"^(\d+) probes? in [^:]+: (\d+) repl(?:y|ies) on time, (\d+) late, "
                         r"(\d+) lost(?:, (\d+) in flight)?")
DIST_TITLE_RE = re.compile(r"^RTT distribution: (\d+) repl(?:y|ies)(?: \((\d+) late\))?")


def by_id(root, ident):
    for e in root.iter():
        if e.get("id") == ident:
            return e
    return None


def bar_count(root, ident, late):
    """The replies the bars of group `ident` stand for, from their tooltips."""
    g = by_id(root, ident)
    if g is None:
        return 0
    n = 0
    for t in g.iter(SVG_NS + "title"):
        m = BAR_TITLE_RE.search(t.text or "")
        assert m is not None, f"bar tooltip {t.text!r} in {ident} names no count"
        assert bool(m.group(2)) == late, f"bar tooltip {t.text!r} in {ident}"
        n += int(m.group(1))
    return n


def texts(root):
    return [t.text or "" for t in root.iter(SVG_NS + "text")]


class PlotCountsTest(UdpbeatTestCase):

    def test_histogram_late_count_is_the_summarys(self):
        # RTTs 117..123 ms against a 120 ms timeout: about half the replies are late, and
        # the histogram bucket [119.54, 120.59) ms straddles the timeout.
        s = self.serve("--delay", "120ms", "--jitter", "3ms", "--seed", "5")
        d = tempfile.mkdtemp(prefix="udpbeat-plot-")
        self.addCleanup(shutil.rmtree, d, True)
        svg = os.path.join(d, "p.svg")
        r = self.ping(s.target, "--json", "-c", "60", "-i", "50ms", "-W", "120ms",
                      "--plot", svg)
        self.assertExit(r, 0)
        summary = json.loads(r.stdout.splitlines()[-1])
        self.assertEqual(summary["event"], "summary", r.describe())
        sent, received, late, lost = (summary[k] for k in ("sent", "received", "late", "lost"))
        # Whatever the load, some delays are past the timeout: late replies exist.
        self.assertGreater(late, 0, r.describe())

        root = ET.parse(svg).getroot()
        all_text = texts(root)
        sub = [m for m in map(SUBTITLE_RE.match, all_text) if m]
        self.assertEqual(len(sub), 1, all_text)
        in_flight = int(sub[0].group(5) or 0)
        self.assertEqual(
            (int(sub[0].group(1)), int(sub[0].group(2)), int(sub[0].group(3)),
             int(sub[0].group(4))),
            (sent, received - late, late, lost), r.describe())
        self.assertEqual(in_flight, summary.get("in_flight", 0), r.describe())

        dist = [m for m in map(DIST_TITLE_RE.match, all_text) if m]
        self.assertEqual(len(dist), 1, all_text)
        self.assertEqual((int(dist[0].group(1)), int(dist[0].group(2) or 0)), (received, late),
                         "the histogram's title against the summary\n" + r.describe())
        # The bars: on-time ones (and on-time outliers) and late ones, stacked or apart.
        late_bars = bar_count(root, "dist-late-bars", True) + bar_count(root, "dist-late", True)
        on_bars = bar_count(root, "dist-bars", False) + bar_count(root, "dist-over", False)
        self.assertEqual((on_bars, late_bars), (received - late, late),
                         "the histogram's bars against the summary\n" + r.describe())

        legend = by_id(root, "legend-late")
        self.assertIsNotNone(legend)
        self.assertIn(f"late reply ({late})", texts(legend))


class PlotSeveralTargetsTest(UdpbeatTestCase):
    """A plot of several targets says so: its title names them (or counts them), and a
    heartbeat's grey band is "a target down", not one peer's outage."""

    def plot(self, mode, *args):
        d = tempfile.mkdtemp(prefix="udpbeat-plot-")
        self.addCleanup(shutil.rmtree, d, True)
        svg = os.path.join(d, "p.svg")
        r = harness.udpbeat(mode, "-q", "--plot", svg, *args)
        return r, ET.parse(svg).getroot() if os.path.exists(svg) else None

    def test_ping_title_names_every_target(self):
        a, b = self.serve(), self.serve(bind="127.0.0.2:0")
        r, root = self.plot("ping", "-c", "3", "-i", "20ms", a.target, b.target)
        self.assertExit(r, 0)
        self.assertEqual(root.find(SVG_NS + "title").text,
                         f"udpbeat ping {a.target}, {b.target} (stamp)")
        self.assertIn(f"udpbeat ping {a.target}, {b.target} (stamp)", texts(root))
        # More than three: counted.
        many = [a.target, b.target] + [self.serve(bind=f"127.0.0.{i}:0").target for i in (3, 4)]
        r, root = self.plot("ping", "-c", "1", "-i", "20ms", *many)
        self.assertExit(r, 0)
        self.assertEqual(root.find(SVG_NS + "title").text, "udpbeat ping 4 targets (stamp)")

    def test_heartbeat_band_is_a_target_down(self):
        # One target answers, one never does (a bound socket nobody reads: no ICMP
        # either): the silent one goes down, the plot says a target was.
        a = self.serve()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.3", 0))
            dead = f"127.0.0.3:{silent.getsockname()[1]}"
            # A timeout generous enough that the live target never misses, even slowed.
            r, root = self.plot("heartbeat", "-c", "6", "-i", "20ms",
                                "-W", f"{int(500 * harness.SCALE)}ms", a.target, dead)
        self.assertExit(r, 1)
        self.assertEqual(root.find(SVG_NS + "title").text,
                         f"udpbeat heartbeat {a.target}, {dead} (stamp)")
        legend = by_id(root, "legend-down")
        self.assertIsNotNone(legend, r.describe())
        self.assertEqual(texts(legend), ["a target down"])
        band_titles = [t.text for t in by_id(root, "down").iter(SVG_NS + "title")]
        self.assertTrue(band_titles and all(t.startswith("a target down ") for t in band_titles),
                        band_titles)
        all_text = " ".join(texts(root))
        self.assertIn("; targets down 1 time, ", all_text)
        self.assertNotIn("peer down", all_text)


if __name__ == "__main__":
    skipmain.main()
