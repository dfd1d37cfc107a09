"""``runner pull`` and ``runner push``: outputs between output_dir and the store, no API call.

Pull puts every current take the state records back where the state says it goes, from the
store (or this machine's cache), checking each file against the sha256 the state recorded;
files already in place are left alone. Push puts what the store lacks into it (after an apply
whose store writes failed, or to seed a store from outputs made before it existed).

Paths come from the state, which a pull request can edit: each must stay inside the project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from runner.errors import StateError
from runner.store import cache as cache_mod
from runner.store.place import Place
from runner.store.state import State


@dataclass
class SyncResult:
    done: list[str] = field(default_factory=list)
    """``shot/take`` entries written (pull) or sent (push)."""
    present: int = 0
    """Already where they belong."""
    missing: list[str] = field(default_factory=list)
    """Entries neither the store nor the cache (pull) or the disk (push) has."""


def _target(base: Path, root: Path, state: State, output: str) -> Path:
    path = (base / output).resolve()
    if os.path.isabs(output) or not path.is_relative_to(root.resolve()):
        raise StateError(state.path, f"a take's output {output[:200]!r} points outside the project; "
                         "the state file was edited — restore it from git")
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
            dest = _target(base, root, state, take.output)
            label = f"{sid}/{take.take}"
            if _has(dest, take.sha256, take.bytes):
                result.present += 1
            elif _restore(place, take.sha256, dest, root):
                result.done.append(label)
            else:
                result.missing.append(label)
    return result


def _restore(place: Place, sha256: str, dest: Path, root: Path) -> bool:
    if place.has_output(sha256) and place.pull_output(sha256, dest, root=root):
        return True
    return _from_cache(sha256, dest, root)


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
            path = _target(base, root, state, take.output)
            if _has(path, take.sha256, take.bytes):
                place.push_output(path, take.sha256)
                result.done.append(label)
            else:
                result.missing.append(label)
    return result
