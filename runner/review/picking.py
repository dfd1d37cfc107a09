"""Recording picks: `runner pick` and the review page's writes, in one place.

A pick binds a take to its fingerprint and file as the state records them, and only a take
the spec still asks for (its fingerprint now) can be picked: picking a take made from an
older request would build on a picture the spec no longer describes. Every write is
read-compare-write under a lock: the file is read again, and when it is not the one the
change was based on (``expected``, the sha256 of the file the caller read), nothing is written
(``PicksChanged``): a review open in a browser never overwrites a pick made meanwhile in
another tab, a terminal or a ``git checkout``. The write itself is atomic (``store.files``).
"""

from __future__ import annotations

import getpass
import hashlib
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from filelock import FileLock

from runner.errors import PicksChanged, RunnerError
from runner.planner import Plan
from runner.planner.picks import (
    Pick,
    Picks,
    load_picks,
    parse_picks,
    picks_path,
    picks_text,
    rejected,
    stale_reason,
    with_note,
    with_pick,
    with_reject,
    without,
)
from runner.spec import did_you_mean
from runner.store import cache as cache_mod
from runner.store.files import atomic_write
from runner.store.state import Take

ANY = "any"
"""``expected`` of a write that replaces whatever the file holds (never used by the page)."""
_PLAIN = str.maketrans({c: " " for c in [*map(chr, range(32)), "\x7f", *map(chr, range(0x80, 0xa0))]})


@cache
def picked_by(folder: Path) -> str:
    """Who is picking: git's user.name for ``folder``, else the OS user, as one line of text."""
    name = ""
    try:
        done = subprocess.run(["git", "config", "user.name"], cwd=folder, capture_output=True, text=True, timeout=5,
                              check=False)
        name = done.stdout.strip() if done.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        name = ""
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
    return name.translate(_PLAIN).strip()[:200] or "unknown"


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def one_line(text: str, what: str) -> str:
    """A note as the picks file keeps it: one line, no control characters, at most 2,000 characters."""
    text = " ".join(text.split())
    if len(text) > 2000:
        raise RunnerError(f"{what} is {len(text):,} characters; keep it under 2,000")
    return text.translate(_PLAIN)


class Picker:
    """Picks of one spec, bound to the takes ``plan`` found (its state and fingerprints)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.spec = plan.spec
        self.path = picks_path(plan.spec.path)
        self.picks = plan.picks if plan.picks is not None else load_picks(self.path, root=plan.spec.root)
        self.planned = {s.id: s for s in plan.shots}

    # --- the takes one may pick --------------------------------------------------------

    def _take(self, shot_id: str, take: int) -> Take:
        """The state's record of ``take`` of ``shot_id``, when the spec still asks for it."""
        shot = next((s for s in self.spec.shots if s.id == shot_id), None)
        if shot is None:
            hint = did_you_mean(shot_id, [s.id for s in self.spec.shots])
            raise RunnerError(f"no shot {shot_id!r} in {self.spec.display}{hint}")
        if not 1 <= take <= shot.takes:
            raise RunnerError(f"{shot_id} has {shot.takes} take{'s' if shot.takes > 1 else ''}; choose take 1"
                              f"{f' to {shot.takes}' if shot.takes > 1 else ''}")
        entry = self.plan.state.shots.get(shot_id)
        done = entry.take(take) if entry else None
        if done is None:
            raise RunnerError(f"{shot_id} take {take} has not been generated; run `runner apply "
                              f"{self.spec.display}` first")
        sp = self.planned.get(shot_id)
        now = next((t.fingerprint for t in sp.takes if t.take == take), None) if sp else None
        if now != done.fingerprint:
            raise RunnerError(f"{shot_id} take {take} was made from an older request (the spec changed since, or "
                              f"an input it takes waits for a pick); apply first, then pick")
        path = self.spec.path.parent / done.output
        if path.is_file() and cache_mod.sha256_file(path) != done.sha256:
            raise RunnerError(f"{done.output} is not the file the state records for {shot_id} take {take} (changed "
                              "on disk?); restore it with `runner apply`, then pick")
        return done

    # --- writes ------------------------------------------------------------------------

    def pick(self, shot_id: str, take: int, *, note: str | None = None, expected: str | None = ANY) -> Picks:
        done = self._take(shot_id, take)
        note = None if note is None else one_line(note, "--note")
        return self._write(lambda p: with_pick(p, shot_id, take, done.fingerprint, done.sha256,
                                               by=picked_by(self.spec.path.parent), at=now_text(), note=note),
                           expected)

    def reject(self, shot_id: str, takes: list[int], *, expected: str | None = ANY) -> Picks:
        records = [(n, self._take(shot_id, n).sha256) for n in takes]

        def change(p: Picks) -> Picks:
            for n, sha in records:
                p = with_reject(p, shot_id, n, sha, by=picked_by(self.spec.path.parent), at=now_text())
            return p

        return self._write(change, expected)

    def note(self, shot_id: str, text: str, *, expected: str | None = ANY) -> Picks:
        self._shot(shot_id)
        text = one_line(text, "the note")
        return self._write(lambda p: with_note(p, shot_id, text, by=picked_by(self.spec.path.parent),
                                               at=now_text()), expected)

    def clear(self, shot_id: str, *, expected: str | None = ANY) -> Picks:
        if shot_id not in self.picks.shots:
            self._shot(shot_id)
        return self._write(lambda p: without(p, shot_id), expected)

    def _shot(self, shot_id: str) -> None:
        if all(s.id != shot_id for s in self.spec.shots):
            hint = did_you_mean(shot_id, [s.id for s in self.spec.shots])
            raise RunnerError(f"no shot {shot_id!r} in {self.spec.display}{hint}")

    def _write(self, change: Callable[[Picks], Picks], expected: str | None) -> Picks:
        """Apply ``change`` to the file as it is now, unless it is not the one ``expected``."""
        with FileLock(str(_lock_path(self.path))):
            current = load_picks(self.path, root=self.spec.root)
            if expected != ANY and current.sha256 != expected:
                self.picks = current
                raise PicksChanged(self.path)
            text = picks_text(change(current), self.spec.path.name)
            atomic_write(self.path, text, root=self.spec.root, what="picks file")
            self.picks = parse_picks(text.encode("utf-8"), self.path)
        return self.picks


