"""The state file ``<spec>.state.json``: what has been generated, and the apply journal.

Written by the runner, committed to git: small, stable key order, one entry per shot id.
Writes are atomic (temp file in the same folder, fsync, rename, fsync of the folder), so
a crash leaves either the old or the new file, never half of one. A corrupt file or one
written by a newer runner is an error naming the path; it is never overwritten.

Per shot: the fingerprint and canonical request of what was generated (for "which
fields changed"), the finished takes (task id, output path, sha256, bytes, credits,
finished time) and the journal of pending creates: an intent is recorded before each
create call (``task_id`` null) and completed with the task id right after it returns.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import filelock

from runner.errors import StateError

FORMAT = 1


@dataclass
class Take:
    take: int
    fingerprint: str
    output: str
    sha256: str
    bytes: int
    credits: int | None
    task_id: str | None
    finished: str
    source: str = "api"


@dataclass
class Pending:
    take: int
    fingerprint: str
    task_id: str | None
    created: str
    attempt: int = 1
    estimated: int | None = None


@dataclass
class ShotState:
    fingerprint: str
    model: str
    mode: str
    request: dict[str, Any]
    takes: list[Take] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    failure: dict[str, Any] | None = None
    """take fingerprint -> {take, code, reason, at, task_id} of SAFETY/ASSET refusals."""

    def take(self, n: int) -> Take | None:
        return next((t for t in self.takes if t.take == n), None)


@dataclass
class State:
    path: Path
    shots: dict[str, ShotState] = field(default_factory=dict)
    exists: bool = False

    _fragments: dict[str, tuple[tuple[Any, ...], str]] = field(default_factory=dict, repr=False, compare=False)

    def to_json(self) -> str:
        """The file's text: ``json.dumps(doc, indent=2, sort_keys=True)``, byte for byte.

        Apply saves after every journal step, so each shot's part is kept and re-encoded
        only when the shot changed (see ``_signature``): a save of a 10,000-shot state
        costs one shot's encoding plus a join, not the whole document.
        """
        if not self.shots:
            return json.dumps({"format": FORMAT, "shots": {}}, indent=2, sort_keys=True) + "\n"
        parts = []
        fresh: dict[str, tuple[tuple[Any, ...], str]] = {}
        for sid, shot in sorted(self.shots.items()):
            sig = _signature(shot)
            hit = self._fragments.get(sid)
            if hit is None or hit[0] != sig:
                body = json.dumps(_shot_json(shot), indent=2, sort_keys=True, ensure_ascii=False)
                hit = (sig, json.dumps(sid, ensure_ascii=False) + ": " + body.replace("\n", "\n    "))
            fresh[sid] = hit
            parts.append("    " + hit[1])
        self._fragments = fresh
        return '{\n  "format": ' + str(FORMAT) + ',\n  "shots": {\n' + ",\n".join(parts) + "\n  }\n}\n"


def _signature(s: ShotState) -> tuple[Any, ...]:
    """Everything of a shot that apply changes, by value (ids of freed objects get reused).
    The request changes only together with the fingerprint."""
    return (
        s.fingerprint, s.model, s.mode,
        tuple((t.take, t.fingerprint, t.output, t.sha256, t.bytes, t.credits, t.task_id, t.finished, t.source)
              for t in s.takes),
        tuple((p.take, p.fingerprint, p.task_id, p.created, p.attempt, p.estimated) for p in s.pending),
        tuple(sorted((k, str(v)) for k, v in (s.failure or {}).items())),
    )


def _shot_json(s: ShotState) -> dict[str, Any]:
    doc = asdict(s)
    doc["takes"] = sorted(doc["takes"], key=lambda t: t["take"])
    doc["pending"] = sorted(doc["pending"], key=lambda p: (p["take"], p["created"]))
    if doc["failure"] is None:
        del doc["failure"]
    return doc


def state_path(spec_path: Path) -> Path:
    """``campaign.yaml`` -> ``campaign.state.json`` beside it."""
    name = spec_path.name
    for suffix in (".yaml", ".yml"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return spec_path.with_name(f"{name}.state.json")


def load_state(path: Path) -> State:
    """Read a state file; a missing file is an empty state."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return State(path)
    except OSError as e:
        raise StateError(path, f"cannot read the state file: {e.strerror}") from None
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or "format" not in doc:
            raise ValueError("not a runner state file")
        if doc["format"] > FORMAT:
            raise StateError(path, f"written by a newer runner (state format {doc['format']}, this runner reads "
                                   f"{FORMAT}); upgrade runner")
        shots = {}
        for sid, raw in doc.get("shots", {}).items():
            shots[sid] = ShotState(
                fingerprint=raw["fingerprint"],
                model=raw["model"],
                mode=raw["mode"],
                request=raw.get("request", {}),
                takes=[Take(**t) for t in raw.get("takes", [])],
                pending=[Pending(**p) for p in raw.get("pending", [])],
                failure=raw.get("failure"),
            )
    except StateError:
        raise
    except (ValueError, KeyError, TypeError) as e:
        raise StateError(path, f"the state file is corrupt ({e}); it was not changed. Restore it from git "
                         "(git checkout -- <file>) or move it away to start over") from None
    return State(path, shots, exists=True)


def file_sha256(path: Path) -> str | None:
    """sha256 of a state (or any) file's bytes, None when it does not exist."""
    import hashlib

    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_state(state: State) -> None:
    atomic_write(state.path, state.to_json())
    state.exists = True


def lock_for(spec_path: Path) -> filelock.FileLock:
    """The lock that allows one apply per spec at a time (``.<spec>.lock`` beside it)."""
    return filelock.FileLock(str(spec_path.with_name(f".{spec_path.name}.lock")))


def remove_stale_temp_files(state_file: Path, output_dir: Path) -> list[Path]:
    """Delete temp files a killed apply left behind (call with the apply lock held).

    They are never under a final name: ``.<state>.*.tmp`` beside the state file and
    ``.tmp-*`` in the output folders.
    """
    found = list(state_file.parent.glob(f".{state_file.name}.*.tmp"))
    if output_dir.is_dir():
        found += list(output_dir.rglob(".tmp-*"))
    for path in found:
        path.unlink(missing_ok=True)
    return found
