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

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import StateError
from runner.inputs.paths import ID_PATTERN, confine, folder_root, is_inside, read_back_problem
from runner.store.files import atomic_write, stale_temp_files

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

    def copy(self) -> State:
        """A copy whose shots, takes and journal lists can change without touching this one.
        (Take and Pending records are shared: changes replace them, never edit them, except
        a new intent's task id, which belongs to the copy that made the intent.)"""
        shots = {sid: dataclasses.replace(s, takes=list(s.takes), pending=list(s.pending))
                 for sid, s in self.shots.items()}
        return State(self.path, shots, self.exists, dict(self._fragments))

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
    """Read a state file; a missing file is an empty state.

    The file is committed to git, so a pull request can edit it: its paths and ids are
    checked (``check_paths``) before anything uses them.
    """
    root = state_root(path)
    try:
        confine(path, root, what="state file", hint="the state file must not be a symlink out of the project")
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
    check_paths(path, shots, root)
    return State(path, shots, exists=True)


def state_root(path: Path) -> Path:
    """The project root of a state file: that of the spec beside it (its folder's, not a
    symlink target's)."""
    return folder_root(path.absolute().parent)


def check_paths(path: Path, shots: dict[str, ShotState], root: Path) -> None:
    """Refuse a state file whose shot ids are not ids or whose take outputs point outside the
    project (absolute, ``..``, or through a symlink): nothing of it is read, moved, copied,
    embedded or deleted then."""
    base = path.absolute().parent
    for sid, shot in shots.items():
        if not isinstance(sid, str) or not ID_PATTERN.fullmatch(sid):
            raise StateError(path, f"corrupt state file: shot id {sid!r} is not a valid id "
                             f"({ID_PATTERN.pattern}); restore the file from git")
        for n, take in enumerate(shot.takes):
            where = f"shots.{sid}.takes[{n}].output"
            why = read_back_problem(take.output, base, root)
            if why is not None:
                raise StateError(path, f"corrupt state file: {where} points outside the project ({why}: "
                                 f"{str(take.output)[:200]!r}); nothing was read or moved. Restore the file "
                                 "from git (git checkout -- <file>)")


def file_sha256(path: Path) -> str | None:
    """sha256 of a state (or any) file's bytes, None when it does not exist."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def save_state(state: State) -> None:
    save_text(state.path, state.to_json())
    state.exists = True


def save_text(path: Path, text: str) -> None:
    """Write a state file's text (atomically; see ``store.files``), inside its project."""
    atomic_write(path, text, root=state_root(path), what="state file")


def remove_stale_temp_files(state_file: Path, output_dir: Path, shot_ids: Iterable[str], root: Path) -> list[Path]:
    """Delete temp files a killed apply left behind (call with the apply lock held).

    Only this spec's own: the state file's temp files beside it (and ``.<state>.*.tmp``
    from runners before 0.2), and ``.tmp-*`` in the folders of this spec's shots
    (``output_dir/<id>``, ids checked) — never a whole tree, never a file whose owner
    process is alive, never anything outside the project.
    """
    found = stale_temp_files(state_file.parent, state_file.name)
    found += [p for p in state_file.parent.glob(f".{state_file.name}.*.tmp") if p.is_file() and not p.is_symlink()]
    for sid in sorted(set(shot_ids)):
        if ID_PATTERN.fullmatch(sid):
            found += stale_temp_files(output_dir / sid)
    removed = []
    for path in found:
        if is_inside(path.parent, root):  # resolved: a symlinked folder out of the project is skipped
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
