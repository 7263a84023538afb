"""Pure decoders: the bytes and per-CPU slots the BPF programs leave in their maps and ring
buffers, turned into model values. Each knows its program's C layout, and nothing of BCC, the
kernel's files or a screen, so each is tested byte for byte without root."""

from typing import Any


def c_string(raw: Any) -> str:
    """A fixed-size C char array (a comm, a device name) up to its NUL, as text. Bytes that are
    not UTF-8 stay distinct (surrogate escapes, shown as `\\udcff` by `printable`): decoding
    them to U+FFFD made `a\\xff` and `a\\xfe` one process, one series."""
    return bytes(raw).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
