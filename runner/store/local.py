"""The local default's writes: journal steps appended to ``<spec>.state.journal``, and the
snapshot ``<spec>.state.json`` rewritten now and then.

A step appends one line holding the shots that changed (``store.steps``) and fsyncs it: its
cost does not grow with the campaign. The snapshot — the readable file that is committed —
is rewritten (the journal *folded* into it) at the end of every apply, and during one every
``COMPACT`` steps or as many steps as the state has shots, whichever is more, so that
rewriting it costs at most about one shot's encoding per step. A fold writes the snapshot
only once every change is in the journal, then deletes the journal: a crash in between
leaves lines the snapshot already holds, and replaying them changes nothing.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from runner.errors import StateError
from runner.inputs.paths import confine
from runner.store.files import fsync_folder
from runner.store.state import State, changed_entries, save_text, state_root
from runner.store.steps import encode_step, journal_path, read_steps

COMPACT = 500
"""Fewest journal steps between two snapshots written during an apply."""

# O_NOFOLLOW: a journal swapped for a symlink after the check is not written through.
_APPEND_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class LocalState:
    """Writes one spec's local state. ``prepare`` runs where the state cannot change (the event
    loop); the write it returns may run in a worker thread, and writes everything prepared so
    far, in order, so a write that is skipped or runs late loses nothing."""

    def __init__(self, state_file: Path, *, every: int = COMPACT) -> None:
        self.state_file = state_file
        self.every = every
        self.journal_file = journal_path(state_file)
        self._written: dict[str, tuple[Any, ...] | None] = {}
        """shot id -> signature of what is on disk for it (None: removed), as far as this writer knows"""
        self._journaled: set[str] = set()  # shot ids the journal file mentions
        self._seq: int | None = None  # the journal's last step; None until the journal was read
        self._size = 0  # bytes of the journal's complete lines on disk
        self._snapshot = False  # whether the state file exists
        self._queue: list[bytes | str] = []  # journal lines (bytes) and snapshots (str), in order
        self._lock = threading.Lock()  # guards the fields above
        self._writing = threading.Lock()  # one writer at a time, in order

    def _start(self) -> int:
        """Read the journal once, before the first step: its length (a torn last line is cut off
        before the next append), its last step and the shots it holds."""
        steps = read_steps(self.journal_file)
        self._size = steps.size
        self._journaled = {sid for _, shots in steps.lines for sid in shots}
        self._snapshot = self.state_file.is_file()
        return steps.seq

    def prepare(self, state: State, *, changed: Collection[str] | None = None,
                compact: bool = False) -> Callable[[], None]:
        """Queue what must be written for ``state``: one journal line with the shots in
        ``changed`` whose entries differ from what is on disk (None: compare every shot, and
        fold), and a snapshot when ``compact``, when there is none yet, or when the journal is
        long enough (see ``COMPACT``). Returns the write."""
        with self._lock:
            seq = self._start() if self._seq is None else self._seq
            ids = set(state.shots) | self._written.keys() if changed is None else set(changed)
            step = changed_entries(state, ids, self._written)
            fold = compact or changed is None or not self._snapshot or \
                seq + bool(step) >= max(self.every, len(state.shots))
            if fold:  # every shot the journal mentions must be in it as the snapshot will hold it
                step.update(changed_entries(state, self._journaled - ids, self._written))
            if step:
                seq += 1
                self._queue.append(encode_step(seq, step))
                self._journaled.update(step)
            if fold and (seq or not self._snapshot):
                self._queue.append(state.to_json())
                seq, self._snapshot = 0, True
                self._journaled = set()
            self._seq = seq
        return self._drain

    def _drain(self) -> None:
        with self._writing:
            while True:
                with self._lock:
                    if not self._queue:
                        return
                    head = self._queue[0]
                    lines = [] if isinstance(head, str) else \
                        list(itertools.takewhile(lambda x: isinstance(x, bytes), self._queue))
                if isinstance(head, str):
                    self._fold(head)
                else:
                    self._append(b"".join(x for x in lines if isinstance(x, bytes)))
                with self._lock:
                    del self._queue[: len(lines) or 1]

    def _append(self, data: bytes) -> None:
        """Append complete lines and make them durable (a group of steps costs one fsync)."""
        path = confine(self.journal_file, state_root(self.state_file), what="state journal",
                       hint="the journal must not be a symlink out of the project")
        try:
            fd = os.open(path, _APPEND_FLAGS, 0o644)
            try:
                if os.fstat(fd).st_size != self._size:
                    os.ftruncate(fd, self._size)  # a torn last line (a crash, a failed write) goes first
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError:
                os.ftruncate(fd, self._size)  # never leave half a line for the next one to follow
                raise
            finally:
                os.close(fd)
            if self._size == 0:
                fsync_folder(path.parent)  # a new journal file: its name must survive a power cut too
        except OSError as e:
            raise StateError(self.journal_file, f"cannot write the journal ({e.strerror or e}); free disk space "
                             "or make its folder writable, then run apply again (what was journaled before "
                             "is kept)") from None
        self._size += len(data)

    def _fold(self, text: str) -> None:
        """Write the snapshot, then drop the journal it covers."""
        save_text(self.state_file, text)
        try:
            self.journal_file.unlink(missing_ok=True)
            fsync_folder(self.journal_file.parent)
        except OSError as e:
            raise StateError(self.journal_file, f"cannot remove the journal after writing the state file "
                             f"({e.strerror or e}); it holds nothing the state file lacks: delete it") from None
        self._size = 0
