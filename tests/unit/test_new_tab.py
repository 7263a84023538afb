"""A fifth tab is one folder and one registry line (issue #23): a throwaway tab written into a
temporary folder, registered with one `Tab(...)`, and nothing else changed, is picked up by
the UI (its tab, its key, its rows), the help screen, its batch command, `record`, `replay`
and `export` (its options, its metrics in `--help` and in the exposition).

The registry is read when the command line and the app are built, so the checks run in a
fresh interpreter that registers the tab first, as a line in netwatch/tabs/__init__.py would.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.helpers.paths import ROOT

PARTS = {
    "__init__.py": '"""A throwaway tab: counted words."""\n',
    "model.py": """
        from __future__ import annotations

        from dataclasses import dataclass

        from netwatch.model.sample import RowsSample


        @dataclass(frozen=True, slots=True)
        class Word:
            word: str
            n: int


        @dataclass(frozen=True, slots=True)
        class WordsSample(RowsSample[Word]):
            pass


        @dataclass(slots=True)
        class WordsState:
            last: WordsSample | None = None
            lost: int = 0
            samples: int = 0

            def apply(self, sample: WordsSample) -> None:
                self.last, self.samples = sample, self.samples + 1

            def emptied(self) -> WordsState:
                return WordsState()

        SAMPLES = tuple(
            WordsSample(1000.0 + i, 1.0, (Word("alpha", 3 + i), Word("beta", 1)))
            for i in range(3)
        )
    """,
    "codec.py": '''
        """Words in a recording: [word, n] under "rows"."""
        from netwatch.recording import checks
        from netwatch.recording.codec import Codec
        from netwatch.recording.replay import replay_source
        from netwatch.tabs.words.model import Word, WordsSample


        def word_in(item):
            word, n = checks.fields(item, 2, "a word")
            return Word(checks.text(word, "word"), checks.count(n, "n"))


        CODEC = Codec("rows", lambda w: [w.word, w.n], word_in, WordsSample, replay_source)
    ''',
    "demo.py": """
        from netwatch.tabs.tab import Demo

        DEMO = Demo(clients=(("{gen}", "udp-send", "{server}", "7010", "--name", "wordsmith"),))
    """,
    "options.py": """
        RECORD_NOTE = "  Words adds a few bytes per word."
        EXAMPLES = {"export": (("netwatch export --tabs words --words-loud", "loudly"),)}


        def ui(p):
            p.add_argument("--words-max", type=int, default=7)


        def live_ui(p):
            pass


        def record(p):
            p.add_argument("--words", action="store_true", help="record the Words tab too")


        def export(p):
            p.add_argument("--words-loud", action="store_true", help="export the Words tab")


        def asked_for(args):
            return bool(getattr(args, "words", False) or getattr(args, "words_loud", False))
    """,
    "live.py": """
        from pathlib import Path

        from netwatch.recording.replay import ReplaySource
        from netwatch.tabs.words.model import SAMPLES


        def for_ui(args):
            return ReplaySource(SAMPLES, Path("words-live"), speed=1000.0)


        def for_record(args):
            return for_ui(args) if args.words else None


        for_export = for_ui
    """,
    "batch.py": """
        from netwatch.cli.args import batch_parser
        from netwatch.cli.batch import batch_command, replayed_or_live
        from netwatch.tabs.words.live import for_ui


        def parser():
            return batch_parser("words", "Counted words.", "words", (("netwatch words -b", "x"),))


        def command(args):
            source = replayed_or_live(args, "words", lambda: for_ui(args))

            def emit(sample):
                for w in sample.rows:
                    print(f"WORD {w.word} {w.n}", flush=True)

            return batch_command(source, None, emit)
    """,
    "metrics.py": """
        from netwatch.export.spec import OneCounter


        def metrics(options):
            return OneCounter("words", "netwatch_words_total", "Words counted", ("word",),
                              lambda w: (w.word,), lambda w: w.n)
    """,
    "screen.py": """
        from rich.text import Text

        from netwatch.screens.tabview import TabView
        from netwatch.tabs.tab import Screenshot
        from netwatch.tabs.words.model import WordsState

        HELP = "Words tab\\n  w           nothing: a test's tab\\n"
        SCREENSHOT = Screenshot("traffic-demo.nwrec", (), (80, 24))


        class WordsView(TabView[WordsState]):
            tab_name = "words"

            def __init__(self, *, max_words, live=True, id=None):
                super().__init__(live=live, id=id)
                self.state = WordsState()
                self.max_words = max_words

            def add_columns(self, table):
                table.add_column("WORD", key="word")
                table.add_column("N", key="n")

            def add_sample(self, sample):
                self.state.apply(sample)
                self.redraw()

            def redraw(self):
                table = self.table
                table.clear()
                rows = self.state.last.rows if self.state.last else ()
                for w in rows[: self.max_words]:
                    table.add_row(Text(w.word), Text(str(w.n)), key=w.word)
                self.update_banner()

            def banner_parts(self):
                return [f"{self.table.row_count} words"]

            def filter_text(self):
                return ""

            def set_filter(self, text):
                pass

            def snapshot_contents(self):
                return {"txt": "words\\n"}

            def sort_choices(self):
                return [("word", "WORD")]

            def current_sort(self):
                return "word"

            def apply_sort(self, key):
                pass


        def view(options):
            return WordsView(max_words=options.settings.get("words_max", 7), live=options.live)
    """,
}

DRIVER = """
import asyncio, sys
from pathlib import Path

