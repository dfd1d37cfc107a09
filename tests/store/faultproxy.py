"""A flaky object store for tests: an HTTP proxy on loopback in front of moto's S3 server.

Point ``AWS_ENDPOINT_URL`` at ``FaultProxy.url`` and every request of obstore goes through it.
Knobs (attributes, changeable while it runs):

- ``fail_rate`` / ``fail_status``: answer that share of requests with ``fail_status`` (500 or
  503) *without* forwarding them: the store never saw the request.
- ``after_rate`` / ``after``: forward the request to the store (it takes effect), then answer
  500 (``after="500"``) or close the connection without an answer (``after="drop"``; ``"mixed"``
  picks one of the two each time): the request succeeded but the client cannot know, so it
  retries what is already done.
- ``fail_nth``: request numbers (1-based, counted from ``reset``) that get the ``after`` fault
  whatever the rates say, for tests that need one exact fault.
- ``only``: a filter on (method, path, headers) choosing which requests may be faulted.
- ``delay``: seconds to wait before forwarding each request.
- ``down``: answer every request with 503 (an outage).

A request (method and path) is never faulted more than ``max_in_a_row`` times in a row, so a
client that retries a few times always gets through and a run's outcome does not depend on
how concurrent requests happen to draw from the random numbers. ``log`` records what was done.
"""

from __future__ import annotations

import http.client
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}


@dataclass
class Seen:
    """One request as the proxy handled it: ``fault`` is "", "500", "503", "after-500" or "after-drop"."""

    n: int
    method: str
    path: str
    headers: dict[str, str]
    fault: str


@dataclass
class FaultProxy:
    upstream: str
    seed: int = 0
    fail_rate: float = 0.0
    fail_status: int = 503
    after_rate: float = 0.0
    after: Literal["500", "drop", "mixed"] = "500"
    fail_nth: set[int] = field(default_factory=set)
    only: Callable[[str, str, dict[str, str]], bool] = lambda method, path, headers: True
    delay: float = 0.0
    down: bool = False
    max_in_a_row: int = 2
    log: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.seed)
        self._streak: dict[tuple[str, str], int] = {}
        target = urlsplit(self.upstream)
        self._target = (target.hostname or "127.0.0.1", target.port or 80)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"proxy": self}))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reset(self, seed: int | None = None) -> None:
        """Forget what was seen (and start the random numbers again from ``seed``)."""
        with self._lock:
            self.log.clear()
            self._streak.clear()
            if seed is not None:
                self._random.seed(seed)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def faults(self) -> list[Seen]:
        with self._lock:
            return [s for s in self.log if s.fault]

    def _decide(self, method: str, path: str, headers: dict[str, str]) -> Seen:
        with self._lock:
            n = len(self.log) + 1
            fault = ""
            if self.down:
                fault = "503"
            elif self.only(method, path, headers) and self._streak.get((method, path), 0) < self.max_in_a_row:
                draw = self._random.random()
                if n in self.fail_nth or draw < self.after_rate:
                    after = self._random.choice(["500", "drop"]) if self.after == "mixed" else self.after
                    fault = f"after-{after}"
                elif draw < self.after_rate + self.fail_rate:
                    fault = str(self.fail_status)
            self._streak[(method, path)] = self._streak.get((method, path), 0) + 1 if fault else 0
            seen = Seen(n, method, path, headers, fault)
            self.log.append(seen)
            return seen

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list[tuple[str, str]],
                                                                                              bytes]:
        conn = http.client.HTTPConnection(*self._target, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: FaultProxy  # set on the subclass each proxy makes

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        seen = self.proxy._decide(self.command, self.path, headers)
        if self.proxy.delay:
            threading.Event().wait(self.proxy.delay)
        if seen.fault in ("500", "503"):
            self._answer(int(seen.fault), [("Content-Type", "application/xml")],
                         b"<Error><Code>InternalError</Code><Message>injected</Message></Error>")
            return
        try:
            status, got, data = self.proxy.forward(self.command, self.path, headers, body)
        except OSError:
            self._answer(502, [], b"upstream unreachable")
            return
        if seen.fault == "after-drop":
            self.close_connection = True
            self.connection.shutdown(2)  # the store did it; the client never hears
            return
        if seen.fault == "after-500":
            self._answer(500, [("Content-Type", "application/xml")],
                         b"<Error><Code>InternalError</Code><Message>injected</Message></Error>")
            return
        self._answer(status, got, data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

