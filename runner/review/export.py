"""`runner export SPEC --to DIR`: the delivery folder an editor gets.

It holds, per shot, the picked take (or the only take, for ``takes: 1``) as ``<shot id>.<ext>``,
and ``manifest.json`` listing each file: shot, take, sha256, model, prompt, seed, task id,
credits, who picked it and when, and the spec's git revision. A shot of several takes with no
pick (or a stale one) is listed and not exported; ``--all-takes`` also exports every take of
such shots, and of picked ones, as ``<shot id>/<take>.<ext>`` (a folder: no name of it can
collide with another shot's file). What is exported is exactly what the state records: each
file is checked against its sha256 on the way, and a take made from another request than the
spec's (out of date) is never delivered.

Files come from the output folder, or from the store (``--store``) when this machine lacks
them: no API call. Writes stay inside DIR (each name derived from a checked shot id), each
file lands whole (temp file and rename), and DIR must be empty or an earlier export (its
manifest says so), so that an export never mixes into a folder of other files.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.bounded import EXPORT_MANIFEST_BYTES, Unreadable, escaped
from runner.errors import FileError, RunnerError
from runner.inputs.paths import ID_PATTERN, confine, display_path, in_git_folder, relative_to
from runner.planner import Plan
from runner.review.board import ShotCard, TakeCard, build_board
from runner.store import cache as cache_mod
from runner.store.documents import read_json
from runner.store.files import atomic_copy, atomic_write

MANIFEST = "manifest.json"
KIND = "runner-export"
FORMAT = 1


@dataclass
class Export:
    """What an export wrote and left out."""

    folder: Path
    files: list[dict[str, Any]] = field(default_factory=list)
    left_out: list[dict[str, Any]] = field(default_factory=list)
    from_store: int = 0

    @property
    def unpicked(self) -> list[str]:
        return [x["shot"] for x in self.left_out if x["why"].startswith("unpicked")]


def git_revision(folder: Path, paths: list[Path]) -> dict[str, Any]:
    """The commit checked out at ``folder`` and whether ``paths`` differ from it (None outside git)."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "changed_since": None}
    changed = git("status", "--porcelain", "--", *[str(p) for p in paths])
    return {"commit": commit, "changed_since": bool(changed) if changed is not None else None}


