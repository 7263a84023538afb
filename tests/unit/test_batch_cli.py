"""The batch commands as an operator types them: -b for --batch, the command word alone opens the
UI on its tab, -p on every command with processes, -T timing each text line, and examples in
every --help."""

from __future__ import annotations

import json
import re
import time

import pytest

from netwatch.cli import main as cli
from netwatch.recording.file import load_recording
from netwatch.tabs import TABS, codecs
from tests.helpers.cli import one_line_error, opened_tabs, run
from tests.helpers.paths import CALLS_DEMO, DEMO

STAMP = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) ")


def clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def test_a_commands_word_alone_opens_its_tab_and_with_b_runs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened = opened_tabs(monkeypatch)
    assert cli.main(["top"]) == 0
    assert cli.main(["top", "--interval", "2"]) == 0
    assert opened == ["traffic", "traffic"]
    short = run("top", "-b", "--replay", str(DEMO))
    long = run("top", "--batch", "--replay", str(DEMO))
    assert short.returncode == 0 and short.stdout == long.stdout and "PID" in short.stdout
    # An option only the batch command has, without -b: its own error, not the UI's.
    one_line_error(run("top", "--json"), r"netwatch top: .*required: -b/--batch")


def test_every_batch_help_has_examples_of_that_command() -> None:
    for tab in TABS:
        helped = run(tab.command, "--help")
        assert helped.returncode == 0, helped.stderr
        examples = helped.stdout.split("examples:\n", 1)[1].strip().splitlines()
        assert len(examples) >= 4, tab.command
        assert all(e.strip().startswith(f"netwatch {tab.command}") for e in examples)
        assert any(e.strip().startswith(f"netwatch {tab.command} -b") for e in examples)


def test_timestamps_put_each_lines_own_time_in_front() -> None:
    rec = load_recording(DEMO, codecs())
    timed = run("top", "-b", "-T", "--replay", str(DEMO)).stdout.split("\n\n")
    plain = run("top", "-b", "--replay", str(DEMO)).stdout.split("\n\n")
    assert len(timed) == len(plain) == len(rec["traffic"]) + 1  # a blank line after each
    for table, untimed, sample in zip(timed, plain, rec["traffic"], strict=False):
        lines = table.splitlines()
        assert lines and all(line.startswith(clock(sample.ts) + " ") for line in lines)
        assert [line[13:] for line in lines] == untimed.splitlines()
    accepts = run("accepts", "-b", "-T", "--replay", str(DEMO)).stdout.splitlines()
    events = [e for s in rec["accepts"] for e in s.events]
    assert accepts[0].startswith("TIME ") and len(accepts) == len(events) + 1
    assert [line[:12] for line in accepts[1:]] == [clock(e.ts) for e in events]
    calls = run("calls", "-b", "-T", "--replay", str(CALLS_DEMO)).stdout.splitlines()
    assert calls and all(STAMP.match(line) for line in calls)
    one_line_error(run("top", "-b", "-T", "--json", "--replay", str(DEMO)), "--timestamps")


def test_p_keeps_only_those_processes() -> None:
    rec = load_recording(DEMO, codecs())
    pids = sorted({r.key.pid for s in rec["traffic"] for r in s.rows if r.key.pid > 0})
    wanted = pids[:2]
    rows = [
        json.loads(line)
        for line in run(
            "top", "-b", "--json", "-p", str(wanted[0]), "-p", str(wanted[1]), "--replay", str(DEMO)
        ).stdout.splitlines()
    ]
    expected = [r for s in rec["traffic"] for r in s.rows if r.key.pid in wanted]
    assert len(rows) == len(expected) > 0 and {r["pid"] for r in rows} == set(wanted)
    accept_pids = [e.pid for s in rec["accepts"] for e in s.events]
    one = accept_pids[0]
    got = run("accepts", "-b", "--json", "-p", str(one), "--replay", str(DEMO)).stdout
    assert [json.loads(line)["pid"] for line in got.splitlines()] == [
        p for p in accept_pids if p == one
    ]
    # Drops are counted per place in the kernel, not per process: -p is refused plainly.
    one_line_error(run("drops", "-b", "-p", "1", "--replay", str(DEMO)), "unrecognized.*-p")


def test_the_ui_says_why_its_default_interval_differs_from_the_batch_commands() -> None:
    helped = run("--help").stdout
    assert "default 1" in " ".join(helped.split()) and "5 s" in helped


def test_record_takes_calls_only_when_asked_for() -> None:
    from netwatch.cli.args import record_parser
    from netwatch.tabs import BY_NAME

    calls = BY_NAME["calls"]

    def source(*argv: str) -> object:
        return calls.record_source(record_parser().parse_args(["-o", "x.nwrec", *argv]))

    assert source() is None and source("--no-calls") is None
    assert source("--calls") is not None
    assert source("--calls-comm", "nginx") is not None and source("--calls-pid", "1") is not None
    assert BY_NAME["traffic"].record_source(record_parser().parse_args(["-o", "x"])) is not None
    one_line_error(run("record", "-o", "x.nwrec", "--calls", "--no-calls"), "not allowed with")
    helped = run("record", "--help").stdout
    assert "MB a minute" in helped and "examples:" in helped


@pytest.mark.parametrize(
    ("command", "recording", "shown", "hidden"),
    [
        ("top", DEMO, "comm:backup-agent", "metrics-feed"),
        ("drops", DEMO, "reason:netfilter", "NO_SOCKET"),
        ("accepts", DEMO, "port:2222", "web-frontend"),
        ("calls", CALLS_DEMO, "comm:dns-client call:sendto", "web-client"),
    ],
)
def test_every_batch_command_takes_the_same_grammar(
    command: str, recording: object, shown: str, hidden: str
) -> None:
    # #24: top/drops stopped with --count, accepts/calls with --duration; the UI's filter
    # language had no batch equivalent.
    everything = run(command, "-b", "--replay", str(recording), "--json")
    assert everything.returncode == 0 and hidden in everything.stdout
    kept = run(command, "-b", "--replay", str(recording), "--json", "--filter", shown)
    assert kept.returncode == 0, kept.stderr
    lines = [json.loads(line) for line in kept.stdout.splitlines()]
    assert lines and hidden not in kept.stdout and len(lines) < len(everything.stdout.splitlines())
    assert all(type(line["ts"]) is float for line in lines)
    # --count N: the first N intervals, exactly: what `everything` printed up to the Nth's end.
    tab = next(t for t in TABS if t.command == command).name
    samples = load_recording(recording, codecs())[tab]  # type: ignore[arg-type]
    busy = [i for i, sample in enumerate(samples) if sample.items]
    half = busy[len(busy) // 2]  # intervals before it, at least one of them with something
    first = run(command, "-b", "--replay", str(recording), "--json", "--count", str(half))
    expected = [
        line
        for line in everything.stdout.splitlines()
        if json.loads(line)["ts"] <= samples[half - 1].ts
    ]
    assert first.returncode == 0 and first.stdout.splitlines() == expected
    assert 0 < len(expected) < len(everything.stdout.splitlines())
    assert run(command, "-b", "--replay", str(recording), "--duration", "5").returncode == 0
    one_line_error(
        run(command, "-b", "--replay", str(recording), "--filter", "nosuchkey:1"),
        r"netwatch: bad --filter: unknown filter key 'nosuchkey:'",
    )
