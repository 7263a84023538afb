"""Text a local user controls never stops root's output (issue #27): batch commands under any
output encoding, names that are not UTF-8 kept distinct, and names that look like netwatch's
own bracketed rows never taken for them, in the batch text and in the exporter's series."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from netwatch.export.exposition import Published, exposition, registry_for
from netwatch.export.spec import ExportOptions
from netwatch.export.state import ExportState
from netwatch.model.cdata import c_string
from netwatch.model.untrusted import name_text, printable
from netwatch.recording.file import RecordingWriter, create_new_file, open_recording
from netwatch.tabs import BY_NAME, codecs
from netwatch.tabs.accepts.model import AcceptEvent, AcceptsSample
from netwatch.tabs.traffic.model import (
    REASON_TX_NO_OWNER,
    UNATTRIBUTED_PID,
    Counters,
    TrafficKey,
    TrafficRow,
    TrafficSample,
)
from tests.helpers.paths import NETWATCH

HOSTILE = ("über✓名", "[tx-no-owner]", "[other]", c_string(b"bad\xff"), c_string(b"bad\xfe"))


def hostile_recording(path: Path) -> Path:
    writer = RecordingWriter(create_new_file(path), codecs("traffic", "accepts"))
    rows = tuple(
        TrafficRow(TrafficKey(100 + i, 0, "lo", name), Counters(1, 1, 100, 100))
        for i, name in enumerate(HOSTILE)
    )
    unowned = TrafficKey(UNATTRIBUTED_PID, UNATTRIBUTED_PID, "lo", "", REASON_TX_NO_OWNER)
    writer.write(
        "traffic", TrafficSample(1.0, 1.0, (*rows, TrafficRow(unowned, Counters(1, 0, 9, 0))))
    )
    events = tuple(
        AcceptEvent(1.0, 100 + i, 100 + i, 0, name, "ipv4", "127.0.0.1", 80, "127.0.0.1", 5000)
        for i, name in enumerate(HOSTILE)
    )
    writer.write("accepts", AcceptsSample(1.0, 1.0, events))
    writer.close()
    return path


@pytest.mark.parametrize("encoding", ["ascii", "iso-8859-1", "utf-8"])
@pytest.mark.parametrize("command", [["top", "-b"], ["accepts", "-b"]])
def test_batch_text_under_any_encoding_exits_0(
    tmp_path: Path, encoding: str, command: list[str]
) -> None:
    rec = hostile_recording(tmp_path / "hostile.nwrec")
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    done = subprocess.run([NETWATCH, *command, "--replay", str(rec)],
                          capture_output=True, env=env, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"Traceback" not in done.stderr
    out = done.stdout.decode(encoding)
    # Each name is there, in this encoding or as escapes, and the two bad bytes stay apart.
    assert "\\udcff" in out and "\\udcfe" in out
    assert ("über✓名" if encoding == "utf-8" else "\\u2713") in out
    if encoding != "utf-8":
        assert "\u2713" not in out


def test_names_that_are_not_utf8_stay_distinct() -> None:
    a, b = c_string(b"bad\xff\0junk"), c_string(b"bad\xfe")
    assert a != b and "\ufffd" not in a + b
    assert printable(a) == "bad\\udcff" and printable(b) == "bad\\udcfe"


def test_a_process_cannot_be_shown_as_netwatch_s_own_rows() -> None:
    assert name_text("[tx-no-owner]") == "\\x5btx-no-owner]"
    assert name_text("\\x5bother]") == "\\\\x5bother]"  # a typed escape is not the mark
    assert name_text("nginx") == "nginx"


def test_a_process_named_like_a_reserved_series_is_its_own_series(tmp_path: Path) -> None:
    state = ExportState({"traffic": BY_NAME["traffic"].metrics(ExportOptions())}, 500)
    rec = hostile_recording(tmp_path / "hostile.nwrec")
    for sample in open_recording(rec, codecs()).samples("traffic"):
        state.count("traffic", sample)
    state.end_interval(1)
    text = exposition(registry_for(Published(state.snapshot()))).decode()
    lines = [x for x in text.splitlines() if x.startswith("netwatch_process_transmit_bytes_total")]
    # The real unattributed row alone has comm="[tx-no-owner]"; the process has its own.
    assert sum('comm="[tx-no-owner]"' in x for x in lines) == 1
    assert any('comm="\\\\x5btx-no-owner]"' in x for x in lines)
    assert not any('comm="[other]"' in x for x in lines)
    assert any('comm="bad\\\\udcff"' in x for x in lines)
    assert any('comm="bad\\\\udcfe"' in x for x in lines)


def test_a_replayed_reason_with_control_characters_is_escaped_in_its_label(
    tmp_path: Path,
) -> None:
    state = ExportState({"traffic": BY_NAME["traffic"].metrics(ExportOptions())}, 500)
    evil = TrafficKey(UNATTRIBUTED_PID, UNATTRIBUTED_PID, "lo", "", "x\x1b[2J\nfake 1")
    state.count("traffic", TrafficSample(1.0, 1.0, (TrafficRow(evil, Counters(1, 0, 9, 0)),)))
    state.end_interval(1)
    text = exposition(registry_for(Published(state.snapshot()))).decode()
    assert "\x1b" not in text and not any(x.startswith("fake") for x in text.splitlines())
    assert 'comm="[x\\\\x1b[2J\\\\nfake 1]"' in text
