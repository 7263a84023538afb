from __future__ import annotations

import struct
from pathlib import Path

import pytest

from netwatch.probes import loader
from netwatch.probes.btf import BTF, KIND_TYPEDEF, VMLINUX_BTF, BTFError
from netwatch.sources.base import SourceError


def _blob() -> bytes:
    """A tiny BTF: struct outer { int a; union { long b; int c; }; int d; } (kind_flag off)."""
    strings = b"\0outer\0a\0b\0c\0d\0int\0"
    off = {
        name: strings.index(name.encode() + b"\0") for name in ("outer", "a", "b", "c", "d", "int")
    }
    types = b""
    # 1: int
    types += struct.pack("<III", off["int"], 1 << 24, 4) + struct.pack("<I", 32)
    # 2: anonymous union { long b @0; int c @0 }
    types += struct.pack("<III", 0, (5 << 24) | 2, 8)
    types += struct.pack("<III", off["b"], 1, 0) + struct.pack("<III", off["c"], 1, 0)
    # 3: struct outer { int a @0; union @64; int d @128 }
    types += struct.pack("<III", off["outer"], (4 << 24) | 3, 24)
    types += struct.pack("<III", off["a"], 1, 0)
    types += struct.pack("<III", 0, 2, 64)
    types += struct.pack("<III", off["d"], 1, 128)
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return header + types + strings


def test_offsets_include_anonymous_unions() -> None:
    btf = BTF(_blob())
    assert btf.member_offset("outer", "a") == 0
    assert btf.member_offset("outer", "c") == 8
    assert btf.member_offset("outer", "d") == 16


def test_missing_struct_or_member_is_a_clear_error() -> None:
    btf = BTF(_blob())
    with pytest.raises(BTFError, match="struct nope not found"):
        btf.member_offset("nope", "a")
    with pytest.raises(BTFError, match="has no member zz"):
        btf.member_offset("outer", "zz")


def test_bad_blob_and_missing_file() -> None:
    with pytest.raises(BTFError, match="bad magic"):
        BTF(b"\0" * 64)
    with pytest.raises(BTFError, match="cannot read kernel BTF"):
        BTF.load(Path("/nonexistent/btf"))


@pytest.mark.skipif(not VMLINUX_BTF.exists(), reason="this kernel exposes no BTF")
def test_running_kernel_sk_buff_offsets_are_plausible() -> None:
    btf = BTF.load()
    sk = btf.member_offset("sk_buff", "sk")
    head = btf.member_offset("sk_buff", "head")
    data = btf.member_offset("sk_buff", "data")
    assert 0 < sk < head and data == head + 8  # head and data are adjacent pointers


def test_type_ids_by_kind_and_name() -> None:
    btf = BTF(_blob())
    assert btf.type_id(4, "outer") == 3  # ids count from 1: the int is 1, the union 2
    assert btf.type_id(1, "int") == 1
    assert btf.type_id(4, "int") is None  # right name, wrong kind


@pytest.mark.skipif(not VMLINUX_BTF.exists(), reason="this kernel exposes no BTF")
def test_running_kernel_names_its_tracepoints_for_tp_btf() -> None:
    btf = BTF.load()
    assert btf.type_id(KIND_TYPEDEF, "btf_trace_net_dev_queue") is not None
    assert btf.type_id(KIND_TYPEDEF, "btf_trace_no_such_tracepoint") is None


def test_a_kernel_without_btf_is_one_line_naming_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    from netwatch.probes import loader
    from netwatch.sources.base import SourceError

    def missing(*_: object) -> BTF:
        raise BTFError("cannot read kernel BTF at /sys/kernel/btf/vmlinux: No such file")

    monkeypatch.setattr(BTF, "load", missing)
    with pytest.raises(
        SourceError, match=r"^traffic probe: cannot read kernel BTF .*netwatch needs kernel BTF$"
    ):
        loader.kernel_btf("traffic")
    with pytest.raises(SourceError, match=r"^drops probe: .*netwatch needs kernel BTF$"):
        loader.offsets("drops", (("X", ("sk_buff", "len")),))
    # A BTF already parsed is used as given: a missing member is the same one-line error.
    with pytest.raises(SourceError, match=r"^calls probe: struct outer has no member zz"):
        loader.offsets("calls", (("X", ("outer", "zz")),), BTF(_blob()))


@pytest.mark.skipif(not VMLINUX_BTF.exists(), reason="this kernel exposes no BTF")
def test_what_kernel_functions_return_by_their_btf_prototype() -> None:
    btf = BTF.load()
    assert btf.returns("sock_alloc") == ("pointer", 8)  # struct socket *
    assert btf.returns("__sock_release") == ("void", 0)
    assert btf.returns("sock_read_iter") == ("number", 8)  # ssize_t, through its typedefs
    assert btf.returns("__sys_connect") == ("number", 4)  # int
    assert btf.returns("no_such_function_here") == ("number", 8)


@pytest.mark.parametrize("cut", [24, 25, 100, 4096, 0.5, 0.9, -1])
def test_a_truncated_kernel_btf_is_one_btf_error(tmp_path: Path, cut: float) -> None:
    blob = VMLINUX_BTF.read_bytes() if VMLINUX_BTF.exists() else _blob() * 1
    keep = int(len(blob) * cut) if isinstance(cut, float) else cut % len(blob)
    path = tmp_path / "vmlinux"
    path.write_bytes(blob[:keep])
    with pytest.raises(BTFError, match=r"truncated|corrupt|too short"):
        BTF.load(path).member_offset("sock_common", "skc_family")


def test_a_btf_whose_types_lie_about_their_size_is_one_btf_error() -> None:
    blob = bytearray(_blob())
    # The struct's member count (vlen) made larger than its section holds.
    struct.pack_into("<I", blob, 24 + 16 + 12 + 24 + 4, (4 << 24) | 3000)
    with pytest.raises(BTFError, match="corrupt"):
        BTF(bytes(blob))


def test_a_truncated_btf_is_one_line_from_a_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vmlinux"
    path.write_bytes(_blob()[:40])
    read = BTF.load
    monkeypatch.setattr(BTF, "load", lambda: read(path))
    with pytest.raises(SourceError) as raised:
        loader.kernel_btf("traffic")
    assert str(raised.value).count("\n") == 0 and "netwatch needs kernel BTF" in str(raised.value)
