"""A shot entry -> its rendered variants: matrix expansion, ids, template rendering.

An entry of ``shots`` becomes one variant per combination of its matrix (GitHub Actions
semantics, see ``matrix``). For each, the id is rendered first and checked: it must be
text, match ``ID_PATTERN`` and be unique in the file (a duplicate names the variant that
made it first). Then the other fields are rendered, with the defaults every shot takes
(model, media, tags, takes) filled in. Defaults that depend on the model (ratio, duration,
params...) are left to ``finish``, which knows the mode. Template variables: ``vars``,
the combination, and ``shot`` (the entry's own fields over the defaults).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from runner.errors import Location
from runner.inputs.paths import ID_PATTERN
from runner.spec import matrix as matrix_mod
from runner.spec.compile import MEDIA_FIELDS
from runner.spec.problems import Problems
from runner.spec.yamlload import Path_

RESERVED_VARS = {"shot"}
MATRIX_KEYS = ("matrix", "include", "exclude")
# Defaults that apply to every shot, whatever its model.
COMMON_DEFAULTS = ("model", *MEDIA_FIELDS, "tags", "takes")


@dataclass
class RenderedShot:
    """One variant of a shot entry with its templates rendered; ``finish`` fills in the
    defaults that depend on the model (``fields``, ``sources`` and ``param_sources`` grow)."""

    index: int
    id: str
    variant: str  # which combination, in words: "city=Tokyo" or "include[0]: city=Lima"
    combo: dict[str, Any]
    fields: dict[str, Any]
    sources: dict[str, Path_]  # shot field -> where in the YAML it was written
    ctx: dict[str, Any]
    param_sources: dict[str, Path_] = field(default_factory=dict)  # params taken from defaults.params
    failed: frozenset[str] = frozenset()  # fields whose templates failed (reported): the shot is not built

    @property
    def base(self) -> Path_:
        return ("shots", self.index)


class Expander:
    """Expands the shot entries of one document into rendered variants, reporting to ``problems``."""

    def __init__(self, problems: Problems, variables: dict[str, Any], defaults: dict[str, Any]) -> None:
        self.problems = problems
        self.vars = variables
        self.defaults = defaults
        self.seen: dict[str, tuple[Location, str]] = {}
        self._entry: tuple[int, tuple[dict[str, Any], dict[str, Any], dict[str, Path_], dict[str, Any]]] | None = None
        for name in RESERVED_VARS & set(self.vars):
            problems.problem(("vars", name), f"{name!r} is reserved (it holds the shot's own fields)",
                             field=f"vars.{name}")

    def expand(self, index: int, raw: dict[str, Any]) -> Iterator[RenderedShot]:
        """The variants of entry ``index`` whose id rendered cleanly (``failed`` names the fields
        whose templates did not)."""
        base: Path_ = ("shots", index)
        rules = raw.get("matrix") or {}, raw.get("include") or [], raw.get("exclude") or []
        variants = matrix_mod.count(*rules)
        if variants > matrix_mod.MAX_VARIANTS:
            sizes = " × ".join(str(len(v)) for v in rules[0].values())
            self.problems.problem((*base, "matrix") if "matrix" in raw else (*base, "include"),
                                  f"the matrix makes {variants:,} variants ({sizes or 'include entries'}); the limit "
                                  f"is {matrix_mod.MAX_VARIANTS:,} per shot: remove values or split the shot",
                                  field="matrix")
            return
        combos = matrix_mod.expand(*rules)
        if not combos:
            self.problems.warn((*base, "exclude"), "every matrix combination is excluded; this shot makes no "
                               "generation", field="exclude")
        for combo, origin in combos:
            clash = RESERVED_VARS & set(combo)
            if clash:
                self.problems.problem((*base, "matrix"), f"matrix variable {min(clash)!r} is reserved")
                return
            variant = matrix_mod.describe(combo) or "shot"
            if origin.startswith("include"):
                variant = f"{origin}: {variant}"
            shot = self.one(index, raw, combo, variant)
            if shot is not None:
                yield shot

    def entry(self, index: int, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Path_],
                                                               dict[str, Any]]:
        """What every variant of entry ``index`` shares: its own fields, those with the common
        defaults and where each was written, and the ``shot`` template variable (read-only to
        templates: the sandbox is immutable). Built once per entry, not once per variant."""
        if self._entry is None or self._entry[0] != index:
            own = {k: v for k, v in raw.items() if k not in MATRIX_KEYS}
            merged, sources = self.with_common_defaults(("shots", index), own)
            self._entry = (index, (own, merged, sources, {**self.defaults, **own}))
        return self._entry[1]

    def one(self, index: int, raw: dict[str, Any], combo: dict[str, Any], variant: str) -> RenderedShot | None:
        base: Path_ = ("shots", index)
        own, merged, shared_sources, shot_view = self.entry(index, raw)
        sources = dict(shared_sources)  # finish adds the defaults it applies, per variant
        ctx = {**self.vars, **combo, "shot": shot_view}
        shot_id = self.shot_id(base, own["id"], ctx, variant)
        if shot_id is None:
            return None
        fields: dict[str, Any] = {"id": shot_id}
        failed: set[str] = set()
        for key, value in merged.items():
            if key != "id":
                fields[key], ok = self.problems.rendered(value, ctx, sources[key], shot_id)
                if not ok:
                    failed.add(key)
        # A shot with a failed template is still handed on (marked), so that checks that do not
        # depend on the failed fields (is the model known?) report in the same run.
        return RenderedShot(index, shot_id, variant, combo, fields, sources, ctx, failed=frozenset(failed))

    def with_common_defaults(self, base: Path_, own: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Path_]]:
        """The entry's fields plus the defaults every shot takes, and where each was written."""
        merged = dict(own)
        sources: dict[str, Path_] = {k: (*base, k) for k in own}
        for key in COMMON_DEFAULTS:
            if key in self.defaults and key not in merged:
                merged[key] = self.defaults[key]
                sources[key] = ("defaults", key)
        return merged, sources

    def shot_id(self, base: Path_, id_raw: Any, ctx: dict[str, Any], variant: str) -> str | None:
        """The rendered id, or None when it does not render, is not a valid id or is taken."""
        shot_id, ok = self.problems.rendered(id_raw, ctx, (*base, "id"), None)
        if not ok:
            return None
        why = id_problem(shot_id, id_raw)
        if why:
            self.problems.problem((*base, "id"), why, field="id")
            return None
        where = self.problems.doc.where((*base, "id"))
        if shot_id in self.seen:
            first_loc, first_variant = self.seen[shot_id]
            self.problems.problem((*base, "id"), f"duplicate id {shot_id!r} ({variant}); first produced at "
                                  f"{first_loc} ({first_variant}); put a matrix variable in the id template",
                                  shot=shot_id, field="id")
            return None
        self.seen[shot_id] = (where, variant)
        return str(shot_id)


def id_problem(shot_id: Any, id_raw: Any) -> str | None:
    """Why a rendered id is not a valid id, or None."""
    if not isinstance(shot_id, str):
        return (f"id rendered to {type(shot_id).__name__} {shot_id!r} (from {id_raw!r}); "
                "ids are text: add letters around it, e.g. \"shot-{{ n }}\"")
    if not ID_PATTERN.fullmatch(shot_id):  # fullmatch: "$" alone lets "a\n" through
        return (f"id {shot_id!r} (rendered from {id_raw!r}) must match ^[a-z0-9][a-z0-9._-]{{0,127}}$: "
                "lower-case letters, digits, '.', '_' or '-' (use the slug filter on matrix values)")
    return None
