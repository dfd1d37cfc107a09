"""Run the emulator: in the foreground (`runner emulate`) or in a background thread.

``running_emulator()`` starts it on a free loopback port for tests, benchmarks and
``apply --emulator``; the server lives in its own thread with its own event loop, so it
serves while the caller blocks or runs its own loop. ``RunningEmulator.on`` registers
event hooks (see ``runner.emulator.hooks``): callbacks on the server's thread at a create,
a task's first read, or half of an output streamed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from runner.emulator.app import Emulator
from runner.emulator.config import EmulatorConfig
from runner.emulator.hooks import Callback, EventName
from runner.errors import RunnerError


@dataclass
class RunningEmulator:
    """A started emulator: where it listens, and the object holding its state."""

    base_url: str
    emulator: Emulator

    @property
    def stats(self) -> dict[str, object]:
        """The same numbers as GET /_emulator/stats (read without HTTP)."""
        self.emulator.world.advance(self.emulator.now())
        return self.emulator.world.stats()

    def configure(self, **changes: object) -> None:
        """Change settings while it runs (as ``POST /_emulator/config`` does), e.g.
        ``configure(hostile=False)`` to make a hostile emulator healthy again."""
        self.emulator.config = self.emulator.config.updated(changes)
        self.emulator.world.config = self.emulator.config

    def on(self, event: EventName, callback: Callback) -> None:
        """Call ``callback(HookEvent)`` on the server's thread at every ``event``: ``create``,
        ``first_read`` or ``half_streamed`` (see ``runner.emulator.hooks``). An exception in
        a callback is raised again when the emulator stops."""
        self.emulator.hooks.on(event, callback)


def _server(emulator: Emulator, host: str, port: int) -> uvicorn.Server:
    quiet = emulator.config.quiet
    config = uvicorn.Config(
        emulator.app(), host=host, port=port, lifespan="off", access_log=not quiet,
        log_level="critical" if quiet else "info", timeout_keep_alive=30,
    )
    return uvicorn.Server(config)


@contextmanager
def running_emulator(config: EmulatorConfig | None = None, *, host: str = "127.0.0.1",
                     port: int = 0) -> Iterator[RunningEmulator]:
    """Start the emulator in a thread on ``host`` (port 0 = any free port); stop on exit."""
    emulator = Emulator(config or EmulatorConfig())
    server = _server(emulator, host, port)
    thread = threading.Thread(target=server.run, name="runway-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RunnerError(f"the emulator could not start on {host}:{port}")
        time.sleep(0.005)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningEmulator(f"http://{host}:{bound}", emulator)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    emulator.hooks.raise_errors()  # reached only when the caller's block itself succeeded


def serve_forever(config: EmulatorConfig, *, host: str, port: int) -> None:
    """Run in the foreground until Ctrl-C, logging one line per request."""
    server = _server(Emulator(config), host, port)
    server.run()
