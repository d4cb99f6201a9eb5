"""The mesh with the real engine (issue 13, item 4): Debian's Prometheus server scrapes two
udpbeat agents that watch each other and a third target, with contrib/prometheus's
alerting rules. When the third target's reflector stops, Prometheus' HTTP API must show
its udpbeat_up at 0 from both agents and the peer-down alert pending or firing.

Everything on 127.0.0.1: three `udpbeat serve` reflectors, two `udpbeat heartbeat
--metrics-listen` agents, one `prometheus` with a temporary storage directory. Skipped
(exit 77 through skipmain) when the prometheus binary is missing."""

import json
import os
import shutil
import tempfile
import time
import urllib.parse
import urllib.request

import harness
import skipmain
from harness import UdpbeatTestCase, free_tcp_port, unittest

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
RULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "contrib",
                     "prometheus", "udpbeat.rules.yml")
WAIT = 60.0 * harness.SCALE


class PrometheusMeshTest(UdpbeatTestCase):

    def setUp(self):
        if not os.access(PROMETHEUS, os.X_OK):
            self.skipTest(f"{PROMETHEUS} is missing (Debian package prometheus)")
        self.tmp = tempfile.mkdtemp(prefix="udpbeat-prom-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def agent(self, name, *targets):
        port = free_tcp_port()
        p = self.spawn([harness.UDPBEAT, "heartbeat", "-q", "-i", "200ms", "--misses", "3",
                        "--metrics-listen", f"127.0.0.1:{port}", *targets])
        return p, f"127.0.0.1:{port}"

    def query(self, api, expr):
        url = f"http://{api}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        self.assertEqual(body["status"], "success", body)
        return body["data"]["result"]

    def wait_for(self, what, api, expr, check):
        deadline = time.monotonic() + WAIT
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.query(api, expr)
                if check(last):
                    return last
            except OSError as e:  # Prometheus still starting
                last = e
            time.sleep(0.5)
        self.fail(f"timed out waiting for {what}: {expr} -> {last}\n"
                  f"prometheus stderr:\n{self.prom.stderr[-3000:]}")

    def test_a_stopped_target_goes_down_and_alerts(self):
        reflectors = [self.serve(), self.serve(), self.serve()]
        a_refl, b_refl, c_refl = reflectors
        a, a_metrics = self.agent("a", b_refl.target, c_refl.target)
        b, b_metrics = self.agent("b", a_refl.target, c_refl.target)
        config = os.path.join(self.tmp, "prometheus.yml")
        shutil.copy(RULES, os.path.join(self.tmp, "udpbeat.rules.yml"))
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [udpbeat.rules.yml]
scrape_configs:
  - job_name: udpbeat
    static_configs:
      - targets: ['{a_metrics}', '{b_metrics}']
""")
        api = f"127.0.0.1:{free_tcp_port()}"
        self.prom = self.spawn([PROMETHEUS, f"--config.file={config}",
                                f"--storage.tsdb.path={os.path.join(self.tmp, 'data')}",
                                f"--web.listen-address={api}", "--log.level=warn"])
        # Both agents scraped, each seeing its two targets up.
        self.wait_for("both agents up", api, 'up{job="udpbeat"} == 1', lambda r: len(r) == 2)
        self.wait_for("four targets up", api, "udpbeat_up == 1", lambda r: len(r) == 4)
        c_target = c_refl.target
        c_refl.stop()
        down = self.wait_for("the stopped target down from both agents", api,
                             f'udpbeat_up{{target="{c_target}"}} == 0',
                             lambda r: len(r) == 2)
        self.assertEqual({x["metric"]["instance"] for x in down}, {a_metrics, b_metrics})
        alerts = self.wait_for("the peer-down alert", api,
                               'ALERTS{alertname="UdpbeatPeerDown", '
                               'alertstate=~"pending|firing"}',
                               lambda r: len(r) >= 1)
        self.assertEqual({x["metric"]["target"] for x in alerts}, {c_target}, alerts)
        # The others stay up.
        up = self.query(api, "udpbeat_up == 1")
        self.assertEqual(sorted(x["metric"]["target"] for x in up),
                         sorted([b_refl.target, a_refl.target]), up)
        # The agents' own view agrees: the histogram is scraped too.
        count = self.query(api, f'udpbeat_rtt_seconds_count{{target="{a_refl.target}"}}')
        self.assertEqual(len(count), 1, count)
        self.assertGreater(float(count[0]["value"][1]), 0)
        for p in (a, b):
            p.signal(2)
            self.assertIn(p.wait(), (0, 1), p.stderr)


if __name__ == "__main__":
    skipmain.main()
