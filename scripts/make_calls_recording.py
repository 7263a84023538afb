"""Record real socket calls between two test namespaces into tests/data/calls-demo.nwrec (root).

A TCP client and server (`web-client`, `web-server`) and a UDP pair (`dns-client`,
`dns-server`), each client making its socket, connect, write, read, send, recv and close three
times; the Calls probe is limited to those four command names. Bounded; the namespaces are
removed at the end.
  sudo .venv/bin/python scripts/make_calls_recording.py [OUTPUT]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.netns import Host, veth_pair  # noqa: E402

GEN = str(ROOT / "tests" / "traffic_gen.py")
NAMES = ("web-client", "web-server", "dns-client", "dns-server")


def gen(host: Host, *argv: str, stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        host.exec_argv(sys.executable, GEN, *argv, "--max-seconds", "8"),
        stdin=stdin,
        stdout=subprocess.DEVNULL,
        text=True,
    )


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data" / "calls-demo.nwrec"
    out.unlink(missing_ok=True)
    only = [arg for name in NAMES for arg in ("--calls-comm", name)]
    with veth_pair("c") as link:
        a, b = link.a, link.b
        recorder = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "netwatch"), "record", "-o", str(out),
             "--duration", "7", "--interval", "1", *only]
        )  # fmt: skip
        time.sleep(3.5)  # the probes compile first
        servers = [
            gen(b, "echo-server", b.addr, "8080", "--proto", "tcp", "--count", "6",
                "--name", "web-server"),
            gen(b, "echo-server", b.addr, "5353", "--proto", "udp", "--count", "6",
                "--name", "dns-server"),
        ]  # fmt: skip
        time.sleep(0.5)
        for _ in range(3):
            for proto, port, name, size in (("tcp", "8080", "web-client", "3000"),
                                            ("udp", "5353", "dns-client", "200")):  # fmt: skip
                client = gen(a, "call-client", b.addr, port, "--proto", proto, "--size", size,
                             "--name", name, stdin=subprocess.PIPE)  # fmt: skip
                client.communicate("go\n", timeout=30)
            time.sleep(0.4)
        for s in servers:
            s.wait(timeout=30)
        recorder.wait(timeout=60)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
