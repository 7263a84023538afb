"""Live Connections probe against the kernel's own ground truth, in namespaces the tests make:
failed connects and resets counted exactly, retransmits against the namespace's RetransSegs,
RTT against `ss -tin`, the receive-window-limited share against `ss -ti`'s."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from netwatch.host.netns import named_namespaces
from netwatch.tabs.conns.model import ConnRow
from netwatch.tabs.conns.probe import ConnsProbe
from tests.helpers.cgroups import cgroup_dirs, in_cgroup
from tests.helpers.paths import GEN, ROOT
from tests.netns import Host, Link, veth_pair

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("live_bpf")]
TCP_GEN = str(ROOT / "tests" / "tcp_gen.py")


@pytest.fixture
def link() -> Iterator[Link]:
    with veth_pair("c") as pair:
        yield pair


@pytest.fixture(params=["btf", "raw"])
def probe(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnsProbe]:
    """Both builds of conns.bpf.c: BTF tracepoints (what our kernels run) and the raw
    tracepoints netwatch falls back to where tracing programs are refused."""
    if request.param == "raw":
        monkeypatch.setenv("NETWATCH_RAW_TRACEPOINTS", "1")
    p = ConnsProbe(interval=0.5)
    p.open()
    want = "BTF tracepoints" if request.param == "btf" else "raw tracepoints (NETWATCH_RAW"
    assert p.attach_mode.startswith(want)
    assert p.health().detail.endswith(p.attach_mode)
    p.read()  # what was open before the test
    try:
        yield p
    finally:
        p.close()


class Seen:
    """Every row the probe gave while a scenario ran, by connection, in order; and a hook run
    right after each read (to ask `ss` about the same moment)."""

    def __init__(self) -> None:
        self.rows: dict[int, list[ConnRow]] = {}
        self.before_read: Callable[[], None] | None = None
        self.after_read: Callable[[list[ConnRow]], None] | None = None

    def ended(self, **match: object) -> list[ConnRow]:
        return [rows[-1] for rows in self.rows.values()
                if rows[-1].end is not None and _matches(rows[-1], match)]  # fmt: skip

    def of(self, **match: object) -> list[list[ConnRow]]:
        return [rows for rows in self.rows.values() if _matches(rows[-1], match)]


def _matches(row: ConnRow, match: dict[str, object]) -> bool:
    return all(getattr(row, k) == v for k, v in match.items())


@contextmanager
def watching(probe: ConnsProbe, period: float = 0.5) -> Iterator[Seen]:
    seen = Seen()
    stop = threading.Event()

    def read_once() -> None:
        if seen.before_read is not None:
            seen.before_read()
        sample = probe.read()
        assert sample is not None
        assert sample.lost == 0
        for row in sample.rows:
            seen.rows.setdefault(row.cid, []).append(row)
        if seen.after_read is not None:
            seen.after_read(list(sample.rows))

    def loop() -> None:
        while not stop.wait(period):
            read_once()

    reader = threading.Thread(target=loop, daemon=True)
    reader.start()
    try:
        yield seen
    finally:
        stop.set()
        reader.join()
    time.sleep(0.2)  # ended connections are held 50 ms for a reset that follows
    read_once()


def netns_inode(host: Host) -> int:
    return next(inode for inode, name in named_namespaces().items() if name == host.ns)


def gen(host: Host, *words: str) -> subprocess.Popen[str]:
    return subprocess.Popen(host.exec_argv(sys.executable, TCP_GEN, *words),
                            stdout=subprocess.PIPE, text=True)  # fmt: skip


def ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline())["ready"] == proc.pid


def result(proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, object]:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    done: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return done


def receiver(host: Host, port: int) -> subprocess.Popen[str]:
    """traffic_gen's tcp-recv: reads one connection to its end, as fast as it can."""
    argv = [sys.executable, GEN, "tcp-recv", host.addr, str(port), "--max-seconds", "30"]
    return subprocess.Popen(host.exec_argv(*argv), stdout=subprocess.PIPE, text=True)


