"""Struct member offsets from the running kernel's BTF (/sys/kernel/btf/vmlinux).

BCC compiles against whatever headers are installed, which on our machines belong to another
kernel. Tracepoint arguments are safe (their layout comes from tracefs), but a field read through
a struct pointer is not; so the loader asks BTF where the field really is and passes the offset in.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")

_BTF_MAGIC = 0xEB9F
_KIND_STRUCT = 4
_KIND_UNION = 5
KIND_TYPEDEF = 8
KIND_FUNC = 12
_KIND_PTR = 2
_KIND_FUNC_PROTO = 13
_QUALIFIERS = (8, 9, 10, 11, 18)  # typedef, volatile, const, restrict, type tag
# Bytes that follow the 12-byte common header, per kind: fixed part and per-vlen part.
_EXTRA_FIXED = {1: 4, 3: 12, 14: 4, 17: 4}
_EXTRA_PER_VLEN = {4: 12, 5: 12, 6: 8, 13: 8, 15: 12, 19: 12}


class BTFError(Exception):
    """The BTF blob is missing, unreadable or lacks what we asked for."""


@dataclass(slots=True)
class _Member:
    name: str
    type_id: int
    bit_offset: int


@dataclass(slots=True)
class _Type:
    kind: int
    name: str
    # The type a pointer, typedef, qualifier, function or prototype refers to; for an int,
    # enum or struct, its size in bytes.
    ref: int = 0
    members: list[_Member] = field(default_factory=list)


class BTF:
    """A parsed BTF blob, indexed for member-offset queries on structs and unions."""

    def __init__(self, blob: bytes) -> None:
        self._types = _parse(blob)
        self._structs: dict[str, int] = {}
        self._named: dict[tuple[int, str], int] = {}
        for type_id, t in enumerate(self._types):
            if t is not None and t.name:
                self._named.setdefault((t.kind, t.name), type_id)
                if t.kind == _KIND_STRUCT:
                    self._structs.setdefault(t.name, type_id)

    @classmethod
    def load(cls, path: Path = VMLINUX_BTF) -> BTF:
        try:
            return cls(path.read_bytes())
        except OSError as exc:
            raise BTFError(f"cannot read kernel BTF at {path}: {exc.strerror}") from exc

    def type_id(self, kind: int, name: str) -> int | None:
        """The id of the first type of this kind and name (e.g. the typedef btf_trace_<tp>)."""
        return self._named.get((kind, name))

    def returns(self, function: str) -> tuple[str, int]:
        """What a kernel function returns and its size in bytes: ("void", 0), ("pointer", 8)
        or ("number", size) for an int, a long, an enum or a bool; ("number", 8) when BTF
        does not say. The size says how much of the return register is the value."""
        func_id = self.type_id(KIND_FUNC, function)
        func = self._types[func_id] if func_id is not None else None
        proto = self._types[func.ref] if func is not None and func.ref < len(self._types) else None
        if proto is None or proto.kind != _KIND_FUNC_PROTO:
            return "number", 8
        type_id = proto.ref
        for _ in range(16):  # qualifiers and typedefs, never a cycle in a valid blob
            t = self._types[type_id] if type_id < len(self._types) else None
            if t is None:
                return ("void", 0) if type_id == 0 else ("number", 8)
            if t.kind == _KIND_PTR:
                return "pointer", 8
            if t.kind not in _QUALIFIERS:
                return "number", t.ref if t.ref in (1, 2, 4, 8) else 8
            type_id = t.ref
        return "number", 8

    def member_offset(self, struct_name: str, member: str) -> int:
        """Byte offset of `member` in `struct struct_name`, looking inside anonymous unions."""
        type_id = self._structs.get(struct_name)
        if type_id is None:
            raise BTFError(f"struct {struct_name} not found in kernel BTF")
        bits = self._find(type_id, member)
        if bits is None:
            raise BTFError(f"struct {struct_name} has no member {member} in kernel BTF")
        if bits % 8:
            raise BTFError(f"{struct_name}.{member} is a bitfield")
        return bits // 8

    def _find(self, type_id: int, member: str) -> int | None:
        t = self._types[type_id]
        if t is None:
            return None
        for m in t.members:
            if m.name == member:
                return m.bit_offset
            inner = self._types[m.type_id] if m.type_id < len(self._types) else None
            if not m.name and inner is not None and inner.kind in (_KIND_STRUCT, _KIND_UNION):
                found = self._find(m.type_id, member)
                if found is not None:
                    return m.bit_offset + found
        return None


def _parse(blob: bytes) -> list[_Type | None]:
    if len(blob) < 24:
        raise BTFError("kernel BTF is too short")
    magic, _ver, _flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        "<HBBIIIII", blob, 0
    )
    if magic != _BTF_MAGIC:
        raise BTFError("kernel BTF has a bad magic number")
    strings = blob[hdr_len + str_off : hdr_len + str_off + str_len]

    def name_at(off: int) -> str:
        end = strings.find(b"\0", off)
        return strings[off:end].decode("utf-8", "replace")

    types: list[_Type | None] = [None]  # type id 0 is void
    pos = hdr_len + type_off
    end = pos + type_len
    while pos < end:
        name_off, info, size_or_ref = struct.unpack_from("<III", blob, pos)
        pos += 12
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        kind_flag = info >> 31
        t = _Type(kind, name_at(name_off), size_or_ref)
        if kind in (_KIND_STRUCT, _KIND_UNION):
            for _ in range(vlen):
                m_name, m_type, m_off = struct.unpack_from("<III", blob, pos)
                pos += 12
                bit_off = m_off & 0xFFFFFF if kind_flag else m_off
                t.members.append(_Member(name_at(m_name), m_type, bit_off))
        else:
            pos += _EXTRA_FIXED.get(kind, 0) + _EXTRA_PER_VLEN.get(kind, 0) * vlen
        types.append(t)
    return types
