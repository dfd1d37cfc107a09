"""Event hooks: callbacks that tests run at exact moments of the emulated API's work.

Register with ``RunningEmulator.on(event, fn)`` (or ``Emulator.hooks.on``). Callbacks run
synchronously on the server's thread, inside its event loop, at these moments:

- ``create``: a create request (``POST /v1/<endpoint>``) passed validation, the daily cap
  and the balance check; the task does not exist yet and no response has been sent. The
  task is created after the callbacks return, whatever they did to the client: kill the
  client here and the API has made a task whose id the client never learns. A client that
  journals its intent before each create call has journaled this one.
- ``first_read``: ``GET /v1/tasks/{id}`` of a task that had not been read before, before
  the response is sent. A client that journals task ids before it polls has journaled
  this one.
- ``upload``: ``POST /v1/uploads`` was accepted, before its answer (the upload target URL)
  is sent; ``body`` holds the request (``filename``). A client that uploads inputs before
  each create has not sent that create yet.
- ``half_streamed``: half of an output file's bytes have been handed to the connection,
  once per download; the rest is sent after the callbacks return.

Each callback gets one ``HookEvent``. Keep callbacks short: the server serves nothing
while one runs. An exception raised by a callback does not disturb the request; it is
kept and raised again when ``running_emulator`` stops, so a failed check inside a callback
fails the test that registered it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from runner.errors import RunnerError

EventName = Literal["create", "first_read", "upload", "half_streamed"]
EVENTS: tuple[str, ...] = get_args(EventName)


@dataclass(frozen=True)
class HookEvent:
    """What happened. ``task_id`` is None for ``create`` (the task does not exist yet);
    ``sent`` and ``total`` are bytes, set for ``half_streamed``."""

    name: EventName
    endpoint: str
    model: str
    body: Mapping[str, Any] = field(repr=False)
    task_id: str | None = None
    sent: int = 0
    total: int = 0

    @property
    def prompt(self) -> str:
        return str(self.body.get("promptText") or "")


Callback = Callable[[HookEvent], object]


class Hooks:
    """Callbacks by event name. Registered from any thread, called on the server's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: dict[str, list[Callback]] = {name: [] for name in EVENTS}
        self.errors: list[BaseException] = []

    def on(self, event: EventName, callback: Callback) -> None:
        """Call ``callback`` at every ``event`` from now on."""
        if event not in self._callbacks:
            raise RunnerError(f"unknown emulator event {event!r}; known: {', '.join(EVENTS)}")
        with self._lock:
            self._callbacks[event].append(callback)

    def fire(self, event: HookEvent) -> None:
        with self._lock:
            callbacks = list(self._callbacks[event.name])
        for callback in callbacks:
            try:
                callback(event)
            except Exception as e:  # noqa: BLE001 - kept for the test, see raise_errors
                self.errors.append(e)

    def raise_errors(self) -> None:
        """Raise the first exception a callback raised, if any."""
        if self.errors:
            raise self.errors[0]
