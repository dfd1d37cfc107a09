"""Shots that feed shots: ``{from: ID}`` / ``{from: ID, take: N}`` / ``{from: ID, take: picked}``
in media fields (``picked``: the take chosen with `runner pick` or `runner review`, which the
planner looks up in the picks file; here it is an ``Upstream`` with ``picked`` and take 0).

A rendered shot's ``{from: ...}`` mappings (in its media fields and in ``params``) are
*lifted* before it is compiled: each becomes a marker string ``from:<id>#<take>``, so that
the compiler and the endpoint registry place it in the body like any other media reference
and the registry says which kind of media the slot takes. ``link`` then turns the inputs
that hold a marker into ``source="shot"`` inputs and ``Upstream`` records (a marker the
registry did not find is a ``from:`` on a field that takes no media). Once every shot is
built, ``graph_problems`` checks the graph as a whole: unknown ids (with "did you mean"),
a take beyond the upstream's takes, an output kind that does not fit the field, and cycles
(named, ``a → b → a``). ``topological`` orders shots so that upstreams come first.

The graph is bounded by the matrix caps: at most 100,000 shots per spec, and each edge is
one media field of one shot, so checking it is linear in the spec's size.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from runner.catalog.endpoints import ENDPOINTS, Pointer
from runner.errors import Location, Problem
from runner.spec.compile import INPUT_FIELDS
from runner.spec.records import Request, Shot, Upstream
from runner.spec.schema_errors import did_you_mean

MARK = "from:"
MAX_TAKE = 20
PICKED = "picked"


def _marker(value: Any) -> str | None:
    """The marker for a ``{from: ID[, take: N]}`` mapping, or None when ``value`` is not one."""
    if not isinstance(value, Mapping) or "from" not in value or set(value) - {"from", "take"}:
        return None
    take = value.get("take", 1)
    if take != PICKED and (not isinstance(take, int) or isinstance(take, bool) or not 1 <= take <= MAX_TAKE):
        take = 1  # reported by ``lift``; the marker stays one that ``parse`` reads
    return f"{MARK}{value['from']}#{take}"


def lift(fields: dict[str, Any]) -> tuple[set[str], list[tuple[str, str]]]:
    """Replace every ``{from: ...}`` in the media fields and ``params`` of ``fields`` (in place)
    by its marker. Returns the markers, and (spec field, why) for a ``take`` that is not a
    take number (the spec schema checks it in media fields; ``params`` are free-form)."""
    markers: set[str] = set()
    bad: list[tuple[str, str]] = []
    if not any(key in fields for key in (*INPUT_FIELDS, "params")):
        return markers, bad  # a text shot: no closure below, which is a cycle for the collector to free

    def walk(node: Any, field: str) -> Any:
        mark = _marker(node)
        if mark is not None:
            take = node.get("take", 1)
            if take != PICKED and (not isinstance(take, int) or isinstance(take, bool) or not 1 <= take <= MAX_TAKE):
                bad.append((f"{field}.take", f"take must be a whole number from 1 to {MAX_TAKE} or picked, "
                                             f"not {take!r}"))
            markers.add(mark)
            return mark
        if isinstance(node, Mapping):
            return {k: walk(v, f"{field}.{k}") for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, f"{field}[{i}]") for i, v in enumerate(node)]
        return node

    for key in (*INPUT_FIELDS, "params"):
        if key in fields:
            fields[key] = walk(fields[key], key)
    return markers, bad


def parse(mark: str) -> tuple[str, int]:
    """The upstream id and take of a marker (0 for ``picked``: the planner resolves it)."""
    shot, _, take = mark[len(MARK):].rpartition("#")
    return shot, 0 if take == PICKED else int(take)


def link(request: Request, markers: set[str],
         where: Callable[[str], Location]) -> tuple[Request, tuple[Upstream, ...], list[Pointer]]:
    """The request with its marker inputs as ``source="shot"``, their ``Upstream`` records, and
    the body paths where a ``{from: ...}`` sits in a place that takes no media."""
    if not markers:
        return request, (), []
    inputs = []
    upstreams = []
    for item in request.inputs:
        if item.ref in markers:
            shot, take = parse(item.ref)
            upstreams.append(Upstream(shot, take, item.pointer, item.field, item.kind, where(item.field),
                                      picked=take == 0))
            item = replace(item, source="shot")
        inputs.append(item)
    placed = {u.pointer for u in upstreams}
    stray = [p for p, v in _strings(request.body, ()) if v in markers and p not in placed]
    return replace(request, inputs=tuple(inputs)), tuple(upstreams), stray


def _strings(node: Any, at: Pointer) -> Iterable[tuple[Pointer, str]]:
    if isinstance(node, str):
        yield at, node
    elif isinstance(node, Mapping):
        for k, v in node.items():
            yield from _strings(v, (*at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, (*at, i))


def graph_problems(shots: Iterable[Shot], rendered_ids: Iterable[str]) -> list[Problem]:
    """Unknown ids, takes out of range, kinds that do not fit, and cycles. An id that was
    rendered but whose shot did not build has its own problems and is not reported here."""
    by_id = {s.id: s for s in shots}
    known = set(rendered_ids)
    problems: list[Problem] = []
    for shot in by_id.values():
        for up in shot.upstreams:
            source = by_id.get(up.shot)
            if source is None:
                if up.shot not in known:
                    hint = did_you_mean(up.shot, sorted(known))
                    problems.append(Problem(up.location, f"from: no shot with id {up.shot!r}{hint}; from: names "
                                            "the id of another shot in this spec (after rendering)",
                                            shot=shot.id, field=up.field))
                continue
            why = _fit(up, source)
            if why:
                problems.append(Problem(up.location, why, shot=shot.id, field=up.field))
    return problems + _cycles(by_id)


def _fit(up: Upstream, source: Shot) -> str | None:
    made = ENDPOINTS[source.request.endpoint].output
    if made != up.kind:
        return (f"{up.shot} makes {'an' if made == 'image' else 'a'} {made} ({source.model}), but {up.field} takes "
                f"{'an' if up.kind == 'image' else 'a'} {up.kind}: take it from a shot that makes {up.kind}s")
    if not up.picked and up.take > source.takes:
        return (f"take {up.take} of {up.shot}: {up.shot} has {source.takes} take{'s' if source.takes > 1 else ''}; "
                f"choose take 1{f' to {source.takes}' if source.takes > 1 else ''} or raise its takes")
    return None


def _cycles(by_id: Mapping[str, Shot]) -> list[Problem]:
    """One problem per cycle, at the ``from:`` of its first shot in spec order, naming it."""
    deps = {sid: [u.shot for u in s.upstreams if u.shot in by_id] for sid, s in by_id.items()}
    left = set(by_id) - set(topological(by_id.values()))
    problems = []
    reported: set[str] = set()
    for sid in by_id:
        if sid not in left or sid in reported:
            continue
        path = [sid]
        while True:  # every shot left has an upstream left: walk until one repeats
            nxt = next(d for d in deps[path[-1]] if d in left)
            if nxt in path:
                loop = path[path.index(nxt):] + [nxt]
                break
            path.append(nxt)
        if reported & set(loop):
            reported.update(path)
            continue
        reported.update(path)
        first = by_id[loop[0]]
        edge = next(u for u in first.upstreams if u.shot == loop[1])
        problems.append(Problem(edge.location, f"from: makes a cycle: {' → '.join(loop)}; a shot cannot take its "
                                "own output, directly or through others", shot=first.id, field=edge.field))
    return problems


def topological(shots: Iterable[Shot]) -> list[str]:
    """Shot ids in spec order, except that every upstream comes before its dependents (of the
    shots ready, the first in the spec goes next: a dependent follows its upstream as soon as
    it can); shots in a cycle are left out. Upstream ids that are not shots are ignored."""
    items = list(shots)
    if not any(s.upstreams for s in items):
        return [s.id for s in items]  # no edges: the spec's order (a 50,000-shot matrix has none)
    position = {s.id: n for n, s in enumerate(items)}
    waiting = {s.id: len({u.shot for u in s.upstreams if u.shot in position}) for s in items}
    dependents: dict[str, list[str]] = {}
    for s in items:
        for up in {u.shot for u in s.upstreams if u.shot in position}:
            dependents.setdefault(up, []).append(s.id)
    ready = [position[s.id] for s in items if waiting[s.id] == 0]  # already a heap: ascending
    order: list[str] = []
    while ready:
        sid = items[heapq.heappop(ready)].id
        order.append(sid)
        for d in dependents.get(sid, ()):
            waiting[d] -= 1
            if waiting[d] == 0:
                heapq.heappush(ready, position[d])
    return order
