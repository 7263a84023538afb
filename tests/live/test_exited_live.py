"""Live (#26): a process that sent traffic and exited keeps its totals in `top -b --totals`,
marked exited within two intervals of its exit, its bytes what it sent."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.helpers.paths import GEN
from tests.live.bpf_progs import loaded_program_ids, wait_attached

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("live_bpf")]

NETWATCH = [sys.executable, "-m", "netwatch"]


def test_an_exited_senders_totals_stay_marked_exited() -> None:
    baseline = loaded_program_ids()
    top = subprocess.Popen(
        [*NETWATCH, "top", "-b", "--totals", "--json", "--interval", "1", "--count", "9"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        wait_attached(top, baseline)
        time.sleep(1.5)  # into its first intervals
        sender = subprocess.run([sys.executable, GEN, "udp-loop", "127.0.0.1", "0",
                                 "--max-seconds", "2", "--name", "nw-exits"],
                                capture_output=True, timeout=30)  # fmt: skip
        assert sender.returncode == 0
        ended = time.time()
        out, _ = top.communicate(timeout=60)
    finally:
        if top.poll() is None:
            top.kill()
            top.wait()
    rows = [json.loads(line) for line in out.splitlines()]
    mine = [r for r in rows if r["comm"] == "nw-exits"]
    assert mine, "the sender was never seen"
    last = max(r["ts"] for r in rows)
    final = [r for r in mine if r["ts"] == last]
    assert len(final) == 1, final  # its row is still in the last table, after its exit
    assert final[0]["exited"] is not None
    assert ended - 1 <= final[0]["exited"] <= ended + 2.5  # noticed within two intervals
    assert final[0]["xmit_bytes"] == max(r["xmit_bytes"] for r in mine) > 0
    before = [r for r in mine if r["ts"] < ended - 0.5]
    assert before and all(r["exited"] is None for r in before)
