"""`netwatch export`: the probes without a screen, their counts served to Prometheus (or written
for node_exporter's textfile collector) every interval, through the one read loop."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from netwatch.cli.batch import read_recording, stop_on_signals
from netwatch.cli.types import EXIT_FAILED, CliError
from netwatch.export.exposition import Published, exposition, registry_for
from netwatch.export.http_server import MetricsServer
from netwatch.export.listen import ListenError, bound_socket, describe, systemd_socket
from netwatch.export.spec import ExportOptions, TabMetrics
from netwatch.export.state import ExportState
from netwatch.export.textfile import TextfileRefused, TextfileWriter
from netwatch.export.web_config import WebConfig, WebConfigError, load_web_config
from netwatch.model.untrusted import printable
from netwatch.sources.base import Health, Source, SourceError
from netwatch.sources.live import require_live
from netwatch.sources.opening import open_sources
from netwatch.sources.runner import run
from netwatch.tabs import BY_NAME, replay


def _sources(args: argparse.Namespace) -> tuple[dict[str, Source[Any]], dict[str, str]]:
    """Each asked-for tab's source, live or replayed, and why the others cannot run here."""
    if args.replay is not None:
        rec = read_recording(args.replay)
        replayed = {t: replay(t, rec.samples(t), args.replay) for t in args.tabs if rec.count(t)}
        missing = {t: "not in the recording" for t in args.tabs if t not in replayed}
        return dict(replayed), missing
    require_live()
    wanted = {t: BY_NAME[t].export_source(args) for t in args.tabs}
    sources = {t: s for t, s in wanted.items() if not isinstance(s, str)}
    return sources, {t: why for t, why in wanted.items() if isinstance(why, str)}


def cmd_export(args: argparse.Namespace) -> int:
    options = ExportOptions(pid_label=args.pid_label)
    web = _web_config(args)
    sources, down = _sources(args)
    for tab, why in down.items():
        print(printable(f"netwatch: not exporting {tab}: {why}"), file=sys.stderr)
    if not sources:
        raise CliError("netwatch: nothing to export: " + "; ".join(down.values()))
    metrics: dict[str, TabMetrics] = {tab: BY_NAME[tab].metrics(options) for tab in args.tabs}
    state = ExportState(metrics, args.max_series, down)
    published = Published(state.snapshot())
    registry = registry_for(published)
    server: MetricsServer | None = None
    writer: TextfileWriter | None = None
    if args.textfile is None:
        server = _serve(args, published, lambda: exposition(registry), web)
    else:
        writer = _textfile(args.textfile)
        published.textfile_errors = 0
        try:
            writer.write(exposition(registry))
        except (OSError, TextfileRefused) as exc:
            writer.close()
            raise CliError(_cannot_write(args.textfile, exc), EXIT_FAILED) from exc

    def publish() -> None:
        for tab, source in sources.items():
            state.set_health(tab, source.health())
        published.current = state.snapshot()
        if writer is not None:
            _rewrite(writer, published, lambda: exposition(registry))

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
                server.stop()
            if writer is not None:
                writer.close()
    return 0


def _web_config(args: argparse.Namespace) -> WebConfig:
    if args.web_config_file is None:
        return WebConfig(None, None)
    if args.textfile is not None:
        raise CliError("netwatch: --web.config.file is for serving; --textfile serves nothing")
    try:
        return load_web_config(args.web_config_file)
    except WebConfigError as exc:
        raise CliError(printable(f"netwatch: --web.config.file: {exc}")) from exc


def _serve(
    args: argparse.Namespace, published: Published, render: Callable[[], bytes], web: WebConfig
) -> MetricsServer:
    host, port = args.listen
    try:
        sock = systemd_socket()
        given = sock is not None
        if sock is None:
            sock = bound_socket(host, port)
    except ListenError as exc:
        raise CliError(f"netwatch: {exc}", EXIT_FAILED) from exc
    except OSError as exc:
        raise CliError(
            f"netwatch: cannot listen on {_address(host, port)}: {exc.strerror or exc}",
            EXIT_FAILED,
        ) from exc
    server = MetricsServer(sock, lambda: published.current, render, tls=web.tls, auth=web.auth)
    server.start()
    scheme = "https" if web.tls is not None else "http"
    how = " (the socket systemd passed; --listen is not used)" if given else ""
    print(f"netwatch: serving {scheme}://{describe(sock)}/metrics{how}", file=sys.stderr)
    return server


def _textfile(path: str) -> TextfileWriter:
    try:
        return TextfileWriter(path)
    except (OSError, TextfileRefused) as exc:
        raise CliError(_cannot_write(path, exc), EXIT_FAILED) from exc


def _rewrite(writer: TextfileWriter, published: Published, render: Callable[[], bytes]) -> None:
    """A failed write (a full disk, a planted symlink) is counted and said, and tried again
    next interval; the last good file stays for node_exporter meanwhile."""
    try:
        writer.write(render())
    except (OSError, TextfileRefused) as exc:
        published.textfile_errors = (published.textfile_errors or 0) + 1
        print(_cannot_write(writer.path, exc) + " (will try again)", file=sys.stderr)


def _cannot_write(path: str, exc: OSError | TextfileRefused) -> str:
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return printable(f"netwatch: cannot write {path}: {why}")


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
