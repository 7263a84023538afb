"""The command line's argument types and its one-line error: a leaf every parser imports (the
main CLI, each tab's batch command, `export`), so none of them has to import another."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from netwatch.model.filter import is_number

EXIT_USAGE = 2
EXIT_FAILED = 1


class CliError(Exception):
    """Stops the command with one line on stderr and a non-zero exit."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def number_in(low: float, high: float, unit: str = "") -> Callable[[str], float]:
    """An argparse type: a number from `low` to `high`, or a one-line error saying which."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({low:g} to {high:g}{unit})")
        return value

    return parse


positive = number_in(0.05, 3600, " seconds")

_TIME_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_in(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: seconds, or minutes or hours with m or h after (90, 90s, 5m, 1h)."""
    number = number_in(low, high, " seconds")

    def parse(text: str) -> float:
        unit = text[-1:] if text[-1:] in ("s", "m", "h") else ""
        try:
            value = float(text[: len(text) - len(unit)]) * _TIME_UNITS[unit]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{text[:24]}' is not a duration (seconds, or with s, m or h after: 90, 5m)"
            ) from None
        return number(repr(value))

    return parse


speed = number_in(0.01, 1000)


def whole_number(low: int, high: int, what: str = "") -> Callable[[str], int]:
    """An argparse type: ASCII digits making a number from `low` to `high` (argparse shows
    the error in one line; int() alone would take '²' or 5,000 digits)."""

    def parse(text: str) -> int:
        if not is_number(text) or len(text) > len(str(high)):
            raise argparse.ArgumentTypeError(
                f"'{text[:24]}' is not a whole number from {low} to {high}{what}"
            )
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"'{value}' is not a whole number from {low} to {high}{what}"
            )
        return value

    return parse


def pid_max() -> int:
    """The kernel's highest pid: a larger --pid or --tid could never match, and would be cut
    to 32 bits on its way into the probe's map."""
    try:
        return int(Path("/proc/sys/kernel/pid_max").read_text())
    except (OSError, ValueError):
        return 4_194_304  # PID_MAX_LIMIT on 64-bit kernels


count = whole_number(1, 10**9)


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(f"{self.prog}: {message}")


def pid_number() -> Callable[[str], int]:
    """An argparse type for a pid or tid: 1 to the kernel's pid_max."""
    return whole_number(1, pid_max(), " (the kernel's pid_max)")


def comm_name(text: str) -> str:
    if not text or len(text.encode()) > 15:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a command name (1 to 15 bytes, as the kernel keeps it)"
        )
    return text


def file_path(text: str) -> Path:
    """A path the user gave, made absolute now: netwatch's working directory moves while BCC
    compiles a probe (probes.loader), and a file written then must land where the user meant."""
    try:
        return Path(os.path.abspath(text))
    except OSError:  # the working directory is gone: a relative path can name nothing anyway
        return Path(text)
