"""Struct member offsets from the running kernel's BTF (/sys/kernel/btf/vmlinux).

BCC compiles against whatever headers are installed, which on our machines belong to another
kernel. Tracepoint arguments are safe (their layout comes from tracefs), but a field read through
a struct pointer is not; so the loader asks BTF where the field really is and passes the offset in.
"""

from __future__ import annotations

import struct
from array import array
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


class BTF:
    """A BTF blob, kept as it is with an index of where each type starts; names and members
    are decoded when asked for. Parsing every type into objects held ~46 MiB per probe for
    the sake of a few dozen queries; this holds the blob (~5 MiB) and 4 bytes per type."""

    def __init__(self, blob: bytes) -> None:
        if len(blob) < 24:
            raise BTFError("kernel BTF is too short")
        magic, _ver, _flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
            "<HBBIIIII", blob, 0
        )
        if magic != _BTF_MAGIC:
            raise BTFError("kernel BTF has a bad magic number")
        types_end = hdr_len + type_off + type_len
        self._strings = hdr_len + str_off
        self._strings_end = self._strings + str_len
        if max(types_end, self._strings_end) > len(blob) or hdr_len < 24:
            raise BTFError("kernel BTF is truncated (its sections run past its end)")
        self._blob = blob
        try:
            self._starts = _index(blob, hdr_len + type_off, types_end)
        except struct.error as exc:
            raise BTFError("kernel BTF is corrupt (a type runs past its section)") from exc
        self._by_kind: dict[int, dict[str, int]] = {}

    @classmethod
    def load(cls, path: Path = VMLINUX_BTF) -> BTF:
        try:
            return cls(path.read_bytes())
        except OSError as exc:
            raise BTFError(f"cannot read kernel BTF at {path}: {exc.strerror}") from exc

    # ---- queries ------------------------------------------------------------------------------
    def type_id(self, kind: int, name: str) -> int | None:
        """The id of the first type of this kind and name (e.g. the typedef btf_trace_<tp>)."""
        return self._named(kind).get(name)

    def returns(self, function: str) -> tuple[str, int]:
        """What a kernel function returns and its size in bytes: ("void", 0), ("pointer", 8)
        or ("number", size) for an int, a long, an enum or a bool; ("number", 8) when BTF
        does not say. The size says how much of the return register is the value."""
        func_id = self.type_id(KIND_FUNC, function)
        if func_id is None:
            return "number", 8
        proto_id = self._ref(func_id)
        if self._kind(proto_id) != _KIND_FUNC_PROTO:
            return "number", 8
        type_id = self._ref(proto_id)
        for _ in range(16):  # qualifiers and typedefs, never a cycle in a valid blob
            if not self._exists(type_id):
                return ("void", 0) if type_id == 0 else ("number", 8)
            kind = self._kind(type_id)
            if kind == _KIND_PTR:
                return "pointer", 8
            if kind not in _QUALIFIERS:
                size = self._ref(type_id)
                return "number", size if size in (1, 2, 4, 8) else 8
            type_id = self._ref(type_id)
        return "number", 8

    def member_offset(self, struct_name: str, member: str) -> int:
        """Byte offset of `member` in `struct struct_name`, looking inside anonymous unions."""
        try:
            return self._member_offset(struct_name, member)
        except (struct.error, RecursionError) as exc:
            raise BTFError(f"kernel BTF is corrupt around struct {struct_name}") from exc

    def _member_offset(self, struct_name: str, member: str) -> int:
        type_id = self.type_id(_KIND_STRUCT, struct_name)
        if type_id is None:
            raise BTFError(f"struct {struct_name} not found in kernel BTF")
        bits = self._find(type_id, member)
        if bits is None:
            raise BTFError(f"struct {struct_name} has no member {member} in kernel BTF")
        if bits % 8:
            raise BTFError(f"{struct_name}.{member} is a bitfield")
        return bits // 8

    # ---- decoding -----------------------------------------------------------------------------
    def _exists(self, type_id: int) -> bool:
        return 0 < type_id < len(self._starts)

    def _header(self, type_id: int) -> tuple[int, int, int]:
        """(name offset, info, size or referenced type) of a type that exists."""
        header: tuple[int, int, int] = _HEADER.unpack_from(self._blob, self._starts[type_id])
        return header

    def _kind(self, type_id: int) -> int:
        return (self._header(type_id)[1] >> 24) & 0x1F if self._exists(type_id) else 0

    def _ref(self, type_id: int) -> int:
        return self._header(type_id)[2] if self._exists(type_id) else 0

    def _name(self, offset: int) -> str:
        at = self._strings + offset
        end = self._blob.find(b"\0", at, self._strings_end)
        return self._blob[at : end if end >= 0 else self._strings_end].decode("utf-8", "replace")

    def _named(self, kind: int) -> dict[str, int]:
        """Name to first type id, for one kind; built on its first query (one pass)."""
        found = self._by_kind.get(kind)
        if found is None:
            found = {}
            for type_id in range(1, len(self._starts)):
                name_off, info, _ = self._header(type_id)
                if name_off and (info >> 24) & 0x1F == kind:
                    found.setdefault(self._name(name_off), type_id)
            self._by_kind[kind] = found
        return found

    def _members(self, type_id: int) -> list[tuple[str, int, int]]:
        """(name, type id, bit offset) of each member of a struct or union."""
        _, info, _ = self._header(type_id)
        vlen = info & 0xFFFF
        bitfield_layout = info >> 31
        at = self._starts[type_id] + _HEADER.size
        members = []
        for _ in range(vlen):
            name_off, member_type, offset = _HEADER.unpack_from(self._blob, at)
            at += _HEADER.size
            bits = offset & 0xFFFFFF if bitfield_layout else offset
            members.append((self._name(name_off) if name_off else "", member_type, bits))
        return members

    def _find(self, type_id: int, member: str) -> int | None:
        if self._kind(type_id) not in (_KIND_STRUCT, _KIND_UNION):
            return None
        for name, member_type, bits in self._members(type_id):
            if name == member:
                return bits
            if not name and self._kind(member_type) in (_KIND_STRUCT, _KIND_UNION):
                found = self._find(member_type, member)
                if found is not None:
                    return bits + found
        return None


_HEADER = struct.Struct("<III")


def _index(blob: bytes, pos: int, end: int) -> array[int]:
    """Where each type's header starts; type id 0 (void) has none."""
    starts = array("I", [0])
    while pos < end:
        if pos + _HEADER.size > end:
            raise struct.error("a type header past the section's end")
        _, info, _ = _HEADER.unpack_from(blob, pos)
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        starts.append(pos)
        pos += _HEADER.size + _EXTRA_FIXED.get(kind, 0) + _EXTRA_PER_VLEN.get(kind, 0) * vlen
    if pos != end:
        raise BTFError("kernel BTF is corrupt (its types run past their section)")
    return starts
