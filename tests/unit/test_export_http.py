"""The exporter's HTTP server in-process (issue #27): what it answers, the connection cap and
its eviction of idle connections, and TLS with basic auth from an exporter-toolkit web config."""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from netwatch.cli.main import main
from netwatch.export.http_server import MetricsServer, parse_head
from netwatch.export.web_config import WebConfigError, load_web_config

BODY = b"netwatch_probe_up 1\n"


def start(**kw: object) -> tuple[MetricsServer, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    renders: list[int] = []

    def render() -> bytes:
        renders.append(1)
        return BODY

    server = MetricsServer(sock, lambda: "v1", render, **kw)  # type: ignore[arg-type]
    server.start()
    server.renders = renders  # type: ignore[attr-defined]
    return server, port


@pytest.fixture
def served() -> Iterator[tuple[MetricsServer, int]]:
    server, port = start()
    yield server, port
    server.stop()


def request(port: int, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    conn.request(method, path)
    r = conn.getresponse()
    out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    conn.close()
    return out


def test_get_and_head_of_metrics_and_what_else_is_answered(
    served: tuple[MetricsServer, int],
) -> None:
    server, port = served
    status, headers, body = request(port, "GET", "/metrics")
    assert (status, body) == (200, BODY)
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    status, headers, body = request(port, "HEAD", "/metrics")
    assert (status, body, int(headers["content-length"])) == (200, b"", len(BODY))
    assert request(port, "GET", "/nope")[0] == 404
    status, headers, _ = request(port, "POST", "/metrics")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    # One rendering per published interval, however many scrapes.
    assert len(server.renders) == 1  # type: ignore[attr-defined]


def test_a_kept_alive_connection_answers_several_scrapes(
    served: tuple[MetricsServer, int],
) -> None:
    _, port = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    for _ in range(3):
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        assert r.status == 200 and r.read() == BODY
    conn.close()


@pytest.mark.parametrize(
    "head",
    [
        b"GET /metrics\r\n\r\n",  # HTTP/0.9
        b"GET /metrics HTTP/2.0\r\n\r\n",
        b"GET metrics HTTP/1.1\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nBroken header\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nX: \xff\r\n\r\n",
    ],
)
def test_what_is_not_a_request_is_refused(head: bytes) -> None:
    assert parse_head(head) is None


def test_a_request_with_a_body_is_answered_400_and_closed(
    served: tuple[MetricsServer, int],
) -> None:
    _, port = served
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
        assert s.recv(100).startswith(b"HTTP/1.1 400")


def test_when_full_the_longest_idle_connection_makes_room() -> None:
    server, port = start(max_connections=4, head_timeout=30)
    try:
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(10)]
        deadline = time.monotonic() + 5
        while server.connections > 4 or server.evicted < 6:
            assert time.monotonic() < deadline, (server.connections, server.evicted)
            time.sleep(0.02)
        assert request(port, "GET", "/metrics")[0] == 200
        idle[0].settimeout(2)
        assert idle[0].recv(10) == b""  # the oldest was closed
        for s in idle:
            s.close()
    finally:
        server.stop()


def test_an_incomplete_head_is_closed_after_the_head_timeout() -> None:
    server, port = start(head_timeout=0.5)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\n")
            started = time.monotonic()
            assert s.recv(10) == b""
            assert 0.4 < time.monotonic() - started < 2
    finally:
        server.stop()


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_and_basic_auth_from_a_web_config(tmp_path: Path, tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    config = tmp_path / "web.yml"
    config.write_text(
        f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        f"basic_auth_users:\n  prometheus: '{hashed}'\n"
    )
    web = load_web_config(config)
    server, port = start(tls=web.tls, auth=web.auth)
    try:
        client = ssl.create_default_context(cafile=str(cert))

        def get(user_password: bytes | None) -> int:
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=client, timeout=5)
            headers = {}
            if user_password is not None:
                headers["Authorization"] = "Basic " + base64.b64encode(user_password).decode()
            conn.request("GET", "/metrics", headers=headers)
            r = conn.getresponse()
            body = r.read()
            conn.close()
            if r.status == 200:
                assert body == BODY
            return r.status

        assert get(b"prometheus:s3cret") == 200
        assert get(b"prometheus:wrong") == 401
        assert get(b"mallory:s3cret") == 401
        assert get(None) == 401
        # Plain HTTP on the TLS port is not answered with metrics.
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
            try:
                assert b"netwatch_probe_up" not in s.recv(1000)
            except OSError:
                pass
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("tls_server_config: {cert_file: /nope.crt, key_file: /nope.key}\n", "cannot load"),
        ("tls_server_config: {cert_file: a}\n", "needs cert_file and key_file"),
        ("basic_auth_users: {bob: plain}\n", "not bcrypt"),
        ("http_server_config: {http2: true}\n", "not supported: http_server_config"),
        (
            "tls_server_config: {cert_file: a, key_file: b, cipher_suites: [x]}\n",
            "not supported: cipher_suites",
        ),
        ("[1, 2\n", "not valid YAML"),
    ],
)
def test_a_bad_web_config_is_one_line(
    tmp_path: Path, text: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "web.yml"
    config.write_text(text)
    with pytest.raises(WebConfigError, match=said):
        load_web_config(config)
    code = main(["export", "--web.config.file", str(config), "--listen", "127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2 and said in err and err.count("\n") == 1


def test_a_kept_alive_scraper_that_just_asked_is_not_the_one_evicted() -> None:
    server, port = start(max_connections=3, head_timeout=30)
    try:
        scraper = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        scraper.connect()
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        deadline = time.monotonic() + 5
        while server.connections < 3:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        scraper.request("GET", "/metrics")
        assert scraper.getresponse().read() == BODY  # it waits again, now the newest to
        newcomer = socket.create_connection(("127.0.0.1", port))
        idle[0].settimeout(2)
        assert idle[0].recv(10) == b""  # the one waiting longest made room
        scraper.request("GET", "/metrics")
        assert scraper.getresponse().read() == BODY
        for s in (*idle, newcomer):
            s.close()
        scraper.close()
    finally:
        server.stop()
