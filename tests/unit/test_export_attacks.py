"""`netwatch export` attacked by a local user (issue #27), each attack run as `nobody`:
a symlink race on --textfile, thousands of held connections, HTTP/0.9, a TLS hello and
slowloris, a full disk, and squatting the port. Each of these took the old exporter down or
made root overwrite a file."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from tests.helpers.paths import DEMO, NETWATCH
from tests.hostile_user import NOBODY, as_nobody

pytestmark = pytest.mark.usefixtures("root")


def long_recording(directory: Path, repeats: int) -> Path:
    """The demo's Traffic records played `repeats` times over: an exporter that keeps writing."""
    header, *records = DEMO.read_text().splitlines()
    traffic = [r for r in records if r.startswith('{"tab":"traffic"')]
    path = directory / "long.nwrec"
    path.write_text("\n".join([header, *traffic * repeats]) + "\n")
    path.chmod(0o644)
    return path


def open_directory() -> Path:
    """A directory `nobody` can reach (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="nw-attack-", dir="/tmp"))
    path.chmod(0o755)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def scrape(port: int, timeout: float = 1.0) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        body: bytes = r.read()
        return body


def wait_serving(proc: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        assert proc.poll() is None, proc.communicate()
        try:
            scrape(port, timeout=2)
            return
        except OSError:
            assert time.monotonic() < deadline, "the exporter never served"
            time.sleep(0.1)


@pytest.fixture
def exporter() -> Iterator[Callable[..., tuple[subprocess.Popen[str], int]]]:
    """A replaying exporter with the 1,024 descriptors systemd gives a service by default."""
    procs: list[subprocess.Popen[str]] = []

    def start(*extra: str, interval: str = "5") -> tuple[subprocess.Popen[str], int]:
        port = free_port()
        # stderr to a file: a pipe nobody reads would stall a process that logs much.
        proc = subprocess.Popen(
            ["prlimit", "--nofile=1024:1024", "--", NETWATCH, "export", "--replay", str(DEMO),
             "--listen", f"127.0.0.1:{port}", "--interval", interval, *extra],
            stderr=tempfile.TemporaryFile(), text=True,
        )  # fmt: skip
        procs.append(proc)
        wait_serving(proc, port)
        return proc, port

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


HOLD = """
import select, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
pending, poller = {}, select.poll()
for _ in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    pending[s.fileno()] = s
    poller.register(s, select.POLLOUT)
held, end = [], time.monotonic() + 15
while pending and time.monotonic() < end:
    for fd, _ in poller.poll(500):
        s = pending.pop(fd)
        poller.unregister(fd)
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            held.append(s)
print("holding", len(held), flush=True)
time.sleep(30)
"""


def test_two_thousand_held_connections_leave_a_scrape_under_a_second(
    exporter: Callable[..., tuple[subprocess.Popen[str], int]],
) -> None:
    proc, port = exporter()
    attacker = as_nobody(HOLD, str(port), "2000", nofile=4096)
    try:
        assert attacker.stdout is not None
        said = attacker.stdout.readline().split()
        # Established by the kernel: more than the 1,024 descriptors the exporter may open.
        assert said[0] == "holding" and int(said[1]) >= 1500, said
        me = psutil.Process(proc.pid)
        cpu_before = sum(me.cpu_times()[:2])
        for _ in range(5):
            started = time.monotonic()
            assert b"netwatch_probe_up" in scrape(port, timeout=1.0)
            assert time.monotonic() - started < 1.0
            time.sleep(0.3)
        # The old server spun at 100% of a core failing accept() with EMFILE.
        cpu = sum(me.cpu_times()[:2]) - cpu_before
        assert cpu < 0.3, f"{cpu:.2f} s of CPU over 5 scrapes while held"
        assert proc.poll() is None
    finally:
        attacker.kill()
        attacker.wait()


SLOW = """
import socket, sys, time
port, kind = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
start = time.monotonic()
hello = bytes.fromhex("160301002f0100002b0303") + bytes(32) + bytes.fromhex("000002002f0100")
s.settimeout(0.5)
sends = {"http09": [b"GET /metrics\\r\\n"], "tls": [hello]}.get(kind)
if sends is None:
    sends = [b"GET /metrics HTTP/1.1\\r\\n"] + [b"X-Slow: %d\\r\\n" % i for i in range(60)]
for piece in sends:
    try:
        s.sendall(piece)
        if s.recv(1024) == b"":
            break
    except socket.timeout:
        continue
    except OSError:
        break
    if time.monotonic() - start > 20:
        break
else:
    s.settimeout(20 - (time.monotonic() - start))
    try:
        while s.recv(1024):
            pass
    except OSError:
        pass
