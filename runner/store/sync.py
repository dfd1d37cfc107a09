"""``runner pull`` and ``runner push``: outputs between output_dir and the store, no API call.

Pull puts every current take the state records back where the state says it goes, from the
store (or this machine's cache), checking each file against the sha256 the state recorded;
files already in place are left alone. Push puts what the store lacks into it (after an apply
whose store writes failed, or to seed a store from outputs made before it existed).

Paths come from the state, which a pull request can edit: each must be the take's own file
in output_dir (``OutputLayout.problem``, checked when the state is read and again here), and a
blob is read only up to the size the state records.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from runner.errors import StateError
from runner.store import cache as cache_mod
from runner.store.documents import shown
from runner.store.place import Place
from runner.store.state import State, Take


@dataclass
class SyncResult:
    done: list[str] = field(default_factory=list)
    """``shot/take`` entries written (pull) or sent (push)."""
    present: int = 0
    """Already where they belong."""
    missing: list[str] = field(default_factory=list)
    """Entries neither the store nor the cache (pull) or the disk (push) has."""


def _target(place: Place, base: Path, root: Path, state: State, sid: str, take: Take) -> Path:
    output = take.output
    path = (base / output).resolve()
    why = place.layout.problem(output, shot_id=sid, take=take.take) if place.layout is not None else None
    if os.path.isabs(output) or not path.is_relative_to(root.resolve()) or why is not None:
        raise StateError(state.path, f"shots.{sid}.takes: take {take.take}'s output {shown(output, limit=200)} "
                         f"{why or 'points outside the project'}; the state was edited: restore it (git, or the "
                         "store's object versions). Nothing was pulled or pushed for it")
    return path


def _has(path: Path, sha256: str, size: int) -> bool:
    try:
        return path.is_file() and path.stat().st_size == size and cache_mod.sha256_file(path) == sha256
    except OSError:
        return False


def pull(place: Place, state: State, base: Path, root: Path) -> SyncResult:
    """Materialize every take of ``state`` under ``base`` (the spec's folder)."""
    result = SyncResult()
    for sid, shot in sorted(state.shots.items()):
        for take in sorted(shot.takes, key=lambda t: t.take):
            dest = _target(place, base, root, state, sid, take)
            label = f"{sid}/{take.take}"
            if _has(dest, take.sha256, take.bytes):
                result.present += 1
            elif _restore(place, take, dest, root):
                result.done.append(label)
            else:
                result.missing.append(label)
    return result


def _restore(place: Place, take: Take, dest: Path, root: Path) -> bool:
    if place.has_output(take.sha256) and place.pull_output(take.sha256, dest, root=root, size=take.bytes):
        return True
    return _from_cache(take.sha256, dest, root)


def _from_cache(sha256: str, dest: Path, root: Path) -> bool:
    blob = cache_mod.blob_path(sha256)
    if not blob.is_file() or cache_mod.sha256_file(blob) != sha256:
        return False
    cache_mod.output_restore({"sha256": sha256}, dest, root=root)
    return True


def push(place: Place, state: State, base: Path, root: Path) -> SyncResult:
    """Send every output of ``state`` that the store lacks (checked against the recorded sha256)."""
    result = SyncResult()
    for sid, shot in sorted(state.shots.items()):
        for take in sorted(shot.takes, key=lambda t: t.take):
            label = f"{sid}/{take.take}"
            if place.has_output(take.sha256):
                result.present += 1
                continue
            path = _target(place, base, root, state, sid, take)
            if _has(path, take.sha256, take.bytes):
                place.push_output(path, take.sha256)
                result.done.append(label)
            else:
                result.missing.append(label)
    return result
