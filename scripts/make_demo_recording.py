"""Record real traffic between two test namespaces into tests/data/traffic-demo.nwrec (root).

What runs is each tab's share of the demo (its demo.py: netwatch.tabs.tab.Demo): the listening
side's servers first, then the clients in the other namespace, under the firewall rules the tabs
ask for. Everything is bounded; the namespaces are removed at the end.
  sudo .venv/bin/python scripts/make_demo_recording.py [OUTPUT]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netwatch.tabs import TABS  # noqa: E402
from tests.netns import veth_pair  # noqa: E402

GEN = str(ROOT / "tests" / "traffic_gen.py")
RECORD_S = 7


def argv(words: tuple[str, ...], server: str, server6: str) -> list[str]:
    named = {"{gen}": [sys.executable, GEN], "{server}": [server], "{server6}": [server6]}
    return [part for word in words for part in named.get(word, [word])]


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data" / "traffic-demo.nwrec"
    out.unlink(missing_ok=True)
    demos = [tab.demo() for tab in TABS]
    with veth_pair("d", ipv6=True) as link:
        a, b = link.a, link.b
        netwatch = str(ROOT / ".venv" / "bin" / "netwatch")
        recorder = subprocess.Popen(
            [netwatch, "record", "-o", str(out), "--duration", str(RECORD_S), "--interval", "1"]
        )
        rules = [
            "add table inet demo",
            "add chain inet demo input { type filter hook input priority 0 ; }",
            *(f"add rule inet demo input {rule}" for d in demos for rule in d.nft_rules),
        ]
        subprocess.run(b.exec_argv("nft", "-f", "-"), input="\n".join(rules) + "\n", text=True,
                       check=True)  # fmt: skip
        time.sleep(2.5)  # the probe compiles first
        procs = [
            subprocess.Popen(b.exec_argv(*argv(w, b.addr, b.addr6)), stdout=subprocess.DEVNULL)
            for d in demos
            for w in d.servers
        ]
        time.sleep(0.5)  # listening before anyone connects
        procs += [
            subprocess.Popen(a.exec_argv(*argv(w, b.addr, b.addr6)), stdout=subprocess.DEVNULL)
            for d in demos
            for w in d.clients
        ]
        for p in procs:
            p.wait(timeout=30)
        recorder.wait(timeout=30)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
