"""The records a loaded spec is made of: ``Spec``, ``Shot``, ``Request``, ``Input``.

They are frozen, and so is the data inside them: ``Shot.fields`` and ``Request.body`` are
read-only all the way down (``FrozenDict`` / ``FrozenList``, which still are a ``dict`` and a
``list`` to ``json`` and ``jsonschema``). Whoever needs a body to change (the planner puts
content hashes in, apply puts upload URIs in) takes a mutable copy with ``thaw``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

from runner.catalog.endpoints import MediaKind, Pointer
from runner.errors import Location, Problem
from runner.inputs.paths import OutputLayout

Source = Literal["local", "url", "runway", "data", "shot"]
"""Where a media input comes from; ``shot``: another shot's output (``{from: ID}``, see ``spec.graph``)."""


def _read_only(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(f"{type(self).__name__} is read-only; take a copy with runner.spec.records.thaw()")


class FrozenDict(dict[str, Any]):
    """A dict that refuses every change after it is built."""

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _read_only

    def __copy__(self) -> FrozenDict:
        return self

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        return FrozenDict, (dict(self),)

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self


class FrozenList(list[Any]):
    """A list that refuses every change after it is built."""

    __setitem__ = __delitem__ = append = extend = insert = pop = remove = clear = sort = reverse = _read_only
    __iadd__ = __imul__ = _read_only

    def __copy__(self) -> FrozenList:
        return self

    def __reduce__(self) -> tuple[type[FrozenList], tuple[list[Any]]]:
        return FrozenList, (list(self),)

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenList:
        return self


_SCALARS = frozenset({str, int, float, bool, type(None)})


def freeze(value: Any) -> Any:
    """A read-only deep copy of JSON-like data (dicts, lists, scalars)."""
    if type(value) in _SCALARS:  # most values: checked before the slower isinstance of an ABC
        return value
    if isinstance(value, Mapping):
        return FrozenDict({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return FrozenList(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """A plain, mutable deep copy of JSON-like data."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Input:
    """A media input of a request: where it sits in the body, what it points at, and the
    spec field a user edits to change it (``references[1].image``, ``params.keyframes[0].uri``)."""

    pointer: Pointer
    ref: str
    kind: MediaKind
    field: str
    source: Source


@dataclass(frozen=True)
class Upstream:
    """A media input that is another shot's output: ``{from: shot, take: N}`` at ``field``.
    ``picked``: ``take: picked``, the take chosen in the picks file; ``take`` is 0 until the
    planner resolves it to the picked take (``planner.picks``)."""

    shot: str
    take: int
    pointer: Pointer
    field: str
    kind: MediaKind
    location: Location
    picked: bool = False


@dataclass(frozen=True)
class Request:
    """A compiled API request; ``body`` is read-only JSON data."""

    model: str
    mode: str
    endpoint: str
    body: Mapping[str, Any]
    inputs: tuple[Input, ...]


@dataclass(frozen=True)
class Shot:
    """One shot after expansion and rendering, with its compiled request."""

    id: str
    index: int
    variant: str
    location: Location
    takes: int
    tags: tuple[str, ...]
    matrix: Mapping[str, Any]
    fields: Mapping[str, Any]
    request: Request
    upstreams: tuple[Upstream, ...] = ()
    """The shots whose outputs this one takes as inputs (``{from: ID}``), in body order."""

    @property
    def model(self) -> str:
        return self.request.model

    @property
    def mode(self) -> str:
        return self.request.mode


@dataclass(frozen=True)
class Spec:
    """A validated spec file."""

    path: Path
    display: str
    name: str
    root: Path
    output_dir: Path
    max_credits: float | None
    shots: tuple[Shot, ...]
    warnings: tuple[Problem, ...]
    allowed_hosts: tuple[str, ...] | None = None
    output_location: Location | None = None
    output_field: str = "output_dir"
    """Where ``output_dir`` is set, or ``name`` (which names the default folder)."""
    store: str | None = None
    """The spec's ``store:``: a bucket URL, or a folder (resolved, inside the project), None when unset."""

    @functools.cached_property
    def outputs(self) -> OutputLayout:
        """Where this spec's takes go, and the one check of a take's path read back from a file
        (``OutputLayout.problem``). One per spec: the layout keeps what it resolved."""
        return OutputLayout(self.path.parent, self.output_dir, self.root)
