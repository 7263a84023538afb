"""Bounded load on loopback for the tests that need the probes busy."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers.paths import GEN


def udp_loop_on_loopback(seconds: float) -> subprocess.Popen[bytes]:
    """A bounded sender and its own reader, named nw-e2e-gen, on 127.0.0.1."""
    return subprocess.Popen(
        [
            sys.executable,
            GEN,
            "udp-loop",
            "127.0.0.1",
            "0",
            "--size",
            "200",
            "--max-seconds",
            str(seconds),
            "--name",
            "nw-e2e-gen",
        ],
        stdout=subprocess.DEVNULL,
    )