def _lock_path(picks_file: Path) -> Path:
    """A lock for writes of ``picks_file``, in runner's cache (nothing beside the spec to commit)."""
    folder = cache_mod.cache_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"picks-{hashlib.sha256(str(picks_file.resolve()).encode()).hexdigest()[:32]}.lock"


@dataclass(frozen=True)
class PickRow:
    """What `runner picks` says of one shot."""

    shot: str
    takes: int
    status: str  # picked, stale, unpicked, not in the spec
    pick: Pick | None
    why: str = ""
    rejected: tuple[int, ...] = ()

    def to_json(self) -> dict[str, object]:
        p = self.pick
        return {"shot": self.shot, "takes": self.takes, "status": self.status, "why": self.why or None,
                "take": p.take if p else None, "sha256": p.sha256 if p else None,
                "fingerprint": p.fingerprint if p else None, "rejected": list(self.rejected),
                "note": p.note if p else None, "by": p.by if p else None, "at": p.at if p else None}


def pick_status(plan: Plan, picks: Picks, shot_id: str) -> tuple[str, str]:
    """(picked / stale / unpicked, why stale) of ``shot_id``'s pick, against ``plan``."""
    pick = picks.get(shot_id)
    if pick is None or pick.take is None:
        return "unpicked", ""
    sp = next((s for s in plan.shots if s.id == shot_id), None)
    fps = {t.take: t.fingerprint for t in sp.takes} if sp is not None else {}
    why = stale_reason(shot_id, pick, plan.state.shots.get(shot_id), fps.get)
    return ("stale", why) if why else ("picked", "")


def pick_rows(plan: Plan, picks: Picks | None = None) -> list[PickRow]:
    """Every shot with a pick, a reject or a note, and every shot of several takes, in the
    plan's (graph) order; then entries of shots no longer in the spec."""
    picks = picks if picks is not None else (plan.picks or Picks(picks_path(plan.spec.path)))
    rows = []
    seen = set()
    for sp in plan.shots:
        if sp.shot is None:
            continue
        seen.add(sp.id)
        pick = picks.get(sp.id)
        if pick is None and sp.shot.takes < 2:
            continue
        status, why = pick_status(plan, picks, sp.id)
        rows.append(PickRow(sp.id, sp.shot.takes, status, pick, why,
                            tuple(sorted(rejected(pick, plan.state, sp.id)))))
    in_spec = {s.id for s in plan.spec.shots}
    for sid, pick in sorted(picks.shots.items()):
        if sid not in seen and sid not in in_spec:
            rows.append(PickRow(sid, 0, "not in the spec", pick))
    return rows
