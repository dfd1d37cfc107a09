"""The plan as a graph: fingerprints that carry their upstreams', and dbt-style selection.

A shot that takes another shot's output (``{from: keyart}``) is fingerprinted with the
upstream take's *fingerprint* in place of the file: Terraform's "known after apply". No
output is needed to plan, a change upstream changes every dependent's fingerprint (so the
whole branch regenerates, and shows ``input keyart changes``), and a change that reverts
makes every fingerprint match the cache again (the whole branch is restored for free).
Shots are fingerprinted in topological order, upstreams first.

``{from: X, take: picked}`` reads X's take from the picks file (``planner.picks``): once X's
takes are fingerprinted, the pick is checked against them (a pick of a take generated again
since is stale), and the shot is fingerprinted with the picked take, as if the spec named it:
a new pick changes the dependent's fingerprint, so it regenerates. Without a pick that holds,
the shot *waits* (``Fingerprints.waiting``), and so does everything downstream of it.

Selection: ``--select`` globs match ids and tags as before; ``motion+`` also selects every
shot downstream of a match (its dependents, transitively) and ``+motion`` every shot it
depends on (dbt's graph operators); ``+motion+`` both. ``--exclude`` applies after.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from runner.catalog.endpoints import follows_input, is_input_clip
from runner.planner.fingerprint import canonical_request, fingerprints
from runner.planner.picks import PickBook
from runner.spec import Shot
from runner.spec.graph import topological
from runner.store import cache as cache_mod

TakeKey = tuple[str, int]


class Fingerprints:
    """Canonical requests and take fingerprints of every shot of a spec, upstreams first."""

    def __init__(self, shots: Iterable[Shot], spec_dir: Path, hasher: cache_mod.Hasher,
                 picks: PickBook | None = None) -> None:
        self.spec_dir = spec_dir
        self.hasher = hasher
        self.picks = picks
        self.by_id = {s.id: s for s in shots}
        self.waiting: dict[str, str] = {}
        """Shots that wait for a pick (theirs or an upstream's) -> why, in plan words."""
        self.seconds: dict[str, float | None] = {}  # upstream_seconds memo, per plan
        self.takes: dict[TakeKey, str] = {}
        self.shots: dict[str, str] = {}  # shot id -> its own fingerprint (no take)
        self.canonical: dict[str, tuple[Mapping[str, Any], dict[str, str]]] = {}
        self.order = topological(self.by_id.values())  # upstreams first
        for sid in self.order:
            self._add(self.by_id[sid])

    def _add(self, shot: Shot) -> None:
        if shot.upstreams:
            shot = self.by_id[shot.id] = self._resolve(shot)
        canonical, hashes = canonical_request(shot, self.spec_dir, self.hasher, self.takes)
        self.canonical[shot.id] = (canonical, hashes)
        numbers = list(range(1, shot.takes + 1))
        # The request is encoded once for the shot's own fingerprint and all its takes'.
        own, *takes = fingerprints(shot.model, shot.request.endpoint, canonical, [None, *numbers])
        self.shots[shot.id] = own
        for n, fp in zip(numbers, takes, strict=True):
            self.takes[(shot.id, n)] = fp

    def _resolve(self, shot: Shot) -> Shot:
        """``shot`` with each ``take: picked`` upstream at its picked take; a shot with an input
        that waits (no pick that holds, or an upstream that waits) is noted in ``waiting``."""
        ups = []
        for u in shot.upstreams:
            if u.shot in self.waiting:
                self.waiting.setdefault(shot.id, f"waits for {u.shot}, which {self.waiting[u.shot]}")
            if not u.picked or u.take:
                ups.append(u)
                continue
            source = self.by_id.get(u.shot)
            count = source.takes if source is not None else 0

            def current(n: int, up: str = u.shot, count: int = count) -> str | None:
                return self.takes.get((up, n)) if 1 <= n <= count else None

            take, why = (self.picks.choose(u.shot, current) if self.picks is not None
                         else (None, f"waits for a pick of {u.shot} (runner review)"))
            if take is None:
                self.waiting.setdefault(shot.id, why)
                ups.append(u)
            else:
                ups.append(replace(u, take=take))
        return replace(shot, upstreams=tuple(ups))

    def shot(self, shot: Shot) -> str:
        """The shot's own fingerprint (no take)."""
        return self.shots[shot.id]

    def of_takes(self, shot: Shot) -> list[str]:
        return [self.takes[(shot.id, n)] for n in range(1, shot.takes + 1)]


def upstream_seconds(shot: Shot, by_id: Mapping[str, Shot],
                     memo: dict[str, float | None] | None = None) -> float | None:
    """The length of the clip ``shot`` bills by, when another shot makes it: that shot's
    requested duration, followed up a chain of clips that keep their input's length
    (video-to-video of video-to-video...). None when no length is known before apply.
    ``memo`` keeps each shot's answer, so a plan walks a chain of n clips once, not n times."""
    if not follows_input(shot.request.endpoint, shot.request.body):
        return None
    memo = {} if memo is None else memo
    walked: list[str] = []
    length: float | None = None
    while True:
        if shot.id in memo:
            length = memo[shot.id]
            break
        if shot.id in walked:  # a cycle (validation refuses them; never loop)
            break
        walked.append(shot.id)
        endpoint = shot.request.endpoint
        if not follows_input(endpoint, shot.request.body):
            duration = shot.request.body.get("duration")
            length = float(duration) if isinstance(duration, int | float) and not isinstance(duration, bool) else None
            break
        clip = next((u for u in shot.upstreams if is_input_clip(endpoint, u.pointer)), None)
        if clip is None or clip.shot not in by_id:
            break
        shot = by_id[clip.shot]
    for sid in walked:
        memo[sid] = length
    return length


def replaced_downstream(by_id: Mapping[str, Shot], order: Iterable[str], replace: Iterable[str]) -> dict[str, str]:
    """Every shot downstream of a ``--replace``d one -> the input through which the new output
    reaches it. A replaced shot keeps its fingerprint but gets a new file, so what was made from
    the old file is out of date: Terraform replaces what depends on a value known after apply.
    ``order`` is the shots' topological order (``Fingerprints.order``)."""
    replaced = set(replace)
    reached: dict[str, str] = {}
    for sid in order:
        for u in by_id[sid].upstreams:
            if sid not in replaced and sid not in reached and (u.shot in replaced or u.shot in reached):
                reached[sid] = u.shot
    return reached


def split_operators(glob: str) -> tuple[bool, str, bool]:
    """``+motion+`` -> (with dependencies, ``motion``, with dependents)."""
    up = glob.startswith("+")
    down = glob.endswith("+") and len(glob) > 1
    return up, glob[1 if up else 0:len(glob) - 1 if down else len(glob)], down


def _matches(shot_id: str, tags: tuple[str, ...], globs: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(n, g) for g in globs for n in (shot_id, *tags))


def select_ids(shots: Iterable[Shot], select: tuple[str, ...], exclude: tuple[str, ...]) -> set[str]:
    """Ids of the shots that ``--select`` (with graph operators) and ``--exclude`` leave."""
    items = list(shots)
    if not select:
        chosen = {s.id for s in items}
    else:
        ups = {s.id: [u.shot for u in s.upstreams] for s in items}
        downs: dict[str, list[str]] = {}
        for sid, deps in ups.items():
            for d in deps:
                downs.setdefault(d, []).append(sid)
        chosen = set()
        for glob in select:
            up, pattern, down = split_operators(glob)
            found = {s.id for s in items if _matches(s.id, s.tags, [pattern])}
            chosen |= found
            if up:
                chosen |= _closure(found, ups)
            if down:
                chosen |= _closure(found, downs)
    return {s.id for s in items if s.id in chosen and not _matches(s.id, s.tags, exclude)}


def selected_removed(shot_id: str, select: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    """Whether a shot no longer in the spec is selected (the operators have no graph to walk)."""
    globs = [split_operators(g)[1] for g in select]
    return (not select or _matches(shot_id, (), globs)) and not _matches(shot_id, (), exclude)


def _closure(start: set[str], edges: Mapping[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
