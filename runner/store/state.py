"""The state file ``<spec>.state.json``: what has been generated, and the apply journal.

Written by the runner, committed to git: small, stable key order, one entry per shot id.
Writes are atomic (temp file in the same folder, fsync, rename, fsync of the folder), so
a crash leaves either the old or the new file, never half of one. A corrupt file or one
written by a newer runner is an error naming the path; it is never overwritten.

Per shot: the fingerprint and canonical request of what was generated (for "which
fields changed"), the finished takes (task id, output path, sha256, bytes, credits,
finished time) and the journal of pending creates: an intent is recorded before each
create call (``task_id`` null) and completed with the task id right after it returns.

During an apply those changes are appended to ``<spec>.state.journal`` (``store.steps``,
written by ``store.local``) and folded into this file when it ends; ``load_state`` reads
the file and replays the journal, so a reader sees the same state either way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from runner.bounded import SPEC_BYTES, STATE_BYTES, Unreadable, read_file
from runner.errors import FileError, StateError
from runner.inputs.paths import ID_PATTERN, OutputLayout, confine, folder_root, is_inside, read_back_problem
from runner.store.documents import first_problem, more, parse_json, shown
from runner.store.files import atomic_write, stale_temp_files
from runner.store.steps import RESTORE, corrupt_step, journal_path, read_steps

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
    credits_from: str | None = None
    """None: ``credits`` is the task's own ``cost.credits``; ``"table"``: the API reported no
    cost, so ``credits`` is the price table's figure (``runner prices`` and drift say so)."""


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
    """take fingerprint -> {take, code, reason, at, task_id} of failed takes (``planner.failures``)."""

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
        tuple((t.take, t.fingerprint, t.output, t.sha256, t.bytes, t.credits, t.task_id, t.finished, t.source,
               t.credits_from) for t in s.takes),
        tuple((p.take, p.fingerprint, p.task_id, p.created, p.attempt, p.estimated) for p in s.pending),
        tuple(sorted((k, str(v)) for k, v in (s.failure or {}).items())),
    )


def _shot_json(s: ShotState) -> dict[str, Any]:
    doc = asdict(s)
    # credits_from is written only when it says something (older states and most takes lack it)
    doc["takes"] = sorted(({k: v for k, v in t.items() if k != "credits_from" or v is not None} for t in doc["takes"]),
                          key=lambda t: t["take"])
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


def load_state(path: Path, *, layout: OutputLayout | None = None) -> State:
    """Read a state: the file, then the steps of its journal (``<spec>.state.journal``, see
    ``store.steps``) replayed over it; no file and no journal is an empty state.

    Both are untrusted (a pull request can edit them): the file is validated against
    ``schema/state.schema.json`` before anything in it is used, and so is every shot entry of
    every journal line; a problem is a ``StateError`` naming the JSON path (see
    ``store.documents``), or file:line for the journal. Paths and ids are then checked
    (``check_paths``; with ``layout``, the spec's, every take's file must be the one runner
    derives for it) before anything uses them.

    Reading takes no lock: an apply may fold its journal into a new file meanwhile. The file
    is read first and looked at again after the journal; when it was replaced in between,
    both are read again, so a reader never mixes a new file with an old journal's lines.
    """
    root = state_root(path)
    journal = journal_path(path)
    confine(path, root, what="state file", hint="the state file must not be a symlink out of the project")
    confine(journal, root, what="state journal", hint="the journal must not be a symlink out of the project")
    for _ in range(_READ_TRIES):
        doc, seen = _read_snapshot(path)
        steps = read_steps(journal)
        if _identity(path) == seen:
            break
    else:
        raise StateError(path, "the state file kept changing while it was read (an apply is writing it); "
                         "run the command again")
    if seen is None and not steps.lines:
        return State(path)
    shots = {} if seen is None else state_from_doc(path, doc, root, layout=layout)
    for n, changed in steps.lines:
        checked = _line_shots(path, journal, n, changed, root, layout)
        for sid in changed:
            if sid in checked:
                shots[sid] = checked[sid]
            else:
                shots.pop(sid, None)
    return State(path, shots, exists=True)


_READ_TRIES = 5


