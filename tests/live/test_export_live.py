"""Issue #15 with the real thing: `netwatch export` scraped every second by Debian's Prometheus
server, which the test starts on loopback. Traffic, firewall drops and accepts are made between
two network namespaces of the test's own; PromQL through Prometheus's HTTP API gives the
counters' deltas, which must match each ground truth: the veth's own byte counters (within 5%),
the nft rule's own counter and the server's own count of accepted connections (exactly)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_live_bpf
from tests.helpers.net import free_port
from tests.helpers.paths import NETWATCH, ROOT
from tests.live.bpf_progs import loaded_program_ids, wait_released
from tests.netns import GEN, Link, veth_pair

pytestmark = pytest.mark.live

EXPORT_INTERVAL = 0.5
SCRAPE_INTERVAL = "1s"
TCP_GEN = str(ROOT / "tests" / "tcp_gen.py")
TOLERANCE = 0.05  # of the veth counter: netwatch counts per packet what the link counts


def get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        body: bytes = reply.read()
        return body


def wait_for(
    what: str, check: Callable[[], bool], seconds: float, seen: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except OSError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds} s; last seen:\n{seen()}")
        time.sleep(0.2)


@dataclass
class Prometheus:
    url: str

    def query(self, promql: str, at: float | None = None) -> float:
        """A query whose answer is one number (a sum); 0 when no series matches yet."""
        params = {"query": promql} | ({"time": f"{at:.3f}"} if at is not None else {})
        reply = json.loads(get(f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}"))
        assert reply["status"] == "success", reply
        result = reply["data"]["result"]
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else 0.0

    def settled(self, promql: str, seconds: float = 40) -> float:
        """The query's answer once it has stopped moving for three scrapes (the exporter's
        intervals are shorter than a scrape's)."""
        deadline = time.monotonic() + seconds
        last, since = self.query(promql), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.query(promql)
            if now != last:
                last, since = now, time.monotonic()
            elif now and time.monotonic() - since >= 3.2:
                return now
        pytest.fail(f"{promql} never settled (last {last})")


@pytest.fixture(scope="module")
def link() -> Iterator[Link]:
    require_live_bpf()
    with veth_pair("x") as made:
        yield made


