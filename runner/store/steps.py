"""The local journal file ``<spec>.state.journal``: apply's steps, one line each, beside the state file.

Without a store, apply appends one line per journal step (the intent before a create, the
task id after it, a finished take, ...) instead of rewriting the whole state file, so a
step costs the same whatever the size of the campaign::

    {"seq":1,"shots":{"hero":{...the shot's whole entry...}}}
    {"seq":2,"shots":{"hero":{...},"old-id":null}}

A line holds the whole entry of every shot that changed (``null``: the shot left the state),
so replaying lines is idempotent: a shot ends as its last line says. The snapshot
``<spec>.state.json`` is rewritten now and then (``runner.store.local``) *after* the lines it
covers are on disk, and only then is the journal deleted; a crash in between replays lines
the snapshot already holds, which changes nothing. Sequence numbers count from 1 in each
journal file and must follow each other: a missing, doubled or reordered line is corruption.

A crash mid-append leaves a last line without its newline: it is ignored (and cut off by
the next apply before it appends). Any other line that is not a step is a "corrupt journal"
error naming file:line. The lines are untrusted like the state file: each shot entry is
checked with the state file's checks before it is used (``runner.store.state``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.bounded import JOURNAL_BYTES, STATE_BYTES, Unreadable, read_file
from runner.errors import StateError
from runner.inputs.paths import ID_PATTERN
from runner.store.documents import parse_json, shown

RESTORE = ("Fix or delete that line and the ones after it (they hold what an apply that did not finish "
           "journaled; a task id in them may have been paid for: check the dashboard)")


def journal_path(state_file: Path) -> Path:
    """``campaign.state.json`` -> ``campaign.state.journal`` beside it."""
    name = state_file.name.removesuffix(".json")
    return state_file.with_name(f"{name}.journal")


def encode_step(seq: int, shots: Mapping[str, Any]) -> bytes:
    """One journal line: ASCII JSON (never a raw newline inside) and its newline."""
    return (json.dumps({"seq": seq, "shots": shots}, sort_keys=True, separators=(",", ":")) + "\n").encode()


@dataclass
class Steps:
    """The complete lines of a journal file, in order."""

    lines: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """(line number, {shot id: raw entry, or None when the shot left the state})"""
    seq: int = 0
    """the last line's sequence number (0: no line)"""
    size: int = 0
    """bytes of the complete lines; a torn last line after them is not counted"""


def read_steps(path: Path) -> Steps:
    """The steps of the journal at ``path`` (none when there is no file), checked for form.
    The shot entries are checked by the caller, against the state file's schema."""
    try:
        data = read_file(path, JOURNAL_BYTES, what="journals")
    except FileNotFoundError:
        return Steps()
    except Unreadable as e:
        raise StateError(path, f"cannot read the journal: it {e.reason}; {RESTORE}") from None
    except OSError as e:
        raise StateError(path, f"cannot read the journal: {e.strerror or e}") from None
    return parse_steps(path, data)


def complete_part(data: bytes) -> bytes:
    """The journal's complete lines: a crash mid-append leaves a last line without its newline."""
    return data[: data.rfind(b"\n") + 1]


def parse_steps(path: Path, data: bytes) -> Steps:
    whole = complete_part(data)
    steps = Steps(size=len(whole))
    for n, raw in enumerate(whole.split(b"\n")[:-1], start=1):
        shots, seq = _parse_line(path, n, raw)
        if seq != steps.seq + 1:
            raise corrupt_step(path, n, f"step {seq} follows step {steps.seq} (a line is missing, doubled or "
                                        "out of order)")
        steps.lines.append((n, shots))
        steps.seq = seq
    return steps


def _parse_line(path: Path, n: int, raw: bytes) -> tuple[dict[str, Any], int]:
    if len(raw) > STATE_BYTES:  # one step holds at most every shot: a state's worth
        raise corrupt_step(path, n, f"the line is {len(raw):,} bytes; a step holds at most {STATE_BYTES:,}")
    try:
        step = parse_json(raw)
    except ValueError as e:
        raise corrupt_step(path, n, f"not JSON ({shown(str(e))[1:-1]})") from None
    if not isinstance(step, dict) or set(step) != {"seq", "shots"}:
        raise corrupt_step(path, n, 'not a journal step (an object with just "seq" and "shots")')
    seq, shots = step["seq"], step["shots"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise corrupt_step(path, n, f"seq: {shown(seq)} is not a step number (1, 2, ...)")
    if not isinstance(shots, dict):
        raise corrupt_step(path, n, f"shots: {shown(shots)} is not an object of shot ids")
    for sid, entry in shots.items():
        if not ID_PATTERN.fullmatch(sid):
            raise corrupt_step(path, n, f"shots: {shown(sid)} is not a shot id ({ID_PATTERN.pattern})")
        if entry is not None and not isinstance(entry, dict):
            raise corrupt_step(path, n, f"shots.{sid}: {shown(entry)} is neither a shot entry nor null")
    return shots, seq


def corrupt_step(path: Path, n: int, what: str) -> StateError:
    return StateError(f"{path}:{n}", f"{what}; {RESTORE}. Nothing was changed", label="corrupt journal")


def state_digest(state_file: Path) -> str | None:
    """What a saved plan records of the local state (snapshot and journal) to notice that it
    moved on: the snapshot's sha256 when no journal line is on disk (as runners before the
    journal recorded), else the sha256 of both; None when there is neither."""
    journal_file = journal_path(state_file)
    try:
        try:
            snapshot: bytes | None = read_file(state_file, STATE_BYTES, what="state files")
        except FileNotFoundError:
            snapshot = None
        try:
            journal = complete_part(read_file(journal_file, JOURNAL_BYTES, what="journals"))
        except FileNotFoundError:
            journal = b""
    except (Unreadable, OSError) as e:
        reason = e.reason if isinstance(e, Unreadable) else f"cannot be read ({e.strerror or e})"
        raise StateError(state_file, f"the state file or its journal {reason}") from None
    if not journal:
        return None if snapshot is None else hashlib.sha256(snapshot).hexdigest()
    head = b"-" if snapshot is None else str(len(snapshot)).encode()
    return hashlib.sha256(head + b"\n" + (snapshot or b"") + journal).hexdigest()