def _line_shots(path: Path, journal: Path, n: int, changed: dict[str, Any], root: Path,
                layout: OutputLayout | None) -> dict[str, ShotState]:
    """The shot entries of journal line ``n``, checked like the state file's."""
    doc = {"format": FORMAT, "shots": {sid: raw for sid, raw in changed.items() if raw is not None}}
    problem = first_problem("state.schema.json", doc)
    if problem is not None:
        where, what, count = problem
        raise corrupt_step(journal, n, f"{where}: {what}{more(count)}")
    return state_from_doc(path, doc, root, label=f"{journal}:{n}", restore=RESTORE, layout=layout)


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StateError(path, f"cannot read the state file: {e.strerror}") from None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _read_snapshot(path: Path) -> tuple[Any, tuple[int, int, int] | None]:
    """The state file's document and which file it was (None, None when there is none)."""
    try:
        seen = _identity(path)
        data = read_file(path, STATE_BYTES, what="state files")
    except FileNotFoundError:
        return None, None
    except Unreadable as e:
        raise StateError(path, f"{e.reason}; restore it from git (git checkout -- <file>)",
                         label="cannot read the state file") from None
    except OSError as e:
        raise StateError(path, f"cannot read the state file: {e.strerror}") from None
    try:
        doc = parse_json(data)
    except ValueError as e:
        raise corrupt(path, "$", f"not JSON ({shown(str(e))[1:-1]})") from None
    return doc, seen


def state_from_doc(path: Path, doc: Any, root: Path, *, label: str | None = None,
                   restore: str | None = None, layout: OutputLayout | None = None) -> dict[str, ShotState]:
    """The shots of a state document read back from ``path`` (or from a store or a journal
    line, named by ``label``; ``restore`` says how to mend a path that points out): its format,
    its schema, then its paths and ids are checked before anything in it is used."""
    where_from = label or path
    fmt = doc.get("format") if isinstance(doc, dict) else None
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > FORMAT:
        raise StateError(where_from, f"written by a newer runner (state format {fmt}, this runner reads "
                                     f"{FORMAT}); upgrade runner")
    problem = first_problem("state.schema.json", doc)
    if problem is not None:
        where, what, count = problem
        raise corrupt(where_from, where, what + more(count), **({"restore": "restore it from the store's "
                                                                     "object versions"} if label else {}))
    shots = {}
    for sid, raw in doc["shots"].items():
        shots[sid] = ShotState(
            fingerprint=raw["fingerprint"],
            model=raw["model"],
            mode=raw["mode"],
            request=raw["request"],
            takes=[Take(**t) for t in raw["takes"]],
            pending=[Pending(**p) for p in raw["pending"]],
            failure=raw.get("failure"),
        )
    check_paths(path, shots, root, label=label, restore=restore, layout=layout)
    return shots


def corrupt(path: Path | str, where: str, what: str, *,
            restore: str = "restore it from git (git checkout -- <file>)") -> StateError:
    """The one message of a state file that fails its checks; nothing was changed."""
    return StateError(path, f"{where}: {what}; {restore} or delete the broken entry. It was not changed",
                      label="corrupt state file")


def state_root(path: Path) -> Path:
    """The project root of a state file: that of the spec beside it (its folder's, not a
    symlink target's)."""
    return folder_root(path.absolute().parent)


def check_paths(path: Path, shots: dict[str, ShotState], root: Path, *, label: str | None = None,
                restore: str | None = None, layout: OutputLayout | None = None) -> None:
    """Refuse a state file whose shot ids are not ids or whose take outputs point outside the
    project (absolute, ``..``, or through a symlink), or, given the spec's ``layout``, are not
    the file runner derives for the take (``OutputLayout.problem``): nothing of it is read,
    moved, copied, restored, pulled, embedded or deleted then."""
    base = path.absolute().parent
    for sid, shot in shots.items():
        if not isinstance(sid, str) or not ID_PATTERN.fullmatch(sid):
            raise StateError(label or path, f"corrupt state file: shot id {sid!r} is not a valid id "
                             f"({ID_PATTERN.pattern}); {restore or 'restore the file from git'}")
        for n, take in enumerate(shot.takes):
            where = f"shots.{sid}.takes[{n}].output"
            why = read_back_problem(take.output, base, root)
            if why is not None:
                raise StateError(label or _line_of(path, take.output),
                                 f"corrupt state file: {where} points outside the project ({why}: "
                                 f"{str(take.output)[:200]!r}); nothing was read or moved. "
                                 f"{restore or 'Restore the file from git (git checkout -- <file>)'}")
            why = layout.problem(take.output, shot_id=sid, take=take.take) if layout is not None else None
            if why is not None:
                raise StateError(label or _line_of(path, take.output),
                                 f"corrupt state file: {where} {shown(take.output, limit=200)} {why}; nothing was "
                                 "read, moved, restored or pulled for it. "
                                 f"{restore or 'Restore the file from git (git checkout -- <file>)'}")


