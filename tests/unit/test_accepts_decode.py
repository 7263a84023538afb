"""Accepts' ring buffer records, packed as accepts.bpf.c lays out struct accept_event_t, decoded
without root: the fields, the three address families, and the record size the reader expects."""

from __future__ import annotations

import socket
import struct

from netwatch.tabs.accepts.decode import RECORD_SIZE, AcceptRecord, decode

# u64 ts; u32 pid, tid, uid; s32 fd; char comm[16]; u16 family, lport, rport, pad;
# u8 laddr[16], raddr[16]; u64 cgroup_id; u32 netns, pad2; char cgroup_name[96]
LAYOUT = struct.Struct("<QIIIi16sHHHH16s16sQII96sQ")
DOCKER = "docker-" + "3f" * 32 + ".scope"


def packed(
    family: int,
    laddr: bytes,
    raddr: bytes,
    comm: bytes = b"nginx",
    place: tuple[int, int, bytes] = (0, 0, b""),
    start_ns: int = 0,
) -> bytes:
    return LAYOUT.pack(
        2_000_000_000, 40, 41, 33, 7, comm, family, 443, 51000, 0, laddr, raddr,
        place[0], place[1], 0, place[2], start_ns,
    )  # fmt: skip


def test_record_size_matches_the_c_struct() -> None:
    assert RECORD_SIZE == LAYOUT.size == 200


def test_the_acceptors_start_pairs_its_pid_with_it() -> None:
    # #24: the kernel's start_boottime (ns since boot) to wall time by the boot clock's offset.
    v4 = socket.inet_aton("10.0.0.1") + bytes(12), socket.inet_aton("10.0.0.2") + bytes(12)
    raw = packed(2, *v4, start_ns=5_250_000_000)
    ev = decode(AcceptRecord.from_buffer_copy(raw), 0.0, boot_offset=1_700_000_000.0)
    assert ev.started == 1_700_000_005.25
    assert decode(AcceptRecord.from_buffer_copy(packed(2, *v4)), 0.0).started == 0.0


def test_where_the_accept_happened_decodes_through_the_cgroup_lookup() -> None:
    v4 = socket.inet_aton("10.0.0.1") + bytes(12), socket.inet_aton("10.0.0.2") + bytes(12)
    raw = packed(2, *v4, place=(777, 4026532001, DOCKER.encode()))
    asked: list[tuple[int, str]] = []

    def path_of(cgroup_id: int, name: str) -> str:
        asked.append((cgroup_id, name))
        return "/system.slice/" + name

    ev = decode(AcceptRecord.from_buffer_copy(raw), 0.0, path_of)
    assert asked == [(777, DOCKER)]
    assert (ev.cgroup, ev.container, ev.netns) == (
        "/system.slice/" + DOCKER, "3f3f3f3f3f3f", 4026532001)  # fmt: skip
    plain = decode(AcceptRecord.from_buffer_copy(packed(2, *v4)), 0.0)
    assert (plain.cgroup, plain.container, plain.netns) == ("", "", 0)


def test_ipv4_ipv6_and_mapped_records_decode() -> None:
    v4 = socket.inet_aton("10.0.0.1") + bytes(12), socket.inet_aton("10.0.0.2") + bytes(12)
    ev = decode(AcceptRecord.from_buffer_copy(packed(2, *v4)), 100.0)
    assert (ev.pid, ev.tid, ev.uid, ev.comm) == (40, 41, 33, "nginx")
    assert (ev.family, ev.laddr, ev.lport, ev.raddr, ev.rport) == (
        "ipv4", "10.0.0.1", 443, "10.0.0.2", 51000
    )  # fmt: skip
    assert ev.ts == 102.0
    v6 = socket.inet_pton(socket.AF_INET6, "fd00::1"), socket.inet_pton(socket.AF_INET6, "fd00::2")
    ev = decode(AcceptRecord.from_buffer_copy(packed(10, *v6)), 0.0)
    assert (ev.family, ev.raddr) == ("ipv6", "fd00::2")
    mapped = socket.inet_pton(socket.AF_INET6, "::ffff:10.0.0.2")
    ev = decode(AcceptRecord.from_buffer_copy(packed(10, v6[0], mapped)), 0.0)
    assert (ev.family, ev.raddr) == ("ipv4-mapped", "::ffff:10.0.0.2")


def test_a_hostile_command_name_is_kept_exactly_for_the_formats_to_escape() -> None:
    ev = decode(AcceptRecord.from_buffer_copy(packed(2, bytes(16), bytes(16), b"\x1b[2J\xff")), 0)
    assert ev.comm == "\x1b[2J\udcff"  # the bad byte kept, as a surrogate escape


def test_batch_json_and_the_snapshot_export_one_set_of_fields() -> None:
    import io
    import json

    from netwatch.cli.batch import Output
    from netwatch.tabs.accepts.batch import printer
    from netwatch.tabs.accepts.model import FIELD_NAMES, AcceptEvent, AcceptsSample

    e = AcceptEvent(1000.5, 4000, 4001, 0, "nginx", "ipv6", "::1", 8080, "2001:db8::7", 50123)
    out = io.StringIO()
    printer(Output(json=True), out)(AcceptsSample(1001.0, 1.0, (e,)))
    line = json.loads(out.getvalue())
    assert tuple(line) == FIELD_NAMES == tuple(e.fields("root"))
    assert line == {"ts": 1000.5, "uid": 0, "user": "root", "comm": "nginx", "pid": 4000,
                    "tid": 4001, "family": "ipv6", "laddr": "::1", "lport": 8080,
                    "raddr": "2001:db8::7", "rport": 50123, "cgroup": None, "container": None,
                    "netns": None, "started": None,
                    # one release more, under the old names (#24)
                    "port": 8080, "ip_source": "2001:db8::7", "src_port": 50123,
                    "local_addr": "::1"}  # fmt: skip
