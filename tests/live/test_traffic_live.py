"""Live Traffic probe: real traffic between two network namespaces, checked against the devices.

Tolerance: 5% of the bytes each veth's own counters say crossed the link (issue #2). The few
packets that are not the transfer (ARP, TCP handshake) fall inside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.tabs.traffic.model import Counters, TrafficRow
from netwatch.tabs.traffic.probe import HOT_SLOTS, TrafficProbe
from tests.netns import Host, Link, veth_pair

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("live_bpf")]

GEN = str(Path(__file__).resolve().parents[1] / "traffic_gen.py")
TOLERANCE = 0.05
ACK_TOLERANCE = 0.02  # issue #13: received packets left unattributed


@pytest.fixture
def link() -> Iterator[Link]:
    with veth_pair() as pair:
        yield pair


@pytest.fixture(params=["btf", "raw"])
def probe(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TrafficProbe]:
    """Both builds of traffic.bpf.c: BTF tracepoints (what our kernels run) and the classic raw
    tracepoints netwatch falls back to where tracing programs are refused."""
    if request.param == "raw":
        monkeypatch.setenv("NETWATCH_RAW_TRACEPOINTS", "1")
    p = TrafficProbe(interval=1.0)
    p.open()
    try:
        if request.param == "btf":
            # The mode ends the status detail, after what this kernel lacks (6.1: two notes).
            assert p.attach_mode == p.health().detail.split("; ")[-1] == "BTF tracepoints"
        else:
            assert (
                p.attach_mode
                == p.health().detail
                == ("raw tracepoints (NETWATCH_RAW_TRACEPOINTS is set)")
            )
        yield p
    finally:
        p.close()


def start_receiver(host: Host, mode: str, port: int, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        host.exec_argv(sys.executable, GEN, mode, host.addr, str(port), *extra),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ready = json.loads(proc.stdout.readline())
    assert ready["ready"] == proc.pid  # `ip netns exec` execs: the PID is the receiver's own
    return proc


def finish(proc: subprocess.Popen[str]) -> dict[str, int]:
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    return dict(json.loads(out.strip().splitlines()[-1]))


def rows_by(rows: list[TrafficRow], pid: int, dev: str) -> Counters:
    total = Counters()
    for r in rows:
        if r.key.pid == pid and r.key.dev == dev:
            total = total + r.counts
    return total


def collect(probe: TrafficProbe) -> list[TrafficRow]:
    time.sleep(0.3)  # let the last softirq finish on the other CPU
    sample = probe.read()
    assert sample is not None
    return list(sample.rows)


def within(measured: int, expected: int) -> bool:
    return abs(measured - expected) <= TOLERANCE * expected


def test_udp_sender_and_receiver_each_charged_their_own_bytes(
    link: Link, probe: TrafficProbe
) -> None:
    before_a, before_b = link.a.counters(), link.b.counters()
    receiver = start_receiver(link.b, "udp-recv", 5301)
    sender = subprocess.run(
        link.udp_sender(5301, 3000, size=1200, pace_every=50),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    sent = json.loads(sender.stdout)
    got = finish(receiver)
    rows = collect(probe)
    after_a, after_b = link.a.counters(), link.b.counters()
    wire_tx = after_a["tx_bytes"] - before_a["tx_bytes"]
    wire_rx = after_b["rx_bytes"] - before_b["rx_bytes"]

    tx = rows_by(rows, sent["pid"], link.a.dev)
    rx = rows_by(rows, got["pid"], link.b.dev)
    # Exactly its datagrams, and the ARP request its first one caused on the fresh link (sent
    # in its context, 42 bytes): the first datagram, which waited for the reply, is its own.
    arp = tx.xmit_pk - sent["packets"]
    assert sent["packets"] == 3000 and 0 <= arp <= 2, tx
    assert tx.xmit_bytes == 3000 * (1200 + 42) + 42 * arp, tx
    assert within(tx.xmit_bytes, wire_tx), (tx, wire_tx)
    # Every datagram the receiver read is charged to it, one packet each: exact, not approximate.
    assert rx.recv_pk == got["packets"]
    assert within(rx.recv_bytes, wire_rx), (rx, wire_rx)
    # Wire bytes of a datagram: payload + UDP 8 + IPv4 20 + Ethernet 14.
    assert rx.recv_bytes == got["packets"] * (1200 + 42)
    # The receiver's bytes are not charged to the sender, nor the sender's to the receiver.
    assert rows_by(rows, sent["pid"], link.b.dev) == Counters()
    assert rows_by(rows, got["pid"], link.a.dev).xmit_pk == 0


def test_more_flows_than_hot_slots_on_one_cpu_are_each_counted_exactly(
    link: Link, probe: TrafficProbe
) -> None:
    """Seven senders in turn on CPU 0, with a read after each, then six at once: CPU 0's hot
    slots (HOT_SLOTS of them, also holding the receiver's row) must pass from one sender to the
    next, and every sender and the receiver must still be counted to the packet and the byte."""
    # Resolve the neighbour first: a datagram held for ARP leaves later from softirq, unowned.
    subprocess.run(
        link.a.exec_argv("ping", "-c", "1", "-W", "2", link.b.addr),
        check=True,
        capture_output=True,
        timeout=10,
    )
    receiver = start_receiver(link.b, "udp-recv", 5303, "--idle", "8")
    rows: list[TrafficRow] = []
    sent: list[dict[str, int]] = []
    for i in range(HOT_SLOTS + 3):
        count = 100 + 10 * i
        out = subprocess.run(
            link.udp_sender(5303, count, pace_every=50, cpu=0),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        sent.append(json.loads(out.stdout))
        rows += collect(probe)
    # Then all at once, read every 0.1 s while they send: a slot must never be handed on while
    # it holds packets no read has seen yet.
    running = [
        subprocess.Popen(
            link.udp_sender(5303, 600, pace_every=10, cpu=0),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(HOT_SLOTS + 2)
    ]
    deadline = time.monotonic() + 60
    while any(proc.poll() is None for proc in running) and time.monotonic() < deadline:
        time.sleep(0.1)
        sample = probe.read()
        assert sample is not None
        rows += sample.rows
    for proc in running:
        printed, _ = proc.communicate(timeout=10)
        sent.append(json.loads(printed))
    got = finish(receiver)
    rows += collect(probe)

    for i, s in enumerate(sent):
        tx = rows_by(rows, s["pid"], link.a.dev)
        assert tx.xmit_pk == s["packets"] == (100 + 10 * i if i < HOT_SLOTS + 3 else 600), (i, tx)
        assert tx.xmit_bytes == s["packets"] * (200 + 42), (i, tx)
    rx = rows_by(rows, got["pid"], link.b.dev)
    assert got["packets"] == sum(s["packets"] for s in sent)
    assert rx.recv_pk == got["packets"]
    assert rx.recv_bytes == got["packets"] * (200 + 42)
    # The slots really were handed on: some CPU-0 slot is in its third key or later.
    assert max(slot.gen for (cpu, _), slot in probe.hot_slots.items() if cpu == 0) >= 3


def test_tcp_bulk_sender_and_receiver_each_charged_their_own_bytes(
    link: Link, probe: TrafficProbe
) -> None:
    before_a, before_b = link.a.counters(), link.b.counters()
    receiver = start_receiver(link.b, "tcp-recv", 5302)
    sender = subprocess.run(
        link.a.exec_argv(
            sys.executable,
            GEN,
            "tcp-send",
            link.b.addr,
            "5302",
            "--count",
            "2000",
            "--size",
            "16384",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    sent = json.loads(sender.stdout)
    got = finish(receiver)
    assert got["payload"] == sent["payload"] == 2000 * 16384
    rows = collect(probe)
    after_a, after_b = link.a.counters(), link.b.counters()

    tx = rows_by(rows, sent["pid"], link.a.dev)
    rx = rows_by(rows, got["pid"], link.b.dev)
    # Data flows a -> b; ACKs flow back. Each side's row is compared with its own device.
    assert within(tx.xmit_bytes, after_a["tx_bytes"] - before_a["tx_bytes"]), tx
    assert within(rx.recv_bytes, after_b["rx_bytes"] - before_b["rx_bytes"]), rx
    assert rx.recv_bytes >= sent["payload"]
    # The receiver's ACKs are its own transmit, the sender's ACK receipts its own receive.
    assert within(
        rows_by(rows, got["pid"], link.b.dev).xmit_bytes, after_b["tx_bytes"] - before_b["tx_bytes"]
    )
    assert rows_by(rows, sent["pid"], link.b.dev) == Counters()
    assert rows_by(rows, got["pid"], link.a.dev) == Counters()
    # What each side received is its own, not "[rx-not-delivered]": the sender's ACKs too,
    # though the backlog coalesces them while the sender holds its socket (at most 2% left).
    for host, pid in ((link.a, sent["pid"]), (link.b, got["pid"])):
        before, after = (before_a, after_a) if host is link.a else (before_b, after_b)
        received = after["rx_packets"] - before["rx_packets"]
        unowned = sum(r.counts.recv_pk for r in rows if r.key.pid < 0 and r.key.dev == host.dev)
        assert unowned <= ACK_TOLERANCE * received, (host.dev, unowned, received)
        mine = rows_by(rows, pid, host.dev)
        assert abs(mine.recv_pk - received) <= ACK_TOLERANCE * received, (host.dev, mine)


def test_unattributed_traffic_is_its_own_row_never_a_random_pid(
    link: Link, probe: TrafficProbe
) -> None:
    # Pings are answered by the kernel: no process owns the echo replies.
    subprocess.run(
        link.a.exec_argv("ping", "-c", "5", "-i", "0.05", "-q", link.b.addr),
        check=True,
        capture_output=True,
        timeout=30,
    )
    rows = collect(probe)
    on_b = [r for r in rows if r.key.dev == link.b.dev]
    assert on_b, "the replies crossed the link"
    assert all(not r.key.attributed for r in on_b), on_b
    reasons = {r.key.reason for r in on_b}
    assert reasons == {"tx-no-owner", "rx-not-delivered"}
    assert sum(r.counts.recv_pk for r in on_b) >= 5
    assert sum(r.counts.xmit_pk for r in on_b) >= 5


def test_datagrams_that_waited_for_the_next_hops_address_are_the_senders(
    link: Link, probe: TrafficProbe
) -> None:
    """A fresh link has no neighbour entry: the first datagram waits for the ARP reply and
    leaves from its softirq, before the socket was seen in its process. It is parked and
    claimed when the process sends again, not left as [tx-no-owner] (the VM's 2999 of 3000)."""
    code = (
        "import os, socket, time\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        f"for _ in range(3):\n    s.sendto(b'x' * 100, ('{link.b.addr}', 9)); time.sleep(0.2)\n"
        "print(os.getpid())\n"
    )
    out = subprocess.run(link.a.python(code), capture_output=True, text=True, check=True,
                         timeout=30).stdout  # fmt: skip
    rows = collect(probe)
    mine = rows_by(rows, int(out), link.a.dev)
    arp = mine.xmit_pk - 3  # the ARP requests it caused are sent in its context, 42 bytes each
    assert arp >= 1 and mine.xmit_bytes == 3 * (100 + 42) + 42 * arp, mine
    assert not [r for r in rows if r.key.reason == "tx-no-owner" and r.key.dev == link.a.dev]
