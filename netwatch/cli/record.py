"""`netwatch record`: every tab's live source, read through the one read loop and written to a
new recording file."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from netwatch.cli.batch import stop_on_signals
from netwatch.cli.types import EXIT_FAILED, CliError
from netwatch.recording.file import RecordingWriteError, RecordingWriter, create_new_file
from netwatch.sources.base import Source, SourceError
from netwatch.sources.live import require_live
from netwatch.sources.opening import open_sources
from netwatch.sources.runner import run
from netwatch.tabs import TABS, codecs


def cmd_record(args: argparse.Namespace) -> int:
    require_live()
    wanted = {tab.name: tab.record_source(args) for tab in TABS}
    sources: dict[str, Source[Any]] = {
        tab: s for tab, s in wanted.items() if s is not None and not isinstance(s, str)
    }
    left_out = {tab: why for tab, why in wanted.items() if isinstance(why, str)}
    if not sources:
        raise CliError("netwatch: nothing to record: " + "; ".join(left_out.values()))
    try:
        stream = create_new_file(args.output)
    except FileExistsError:
        raise CliError(
            f"netwatch: {args.output} already exists; recordings never overwrite"
        ) from None
    except OSError as exc:
        raise CliError(f"netwatch: cannot create {args.output}: {exc.strerror}") from exc
    for why in left_out.values():
        print(f"netwatch: not recording: {why}", file=sys.stderr)
    writer = RecordingWriter(stream, codecs(*sources), args.output)
    intervals = 0
    with stop_on_signals() as should_stop:
        try:
            open_sources(sources, should_stop)
            # The probes compiled one after another, so each has counted since a different
            # moment; a read now, not written, starts every tab's first interval on the same
            # tick, and the recording's samples come a steady interval apart from the first.
            warm_up = time.monotonic()
            for source in sources.values():
                source.read()
            print(f"netwatch: recording to {args.output} (Ctrl-C to stop)", file=sys.stderr)
            deadline = None if args.duration is None else time.monotonic() + args.duration

            def over() -> bool:
                return should_stop() or (deadline is not None and time.monotonic() >= deadline)

            first = next(iter(sources))

            def write(tab: str, sample: Any) -> None:
                nonlocal intervals
                writer.write(tab, sample)
                intervals += tab == first  # each tick reads every tab once

            run(sources, write, interval=args.interval, should_stop=over, since=warm_up)
        except RecordingWriteError as exc:
            raise CliError(
                f"netwatch: recording stopped: {exc}; the {intervals} intervals before it replay",
                EXIT_FAILED,
            ) from exc
        except SourceError as exc:
            raise CliError(f"netwatch: {exc}", EXIT_FAILED) from exc
        finally:
            for source in sources.values():
                source.close()
            writer.close()
    print(f"netwatch: wrote {intervals} intervals to {args.output}", file=sys.stderr)
    return 0
