"""Progress renderers for apply: a live rich display on a TTY, plain log lines in CI."""

from __future__ import annotations

import sys
import time
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from runner.bounded import escaped


class PlainReporter:
    """One line per status change, on stderr (CI logs)."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, int], str] = {}
        self.estimates: dict[tuple[str, int], float] = {}
        self.started = time.monotonic()

    def estimate(self, shot: str, take: int, credits: float) -> None:
        """The API's ``estimatedCost`` of a running take: shown on its next status line."""
        self.estimates[(shot, take)] = credits

    def update(self, shot: str, take: int, status: str, progress: float | None = None) -> None:
        line = status
        credits = self.estimates.get((shot, take))
        if credits is not None and status in ("PENDING", "THROTTLED", "RUNNING"):
            line += f" (estimated {credits:g} credits)"
        if self.last.get((shot, take)) == line:
            return
        self.last[(shot, take)] = line
        print(f"[{time.monotonic() - self.started:6.1f}s] {shot} #{take}: {escaped(line)}", file=sys.stderr,
              flush=True)

    def note(self, message: str) -> None:
        # Notes carry the API's and the files' words (a failure reason, a URL): one line each, always.
        print(f"[{time.monotonic() - self.started:6.1f}s] {escaped(message)}", file=sys.stderr, flush=True)


class RichReporter:
    """A progress bar per take (status, percent, elapsed)."""

    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"), TextColumn("{task.fields[status]:<10}"), BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"), TextColumn("{task.fields[cost]}"), TimeElapsedColumn(),
            console=self.console, transient=False,
        )
        self.rows: dict[tuple[str, int], TaskID] = {}

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, shot: str, take: int, status: str, progress: float | None = None) -> None:
        key = (shot, take)
        if key not in self.rows:
            self.rows[key] = self.progress.add_task(f"{shot} #{take}", total=100, status=status, cost="")
        done = 100.0 if status in ("DONE", "SUCCEEDED") else (progress or 0.0) * 100
        self.progress.update(self.rows[key], completed=done, status=status)

    def estimate(self, shot: str, take: int, credits: float) -> None:
        """The API's ``estimatedCost`` of a running take, in its row."""
        key = (shot, take)
        if key not in self.rows:
            self.rows[key] = self.progress.add_task(f"{shot} #{take}", total=100, status="", cost="")
        self.progress.update(self.rows[key], cost=f"~{credits:g} cr")

    def note(self, message: str) -> None:
        self.progress.console.print(escaped(message), markup=False, highlight=False)  # no [markup] from answers