def _line_of(path: Path, output: str) -> str:
    """``path:line`` of a take's ``"output": ...`` in a state file as runner writes it (indented
    JSON, one field a line), else ``path``: the line people open the file at."""
    needle = f'"output": {json.dumps(output, ensure_ascii=False)}'
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, start=1):
                if needle in line:
                    return f"{path}:{n}"
    except OSError:
        pass
    return str(path)


def file_sha256(path: Path, limit: int = SPEC_BYTES, *, what: str = "specs") -> str | None:
    """sha256 of a file's bytes (a spec's, unless told), None when it does not exist; a
    FileError for one that is not a regular file or is over ``limit``."""
    try:
        return hashlib.sha256(read_file(path, limit, what=what)).hexdigest()
    except FileNotFoundError:
        return None
    except Unreadable as e:
        raise FileError(path, e.reason) from None
    except OSError as e:
        raise FileError(path, f"cannot read: {e.strerror or e}") from None


def save_state(state: State) -> None:
    save_text(state.path, state.to_json())
    state.exists = True


def save_text(path: Path, text: str) -> None:
    """Write a state file's text (atomically; see ``store.files``), inside its project."""
    try:
        atomic_write(path, text, root=state_root(path), what="state file")
    except OSError as e:
        raise StateError(path, f"cannot write the state file ({e.strerror or e}); free disk space or make its "
                         "folder writable, then run apply again (the file on disk is the last one written)") from None


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


def shot_to_json(shot: ShotState) -> dict[str, Any]:
    """One shot's entry as the state file writes it (shared stores write the same)."""
    return _shot_json(shot)


_UNWRITTEN: tuple[Any, ...] = ("unwritten",)


def changed_entries(state: State, ids: Iterable[str], written: dict[str, tuple[Any, ...] | None]) -> dict[str, Any]:
    """The entries (None: gone from the state) of the shots among ``ids`` that differ from
    ``written`` (shot id -> signature of what is on disk, None: removed), which it updates:
    what one journal step holds, whether it goes to the local journal or to a store."""
    step: dict[str, Any] = {}
    for sid in sorted(ids):
        shot = state.shots.get(sid)
        sig = shot_signature(shot) if shot is not None else None
        if written.get(sid, _UNWRITTEN) != sig:
            step[sid] = shot_to_json(shot) if shot is not None else None
            written[sid] = sig
    return step


def shot_signature(shot: ShotState) -> tuple[Any, ...]:
    """Everything of a shot that apply changes, by value: equal signatures, nothing to write."""
    return _signature(shot)



def merge_unsaved(state: State, kept: dict[str, ShotState]) -> set[str]:
    """Add to ``state`` (a store's) what ``kept`` (the state an apply that lost the store's lock
    kept on this machine) knows and the store does not, so that nothing paid is paid again: a
    take whose number the store's entry lacks, and a task id the store has neither as a take nor
    as a pending task (it replaces the store's intent of unknown outcome for the same take and
    fingerprint: that create did happen, and this is its task). Everything else is the store's
    (the apply that took over is newer). Returns the ids of the shots that changed."""
    changed: set[str] = set()
    for sid, mine in sorted(kept.items()):
        theirs = state.shots.get(sid)
        if theirs is None:
            paid = [p for p in mine.pending if p.task_id]
            if mine.takes or paid:
                state.shots[sid] = dataclasses.replace(mine, takes=list(mine.takes), pending=paid)
                changed.add(sid)
            continue
        known = {t.task_id for t in theirs.takes if t.task_id} | {p.task_id for p in theirs.pending if p.task_id}
        numbers = {t.take for t in theirs.takes}
        takes = [t for t in mine.takes if t.take not in numbers and (t.task_id is None or t.task_id not in known)]
        tasks = [p for p in mine.pending if p.task_id and p.task_id not in known
                 and p.task_id not in {t.task_id for t in takes}]
        if not takes and not tasks:
            continue
        pending = list(theirs.pending)
        for task in tasks:
            unknown = next((p for p in pending if p.task_id is None and (p.take, p.fingerprint) ==
                            (task.take, task.fingerprint)), None)
            if unknown is not None:
                pending.remove(unknown)
            pending.append(task)
        state.shots[sid] = dataclasses.replace(theirs, takes=sorted([*theirs.takes, *takes], key=lambda t: t.take),
                                               pending=pending)
        changed.add(sid)
    return changed
