"""Bad input: one line on stderr, a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from netwatch.cli import main as cli
from tests.helpers.cli import one_line_error, opened_tabs, run
from tests.helpers.paths import CALLS_DEMO, DEMO

NETTOP_ROW = re.compile(
    r"^( {0,4}\d{1,5}| {4}-) ( {0,4}\d{1,5}| {4}-) .{7,} +\d+ +\d+ +\d+ +\d+ .+$"
)


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["nosuchtab"], "invalid choice: 'nosuchtab'"),
        (["--interval", "0"], "out of range"),
        (["--interval", "x"], "'x' is not a number"),
        (["top", "--json"], "the following arguments are required: -b/--batch"),
        (["top", "--batch", "--count", "0"], "not a whole number from 1 to"),
        (["replay", "/nonexistent.nwrec"], r"/nonexistent.nwrec: cannot read"),
        (["replay", str(DEMO), "--snapshot-dir", "/nonexistent"], "snapshot directory"),
        (["record"], "required: -o/--output"),
        (["drops", "--json"], "required: -b/--batch"),  # only the batch command has --json
        (["drops", "--count", "3", "--replay", "x"], "required: -b/--batch"),
        (["drops", "--batch", "--interval", "-1"], "out of range"),
        (["accepts", "--batch", "--duration", "zero"], "'zero' is not a number"),
        (["replay", str(DEMO), "--speed", "0"], "out of range"),
        (["--max-rows", "0"], "not a whole number from 1 to"),
        (["drops", "--batch", "--replay", "/nonexistent.nwrec"], "cannot read"),
        (["accepts", "--batch", "--replay", "/nonexistent.nwrec"], "cannot read"),
        (["calls", "--replay", str(DEMO)], "the following arguments are required: -b/--batch"),
        (["calls", "--batch", "--replay", "/nonexistent.nwrec"], "cannot read"),
        (["calls", "--batch", "--comm", "x" * 16], "not a command name"),
        (["calls", "--batch", "--pid", "abc"], "not a whole number"),
        (["calls", "--batch", "--buffer-mb", "3"], "not a power of two"),
        (["calls", "--batch", *[a for i in range(1, 18) for a in ("--pid", str(i))]], "at most 16"),
        (["record", "-o", "/tmp/x.nwrec", "--calls-comm", ""], "not a command name"),
        (["record", "-o", "/tmp/x.nwrec", "--trigger", "drops>1/s"], "--trigger needs --ring"),
        (
            ["record", "-o", "/tmp/x.nwrec", "--ring", "1m", "--trigger", "drps>1/s"],
            "unknown trigger 'drps': one of",
        ),
        (["record", "-o", "/tmp/x.nwrec", "--ring", "2"], "2.0 is out of range"),
        (["record", "-o", "/tmp/x.nwrec", "--ring", "ten"], "'ten' is not a duration"),
        (
            ["record", "-o", "/nonexistent/x.nwrec", "--ring", "30"],
            "/nonexistent is not a directory",
        ),
        (["--max-calls", "0"], "not a whole number from 1 to"),
        (["--max-threads", "x"], "not a whole number from 1 to"),
    ],
)
def test_bad_arguments(args: list[str], pattern: str) -> None:
    one_line_error(run(*args), pattern)


def test_corrupt_recording(tmp_path: Path) -> None:
    bad = tmp_path / "bad.nwrec"
    bad.write_text(DEMO.read_text().replace('"rows"', '"rowz"', 1))
    one_line_error(run("replay", str(bad)), r"corrupt traffic record at line 2")
    one_line_error(run("top", "--batch", "--replay", str(bad)), r"corrupt traffic record at line 2")


def test_a_recording_cut_short_replays_what_it_holds_with_a_warning(tmp_path: Path) -> None:
    cut = tmp_path / "cut.nwrec"
    text = DEMO.read_text()
    cut.write_text(text[:-20])
    p = run("top", "--batch", "--replay", str(cut))
    assert p.returncode == 0, p.stderr
    warning = r"netwatch: warning: .*cut.nwrec: the last record \(line (\d+)\) is incomplete"
    found = re.fullmatch(warning + r" and was left out\n", p.stderr)
    assert found, p.stderr
    cut_line = int(found.group(1))
    complete = sum('"tab":"traffic"' in line for line in text.splitlines()[1 : cut_line - 1])
    assert p.stdout.count("  PID   UID DEV") == complete


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["replay", "/dev/zero"], "/dev/zero: is a device, not a netwatch recording"),
        (["top", "--batch", "--replay", "/dev/urandom"], "is a device"),
        (["replay", "/tmp"], "/tmp: is a directory"),
        (["calls", "--batch", "--pid", "4294976942"], "not a whole number from 1 to"),
        (["calls", "--batch", "--tid", "²"], "not a whole number"),
        (["calls", "--batch", "--buffer-mb", "512"], "not a whole number from 1 to 256"),
        (["calls", "--batch", "--replay", str(DEMO), "--buffer-mb", "4"], "not --replay"),
        (["replay", str(DEMO), "--snapshot-dir", "/etc/passwd"], "/etc/passwd is not a direct"),
        (["top", "--batch", "--count", "9" * 5000], "not a whole number"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_hostile_options_and_files(args: list[str], pattern: str) -> None:
    one_line_error(run(*args), pattern)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "f.nwrec"
    os.mkfifo(fifo)
    one_line_error(run("replay", str(fifo)), "is a FIFO")


def test_calls_replay_applies_pid_tid_and_comm() -> None:
    calls_demo = DEMO.with_name("calls-demo.nwrec")
    everything = run("calls", "--batch", "--json", "--replay", str(calls_demo))
    assert everything.returncode == 0, everything.stderr
    comms = {json.loads(line)["comm"] for line in everything.stdout.splitlines()}
    assert len(comms) > 1
    one = sorted(comms)[0]
    only = run("calls", "--batch", "--json", "--replay", str(calls_demo), "--comm", one)
    lines = only.stdout.splitlines()
    assert lines and {json.loads(line)["comm"] for line in lines} == {one}


def test_record_refuses_to_overwrite(tmp_path: Path) -> None:
    existing = tmp_path / "x.nwrec"
    existing.write_text("keep")
    p = run("record", "-o", str(existing), "--duration", "1")
    if p.returncode != 0 and "needs root" in p.stderr:
        pytest.skip("not root")
    one_line_error(p, "already exists")
    assert existing.read_text() == "keep"


def test_not_root_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert cli.main(["top", "--batch", "--count", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("netwatch: netwatch needs root") and "\n" not in err


def test_missing_tracefs_and_headers_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from netwatch.probes import requirements

    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr(requirements, "TRACEFS", Path("/nonexistent/tracing"))
    problems = requirements.check_live_requirements(("net/net_dev_queue",))
    if problems and "headers" in problems[0].message:
        pytest.skip("this machine has no headers; covered by the next assertion instead")
    assert problems and "tracefs is not mounted at /nonexistent/tracing" in problems[0].message
    monkeypatch.setattr(requirements, "modules_dir", lambda: Path("/nonexistent/modules"))
    problems = requirements.check_live_requirements(("net/net_dev_queue",))
    assert "kernel headers missing" in problems[0].message


def test_batch_text_from_a_recording_is_the_seeds_format() -> None:
    p = run("top", "--batch", "--replay", str(DEMO))
    assert p.returncode == 0, p.stderr
    blocks = [b for b in p.stdout.split("\n\n") if b.strip()]
    assert blocks
    for block in blocks:
        lines = block.splitlines()
        assert lines[0] == "  PID   UID DEV     XMIT_PK RECV_PK XMIT_KB RECV_KB COMMAND        "
        for line in lines[1:]:
            assert NETTOP_ROW.match(line), line


def test_batch_json_from_a_recording() -> None:
    import json

    p = run("top", "--batch", "--json", "--count", "3", "--replay", str(DEMO))
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert rows
    for row in rows:
        assert {
            "ts",
            "pid",
            "uid",
            "dev",
            "comm",
            "xmit_pk",
            "recv_pk",
            "xmit_bytes",
            "recv_bytes",
        } <= set(row)


def test_drops_and_accepts_batch_from_a_recording() -> None:
    drops = run("drops", "--batch", "--replay", str(DEMO))
    assert drops.returncode == 0, drops.stderr
    lines = [line for line in drops.stdout.splitlines() if line]
    assert lines[0] == "Monitoring for dropped packets"
    assert lines[-1] == "Stopping dropped packet monitor"
    assert all(
        re.match(r"^\d+ packets dropped at location 0x[0-9a-f]+ \S+ [A-Z_0-9]+$", line)
        for line in lines[1:-1]
    )
    accepts = run("accepts", "--batch", "--replay", str(DEMO))
    assert accepts.returncode == 0, accepts.stderr
    rows = accepts.stdout.splitlines()
    assert rows[0] == "%6s %16s %6s %6s %16s" % ("UID", "CMD", "PID", "PORT", "IP_SOURCE")
    assert len(rows) > 1 and all(re.match(r"^ *\d+ +\S+ +\d+ +\d+ +\S+$", row) for row in rows[1:])


# socket-trace.stp's line: `<us> <comm>(<tid>):<indent>-> <name>`, `<- <name>` (result and
# duration appended), and `*` for the events inside a call, one space of indent per level.
SEED_LINE = re.compile(r"^(\d+) (.+)\((\d+)\):( +)(->|<-|\*) (\w+)(.*)$")


def test_calls_batch_from_a_recording_is_the_seeds_format_line_by_line() -> None:
    p = run("calls", "--batch", "--replay", str(CALLS_DEMO))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) > 100
    open_call: dict[str, str] = {}
    for line in lines:
        m = SEED_LINE.match(line)
        assert m is not None, line
        _us, _comm, tid, indent, mark, name, rest = m.groups()
        if mark == "->":
            assert len(indent) == 1 and tid not in open_call, line
            open_call[tid] = name
        elif mark == "<-":
            assert len(indent) == 1 and open_call.pop(tid) == name, line
            assert re.match(r"^ = -?[A-Z0-9]+.* \(\d+(\.\d+)? (us|ms|s)\)$", rest), line
        else:
            assert len(indent) == 2 and tid in open_call, line  # inside a call
    assert not open_call  # every call returned: depth back to zero
    client = [line for line in lines if " web-client(" in line and ("-> " in line)]
    names = [re.search(r"-> (\w+)", line).group(1) for line in client]  # type: ignore[union-attr]
    assert names[:7] == ["socket", "connect", "write", "read", "sendto", "recvfrom", "getsockname"]


def test_calls_batch_json_from_a_recording() -> None:
    import json

    p = run("calls", "--batch", "--json", "--replay", str(CALLS_DEMO))
    assert p.returncode == 0, p.stderr
    objs = [json.loads(line) for line in p.stdout.splitlines()]
    assert {o["kind"] for o in objs} == {"enter", "exit", "event"}
    for o in objs:
        assert {"ts_us", "pid", "tid", "comm", "depth", "kind", "name"} <= set(o)
        if o["kind"] == "exit":
            assert isinstance(o["ret"], int) and o["dur_us"] >= 0
    text = run("calls", "--batch", "--replay", str(CALLS_DEMO)).stdout.splitlines()
    assert len(text) == len(objs)


def test_a_tab_name_alone_opens_the_ui_and_with_batch_runs_the_batch_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened = opened_tabs(monkeypatch)
    for tab in ("drops", "accepts", "calls"):
        assert cli.main([tab]) == 0
        assert cli.main([tab, "--interval", "2"]) == 0
    assert opened == ["drops", "drops", "accepts", "accepts", "calls", "calls"]
    batch = run("calls", "--batch", "--replay", str(DEMO.with_name("calls-demo.nwrec")))
    assert batch.returncode == 0 and " -> " in batch.stdout


def test_paths_the_user_gives_are_made_absolute_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compile moves the process's working directory (probes.loader, and BCC itself): a
    snapshot or recording written meanwhile must still land where the user meant."""
    from netwatch.cli.args import build_parser

    monkeypatch.chdir(tmp_path)
    parsers = build_parser()
    ui = parsers["ui"].parse_args([])
    assert ui.snapshot_dir == tmp_path
    record = parsers["record"].parse_args(["-o", "out.nwrec"])
    assert record.output == tmp_path / "out.nwrec"
    export = parsers["export"].parse_args(["--textfile", "sub/n.prom", "--replay", "r.nwrec"])
    assert export.textfile == str(tmp_path / "sub/n.prom")
    assert export.replay == tmp_path / "r.nwrec"
