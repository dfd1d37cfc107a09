"""Matrix expansion with GitHub Actions semantics.

``matrix`` is a mapping of variable -> list of values; the combinations are its cartesian
product in key order. ``exclude`` entries remove every combination that matches all of
the entry's keys. Then each ``include`` entry is added to every combination where it
does not overwrite an original matrix value; an entry that fits no combination becomes
a combination of its own. Values added by an include may be overwritten by a later one.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

Combination = dict[str, Any]

MAX_VARIANTS = 10_000  # per shot entry
MAX_EXACT_EXCLUDES = 12  # inclusion-exclusion over more entries would cost more than it saves


def _matches(combo: Combination, entry: dict[str, Any]) -> bool:
    return all(k in combo and combo[k] == v for k, v in entry.items())


def expand(
    matrix: dict[str, list[Any]], include: list[dict[str, Any]], exclude: list[dict[str, Any]]
) -> list[tuple[Combination, str]]:
    """Return (combination, origin) pairs; origin says which rule produced it."""
    keys = list(matrix)
    combos: list[tuple[Combination, str]] = []
    if keys:
        for values in itertools.product(*(matrix[k] for k in keys)):
            combos.append((dict(zip(keys, values, strict=True)), "matrix"))
    combos = [(c, o) for c, o in combos if not any(_matches(c, e) for e in exclude)]
    # Includes extend only the combinations of the matrix itself, never ones that an
    # earlier include created.
    originals: list[Combination | None] = [dict(c) for c, _ in combos]
    for i, entry in enumerate(include):
        added = False
        for (combo, _), original in zip(combos, originals, strict=True):
            if original is not None and all(k not in original or original[k] == v for k, v in entry.items()):
                combo.update(entry)
                added = True
        if not added:
            combos.append((dict(entry), f"include[{i}]"))
            originals.append(None)
    if not keys and not include:
        return [({}, "shot")]
    return combos  # may be empty: every combination excluded


def describe(combo: Combination) -> str:
    """Short human text for a combination: ``city=Tokyo, size=s``."""
    return ", ".join(f"{k}={v}" for k, v in combo.items())


def count(matrix: dict[str, list[Any]], include: list[dict[str, Any]], exclude: list[dict[str, Any]]) -> int:
    """How many combinations ``expand`` would return, without building any.

    The product of the list lengths, minus the excluded combinations (counted exactly by
    inclusion-exclusion for up to ``MAX_EXACT_EXCLUDES`` entries; beyond that they are not
    subtracted), plus one per include entry (an include that only extends combinations is
    counted too, so this is an upper bound by at most ``len(include)``)."""
    if not matrix:
        return max(len(include), 1)
    total = math.prod(len(v) for v in matrix.values())
    if len(exclude) <= MAX_EXACT_EXCLUDES:
        total -= _excluded(matrix, exclude)
    return total + len(include)


def _excluded(matrix: dict[str, list[Any]], exclude: list[dict[str, Any]]) -> int:
    """Combinations matching at least one exclude entry (inclusion-exclusion over the entries)."""
    removed = 0
    for size in range(1, len(exclude) + 1):
        for group in itertools.combinations(exclude, size):
            removed += (-1) ** (size + 1) * _matching(matrix, group)
    return removed


def _matching(matrix: dict[str, list[Any]], entries: tuple[dict[str, Any], ...]) -> int:
    """Combinations that match every entry of ``entries`` at once."""
    fixed: dict[str, Any] = {}
    for entry in entries:
        for k, v in entry.items():
            if k not in matrix:
                return 0  # an entry naming a non-matrix key matches nothing
            if k in fixed and fixed[k] != v:
                return 0
            fixed[k] = v
    return math.prod(matrix[k].count(fixed[k]) if k in fixed else len(values) for k, values in matrix.items())
