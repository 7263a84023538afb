"""The tab registry: every registered tab's folder offers every part netwatch/tabs/tab.py lists,
so the app, the CLI, record and replay can reach it without naming it."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

from netwatch.export.spec import ExportOptions
from netwatch.recording.codec import Codec
from netwatch.tabs import TABS
from netwatch.tabs.tab import ViewOptions
from tests.helpers.paths import DATA, ROOT

TABS_DIR = Path(__file__).resolve().parents[2] / "netwatch" / "tabs"


def test_every_folder_is_registered_once_with_its_own_key_and_command() -> None:
    folders = {p.parent.name for p in TABS_DIR.glob("*/__init__.py")}
    assert folders == {t.name for t in TABS}
    assert len({t.key for t in TABS}) == len({t.command for t in TABS}) == len(TABS)


def test_every_tab_offers_every_part() -> None:
    for tab in TABS:
        assert isinstance(tab.codec(), Codec), tab.name
        assert callable(tab.codec().replay), tab.name
        assert isinstance(tab.batch_parser(), argparse.ArgumentParser), tab.name
        assert tab.batch_parser().prog == f"netwatch {tab.command}", tab.name
        for module, name in (("screen", "view"), ("live", "for_ui"), ("batch", "command")):
            part = tab.part(module, name)
            assert callable(part) and len(inspect.signature(part).parameters) == 1, (tab, name)
        # Beside the probe that loads it: the folder, or its probe/ package.
        assert len(list((TABS_DIR / tab.name).glob(f"**/{tab.name}.bpf.c"))) == 1, tab.name
        assert (DATA / tab.screenshot().recording).is_file(), tab.name
        assert tab.help().startswith(f"{tab.title} tab"), tab.name
        # Optional parts: for_record and for_export default to for_ui.
        for name in ("for_record", "for_export"):
            part = tab.optional_part("live", name, tab.part("live", "for_ui"))
            assert callable(part) and len(inspect.signature(part).parameters) == 1, (tab, name)
        specs = tab.metrics(ExportOptions()).tables()
        assert specs and all(s.families for s in specs), tab.name


def test_views_come_from_the_registry_with_the_options_they_take() -> None:
    options = ViewOptions(live=False, settings={"max_rows": 7, "max_calls": 5, "max_threads": 3})
    for tab in TABS:
        view = tab.view(options)
        assert type(view).__module__ == f"netwatch.tabs.{tab.name}.screen"


def test_every_tab_adds_to_the_demo_recording_its_picture_is_made_from() -> None:
    # A tab's README picture replays a demo recording that some tab's demo.py makes
    # (scripts/make_demo_recording.py runs them), and each command's words are
    # ones that script fills in or a program the test hosts have.
    generator = (ROOT / "tests" / "traffic_gen.py").read_text()
    tcp_generator = (ROOT / "tests" / "tcp_gen.py").read_text()
    for tab in TABS:
        demo = tab.demo()
        if demo.clients:  # the picture of it is made from the recording it adds to
            assert demo.recording == tab.screenshot().recording, tab.name
        made = {t.demo().recording for t in TABS if t.demo().clients}
        assert tab.screenshot().recording in made, tab.name
        for words in (*demo.servers, *demo.clients):
            assert words[0] in ("{gen}", "{tcpgen}", "ping"), (tab.name, words)
            if words[0] in ("{gen}", "{tcpgen}"):
                script = generator if words[0] == "{gen}" else tcp_generator
                assert f'"{words[1]}"' in script, (tab.name, words)  # a mode it has
            assert all(w in ("{gen}", "{tcpgen}", "{server}", "{server6}")
                       for w in words if "{" in w)  # fmt: skip
