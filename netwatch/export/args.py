"""`netwatch export`'s options."""

from __future__ import annotations

import argparse

from netwatch.cli.types import Parser, count, file_path, positive, whole_number
from netwatch.export.spec import ExportOptions
from netwatch.tabs import TAB_NAMES, TABS

# Prometheus's wiki hands 9100-9999 out to exporters one by one and that range is all but full;
# a port outside it cannot collide with any of them (nor is it in /etc/services, nor ephemeral).
DEFAULT_PORT = 19321
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"
DEFAULT_TABS = tuple(tab.name for tab in TABS if not tab.on_request)
DEFAULT_MAX_SERIES = 500


def metrics_text() -> str:
    """Every metric `export` can serve and its labels, from each tab's own metrics part."""
    lines = []
    for tab in TABS:
        asked = f" (--tabs {tab.name})" if tab.on_request else ""
        for spec in tab.metrics(ExportOptions()).tables():
            for family in spec.families:
                lines.append(f"  {family.name:<59}{', '.join(spec.labels)}{asked}")
    lines.append(f"  {'netwatch_probe_up, netwatch_probe_lost_events_total':<59}probe")
    lines.append(f"  {'netwatch_build_info':<59}version, kernel, probe, mechanism")
    return "\n".join(lines)


def examples_text() -> str:
    examples = [
        ("netwatch export", f"http://{DEFAULT_LISTEN}/metrics"),
        (f"netwatch export --listen 0.0.0.0:{DEFAULT_PORT}", "scraped from other hosts: a choice"),
        (
            "netwatch export --textfile /var/lib/node_exporter/netwatch.prom",
            "node_exporter reads it",
        ),
        *(e for tab in TABS for e in tab.examples("export")),
    ]
    width = max(len(command) for command, _ in examples)
    return "examples:\n" + "".join(f"  {c.ljust(width)}  # {why}\n" for c, why in examples)


def listen_address(text: str) -> tuple[str, int]:
    """HOST:PORT, or [IPv6]:PORT."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"'{text[:60]}' is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise argparse.ArgumentTypeError(f"'{text[:60]}': write an IPv6 address as [ADDR]:PORT")
    return host, whole_number(1, 65535, " (a TCP port)")(port)


def tab_list(text: str) -> tuple[str, ...]:
    tabs = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    unknown = [t for t in tabs if t not in TAB_NAMES]
    if unknown or not tabs:
        raise argparse.ArgumentTypeError(
            f"'{text[:60]}' is not a list of tabs (from {','.join(TAB_NAMES)})"
        )
    return tabs


def textfile_path(text: str) -> str:
    if not text.endswith(".prom"):
        raise argparse.ArgumentTypeError(
            f"'{text[:80]}' does not end in .prom (node_exporter's textfile collector reads "
            "only those)"
        )
    return str(file_path(text))


def export_parser() -> Parser:
    p = Parser(
        prog="netwatch export",
        description="Run the probes without a screen and serve their counts to Prometheus\n"
        f"(default http://{DEFAULT_LISTEN}/metrics: loopback only; serving other hosts is\n"
        f"a choice made with --listen). Port {DEFAULT_PORT} lies outside 9100-9999, the range\n"
        "Prometheus's wiki allocates to exporters, so it collides with none of them.",
        epilog="metrics (counters survive the processes they count; see the README's table):\n"
        f"{metrics_text()}\n\n{examples_text()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--listen",
        type=listen_address,
        default=listen_address(DEFAULT_LISTEN),
        metavar="HOST:PORT",
        help=f"address to serve /metrics on (default {DEFAULT_LISTEN})",
    )
    where.add_argument(
        "--textfile",
        type=textfile_path,
        metavar="PATH",
        help="instead of serving, write the same exposition to PATH (.prom) every interval, "
        "atomically, for node_exporter's textfile collector",
    )
    p.add_argument(
        "--web.config.file",
        dest="web_config_file",
        type=file_path,
        metavar="FILE",
        help="TLS and basic auth, in the Prometheus exporters' web configuration format "
        "(tls_server_config, basic_auth_users with bcrypt hashes)",
    )
    p.add_argument(
        "--interval",
        type=positive,
        default=5.0,
        help="seconds between reads of the probes: a scrape sees counts at most this old "
        "(default 5)",
    )
    p.add_argument(
        "--tabs",
        type=tab_list,
        default=DEFAULT_TABS,
        metavar="LIST",
        help=f"tabs to export, comma-separated (default {','.join(DEFAULT_TABS)}; "
        + ", ".join(t.name for t in TABS if t.on_request)
        + " only when named, as they cost the most)",
    )
    p.add_argument(
        "--max-series",
        type=whole_number(1, 10_000_000),
        default=DEFAULT_MAX_SERIES,
        metavar="N",
        help=f"label sets per metric at most (default {DEFAULT_MAX_SERIES}); the least active "
        "fold into one whose labels are all [other], so sums stay exact",
    )
    p.add_argument(
        "--pid-label",
        action="store_true",
        help="add a pid label to the process metrics (a series per process: mind --max-series)",
    )
    p.add_argument(
        "--replay",
        type=file_path,
        metavar="FILE",
        help="export a recording instead of live probes, one interval per --interval "
        "(no root needed); ends with the recording",
    )
    p.add_argument("--count", type=count, help="stop after N intervals")
    for tab in TABS:
        tab.add_options("export", p)
    return p


def with_tabs_asked_for(args: argparse.Namespace) -> argparse.Namespace:
    """A tab exported only on request is exported when its own options ask for it (Calls'
    narrowing options do, as they do in `record`)."""
    for tab in TABS:
        if tab.on_request and tab.name not in args.tabs and tab.asked_for(args):
            args.tabs = (*args.tabs, tab.name)
    return args
