"""Price files (``--prices prices.yaml``): read like a spec — every problem at once, each with
file:line:col — because a price decides what apply may spend.

A price file maps model ids to the pricing fields to override, e.g.
``{gen4.5: {credits_per_second: 14}, kling3.0_pro: {credits_per_second: 20}}``. Rates
(credits per second, the billed seconds of ``auto``, resolution and quality tiers, a flat
``credits_range``) must be finite numbers above 0; extras (per reference image, minimum,
output-format surcharges) finite and not negative. A zero, negative, NaN, infinite or
non-numeric price would let a create look free, or make a run's spend go down, so it is
refused before anything is planned.

A rate below a tenth of the price Runway publishes for it (the built-in table's figure) is
refused too, unless the caller trusts the file (``--trust-prices``): a budget cap reserves by
the table, so a rate of 0.000000001 would let a cap of 100 credits pass thousands.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import yaml

from runner.bounded import PRICE_FILE_BYTES, Unreadable, escaped, number_problem, read_text, short
from runner.errors import FileError, Location, Problem, SpecErrors

MAX_PRICE = 1_000_000
"""Credits per unit (second, image, character): $10,000 a second is beyond any published price."""

RATES = ("credits_per_second", "credits_per_second_no_audio", "credits_per_image", "credits_per_character",
         "auto_duration_billed_seconds", "unset_duration_billed_seconds")
EXTRAS = ("per_reference_image", "per_prompt_image", "minimum_credits")
SURCHARGE_TABLES = ("per_second", "over_4mp_per_second")
TIER_TABLES = ("by_resolution", "by_quality", "by_endpoint")
QUALITY_NAMES = ("default_quality", "default_quality_with_reference_images")
FLOOR = 10
"""A price-file rate may be at most this many times below the published one (without --trust-prices)."""
Floors = Mapping[str, Mapping[str, float]]
"""model -> price field (``credits_per_second``, ``by_resolution.720p``, ``credits_range``) -> the
published figure a rate of the file is held against."""


class _Reader:
    def __init__(self, path: Path, floors: Floors | None = None) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.loader = yaml.SafeLoader("")
        self.floors = floors or {}

    def value(self, node: yaml.Node) -> Any:
        return self.loader.construct_object(node, deep=True)

    def problem(self, node: yaml.Node, field: str, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(Location(str(self.path), mark.line + 1, mark.column + 1), message, field=field))

    def pairs(self, node: yaml.Node, field: str, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, field, f"expected {what}")
            return []
        return [(str(self.value(k)), k, v) for k, v in node.value]

    def number(self, node: yaml.Node, field: str, *, zero_ok: bool) -> None:
        v = self.value(node)
        if isinstance(v, bool) or not isinstance(v, int | float):
            why = f"{v!r} is not a number of credits"
        elif isinstance(v, float) and not math.isfinite(v):  # (isfinite of a 400-digit int overflows)
            why = f"{v} is not a finite number of credits"
        elif v > MAX_PRICE:  # a 400-digit price overflowed the float arithmetic of every cost (exit 3)
            why = f"{short(v)} is more than any price (at most {MAX_PRICE:,} credits a unit)"
        elif v < 0 or (v == 0 and not zero_ok):
            least = "at least 0" if zero_ok else "above 0"
            why = f"{v:g} is {'negative' if v < 0 else 'zero'}; a price here is a number of credits {least}"
        else:
            return
        self.problem(node, field, why + " (leave the field out to keep the catalog's figure)")

    def floor(self, node: yaml.Node, name: str, field: str) -> None:
        """Refuse a rate below a tenth of the published figure for it (see the module doc)."""
        published = self.floors.get(name, {}).get(field)
        v = self.value(node)
        if published is None or isinstance(v, bool) or not isinstance(v, int | float) \
                or number_problem(v) is not None or v <= 0 or v * FLOOR >= published:  # (refused by ``number``)
            return
        self.problem(node, f"{name}.{field}", (
            f"{v:g} is below a tenth of the published price ({published:g}): a budget cap reserves by this table, "
            f"so it would let apply spend up to {published / v:,.0f} times the cap. Fix the figure, or pass "
            "--trust-prices if your account really pays this"))

    def model(self, name: str, node: yaml.Node) -> None:
        for field, _, value in self.pairs(node, name, "a mapping of pricing fields"):
            where = f"{name}.{field}"
            if field in RATES:
                self.number(value, where, zero_ok=False)
                if not field.endswith("billed_seconds"):
                    self.floor(value, name, field)
            elif field in EXTRAS:
                self.number(value, where, zero_ok=True)
            elif field in TIER_TABLES:
                for tier, _, rate in self.pairs(value, where, "a mapping of tier -> credits"):
                    self.number(rate, f"{where}.{tier}", zero_ok=False)
                    self.floor(rate, name, f"{field}.{tier}")
            elif field == "by_quality_resolution":
                for quality, _, tiers in self.pairs(value, where, "a mapping of quality -> tiers"):
                    for tier, _, rate in self.pairs(tiers, f"{where}.{quality}", "a mapping of tier -> credits"):
                        self.number(rate, f"{where}.{quality}.{tier}", zero_ok=False)
                        self.floor(rate, name, f"{field}.{quality}.{tier}")
            elif field == "credits_range":
                self.credits_range(value, name, where)
            else:
                self.names(field, value, where)
            # Other fields (``source``, notes such as ``checked: 2026-08-01``) are kept as written.

    def names(self, field: str, value: yaml.Node, where: str) -> None:
        """Fields that name things rather than price them: default qualities, ratio -> tier, surcharges."""
        if field in QUALITY_NAMES and not isinstance(self.value(value), str):
            self.problem(value, where, "expected a quality named in by_quality")
        elif field == "output_format_surcharge":
            self.surcharges(value, where)
        elif field == "ratio_resolution":
            for ratio, _, named in self.pairs(value, where, "a mapping of ratio -> resolution tier"):
                if not isinstance(self.value(named), str):
                    self.problem(named, f"{where}.{ratio}", "expected a resolution tier named in by_resolution")

    def credits_range(self, node: yaml.Node, name: str, where: str) -> None:
        """``[low, high]`` credits a generation, each above 0, low first."""
        if not isinstance(node, yaml.SequenceNode) or len(node.value) != 2:
            self.problem(node, where, "expected [low, high]: the fewest and the most credits one generation costs")
            return
        for item in node.value:
            self.number(item, where, zero_ok=False)
        low, high = (self.value(item) for item in node.value)
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)) and low > high:
            self.problem(node, where, f"[{low:g}, {high:g}]: the low figure comes first")
        self.floor(node.value[1], name, "credits_range")

    def surcharges(self, node: yaml.Node, where: str) -> None:
        for table, key, formats in self.pairs(node, where, "a mapping with per_second / over_4mp_per_second"):
            if table not in SURCHARGE_TABLES:
                self.problem(key, f"{where}.{table}", f"expected one of {', '.join(SURCHARGE_TABLES)}")
                continue
            for fmt, _, amount in self.pairs(formats, f"{where}.{table}", "a mapping of output format -> credits"):
                self.number(amount, f"{where}.{table}.{fmt}", zero_ok=True)


def read_price_file(path: Path, models: Collection[str], floors: Floors | None = None) -> dict[str, dict[str, Any]]:
    """model -> pricing fields of a price file; every problem, located, raised as ``SpecErrors``.
    ``floors``: published figures a rate may not undercut by more than ``FLOOR`` times (None:
    the caller trusts the file)."""
    try:
        root = yaml.compose(read_text(path, PRICE_FILE_BYTES, what="price files"), Loader=yaml.SafeLoader)
    except Unreadable as e:
        raise FileError(path, f"cannot read the price file: it {e.reason}") from None
    except RecursionError:  # PyYAML's composer recurses once per level of nesting
        raise FileError(path, "cannot read the price file: nested too deeply") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise FileError(path, f"cannot read the price file: {escaped(str(e))}") from None
    reader = _Reader(path, floors)
    if root is None or not isinstance(root, yaml.MappingNode):
        raise FileError(path, "a price file maps model ids to pricing fields, e.g. {gen4.5: {credits_per_second: 14}}")
    out: dict[str, dict[str, Any]] = {}
    for name, key, node in reader.pairs(root, "", "a mapping"):
        if name not in models:
            reader.problem(key, name, f"unknown model {name!r} in the price file")
            continue
        reader.model(name, node)
        fields = reader.value(node)
        if isinstance(fields, dict):
            out[name] = fields
    if reader.problems:
        raise SpecErrors(reader.problems)
    return out
