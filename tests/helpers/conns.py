"""A Connections row for tests, every field set to something plausible unless told."""

from __future__ import annotations

from typing import Any

from netwatch.tabs.conns.model import ConnRow

NS = 4026532001


def row(**kw: Any) -> ConnRow:
    base: dict[str, Any] = dict(
        cid=1, netns=NS, family="ipv4", laddr="10.0.0.1", lport=40000, raddr="10.0.0.2",
        rport=80, pid=42, uid=0, comm="curl", cgroup="", started=0.0, side="out",
        state="ESTABLISHED", since=100.0, xmit_bytes=10, recv_bytes=20, retrans=0, segs_out=10,
        resets_sent=0, resets_received=0, busy_ms=800.0, rwnd_limited_ms=600.0,
        sndbuf_limited_ms=0.0, srtt_ms=1.0, rttvar_ms=0.5, min_rtt_ms=0.2, retrans_total=0,
        xmit_total=10, recv_total=20, connect_ms=0.3, end=None, ended_at=None,
    )  # fmt: skip
    base.update(kw)
    return ConnRow(**base)