def nft(host: Host, table: str, *rules: str, sets: tuple[str, ...] = ()) -> None:
    """A table of `host`'s own with `sets` declared and `rules` on its input, in that order."""
    text = (
        f"add table inet {table}\n"
        + "".join(f"add set inet {table} {s}\n" for s in sets)
        + f"add chain inet {table} input {{ type filter hook input priority 0 ; }}\n"
        + "".join(f"add rule inet {table} input {rule}\n" for rule in rules)
    )
    subprocess.run(host.exec_argv("nft", "-f", "-"), input=text, text=True, check=True)


def retrans_segs(host: Host) -> int:
    """The namespace's TcpRetransSegs (what nstat reports), from its /proc/net/snmp."""
    snmp = subprocess.run(host.exec_argv("cat", "/proc/net/snmp"), capture_output=True,
                          text=True, check=True).stdout.splitlines()  # fmt: skip
    names, values = (line.split() for line in snmp if line.startswith("Tcp:"))
    return int(values[names.index("RetransSegs")])


# ---- failed connects ------------------------------------------------------------------------
def test_connects_to_a_closed_port_are_each_one_row_ending_refused(
    probe: ConnsProbe, link: Link
) -> None:
    n = 40
    with cgroup_dirs("netwatch-test-refused") as (cgroup,), watching(probe) as seen:
        client = subprocess.Popen(
            in_cgroup(cgroup, link.a.exec_argv(sys.executable, TCP_GEN, "connect-fail",
                                               link.b.addr, "7101", "--count", str(n))),
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        done = result(client)
    assert done["outcomes"] == {"refused": n}
    rows = seen.ended(rport=7101, raddr=link.b.addr)
    assert len(rows) == n
    assert {r.end for r in rows} == {"refused"}
    # Who it was, as both builds learn it (helper calls, or loads through the typed task).
    assert {(r.pid, r.comm, r.uid, r.cgroup) for r in rows} == {
        (client.pid, Path(sys.executable).name[:15], os.getuid(), "/netwatch-test-refused")
    }
    assert {r.side for r in rows} == {"out"}
    assert {r.netns for r in rows} == {netns_inode(link.a)}
    ports = done["ports"]
    assert isinstance(ports, list)
    assert sorted(r.lport for r in rows) == sorted(ports)
    assert all(r.resets_received == 1 for r in rows)
    # Its span, from SYN_SENT to CLOSE, lies inside the connect as the client timed it.
    assert_ended_within_the_connect(rows, done)


def assert_ended_within_the_connect(rows: list[ConnRow], done: dict[str, object]) -> None:
    ports, took = done["ports"], done["took"]
    assert isinstance(ports, list) and isinstance(took, list)
    took_by_port = dict(zip(ports, took, strict=True))
    for r in rows:
        assert r.since is not None and r.ended_at is not None
        # Both are wall times of float seconds (about 0.2 us apart at today's epoch).
        assert -1e-6 <= r.ended_at - r.since <= took_by_port[r.lport] + 1e-6, (r, took_by_port)


def test_a_connect_refused_by_an_icmp_error_is_refused_without_a_reset(
    probe: ConnsProbe, link: Link
) -> None:
    """A firewall's `reject` answers a SYN with an ICMP port-unreachable, not a reset. Each
    connect's first SYN is dropped here, so the ICMP answers the one the kernel's timer sends
    a second later, and the kernel closes the sock with ECONNREFUSED. (Answered at once, while
    connect() still holds the sock, the kernel keeps the error only where the process's
    SO_ERROR read clears it, and the row ends `aborted`: docs/benchmarks.md, run 22.)"""
    n = 3
    seen_before = "seen { type ipv4_addr . inet_service ; flags timeout ; timeout 60s ; }"
    nft(link.b, "nwticmp",
        "tcp dport 7104 ip saddr . tcp sport @seen reject with icmpx type port-unreachable",
        "tcp dport 7104 add @seen { ip saddr . tcp sport } drop", sets=(seen_before,))  # fmt: skip
    with watching(probe) as seen:
        client = gen(link.a, "connect-fail", link.b.addr, "7104", "--count", str(n))
        done = result(client)
    assert done["outcomes"] == {"refused": n}
    rows = seen.ended(rport=7104, raddr=link.b.addr)
    assert len(rows) == n
    assert {r.end for r in rows} == {"refused"}
    assert {r.pid for r in rows} == {client.pid}
    assert all(r.resets_received == 0 for r in rows)  # refused, but not by a reset
    assert_ended_within_the_connect(rows, done)
    # Ended when the ICMP came, after the retransmitted SYN, not when the first SYN left.
    assert all(r.since is not None and r.ended_at is not None and r.ended_at - r.since > 0.5
               for r in rows)  # fmt: skip


def test_connects_whose_syns_are_dropped_end_timeout_or_aborted(
    probe: ConnsProbe, link: Link
) -> None:
    subprocess.run(link.a.exec_argv("sysctl", "-qw", "net.ipv4.tcp_syn_retries=1"), check=True)
    nft(link.b, "nwtsyn", "tcp dport { 7102, 7103 } drop")
    with watching(probe) as seen:
        waited = gen(link.a, "connect-fail", link.b.addr, "7102", "--count", "2")
        gave_up = gen(link.a, "connect-fail", link.b.addr, "7103", "--count", "3",
                      "--give-up", "0.3")  # fmt: skip
        assert result(waited)["outcomes"] == {"timeout": 2}
        assert result(gave_up)["outcomes"] == {"given_up": 3}
    timed_out = seen.ended(rport=7102)
    assert [r.end for r in timed_out] == ["timeout", "timeout"]
    assert {r.pid for r in timed_out} == {waited.pid}
    for r in timed_out:  # SYN, one retry a second later, given up two seconds after that
        assert r.since is not None and r.ended_at is not None
        assert 2.5 < r.ended_at - r.since < 4.5
    aborted = seen.ended(rport=7103)
    assert [r.end for r in aborted] == ["aborted"] * 3
    assert {r.pid for r in aborted} == {gave_up.pid}


# ---- resets -----------------------------------------------------------------------------------
def test_an_abortive_close_is_reset_sent_on_one_side_and_reset_received_on_the_other(
    probe: ConnsProbe, link: Link
) -> None:
    n = 25
    with watching(probe) as seen:
        server = gen(link.b, "reset-server", link.b.addr, "7104", "--count", str(n))
        ready(server)
        client = gen(link.a, "reset-client", link.b.addr, "7104", "--count", str(n))
        assert result(client)["resets"] == n
        assert result(server)["reset"] == n
    sent = seen.ended(lport=7104, netns=netns_inode(link.b))
    received = seen.ended(rport=7104, netns=netns_inode(link.a))
    assert len(sent) == n and {r.end for r in sent} == {"reset_sent"}, [
        (r.cid, r.side, r.state, r.end, r.pid, r.rport) for r in sent
    ]
    assert {r.pid for r in sent} == {server.pid} and {r.side for r in sent} == {"in"}
    assert all(r.resets_sent == 1 for r in sent)
    assert len(received) == n and {r.end for r in received} == {"reset_received"}
    assert {r.pid for r in received} == {client.pid}
    assert all(r.resets_received == 1 and r.connect_ms is not None for r in received)
    # The server's rows know when each was accepted: SYN received to accept().
    assert all(r.connect_ms is not None and 0 <= r.connect_ms < 1000 for r in sent)


# ---- retransmits, RTT, limited-by -----------------------------------------------------------
def test_retransmits_of_a_lossy_stream_are_the_namespaces_retrans_segs(
    probe: ConnsProbe, link: Link
) -> None:
    nft(link.b, "nwtloss", "tcp dport 7105 numgen random mod 100 < 2 drop")
    before = retrans_segs(link.a)
    with watching(probe) as seen:
        server = receiver(link.b, 7105)
        ready(server)
        sender = gen(link.a, "bulk-send", link.b.addr, "7105", "--seconds", "3")
        sent = result(sender)
        result(server)
    kernel = retrans_segs(link.a) - before
    (rows,) = seen.of(rport=7105, netns=netns_inode(link.a))
    assert rows[-1].end == "closed" and rows[-1].pid == sender.pid
    counted = sum(r.retrans or 0 for r in rows)
    assert kernel > 100, "the nft rule made too little loss to measure"
    assert abs(counted - kernel) <= 0.02 * kernel, (counted, kernel)
    assert rows[-1].retrans_total == counted
    assert rows[-1].xmit_total is not None and rows[-1].xmit_total >= sent["payload"]  # type: ignore[operator]


SS_RTT = re.compile(r"\brtt:([\d.]+)/")
SS_LIMITED = re.compile(r"\bbusy:(\d+)ms\b.*?\brwnd_limited:(\d+)ms\(([\d.]+)%\)")


def ss_line(host: Host, dport: int) -> str:
    out = subprocess.run(host.exec_argv("ss", "-tinH", "dport", f"= :{dport}"),
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return " ".join(out.split())


# Asks `ss -tin` for one connection (dport argv[1]) again and again, for at most 60 s, printing
# each answer's rtt (SS_RTT, argv[2]) with the times it was asked and answered (time.time():
# this process is not the test's).
SS_LOOP = """
import re, subprocess, sys, time
argv = ["ss", "-tinH", "dport", "= :" + sys.argv[1]]
end = time.time() + 60
while time.time() < end:
    asked = time.time()
    out = subprocess.run(argv, capture_output=True, text=True).stdout
    if found := re.search(sys.argv[2], out):
        print(asked, time.time(), found.group(1), flush=True)
    time.sleep(0.05)
"""


class SsSampler:
    """`ss -tin` for one connection, asked again and again in a process of its own (a thread of
    the test's would wait for the GIL while the probe's read decodes, and so never ask during a
    read), until stopped, and at once by `ask`: each answer with when it was asked and when it
    came."""

    def __init__(self, host: Host, dport: int) -> None:
        self.samples: list[tuple[float, float, float]] = []  # (asked, answered, rtt ms)
        self._host, self._dport = host, dport
        self._argv = [*host.python(SS_LOOP), str(dport), SS_RTT.pattern]
        self._proc: subprocess.Popen[str] | None = None
        self._out = tempfile.TemporaryFile("w+")  # not a pipe: nothing waits for it to be read

    def __enter__(self) -> SsSampler:
        self._proc = subprocess.Popen(self._argv, stdout=self._out, text=True)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        self._proc.terminate()
        self._proc.wait(30)
        self._out.seek(0)
        for line in self._out.read().splitlines():
            asked, answered, rtt = line.split()
            self.samples.append((float(asked), float(answered), float(rtt)))
        self._out.close()

    def ask(self) -> None:
        asked = time.time()
        if match := SS_RTT.search(ss_line(self._host, self._dport)):
            self.samples.append((asked, time.time(), float(match.group(1))))

    def between(self, start: float, end: float) -> list[float]:
        """The rtts of the dumps that may have happened between `start` and `end`."""
        return [rtt for asked, answered, rtt in self.samples if answered >= start and asked <= end]


def test_srtt_agrees_with_ss_under_a_queue_made_by_tbf(probe: ConnsProbe, link: Link) -> None:
    """Each read's srtt against `ss -tin`'s rtt for the same connection sampled in the same
    interval (the issue's words): ss runs again and again beside the reads, and once right
    before and right after each, and a read's srtt must lie within 25% of the range ss saw from
    the end of the read before to the end of this one. A queue that CUBIC fills and drains
    swings the RTT by a third within a second, and under the 6.1 VM's emulation one ss takes
    most of a second: a bracket of one ss on either side of the read missed the swing (ours
    21.9 ms, ss 17.1 before and 13.9 after). Fails with srtt made 50% too high every time, and
    30% too high in 4 runs of 6: the window is as wide as the RTT's swing in one interval."""
    subprocess.run(link.a.exec_argv("tc", "qdisc", "add", "dev", link.a.dev, "root", "tbf",
                                    "rate", "20mbit", "burst", "32kbit", "latency", "60ms"),
                   check=True)  # fmt: skip
    reads: list[tuple[float, float, float]] = []  # (read began, read ended, our srtt), wall
    began: list[float] = []
    # Besides the loop, one ss right before and right after each read: the reads load the 6.1
    # VM's two emulated CPUs, which delays ACKs and lifts the RTT while a read runs, and a
    # sample from the loop alone may miss that.
    ss = SsSampler(link.a, 7106)

    def mark() -> None:
        began[:] = [time.time()]
        ss.ask()

    def keep(rows: list[ConnRow]) -> None:
        ours = [r for r in rows if r.rport == 7106 and r.end is None and r.srtt_ms]
        ss.ask()
        if ours and began:  # ended once the ss after it has answered
            reads.append((began[0], time.time(), ours[0].srtt_ms or 0.0))

    with ss, watching(probe, period=0.5) as seen:
        seen.before_read = mark
        seen.after_read = keep
        server = receiver(link.b, 7106)
        ready(server)
        # CUBIC fills the queue (BBR, this machine's default, keeps it nearly empty). 12 s:
        # under the 6.1 VM's emulation a read takes near a second, and an ss as long.
        result(gen(link.a, "bulk-send", link.b.addr, "7106", "--seconds", "12", "--cc", "cubic"))
        result(server)
    compared = []
    for (_, previous_ended, _), (_, end, ours) in itertools.pairwise(reads):
        theirs = ss.between(previous_ended, end)
        if theirs:
            compared.append((min(theirs), ours, max(theirs)))
    assert len(compared) >= 3, (reads, ss.samples)
    queued = [c for c in compared if c[0] > 5.0]  # the queue built up
    assert len(queued) >= 3, compared
    # One read in five may fall outside; none by more than half.
    outside = [(low, ours, high) for low, ours, high in queued
               if not 0.75 * low <= ours <= 1.25 * high]  # fmt: skip
    assert len(outside) <= len(queued) // 5, (outside, queued)
    far = [(low, ours, high) for low, ours, high in queued
           if not 0.5 * low <= ours <= 1.5 * high]  # fmt: skip
    assert not far, far


def test_a_slow_reader_makes_the_sender_receive_window_limited(
    probe: ConnsProbe, link: Link
) -> None:
    last_ss: list[str] = []

    def remember(rows: list[ConnRow]) -> None:
        line = ss_line(link.a, 7107)
        if "rwnd_limited" in line:
            last_ss[:] = [line]

    with watching(probe) as seen:
        seen.after_read = remember
        server = gen(link.b, "slow-recv", link.b.addr, "7107", "--read-size", "2048",
                     "--pause", "0.01", "--max-seconds", "30")  # fmt: skip
        ready(server)
        sender = gen(link.a, "bulk-send", link.b.addr, "7107", "--seconds", "4")
        result(sender, timeout=90)
        result(server, timeout=90)
    (rows,) = seen.of(rport=7107, netns=netns_inode(link.a))
    live = [r for r in rows if r.end is None and r.busy_ms]
    busy = sum(r.busy_ms or 0 for r in live)
    rwnd = sum(r.rwnd_limited_ms or 0 for r in live)
    assert busy > 1000
    assert rwnd / busy > 0.5, (rwnd, busy)
    match = SS_LIMITED.search(last_ss[0])
    assert match is not None, last_ss
    ss_share = float(match.group(3))
    assert abs(100 * rwnd / busy - ss_share) <= 10, (rwnd, busy, last_ss)
    assert sum(1 for r in live if r.limit(0.5) == "rwnd") >= len(live) // 2
