"""Byte counts and rates with their units, as every detail screen writes them."""

from __future__ import annotations

_IEC = ("B", "KiB", "MiB", "GiB", "TiB")
_SI_BITS = ("bit", "kbit", "Mbit", "Gbit", "Tbit")


def size_text(n_bytes: float) -> str:
    """A byte count with its unit, 1024-based: `512 B`, `80.1 MiB`."""
    return _scaled(float(n_bytes), 1024, _IEC)


def rate_text(bytes_per_s: float, bits: bool = False) -> str:
    """A rate with its unit: bytes/s 1024-based (`38.2 MiB/s`), or bits/s 1000-based as
    network links are quoted (`320 Mbit/s`)."""
    if bits:
        return _scaled(bytes_per_s * 8, 1000, _SI_BITS) + "/s"
    return _scaled(bytes_per_s, 1024, _IEC) + "/s"


def _scaled(value: float, base: int, units: tuple[str, ...]) -> str:
    for unit in units[:-1]:
        if abs(value) < base:
            return f"{value:.0f} {unit}" if unit == units[0] else f"{value:.1f} {unit}"
        value /= base
    return f"{value:.1f} {units[-1]}"