folder, out = Path(sys.argv[1]), Path(sys.argv[2])
import netwatch.tabs as tabs
from netwatch.tabs.tab import Tab

# The one line a new tab adds to netwatch/tabs/__init__.py (here, from a folder of its own).
tabs.__path__.append(str(folder))
tabs.TABS = (*tabs.TABS, Tab("words", "Words", key="5", command="words", on_request=True))
tabs.TAB_NAMES = tuple(t.name for t in tabs.TABS)
tabs.BY_NAME.update({t.name: t for t in tabs.TABS})

from netwatch.cli import main as cli
from netwatch.cli import record as record_command

# record, with the tab asked for by its own option; the other tabs' probes are not what this
# checks (they need root and BPF), so only this tab is live.
record_command.require_live = lambda: None
for t in tabs.TABS[:-1]:
    __import__(f"netwatch.tabs.{t.name}.live", fromlist=["x"]).for_record = lambda a: None
rec = out / "words.nwrec"
assert cli.main(["record", "-o", str(rec), "--duration", "2", "--interval", "0.2", "--words"]) == 0
print("RECORDED", rec.read_text().count('"tab":"words"'))

# its share of the demo recording, as scripts/make_demo_recording.py reads every tab's
print("DEMO", [d.clients[0][-1] for d in (t.demo() for t in tabs.TABS) if d.clients])

# its batch command, replaying what was recorded
print("BATCH", cli.main(["words", "-b", "--replay", str(rec)]))

# export: its metrics in --help, its option asks for it, its series in the exposition
from netwatch.export.args import export_parser
print("HELP_HAS_METRIC", "netwatch_words_total" in export_parser().format_help())
prom = out / "words.prom"
code = cli.main(["export", "--replay", str(rec), "--tabs", "traffic", "--words-loud",
                 "--textfile", str(prom), "--interval", "0.05"])
series = [x for x in prom.read_text().splitlines() if x.startswith("netwatch_words_total")]
print("EXPORT", code, series)

# the UI replaying it: its tab, its key, its rows, its options, its help section
from netwatch.tabs import replay_file
from netwatch.tabs.tab import ViewOptions
from netwatch.ui.app import NetwatchApp


async def ui():
    app = NetwatchApp({"words": replay_file("words", rec, speed=100)}, initial_tab="traffic",
                      replay=True, view_options=ViewOptions(settings={"words_max": 1}))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("5")
        view = app.query_one("#words")
        for _ in range(200):
            if view.state.samples:
                break
            await pilot.pause(0.05)
        print("UI_ROWS", view.table.row_count, str(view.table.get_row_at(0)[0]))
        await pilot.press("question_mark")
        help_text = str(app.screen.query_one("Static").render())
        print("HELP_KEYS", "1 2 3 4 5" in help_text, "Words tab" in help_text)

asyncio.run(ui())
"""


def test_a_tab_in_its_own_folder_with_one_registry_line_is_picked_up_everywhere(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "tabs"
    (folder / "words").mkdir(parents=True)
    for name, text in PARTS.items():
        (folder / "words" / name).write_text(textwrap.dedent(text).lstrip())
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(folder), str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    said = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    # Three live samples; `record`'s first read of every source warms it up, unrecorded.
    assert int(said["RECORDED"]) == 2, done.stdout
    assert "WORD alpha 5" in done.stdout and said["BATCH"] == "0", done.stdout
    assert said["HELP_HAS_METRIC"] == "True"
    assert said["DEMO"].endswith("'wordsmith']"), done.stdout
    assert (
        said["EXPORT"].startswith("0 [") and 'netwatch_words_total{word="alpha"}' in said["EXPORT"]
    ), done.stdout
    assert said["UI_ROWS"] == "1 alpha", done.stdout  # its own option (--words-max) held
    assert said["HELP_KEYS"] == "True True", done.stdout
