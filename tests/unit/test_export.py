"""`netwatch export` without root (issue #15): each tab's samples become the documented metrics
with the documented labels, hostile names stay inside their label values, the exposition is
what promtool accepts, the default address is loopback only, and bad options are one line."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from netwatch.cli.main import main
from netwatch.export.args import DEFAULT_PORT, export_parser
from netwatch.export.exposition import Published, exposition, registry_for
from netwatch.export.spec import CALL_BUCKETS, ExportOptions
from netwatch.export.state import ExportState
from netwatch.model.containers import ProcContext
from netwatch.recording.file import open_recording
from netwatch.sources.base import Health
from netwatch.tabs import BY_NAME, codecs
from netwatch.tabs.accepts.model import AcceptEvent, AcceptsSample
from netwatch.tabs.calls.metrics import result_of
from netwatch.tabs.calls.model import ENTER, EXIT, FOLDED, CallEvent, CallsSample
from netwatch.tabs.drops.model import DropKey, DropRow, DropsSample
from netwatch.tabs.traffic.model import (
    REASON_TX_NO_OWNER,
    UNATTRIBUTED_PID,
    Counters,
    TrafficKey,
    TrafficRow,
    TrafficSample,
    TrafficState,
)
from tests.helpers.net import free_port
from tests.helpers.paths import CALLS_DEMO, DEMO, NETWATCH

DOCKER = "system.slice/docker-" + "ab12" * 16 + ".scope"


def state_for(*tabs: str, max_series: int = 500, pid_label: bool = False) -> ExportState:
    options = ExportOptions(pid_label=pid_label)
    return ExportState({t: BY_NAME[t].metrics(options) for t in tabs}, max_series)


def text_of(state: ExportState) -> str:
    return exposition(registry_for(Published(state.snapshot()))).decode()


def value(text: str, name: str, **labels: str) -> float:
    """The one sample of `name` whose labels include `labels`."""
    found = []
    for line in text.splitlines():
        m = re.fullmatch(r"([a-z_]+)\{(.*)\} (\S+)", line)
        if m and m[1] == name:
            have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m[2]))
            if all(have.get(k) == v for k, v in labels.items()):
                found.append(float(m[3]))
    assert len(found) == 1, (name, labels, found)
    return found[0]


def traffic(rows: list[TrafficRow], ts: float = 1.0, **context: ProcContext) -> TrafficSample:
    return TrafficSample(ts, 1.0, tuple(rows), 0, {int(k[1:]): v for k, v in context.items()})


def row(pid: int, comm: str, dev: str, counts: Counters, uid: int = 0) -> TrafficRow:
    return TrafficRow(TrafficKey(pid, uid, dev, comm), counts)


def test_process_counters_add_up_over_intervals_and_outlive_the_process() -> None:
    state = state_for("traffic")
    nginx = Counters(xmit_pk=3, recv_pk=2, xmit_bytes=3000, recv_bytes=120)
    state.count("traffic", traffic([row(10, "nginx", "eth0", nginx)], p10=ProcContext(DOCKER, 7)))
    state.end_interval(1)
    # A second worker of the same program, then the first one gone: one series, growing.
    state.count("traffic", traffic([row(11, "nginx", "eth0", nginx)], p11=ProcContext(DOCKER, 7)))
    state.end_interval(1)
    state.count("traffic", traffic([]))
    state.end_interval(1)
    text = text_of(state)
    labels = {"comm": "nginx", "user": "root", "device": "eth0", "container": "ab12ab12ab12"}
    assert value(text, "netwatch_process_transmit_bytes_total", **labels) == 6000
    assert value(text, "netwatch_process_receive_bytes_total", **labels) == 240
    assert value(text, "netwatch_process_transmit_packets_total", **labels) == 6
    assert value(text, "netwatch_process_receive_packets_total", **labels) == 4
    assert "pid=" not in text


def test_unattributed_traffic_has_its_reason_as_comm_and_pid_is_opt_in() -> None:
    state = state_for("traffic", pid_label=True)
    unowned = TrafficRow(
        TrafficKey(UNATTRIBUTED_PID, UNATTRIBUTED_PID, "eth0", "[unattributed]",
                   REASON_TX_NO_OWNER),
        Counters(xmit_pk=1, xmit_bytes=60),
    )  # fmt: skip
    state.count("traffic", traffic([unowned, row(42, "curl", "eth0", Counters(1, 0, 90, 0))]))
    state.end_interval(1)
    text = text_of(state)
    assert value(text, "netwatch_process_transmit_bytes_total", comm="[tx-no-owner]") == 60
    assert value(text, "netwatch_process_transmit_bytes_total", comm="curl", pid="42") == 90


def test_hostile_names_stay_inside_their_label_values() -> None:
    state = state_for("traffic")
    evil = 'x"} 1\nnetwatch_fake 9\x1b[2J'
    state.count("traffic", traffic([row(5, evil, "eth0", Counters(1, 0, 10, 0))]))
    state.end_interval(1)
    text = text_of(state)
    assert "\x1b" not in text
    assert not any(line.startswith("netwatch_fake") for line in text.splitlines())
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: ./setup.sh test installs Debian's prometheus")
    checked = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                             capture_output=True)  # fmt: skip
    assert checked.returncode == 0, checked


def test_drops_count_per_reason_function_and_protocol() -> None:
    state = state_for("drops")
    key = DropKey(0xFFFF1234, "NETFILTER_DROP", 0x0800)
    drop = DropRow(key, "nf_hook_slow+0x9c", 7)
    state.count("drops", DropsSample(1.0, 1.0, (drop, drop)))
    state.end_interval(1)
    text = text_of(state)
    labels = {"reason": "NETFILTER_DROP", "function": "nf_hook_slow", "protocol": "ipv4"}
    assert value(text, "netwatch_drops_total", **labels) == 14


def test_accepts_count_per_command_user_port_family_and_container() -> None:
    state = state_for("accepts")
    e = AcceptEvent(1.0, 9, 9, 0, "sshd", "ipv6", "::1", 22, "::1", 5000, DOCKER, 4)
    state.count("accepts", AcceptsSample(1.0, 1.0, (e, e, e)))
    state.end_interval(1)
    text = text_of(state)
    labels = {"comm": "sshd", "user": "root", "port": "22", "family": "ipv6",
              "container": "ab12ab12ab12"}  # fmt: skip
    assert value(text, "netwatch_tcp_accepts_total", **labels) == 3


def test_calls_count_returns_per_result_with_their_durations_in_a_histogram() -> None:
    state = state_for("calls")

    def call(kind: str, ret: int, dur_us: float) -> CallEvent:
        return CallEvent(1.0, 3, 3, "web", kind, "sendto", ret=ret, dur_us=dur_us)

    events = (call(ENTER, 0, 0), call(EXIT, 100, 3), call(FOLDED, 100, 30), call(EXIT, -11, 2000))
    state.count("calls", CallsSample(1.0, 1.0, events))
    state.end_interval(1)
    text = text_of(state)
    ok = {"comm": "web", "call": "sendto", "result": "ok"}
    assert value(text, "netwatch_socket_calls_total", **ok) == 2
    assert value(text, "netwatch_socket_calls_total", **ok | {"result": "EAGAIN"}) == 1
    name = "netwatch_socket_call_duration_seconds"
    assert value(text, f"{name}_count", **ok) == 2
    assert value(text, f"{name}_sum", **ok) == pytest.approx(33e-6)
    assert value(text, f"{name}_bucket", **ok, le="4e-06") == 1
    assert value(text, f"{name}_bucket", **ok, le="6.4e-05") == 2
    assert value(text, f"{name}_bucket", **ok, le="+Inf") == 2
    assert len(CALL_BUCKETS) == 12
    assert [result_of(r) for r in (0, 5, -104, -4096, -9999)] == [
        "ok", "ok", "ECONNRESET", "ok", "ok"]  # fmt: skip


def test_probe_health_lost_events_and_mechanism_are_exported() -> None:
    options = ExportOptions()
    state = ExportState(
        {t: BY_NAME[t].metrics(options) for t in ("traffic", "drops")},
        10,
        down={"drops": "lacks skb:kfree_skb"},
    )
    state.set_health("traffic", Health("attached", "BTF tracepoints"))
    state.count("traffic", TrafficSample(1.0, 1.0, (), lost=4))
    state.end_interval(1)
    text = text_of(state)
    assert value(text, "netwatch_probe_up", probe="traffic") == 1
    assert value(text, "netwatch_probe_up", probe="drops") == 0
    assert value(text, "netwatch_probe_lost_events_total", probe="traffic") == 4
    assert value(text, "netwatch_build_info", probe="traffic", mechanism="BTF tracepoints") == 1
    assert value(text, "netwatch_build_info", probe="drops", mechanism="lacks skb:kfree_skb") == 1


def test_a_scrape_reads_the_published_interval_not_the_one_being_counted() -> None:
    state = state_for("drops")
    drop = DropRow(DropKey(1, "NO_SOCKET", 0x0800), "__udp4_lib_rcv+0x10", 5)
    state.count("drops", DropsSample(1.0, 1.0, (drop,)))
    state.end_interval(1)
    published = Published(state.snapshot())
    registry = registry_for(published)
    state.count("drops", DropsSample(2.0, 1.0, (drop,)))  # counted, not yet published
    first = exposition(registry).decode()
    assert value(first, "netwatch_drops_total", reason="NO_SOCKET") == 5
    state.end_interval(1)
    published.current = state.snapshot()
    second = exposition(registry).decode()
    assert value(second, "netwatch_drops_total", reason="NO_SOCKET") == 10


def test_the_fold_keeps_the_metric_under_its_bound_with_exact_totals() -> None:
    state = state_for("traffic", max_series=3)
    for i in range(10):
        state.count("traffic", traffic([row(i, f"job{i}", "eth0", Counters(1, 0, 100 + i, 0))]))
        state.end_interval(1)
    text = text_of(state)
    lines = [x for x in text.splitlines() if x.startswith("netwatch_process_transmit_bytes_total")]
    assert len(lines) == 3
    assert sum(float(x.split()[-1]) for x in lines) == sum(100 + i for i in range(10))
    other = {"comm": "[other]", "user": "[other]", "device": "[other]", "container": "[other]"}
    assert value(text, "netwatch_process_transmit_bytes_total", **other) > 0
    assert value(text, "netwatch_series_folded_total", table="process") == 8


def test_the_default_address_is_loopback_on_a_port_outside_the_exporters_range() -> None:
    args = export_parser().parse_args([])
    assert args.listen == ("127.0.0.1", DEFAULT_PORT)
    assert not 9100 <= DEFAULT_PORT <= 9999
    # Every tab but Calls, which the registry marks as exported only on request (it costs most).
    assert sorted(args.tabs) == ["accepts", "conns", "drops", "traffic"]
    assert export_parser().parse_args(["--listen", "[::1]:9"]).listen == ("::1", 9)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--listen", "localhost"], "is not HOST:PORT"),
        (["--listen", "::1:80"], "[ADDR]:PORT"),
        (["--listen", "127.0.0.1:70000"], "a TCP port"),
        (["--tabs", "traffic,nope"], "is not a list of tabs"),
        (["--textfile", "/tmp/x.txt"], "does not end in .prom"),
        (["--max-series", "0"], "from 1 to"),
        (["--listen", "127.0.0.1:1", "--textfile", "/tmp/x.prom"], "not allowed with"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", *argv]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_unwritable_textfile_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing-dir" / "netwatch.prom"
    code = main(["export", "--replay", str(DEMO), "--textfile", str(target), "--interval", "0.05"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"cannot write {target}" in err and "Traceback" not in err


def test_a_replay_to_a_textfile_is_written_whole_and_promtool_clean(tmp_path: Path) -> None:
    target = tmp_path / "netwatch.prom"
    argv = ["export", "--replay", str(DEMO), "--textfile", str(target), "--interval", "0.05"]
    assert main(argv) == 0
    text = target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["netwatch.prom"]  # no temporary left
    # The exporter counts what the Traffic tab counts: every (command, device) series equals
    # the tab's own totals since start over the same recording.
    tab = TrafficState()
    for sample in open_recording(DEMO, codecs()).samples("traffic"):
        tab.apply(sample)
    expected: dict[tuple[str, str], list[int]] = {}
    for key, counts in tab.totals.items():
        comm = key.comm if key.attributed else f"[{key.reason}]"
        sums = expected.setdefault((comm, key.dev), [0, 0, 0, 0])
        for i, n in enumerate(
            (counts.xmit_bytes, counts.recv_bytes, counts.xmit_pk, counts.recv_pk)
        ):
            sums[i] += n
    assert len(expected) > 10
    names = ("transmit_bytes", "receive_bytes", "transmit_packets", "receive_packets")
    for (comm, dev), sums in expected.items():
        for name, n in zip(names, sums, strict=True):
            got = value(text, f"netwatch_process_{name}_total", comm=comm, device=dev)
            assert got == n, (comm, dev, name)
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: ./setup.sh test installs Debian's prometheus")
    checked = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                             capture_output=True)  # fmt: skip
    assert checked.returncode == 0 and checked.stdout == b"", checked


def test_a_served_replay_listens_on_loopback_only_and_stops_on_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [NETWATCH, "export", "--replay", str(CALLS_DEMO), "--tabs", "calls",
         "--listen", f"127.0.0.1:{port}", "--interval", "0.5"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        body = b""
        while not body:
            assert time.monotonic() < deadline and proc.poll() is None
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    body = r.read()
            except OSError:
                time.sleep(0.1)
        assert b"netwatch_probe_up" in body
        listening = [
            c.laddr
            for c in psutil.Process(proc.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert [(a.ip, a.port) for a in listening] == [("127.0.0.1", port)]
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0 and "Traceback" not in err
    finally:
        proc.kill()
        proc.wait()


def test_a_taken_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["export", "--replay", str(DEMO), "--listen", f"127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 1 and f"cannot listen on 127.0.0.1:{port}" in err
    assert err.count("\n") == 1