def _check_folder(folder: Path) -> None:
    """DIR must be empty (or new) or hold an earlier export: never a folder of someone's files."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise FileError(display_path(folder), "is not a folder; give --to a new or empty folder")
    if not any(folder.iterdir()):
        return
    manifest = folder / MANIFEST
    try:
        doc = read_json(manifest, EXPORT_MANIFEST_BYTES, what="export manifests") \
            if manifest.is_file() and not manifest.is_symlink() else None
    except (OSError, ValueError, Unreadable):
        doc = None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise FileError(display_path(folder), "is not empty and holds no runner export (manifest.json); give --to "
                        "a new or empty folder, or the folder of an earlier export to refresh it")


def _record(card: ShotCard, take: TakeCard, name: str) -> dict[str, Any]:
    pick = card.pick if take.picked else None
    return {
        "file": name, "shot": card.id, "take": take.take, "picked": take.picked,
        "sha256": take.sha256, "bytes": take.bytes, "model": card.shot.model, "mode": card.shot.mode,
        "prompt": take.prompt, "seed": take.seed, "task_id": take.task_id, "credits": take.charged,
        "finished": take.finished, "picked_by": pick.by if pick else None, "picked_at": pick.at if pick else None,
        "note": pick.note if pick else None, "source": take.output,
        "location": str(card.shot.location),
    }


def _deliverable(card: ShotCard, all_takes: bool) -> tuple[list[TakeCard], list[TakeCard], str | None]:
    """(takes as ``<shot>.<ext>``, takes as ``<shot>/<take>.<ext>``, why the shot is left out)."""
    current = [t for t in card.takes if t.current]
    extra = current if all_takes and card.shot.takes > 1 else []
    if card.plan.action == "wait":
        return [], [], card.reason
    if card.shot.takes == 1:
        one = next((t for t in current if t.take == 1), None)
        if one is None:
            return [], [], f"{card.status}: {card.reason}" if card.reason else card.status
        return [one], [], None
    chosen = card.picked_take
    if chosen is not None and chosen.current:
        return [chosen], extra, None
    if card.pick_status == "stale":
        taken = card.pick.take if card.pick else "?"
        return [], extra, f"unpicked: the pick of take {taken} is stale ({card.pick_why})"
    if not current:
        return [], [], f"{card.status}: {card.reason}" if card.reason else card.status
    return [], extra, f"unpicked: {card.shot.takes} takes and no pick (runner review)"


def _put(take: TakeCard, dest: Path, folder: Path, plan: Plan, result: Export) -> str | None:
    """Copy ``take`` to ``dest`` (checked against its sha256), from here or from the store."""
    if take.refused is not None:  # only a take's derived file is ever exported (OutputLayout.problem)
        return f"take {take.take}: {take.output} {take.refused}; nothing was exported for it"
    if take.path is not None:
        if cache_mod.sha256_file(take.path) != take.sha256:
            return f"take {take.take}: {take.output} is not the file the state records (changed on disk?)"
        atomic_copy(take.path, dest, root=folder, what="--to")
        return None
    place = plan.place
    if place is not None and place.pull_output(take.sha256, dest, root=folder, size=take.bytes):
        result.from_store += 1
        return None
    return f"take {take.take}: {take.output} is not on this machine" + (
        " nor in the store" if place is not None and place.objects is not None else "; pull it or pass --store")


def export(plan: Plan, folder: Path, *, all_takes: bool = False) -> Export:
    """Write the delivery folder for ``plan``'s spec (see the module's docstring)."""
    if in_git_folder(folder):  # checked before the folder is made: nothing is written inside .git
        raise FileError(display_path(folder), "lies inside a .git folder, where runner never writes (git runs what "
                        "its config and hooks say); give --to a folder outside it")
    _check_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    folder = folder.resolve()
    result = Export(folder)
    for card in build_board(plan):
        if not ID_PATTERN.fullmatch(card.id):  # the spec and the state checked it; a name is made of it
            raise RunnerError(f"shot id {card.id!r} cannot name a file")
        main, extra, why = _deliverable(card, all_takes)
        if why is not None:
            result.left_out.append({"shot": card.id, "takes": card.shot.takes, "why": why})
        for take, name in [*((t, f"{card.id}{Path(t.output).suffix}") for t in main),
                           *((t, f"{card.id}/{t.take}{Path(t.output).suffix}") for t in extra)]:
            dest = confine(folder / name, folder, what="--to")
            problem = _put(take, dest, folder, plan, result)
            if problem is not None:
                result.left_out.append({"shot": card.id, "takes": card.shot.takes, "why": problem})
                continue
            result.files.append(_record(card, take, name))
    spec = plan.spec
    picks_file = spec.path.with_name(f"{spec.path.stem}.picks.yaml")
    manifest = {
        "kind": KIND, "format": FORMAT,
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "spec": {"path": relative_to(spec.root, spec.path), "name": spec.name,
                 "git": git_revision(spec.path.parent, [spec.path, picks_file])},
        "files": result.files,
        "left_out": result.left_out,
    }
    atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", root=folder,
                 what="--to")
    return result


def summary(result: Export) -> str:
    lines = [f"Exported {len(result.files)} file{'s' if len(result.files) != 1 else ''} to "
             f"{display_path(result.folder)} ({MANIFEST})" + (f", {result.from_store} from the store"
                                                               if result.from_store else "")]
    for item in result.left_out:
        lines.append(f"  left out: {item['shot']}: {item['why']}")
    # one line each whatever they hold: a failure reason is the API's text, a folder name the user's
    return os.linesep.join(escaped(line) for line in lines)
