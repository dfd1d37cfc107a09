"""Run the review app: on 127.0.0.1 only, in the foreground (`runner review`) or in a thread
(tests, the benchmark). The address it prints carries the session's token."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from runner.errors import RunnerError
from runner.review.app import create_app
from runner.review.session import Session

HOST = "127.0.0.1"  # never another address: the page shows the campaign and writes its picks


@dataclass
class RunningReview:
    url: str
    """The address with the token (what a browser opens)."""
    base: str
    session: Session


def _server(session: Session, port: int, quiet: bool) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(create_app(session), host=HOST, port=port, lifespan="off",
                                         access_log=False, log_level="critical" if quiet else "warning"))


def _bound(server: uvicorn.Server) -> int:
    return int(server.servers[0].sockets[0].getsockname()[1])


@contextmanager
def running_review(spec: Path, *, port: int = 0, store: str | None = None,
                   quiet: bool = True) -> Iterator[RunningReview]:
    """Serve the review of ``spec`` in a thread on a free port (or ``port``) until the block ends."""
    session = Session(spec, store=store)
    session.plan()  # a broken spec or state fails here, not on the first page
    server = _server(session, port, quiet=quiet)
    thread = threading.Thread(target=server.run, name="runner-review", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RunnerError(f"runner review could not listen on {HOST}:{port} (is the port taken?); choose "
                              "another with --port, or 0 for any free port")
        time.sleep(0.005)
    base = f"http://{HOST}:{_bound(server)}"
    try:
        yield RunningReview(f"{base}/?token={session.token}", base, session)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def serve(spec: Path, *, port: int, store: str | None, on_ready: Callable[[str], None]) -> None:
    """Serve in the foreground until Ctrl-C; ``on_ready(url)`` once it listens."""
    with running_review(spec, port=port, store=store, quiet=False) as review:
        on_ready(review.url)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return