@pytest.fixture(scope="module")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`netwatch export` on a free loopback port, once every probe counts; yields its URL."""
    require_live_bpf()
    baseline = loaded_program_ids()
    port = free_port()
    log = tmp_path_factory.mktemp("export") / "stderr"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [NETWATCH, "export", "--listen", f"127.0.0.1:{port}",
             "--interval", str(EXPORT_INTERVAL)],
            stderr=err,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/metrics"
    last: list[bytes] = []

    def every_probe_up() -> bool:
        if proc.poll() is not None:
            return False
        last[:] = [line for line in get(url).splitlines() if line.startswith(b"netwatch_probe")]
        up = [line for line in last if line.startswith(b"netwatch_probe_up{")]
        return len(up) == 4 and not any(line.endswith(b" 0.0") for line in up)

    try:
        # Four compiles one after another: ~12 s each in the 6.1 VM's TCG. A start there once
        # missed 90 s (CI, 8529d5e), with nothing kept to say why: now the wait says what it saw.
        wait_for("netwatch export serving every probe", every_probe_up, 240,
                 lambda: b"\n".join(last).decode() + "\n" + log.read_text()[-3000:])  # fmt: skip
        yield url
    finally:
        proc.terminate()
        code = proc.wait(10)
        assert code == 0, log.read_text()
        assert "Traceback" not in log.read_text()
        assert wait_released(baseline) == set()  # SIGTERM detached every probe


@pytest.fixture(scope="module")
def prometheus(exporter: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("Debian's prometheus is missing: ./setup.sh test installs it")
    where = tmp_path_factory.mktemp("prometheus")
    target = urllib.parse.urlparse(exporter).netloc
    (where / "prometheus.yml").write_text(
        "global:\n"
        f"  scrape_interval: {SCRAPE_INTERVAL}\n"
        "scrape_configs:\n"
        "  - job_name: netwatch\n"
        f"    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = free_port()
    with (where / "log").open("w") as log:
        proc = subprocess.Popen(
            [binary, f"--config.file={where / 'prometheus.yml'}",
             f"--storage.tsdb.path={where / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        wait_for("Prometheus ready", lambda: get(f"{server.url}/-/ready") != b"", 60)
        wait_for(
            "Prometheus scraping netwatch",
            lambda: server.query('sum(netwatch_probe_up{job="netwatch"})') == 4,
            30,
        )
        yield server
    finally:
        proc.terminate()
        proc.wait(20)


def run_gen(link: Link, side: str, *argv: str) -> subprocess.Popen[str]:
    host = link.a if side == "a" else link.b
    return subprocess.Popen(
        host.exec_argv(sys.executable, GEN, *argv), stdout=subprocess.PIPE, text=True
    )


def run_tcp_gen(link: Link, side: str, *argv: str) -> subprocess.Popen[str]:
    host = link.a if side == "a" else link.b
    return subprocess.Popen(
        host.exec_argv(sys.executable, TCP_GEN, *argv), stdout=subprocess.PIPE, text=True
    )


def ready(p: subprocess.Popen[str]) -> None:
    assert p.stdout is not None
    assert "ready" in json.loads(p.stdout.readline())


def result(p: subprocess.Popen[str]) -> dict[str, object]:
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0
    parsed: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return parsed


def test_receive_and_transmit_bytes_match_the_veth_counters(
    link: Link, prometheus: Prometheus
) -> None:
    received = 'sum(netwatch_process_receive_bytes_total{comm="nwx-sink"})'
    sent = 'sum(netwatch_process_transmit_bytes_total{comm="nwx-feed"})'
    before_at = time.time()
    b0, a0 = link.b.counters(), link.a.counters()
    sink = run_gen(link, "b", "tcp-recv", link.b.addr, "6100", "--name", "nwx-sink")
    ready(sink)
    feed = run_gen(link, "a", "tcp-send", link.b.addr, "6100", "--count", "4000",
                   "--size", "1000", "--name", "nwx-feed")  # fmt: skip
    assert result(feed)["payload"] == 4_000_000
    assert result(sink)["payload"] == 4_000_000
    got_rx = prometheus.settled(received)
    got_tx = prometheus.settled(sent)
    b1, a1 = link.b.counters(), link.a.counters()
    rx = got_rx - prometheus.query(received, at=before_at)
    tx = got_tx - prometheus.query(sent, at=before_at)
    link_rx, link_tx = b1["rx_bytes"] - b0["rx_bytes"], a1["tx_bytes"] - a0["tx_bytes"]
    assert abs(rx - link_rx) <= TOLERANCE * link_rx, (rx, link_rx)
    assert abs(tx - link_tx) <= TOLERANCE * link_tx, (tx, link_tx)
    # The device and the user are the ones the kernel saw: the sink's bytes are on b's veth,
    # as root (one query, so both sides are read at the same instant). At least 99%: CI once
    # saw 276 of 4.2 MB elsewhere, which no local run has shown again (see the note of 9362c56).
    on_device = (
        f'sum(netwatch_process_receive_bytes_total{{comm="nwx-sink",device="{link.b.dev}",'
        f'user="root"}}) / {received}'
    )
    assert 0.99 <= prometheus.query(on_device) <= 1.0


def test_netfilter_drops_equal_the_rules_own_counter(link: Link, prometheus: Prometheus) -> None:
    link.b.drop_udp_port("nwexport", 6101)
    drops = 'sum(netwatch_drops_total{reason="NETFILTER_DROP",protocol="ipv4"})'
    before = prometheus.settled(drops) if prometheus.query(drops) else 0.0
    sender = subprocess.Popen(link.udp_sender(6101, 300), stdout=subprocess.PIPE, text=True)
    assert result(sender)["packets"] == 300
    after = prometheus.settled(drops)
    assert link.b.rule_packets("nwexport") == 300
    assert after - before == link.b.rule_packets("nwexport")
    # The function label names a real kernel function, as the Drops tab symbolizes it.
    series = json.loads(
        get(f"{prometheus.url}/api/v1/series?{urllib.parse.urlencode({'match[]': drops[4:-1]})}")
    )["data"]
    kernel = {x.split()[2] for x in Path("/proc/kallsyms").read_text().splitlines()}
    assert series and all(s["function"] in kernel for s in series), series


def test_accepts_equal_the_servers_own_count(link: Link, prometheus: Prometheus) -> None:
    server = run_gen(link, "b", "accept-server", link.b.addr, "6102", "--count", "40",
                     "--name", "nwx-acceptor")  # fmt: skip
    ready(server)
    client = run_gen(link, "a", "connect-many", link.b.addr, "6102", "--count", "40")
    assert len(result(client)["local"]) == 40  # type: ignore[arg-type]
    peers = result(server)["peers"]
    accepts = 'sum(netwatch_tcp_accepts_total{comm="nwx-acceptor",port="6102",family="ipv4"})'
    assert prometheus.settled(accepts) == len(peers) == 40  # type: ignore[arg-type]


def test_failed_connects_resets_and_connect_latency_are_the_generators_own_counts(
    link: Link, prometheus: Prometheus
) -> None:
    refused = run_tcp_gen(link, "a", "connect-fail", link.b.addr, "6103", "--count", "30",
                          "--name", "nwx-checker")  # fmt: skip
    assert result(refused)["outcomes"] == {"refused": 30}
    server = run_tcp_gen(link, "b", "reset-server", link.b.addr, "6104", "--count", "20",
                         "--name", "nwx-gateway")  # fmt: skip
    ready(server)
    client = run_tcp_gen(link, "a", "reset-client", link.b.addr, "6104", "--count", "20",
                         "--name", "nwx-client")  # fmt: skip
    assert result(client)["resets"] == 20 and result(server)["reset"] == 20
    failures = 'sum(netwatch_tcp_connect_failures_total{comm="nwx-checker",reason="refused"})'
    assert prometheus.settled(failures) == 30
    sent = 'sum(netwatch_tcp_resets_total{comm="nwx-gateway",direction="sent"})'
    received = 'sum(netwatch_tcp_resets_total{comm="nwx-client",direction="received"})'
    assert prometheus.settled(sent) == 20
    assert prometheus.settled(received) == 20
    # Each of the client's 20 connects established: 20 observations of its latency, under 1 s.
    latency = 'sum(netwatch_tcp_connect_duration_seconds_bucket{comm="nwx-client",le="1.0"})'
    assert prometheus.settled(latency) == 20
    assert (
        prometheus.query('sum(netwatch_tcp_connect_duration_seconds_count{comm="nwx-client"})')
        == 20
    )


def test_probes_are_up_and_say_their_mechanism(exporter: str, prometheus: Prometheus) -> None:
    assert prometheus.query('sum(netwatch_probe_up{job="netwatch"})') == 4
    assert prometheus.query("sum(netwatch_probe_lost_events_total)") == 0
    info = json.loads(get(f"{prometheus.url}/api/v1/query?query=netwatch_build_info"))["data"][
        "result"
    ]
    mechanisms = {r["metric"]["probe"]: r["metric"]["mechanism"] for r in info}
    assert set(mechanisms) == {"traffic", "drops", "accepts", "conns"}
    assert "inet_sock_set_state" in mechanisms["conns"] and "sock_diag" in mechanisms["conns"]
    assert "tracepoints" in mechanisms["traffic"]
    assert "kfree_skb" in mechanisms["drops"]


def test_promtool_finds_the_live_exposition_clean(exporter: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: ./setup.sh test installs Debian's prometheus")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=get(exporter), capture_output=True
    )
    assert checked.returncode == 0 and checked.stdout == b"", checked


def test_every_dashboard_query_runs_and_the_top_talkers_show_the_traffic(
    link: Link, prometheus: Prometheus
) -> None:
    """contrib/'s Grafana dashboard, its variables filled in as Grafana would: Prometheus
    accepts every query, and the top-talkers panel shows the sink of the first test's bytes."""
    from tests.helpers.contrib import dashboard_exprs

    filled = {"$instance": ".*", "$__rate_interval": "5m", "$__range": "5m"}
    for expr in dashboard_exprs():
        for var, val in filled.items():
            expr = expr.replace(var, val)
        reply = json.loads(
            get(f"{prometheus.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
        )
        assert reply["status"] == "success", (expr, reply)
        if expr.startswith("topk(10, sum by (instance, comm)"):
            comms = {r["metric"].get("comm") for r in reply["data"]["result"]}
            assert "nwx-sink" in comms and "nwx-feed" in comms, comms


def test_calls_are_exported_only_for_the_threads_asked_for(tmp_path: Path) -> None:
    """--calls-comm narrows tracing in the kernel, as in the tab: the named process's socket
    calls are counted exactly, by call and result, and nothing else is traced."""
    require_live_bpf()
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    proc = subprocess.Popen(
        [NETWATCH, "export", "--listen", f"127.0.0.1:{port}", "--interval", "0.5",
         "--calls-comm", "nwx-caller"],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(
            "the calls probe up", lambda: b'netwatch_probe_up{probe="calls"} 1.0' in get(url), 90
        )
        code = (
            "import ctypes, socket\n"
            "ctypes.CDLL(None).prctl(15, b'nwx-caller', 0, 0, 0)\n"
            "for _ in range(25):\n"
            "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "    s.close()\n"
            "for _ in range(3):\n"
            "    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
            "    try: s.connect(('127.0.0.1', 1))\n"
            "    except ConnectionRefusedError: pass\n"
            "    s.close()\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
        time.sleep(2)  # a few intervals
        text = get(url).decode()
        lines = [x for x in text.splitlines() if x.startswith("netwatch_socket_calls_total{")]
        calls = {x.split("{", 1)[1].rsplit("}", 1)[0]: float(x.split()[-1]) for x in lines}
        assert calls['call="socket",comm="nwx-caller",result="ok"'] == 28
        assert calls['call="connect",comm="nwx-caller",result="ECONNREFUSED"'] == 3
        assert all('comm="nwx-caller"' in labels for labels in calls), calls
        histogram = "netwatch_socket_call_duration_seconds_count"
        assert f'{histogram}{{call="socket",comm="nwx-caller",result="ok"}} 28.0' in text
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