print(round(time.monotonic() - start, 2), flush=True)
"""


def test_http09_a_tls_hello_and_slowloris_are_timed_out(
    exporter: Callable[..., tuple[subprocess.Popen[str], int]],
) -> None:
    _, port = exporter()
    kinds = ("http09", "tls", "slowloris")
    clients = {kind: as_nobody(SLOW, str(port), kind) for kind in kinds}
    time.sleep(1)
    assert b"netwatch_probe_up" in scrape(port, timeout=1.0)
    for kind, client in clients.items():
        out, err = client.communicate(timeout=30)
        held = float(out.strip())
        # 5 s for a whole request head, then closed; the old server held each forever.
        assert held < 8.0, (kind, held, err)


def test_a_head_request_is_answered(
    exporter: Callable[..., tuple[subprocess.Popen[str], int]],
) -> None:
    _, port = exporter()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", method="HEAD")
    with urllib.request.urlopen(request, timeout=2) as r:
        assert r.status == 200 and r.read() == b""
        assert int(r.headers["Content-Length"]) > 1000


PLANT = """
import os, sys, time
directory, victim, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
seen, planted = set(), 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    for name in os.listdir(directory):
        if name != "netwatch.prom":
            seen.add(name)
    for name in seen:
        try:
            os.symlink(victim, os.path.join(directory, name))
            planted += 1
        except OSError:
            pass
    # The target name itself, between two writes.
    target = os.path.join(directory, "netwatch.prom")
    try:
        os.unlink(target)
        os.symlink(victim, target)
        planted += 1
    except OSError:
        pass
print(planted, len(seen), flush=True)
"""


def test_a_symlink_race_in_the_textfile_directory_never_writes_through_the_link() -> None:
    tmp_path = open_directory()
    recording = long_recording(tmp_path, 20)
    victim = tmp_path / "secret"
    victim.write_text("root's own\n")
    victim.chmod(0o600)
    textdir = tmp_path / "textfile"
    textdir.mkdir()
    os.chown(textdir, NOBODY, NOBODY)  # as node_exporter's directory is the prometheus user's
    target = textdir / "netwatch.prom"
    proc = subprocess.Popen(
        [NETWATCH, "export", "--replay", str(recording), "--textfile", str(target),
         "--interval", "0.05"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    attacker = as_nobody(PLANT, str(textdir), str(victim), "4")
    try:
        out, err = attacker.communicate(timeout=30)
        planted, seen = map(int, out.split())
        proc.wait(timeout=30)
        assert planted > 0 and seen > 0, (out, err)
        assert victim.read_text() == "root's own\n"
        assert victim.stat().st_uid == 0 and victim.stat().st_mode & 0o777 == 0o600
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(tmp_path)


def test_a_symlinked_target_and_an_open_directory_are_refused_in_one_line(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "secret"
    victim.write_text("root's own\n")
    link = tmp_path / "netwatch.prom"
    link.symlink_to(victim)
    opened = tmp_path / "open"
    opened.mkdir()
    opened.chmod(0o777)
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    for path, said in ((link, "is a symbolic link"),
                       (opened / "netwatch.prom", "writable by every user")):  # fmt: skip
        run = subprocess.run(
            [NETWATCH, "export", "--replay", str(DEMO), "--textfile", str(path), "--count", "1"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert run.returncode == 1 and said in run.stderr, run.stderr
        assert run.stderr.count("\n") == 1
    assert victim.read_text() == "root's own\n"
    ok = subprocess.run(
        [NETWATCH, "export", "--replay", str(DEMO), "--textfile", str(sticky / "n.prom"),
         "--interval", "0.05"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "netwatch_probe_up" in (sticky / "n.prom").read_text()


def errors_in(text: str) -> int:
    found = re.search(r"^netwatch_textfile_write_errors_total (\S+)$", text, re.M)
    assert found, text[-500:]
    return int(float(found.group(1)))


def test_a_full_disk_is_counted_and_the_exporter_keeps_writing_afterwards(
    small_disk: Callable[[str], Path],
) -> None:
    disk = small_disk("256k")
    target = disk / "netwatch.prom"
    proc = subprocess.Popen(
        [NETWATCH, "export", "--replay", str(DEMO), "--textfile", str(target), "--interval", "1"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not target.exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        good = target.read_text()
        assert errors_in(good) == 0
        filler = disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        time.sleep(2.2)
        assert proc.poll() is None, "one failed write ended the exporter"
        assert "netwatch_probe_up" in target.read_text()  # the last good file, whole
        filler.unlink()
        deadline = time.monotonic() + 10
        while errors_in(target.read_text()) == 0:
            assert time.monotonic() < deadline, "never wrote again after the disk had room"
            time.sleep(0.1)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0
        assert "No space left on device (will try again)" in err
    finally:
        proc.kill()
        proc.wait()


BIND = """
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
    print("bound")
except OSError as exc:
    print("refused", exc.errno)
"""


def test_the_socket_systemd_binds_is_used_and_cannot_be_squatted() -> None:
    port = free_port()
    proc = subprocess.Popen(
        ["systemd-socket-activate", "-l", f"127.0.0.1:{port}",
         NETWATCH, "export", "--replay", str(DEMO), "--interval", "2",
         "--listen", "127.0.0.1:1"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        squatter = as_nobody(BIND, str(port))
        out, _ = squatter.communicate(timeout=10)
        assert out.split()[0] == "refused"
        wait_serving(proc, port)
        assert b"netwatch_probe_up" in scrape(port, timeout=2)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "the socket systemd passed" in err, err
