"""`netwatch export`: the probes without a screen, their counts served to Prometheus (or written
for node_exporter's textfile collector) every interval, through the one read loop."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from netwatch.batch import read_recording, stop_on_signals
from netwatch.cli_args import EXIT_FAILED, CliError
from netwatch.export.exposition import Published, registry_for, serve, write_textfile
from netwatch.export.spec import ExportOptions, TabMetrics
from netwatch.export.state import ExportState
from netwatch.live_sources import require_live
from netwatch.model.untrusted import printable
from netwatch.opening import open_sources
from netwatch.replay import replay
from netwatch.runner import run
from netwatch.sources import Health, Source, SourceError
from netwatch.tabs import BY_NAME


def _sources(args: argparse.Namespace) -> tuple[dict[str, Source[Any]], dict[str, str]]:
    """Each asked-for tab's source, live or replayed, and why the others cannot run here."""
    if args.replay is not None:
        rec = read_recording(args.replay)
        replayed = {t: replay(t, rec.samples(t), args.replay) for t in args.tabs if rec.count(t)}
        missing = {t: "not in the recording" for t in args.tabs if t not in replayed}
        return dict(replayed), missing
    require_live()
    # A Calls source as `record` makes it: on from the start, narrowed in the kernel.
    record_args = argparse.Namespace(**vars(args), calls=True, no_calls=False)
    record_args.functions = "none"  # the metrics count calls; their insides cost and say nothing
    wanted = {t: BY_NAME[t].record_source(record_args) for t in args.tabs}
    sources = {t: s for t, s in wanted.items() if s is not None and not isinstance(s, str)}
    return sources, {t: why for t, why in wanted.items() if isinstance(why, str)}


def cmd_export(args: argparse.Namespace) -> int:
    options = ExportOptions(pid_label=args.pid_label)
    sources, down = _sources(args)
    for tab, why in down.items():
        print(printable(f"netwatch: not exporting {tab}: {why}"), file=sys.stderr)
    if not sources:
        raise CliError("netwatch: nothing to export: " + "; ".join(down.values()))
    metrics: dict[str, TabMetrics] = {tab: BY_NAME[tab].metrics(options) for tab in args.tabs}
    state = ExportState(metrics, args.max_series, down)
    published = Published(state.snapshot())
    registry = registry_for(published)
    server = None
    if args.textfile is None:
        host, port = args.listen
        try:
            server, _ = serve(registry, host, port)
        except OSError as exc:
            raise CliError(
                f"netwatch: cannot listen on {_address(host, port)}: {exc.strerror or exc}",
                EXIT_FAILED,
            ) from exc
        print(f"netwatch: serving http://{_address(host, port)}/metrics", file=sys.stderr)
    else:
        _write(registry, args.textfile)

    def publish() -> None:
        for tab, source in sources.items():
            state.set_health(tab, source.health())
        published.current = state.snapshot()
        if args.textfile is not None:
            _write(registry, args.textfile)

    def end_interval() -> None:
        # Only here: ending an interval ages the fold's activity and counts an interval, which
        # a probe coming up (published above, so a scrape sees it up) is not.
        state.end_interval(args.interval)
        publish()

    def not_exported(tab: str, exc: SourceError) -> None:
        # One tab's kernel refusing its probe leaves the others running; the scrape says
        # which is down and why.
        print(printable(f"netwatch: not exporting {tab}: {exc}"), file=sys.stderr)
        state.set_health(tab, Health("failed", str(exc)))
        del sources[tab]
        publish()

    with stop_on_signals() as should_stop:
        try:
            open_sources(sources, should_stop, failed=not_exported, opened=lambda _: publish())
            if not sources:
                raise CliError("netwatch: no probe could start", EXIT_FAILED)
            print(f"netwatch: exporting {', '.join(sources)} (Ctrl-C to stop)", file=sys.stderr)
            run(
                sources,
                state.count,
                interval=args.interval,
                should_stop=should_stop,
                count=args.count,
                after_tick=end_interval,
            )
        except SourceError as exc:
            raise CliError(f"netwatch: {exc}", EXIT_FAILED) from exc
        finally:
            for source in sources.values():
                source.close()
            if server is not None:
                server.shutdown()
                server.server_close()
    return 0


def _write(registry: Any, path: str) -> None:
    try:
        write_textfile(registry, path)
    except OSError as exc:
        raise CliError(
            printable(f"netwatch: cannot write {path}: {exc.strerror or exc}"), EXIT_FAILED
        ) from exc


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
