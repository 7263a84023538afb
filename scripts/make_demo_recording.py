"""Record real traffic between two test namespaces into the demo recordings of tests/data (root).

What runs is each tab's share of its demo recording (its demo.py: netwatch.tabs.tab.Demo): the
listening side's servers first, then the clients in the other namespace, under the firewall
rules the tabs ask for. Tabs that name the same recording share it. Everything is bounded; the
namespaces are removed at the end.
  sudo .venv/bin/python scripts/make_demo_recording.py [OUTPUT_DIR]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netwatch.tabs import TABS  # noqa: E402
from netwatch.tabs.tab import Demo  # noqa: E402
from tests.netns import Host, veth_pair  # noqa: E402

GEN = str(ROOT / "tests" / "traffic_gen.py")
TCP_GEN = str(ROOT / "tests" / "tcp_gen.py")
NETWATCH = str(ROOT / ".venv" / "bin" / "netwatch")
RECORD_S = 7
COMPILE_S = 4.5  # the probes compile before anything worth recording starts


def start(host: Host, words: tuple[str, ...], server: Host, rounds: int) -> subprocess.Popen[str]:
    named = {"{gen}": [sys.executable, GEN], "{tcpgen}": [sys.executable, TCP_GEN],
             "{server}": [server.addr], "{server6}": [server.addr6]}  # fmt: skip
    argv = [part for word in words for part in named.get(word, [word])]
    stdin = subprocess.PIPE if rounds else None
    return subprocess.Popen(
        host.exec_argv(*argv), stdin=stdin, stdout=subprocess.DEVNULL, text=True
    )


def record(out: Path, demos: list[Demo]) -> None:
    out.unlink(missing_ok=True)
    with veth_pair("d", ipv6=True) as link:
        a, b = link.a, link.b
        options = [word for d in demos for word in d.record_options]
        recorder = subprocess.Popen([NETWATCH, "record", "-o", str(out), "--duration",
                                     str(RECORD_S), "--interval", "1", *options])  # fmt: skip
        rules = [
            "add table inet demo",
            "add chain inet demo input { type filter hook input priority 0 ; }",
            *(f"add rule inet demo input {rule}" for d in demos for rule in d.nft_rules),
        ]
        subprocess.run(b.exec_argv("nft", "-f", "-"), input="\n".join(rules) + "\n", text=True,
                       check=True)  # fmt: skip
        time.sleep(COMPILE_S)
        procs = [start(b, w, b, 0) for d in demos for w in d.servers]
        time.sleep(0.5)  # listening before anyone connects
        procs += [start(a, w, b, 0) for d in demos if not d.client_rounds for w in d.clients]
        for d in demos:
            for _ in range(d.client_rounds):
                for words in d.clients:
                    start(a, words, b, d.client_rounds).communicate("go\n", timeout=30)
                time.sleep(0.4)
        for p in procs:
            p.wait(timeout=30)
        recorder.wait(timeout=60)
    print(f"wrote {out}")


def main() -> None:
    into = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data"
    by_recording: dict[str, list[Demo]] = {}
    for tab in TABS:
        demo = tab.demo()
        if demo.servers or demo.clients:
            by_recording.setdefault(demo.recording, []).append(demo)
    for name, demos in by_recording.items():
        record(into / name, demos)


if __name__ == "__main__":
    main()
