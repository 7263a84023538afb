"""The exporter's HTTP server: /metrics for Prometheus, built to stay up with hostile local users.

prometheus_client's own server is a thread per connection with no cap, no timeouts and a listen
backlog of 5: a few hundred idle connections from any local user took it off the air, and one
HTTP/0.9 request or TLS ClientHello held a thread forever. This one is a single asyncio loop on
its own thread, and every way a client can hold a resource is bounded:

- at most `max_connections` at once; when full, a new connection evicts the connection that has
  waited longest without sending a whole request, so held idle connections can never lock a
  scrape out (a busy connection, one being answered, is never evicted);
- a whole request head must arrive within `head_timeout` of the connection (or of the last
  answer on a kept-alive one), whatever it trickles (slowloris); heads over 8 KiB are refused;
- an answer must be taken within `write_timeout`; a connection answers `max_requests` at most;
- anything that is not an HTTP/1.x request line (HTTP/0.9, a TLS hello on a plain port) gets
  400 and is closed.

The exposition is made at most once per published interval, on a worker thread, and shared by
every scrape of that interval: 500 concurrent scrapes cost one rendering.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Callable

from netwatch.export.web_config import BasicAuth

MAX_HEAD_BYTES = 8192
ACCEPT_BATCH = 32
# Connections the kernel queues before we accept them: a burst waits instead of being refused.
BACKLOG = 1024


class Rendered:
    """The exposition of the newest interval, made once and shared by the scrapes that want it."""

    def __init__(self, version: Callable[[], object], render: Callable[[], bytes]) -> None:
        self._version = version
        self._render = render
        self._key: object = None
        self._body: bytes | None = None
        self._lock = asyncio.Lock()

    async def body(self) -> bytes:
        async with self._lock:
            key = self._version()
            if self._body is None or key is not self._key:
                self._body = await asyncio.to_thread(self._render)
                self._key = key
            return self._body


class _Conn:
    """One client connection; `idle` while it owes us a request head."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.idle = True

    def drop(self) -> None:
        transport = self.writer.transport
        if not transport.is_closing():
            transport.abort()


class MetricsServer:
    """Serve GET and HEAD /metrics from one listening socket, on a thread of its own."""

    def __init__(
        self,
        sock: socket.socket,
        version: Callable[[], object],
        render: Callable[[], bytes],
        *,
        tls: ssl.SSLContext | None = None,
        auth: BasicAuth | None = None,
        max_connections: int = 256,
        head_timeout: float = 5.0,
        write_timeout: float = 10.0,
        max_requests: int = 1000,
    ) -> None:
        self._sock = sock
        self._version = version
        self._render = render
        # What one client may hold (the module's docstring says why each exists).
        self.max_connections = max_connections
        self.head_timeout = head_timeout
        self.write_timeout = write_timeout
        self.max_requests = max_requests
        self._tls = tls
        self._auth = auth
        # Ordered by when each began to wait for a request head: the longest waiting first.
        self._conns: dict[_Conn, None] = {}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="metrics-http", daemon=True)
        self.evicted = 0

    @property
    def connections(self) -> int:
        return len(self._conns)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    def stop(self) -> None:
        if self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        rendered = Rendered(self._version, self._render)
        self._sock.setblocking(False)
        server = await asyncio.start_server(
            lambda r, w: self._client(r, w, rendered),
            sock=self._sock,
            ssl=self._tls,
            ssl_handshake_timeout=self.head_timeout if self._tls else None,
            limit=MAX_HEAD_BYTES,
            # asyncio accepts this many per wakeup before our tasks can evict any: kept small
            # so a flood of connections never runs the process out of descriptors.
            backlog=ACCEPT_BATCH,
        )
        self._sock.listen(BACKLOG)
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for conn in list(self._conns):
                conn.drop()

    def _admit(self, conn: _Conn) -> None:
        if len(self._conns) >= self.max_connections:
            oldest_idle = next((c for c in self._conns if c.idle), None)
            if oldest_idle is None:
                conn.drop()
                return
            self.evicted += 1
            self._drop(oldest_idle)
        self._conns[conn] = None

    def _drop(self, conn: _Conn) -> None:
        self._conns.pop(conn, None)
        conn.drop()

    async def _client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rendered: Rendered
    ) -> None:
        conn = _Conn(writer)
        self._admit(conn)
        try:
            for _ in range(self.max_requests):
                if conn not in self._conns:
                    return
                conn.idle = True
                del self._conns[conn]
                self._conns[conn] = None  # to the end: it has only just begun to wait
                try:
                    async with asyncio.timeout(self.head_timeout):
                        head = await reader.readuntil(b"\r\n\r\n")
                except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                conn.idle = False
                keep_alive = await self._answer(head, writer, rendered)
                if not keep_alive:
                    return
        except (ConnectionError, OSError, ssl.SSLError):
            return
        finally:
            self._drop(conn)

    async def _answer(self, head: bytes, writer: asyncio.StreamWriter, rendered: Rendered) -> bool:
        request = parse_head(head)
        if request is None:
            await self._send(writer, 400, b"bad request\n", close=True)
            return False
        method, path, version, headers = request
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        # bcrypt takes tens of milliseconds: off the loop, so other scrapes are not held up.
        if self._auth is not None and not await asyncio.to_thread(
            self._auth.allows, headers.get("authorization")
        ):
            extra = {"WWW-Authenticate": 'Basic realm="netwatch"'}
            await self._send(writer, 401, b"unauthorized\n", close=not keep_alive, extra=extra)
            return keep_alive
        if method not in ("GET", "HEAD"):
            # Closed: a body it may have sent is never read, so the stream cannot be resumed.
            await self._send(writer, 405, b"method not allowed\n", close=True,
                             extra={"Allow": "GET, HEAD"})  # fmt: skip
            return False
        if headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
            # A GET with a body is not a scrape; not reading it keeps us out of framing games.
            await self._send(writer, 400, b"no request body expected\n", close=True)
            return False
        route = path.split("?", 1)[0]
        if route == "/metrics":
            body = await rendered.body()
            ctype = "text/plain; version=0.0.4; charset=utf-8"
        elif route == "/":
            body, ctype = b"netwatch exporter: see /metrics\n", "text/plain; charset=utf-8"
        else:
            await self._send(writer, 404, b"not found\n", close=not keep_alive,
                             head_only=method == "HEAD")  # fmt: skip
            return keep_alive
        await self._send(writer, 200, body, close=not keep_alive, ctype=ctype,
                         head_only=method == "HEAD")  # fmt: skip
        return keep_alive

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        close: bool,
        ctype: str = "text/plain; charset=utf-8",
        extra: dict[str, str] | None = None,
        head_only: bool = False,
    ) -> None:
        lines = [
            f"HTTP/1.1 {status} {_REASONS[status]}",
            f"Content-Type: {ctype}",
            f"Content-Length: {len(body)}",
            "Connection: close" if close else "Connection: keep-alive",
            *(f"{k}: {v}" for k, v in (extra or {}).items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
        if not head_only:
            writer.write(body)
        async with asyncio.timeout(self.write_timeout):
            await writer.drain()
        if close:
            with contextlib.suppress(OSError):
                writer.close()


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
}


def parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]] | None:
    """(method, path, version, lower-cased headers) of an HTTP/1.x request head, or None."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        return None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1") or not parts[1].startswith("/"):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            return None
        headers[name.lower()] = value.strip()
    return parts[0], parts[1], parts[2], headers
