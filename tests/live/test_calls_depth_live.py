"""Calls' function depth (issue #11): where the kernel has fentry or kprobes, `netwatch calls
--batch` shows curl's connect and its write/sendto with the net/socket.c functions they went
through nested under them and returning, in socket-trace.stp's thread_indent lines; where it
has neither (our 6.18), it says so and shows the calls as before. tests/vm runs this on 6.1,
which has both mechanisms: each is tested there on its own."""

from __future__ import annotations

import http.server
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from netwatch.probes.requirements import kprobes_available
from tests.helpers.paths import ROOT

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("live_bpf")]

LINE = re.compile(r"^(\d+) (\S+)\((\d+)\):( +)(->|<-|\*) (\S+)(.*)$")
CURL_RUNS = 3
BODY = b"x" * 5000


@dataclass(frozen=True)
class Line:
    tid: int
    comm: str
    depth: int
    arrow: str
    name: str
    rest: str


def parse(text: str) -> list[Line]:
    out = []
    for raw in text.splitlines():
        m = LINE.match(raw)
        if m:
            out.append(Line(int(m[3]), m[2], len(m[4]), m[5], m[6], m[7]))
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def trace_curl(port: int, mode: str) -> tuple[str, list[Line]]:
    """`netwatch calls --batch --comm curl --functions MODE` while curl fetches from the local
    server CURL_RUNS times. Returns netwatch's announcement and its lines."""
    tracer = subprocess.Popen(
        [sys.executable, "-m", "netwatch", "calls", "--batch", "--comm", "curl",
         "--functions", mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert tracer.stderr is not None
        announce = ""
        deadline = time.monotonic() + 240  # a BCC compile and ~90 attachments under TCG
        while time.monotonic() < deadline and not announce.startswith("netwatch: tracing"):
            announce = tracer.stderr.readline()
            assert announce or tracer.poll() is None, "netwatch calls exited before tracing"
        assert announce.startswith("netwatch: tracing"), announce
        for _ in range(CURL_RUNS):
            curl = subprocess.run(
                ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                 f"http://127.0.0.1:{port}/"],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            assert curl.stdout == "200"
        time.sleep(1.0)  # the drain's next read
    finally:
        tracer.send_signal(signal.SIGINT)
        out, err = tracer.communicate(timeout=120)
    assert tracer.returncode == 0, err
    return announce, parse(out)


def calls_with_children(lines: list[Line]) -> list[tuple[Line, list[Line], Line | None]]:
    """Each depth-1 call: its enter, what is nested under it, its return."""
    out: list[tuple[Line, list[Line], Line | None]] = []
    open_: dict[int, tuple[Line, list[Line]]] = {}
    for line in lines:
        if line.depth == 1 and line.arrow == "->":
            open_[line.tid] = (line, [])
        elif line.depth == 1 and line.arrow == "<-":
            if line.tid in open_:
                enter, inner = open_.pop(line.tid)
                out.append((enter, inner, line))
        elif line.tid in open_:
            open_[line.tid][1].append(line)
    return out


def balanced(inner: list[Line]) -> bool:
    """Every function entered under a call returns under it, innermost first, one level up."""
    stack: list[Line] = []
    for line in inner:
        if line.arrow == "->":
            if line.depth != 2 + len(stack):
                return False
            stack.append(line)
        elif line.arrow == "<-":
            if not stack or stack[-1].name != line.name or line.depth != 1 + len(stack):
                return False
            stack.pop()
    return not stack


@pytest.mark.parametrize("mode", ["auto", "fentry", "kprobes"])
def test_curls_calls_show_net_socket_c_functions_nested_and_returning(
    http_port: int, mode: str
) -> None:
    announce, lines = trace_curl(http_port, mode)
    curl = [line for line in lines if line.comm == "curl"]
    calls = calls_with_children(curl)
    assert calls, "no complete call of curl's traced"
    # curl's own connections (it also asks nscd and the like over unix sockets).
    connects = [
        c for c in calls if c[0].name == "connect" and f"127.0.0.1:{http_port}" in c[0].rest
    ]
    sends = [c for c in calls if c[0].name in ("sendto", "write", "sendmsg", "writev")]
    assert len(connects) >= CURL_RUNS and len(sends) >= CURL_RUNS, [c[0].name for c in calls]
    functions = [line for _, inner, _ in calls for line in inner if line.arrow in ("->", "<-")]

    if "no function depth" in announce:
        # Neither mechanism here: said plainly, and the calls are shown as before.
        assert not functions
        assert mode == "fentry" or not kprobes_available(), announce
        return
    mechanism = "fentry" if "by fentry" in announce else "kprobes"
    assert f"function depth by {mechanism} on " in announce, announce
    if mode != "auto":
        assert mechanism == mode
    if kprobes_available() and mode == "kprobes":
        assert mechanism == "kprobes"
    for enter, inner, exit_ in calls:
        assert balanced(inner), (enter, inner, exit_)
    # connect went through __sys_connect, which returned what connect returned (0, or
    # -EINPROGRESS for curl's non-blocking sockets).
    for _, inner, exit_ in connects:
        assert exit_ is not None
        names = [line.name for line in inner if line.arrow == "->"]
        assert "__sys_connect" in names, names
        ret = next(line for line in inner if line.arrow == "<-" and line.name == "__sys_connect")
        result = re.match(r" = (\S+) ", exit_.rest)
        assert result and result[1] in ("0", "-EINPROGRESS"), exit_
        assert ret.depth == 2 and ret.rest.startswith(f" = {result[1]} ("), ret
    # The request went through the socket layer's send (sock_sendmsg, its 6.6+ / stable
    # __sock_sendmsg, or write()'s sock_write_iter), returning the bytes the call returned.
    senders = ("sock_sendmsg", "__sock_sendmsg", "sock_write_iter")
    for _, inner, exit_ in sends:
        assert exit_ is not None
        sent = re.match(r" = (\d+) ", exit_.rest)
        assert sent, exit_
        returns = [line for line in inner if line.arrow == "<-" and line.name in senders]
        assert returns, [line.name for line in inner]
        assert any(line.rest.startswith(f" = {sent[1]} (") for line in returns), returns
    print(f"\n{mode}: {announce.strip()}; {len(calls)} calls, {len(functions)} function lines")


def test_functions_off_shows_the_calls_alone(http_port: int) -> None:
    announce, lines = trace_curl(http_port, "off")
    assert "function depth off" in announce, announce
    curl = calls_with_children([line for line in lines if line.comm == "curl"])
    assert any(enter.name == "connect" for enter, _, _ in curl)
    assert not [line for _, inner, _ in curl for line in inner if line.arrow != "*"]
