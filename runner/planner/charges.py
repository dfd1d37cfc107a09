"""What takes were charged against what the table planned: drift per model, spend the plan did
not count, and the per-unit prices the charges imply (``runner prices --observed``).

Pure: records in, records out. Apply builds a ``Charge`` per finished take (the task's
``cost.credits``, or the table's figure when the API reported none); the report builds them
from the state. Drift is named per model with the price-file line that would make the table
agree with what the API billed::

    gen4.5: planned 50, charged 60 (table 10/s; the API billed 12/s)
      fix: gen4.5: {credits_per_second: 12}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from runner.catalog.endpoints import PriceUnit

UNIT_SUFFIX: dict[str, str] = {"second": "/s", "image": "/image", "character": "/char", "task": " a task"}


@dataclass(frozen=True)
class Charge:
    """One finished take: what the table planned and what the API charged."""

    shot: str
    take: int
    model: str
    unit: PriceUnit
    planned: int | None
    """The table's credits for the take; None when the model has no known price."""
    charged: int | None
    """The task's ``cost.credits``; None when the API reported no cost."""
    units: float | None = None
    """Units billed by the table's rule (seconds, images, characters); None for a flat price."""
    rate: float | None = None
    """The table's credits per unit, surcharges included."""
    field: str | None = None
    """The pricing field that priced it (``credits_per_second``, ``by_resolution.1080p``, …)."""
    base: float | None = None
    """That field's figure (the rate before surcharges)."""


def figure(value: float) -> str:
    """A rate as people write it: 12, 0.5, 1/6 (not 0.16666666666666666)."""
    if float(value).is_integer():
        return str(int(value))
    exact = Fraction(value).limit_denominator(1000)
    if exact.numerator == 1 and abs(float(exact) - value) < 1e-12:
        return f"1/{exact.denominator}"
    return f"{value:.4g}"


_PER = {"second": "s", "character": "chars", "image": "images", "task": "tasks"}


def per_unit(value: float, unit: str) -> str:
    """A rate with its unit: ``12/s``, ``1 per 6 s``, ``1 per 50 chars``, ``5/image``, ``2 a task``."""
    text = figure(value)
    if text.startswith("1/"):
        return f"1 per {text[2:]} {_PER.get(unit, unit)}"
    return f"{text}{UNIT_SUFFIX.get(unit, '/' + unit)}"


@dataclass(frozen=True)
class Drift:
    """A model whose takes were charged other than planned."""

    model: str
    unit: str
    takes: int
    planned: int
    charged: int
    table_rate: float | None
    billed_rate: float | None
    field: str | None
    fix_value: float | None

    @property
    def fix(self) -> str | None:
        """The price-file line that would make the table say what the API billed."""
        if self.field is None or self.fix_value is None:
            return None
        value = _round(self.fix_value)
        if "." in self.field:  # a tier: by_resolution.1080p, by_quality_resolution.high.4k
            keys = self.field.split(".")
            return f"{self.model}: " + "".join(f"{{{k}: " for k in keys) + f"{value:g}" + "}" * len(keys)
        if self.field == "credits_range":
            return f"{self.model}: {{credits_range: [{value:g}, {value:g}]}}"
        return f"{self.model}: {{{self.field}: {value:g}}}"

    def text(self) -> str:
        line = f"{self.model}: planned {self.planned}, charged {self.charged}"
        if self.table_rate is not None and self.billed_rate is not None:
            line += (f" (table {per_unit(self.table_rate, self.unit)}; the API billed "
                     f"{per_unit(self.billed_rate, self.unit)})")
        elif self.takes:
            line += f" over {self.takes} take{'s' if self.takes != 1 else ''}"
        return line

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "unit": self.unit, "takes": self.takes, "planned": self.planned,
                "charged": self.charged, "table_rate": self.table_rate, "billed_rate": self.billed_rate,
                "fix": self.fix, "text": self.text()}


@dataclass(frozen=True)
class Unplanned:
    """Credits charged for takes of a model the plan could not price."""

    model: str
    takes: int
    charged: int

    def text(self) -> str:
        return (f"{self.model}: {self.charged} credits charged for {self.takes} take{'s' if self.takes != 1 else ''}"
                " the plan did not count (no known price)")

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "takes": self.takes, "charged": self.charged, "text": self.text()}


def _round(value: float) -> float:
    """Six significant digits: enough for a rate, short enough for a price file."""
    return float(f"{value:.6g}")


def _by_model(charges: Iterable[Charge]) -> dict[str, list[Charge]]:
    out: dict[str, list[Charge]] = {}
    for c in charges:
        out.setdefault(c.model, []).append(c)
    return out


def drift(charges: Iterable[Charge]) -> list[Drift]:
    """Models whose charged credits differ from the planned ones (takes the API reported a cost
    for, and the table priced), sorted by model."""
    out = []
    for model, group in sorted(_by_model(c for c in charges if c.planned is not None and c.charged is not None
                                         ).items()):
        planned = sum(c.planned or 0 for c in group)
        charged = sum(c.charged or 0 for c in group)
        if planned == charged:
            continue
        billed, table, fix = None, None, None
        sized = [c for c in group if c.units and c.rate is not None]
        if sized:
            # Every take of a model bills at one rate per field; the one seen most decides the line.
            field = max({c.field for c in sized}, key=lambda f: sum(1 for c in sized if c.field == f))
            same = [c for c in sized if c.field == field]
            billed = min((c.charged or 0) / (c.units or 1) for c in same)  # rounding up only ever adds
            table = same[0].rate
            fix = billed - ((table or 0) - (same[0].base or 0))  # the field's figure, without surcharges
        else:
            field = next((c.field for c in group if c.field), None)
            fix = float(max(c.charged or 0 for c in group)) if field == "credits_range" else None
        unit = group[0].unit if sized or field != "credits_range" else "task"
        out.append(Drift(model, unit, len(group), planned, charged, table, billed, field, fix))
    return out


def unplanned(charges: Iterable[Charge]) -> list[Unplanned]:
    """Credits charged for takes the plan had no price for, per model (sorted by model)."""
    out = []
    for model, group in sorted(_by_model(c for c in charges if c.planned is None).items()):
        out.append(Unplanned(model, len(group), sum(c.charged or 0 for c in group)))
    return out


@dataclass(frozen=True)
class Observed:
    """A per-unit price the recorded charges imply, as a price-file line."""

    model: str
    field: str
    value: float
    takes: int
    credits: int
    units: float
    table: float | None
    low: float
    high: float

    def line(self) -> str:
        fix = Drift(self.model, "", self.takes, 0, 0, None, None, self.field, self.value).fix
        note = f"{self.takes} take{'s' if self.takes != 1 else ''}, {self.credits} credits for {self.units:g} units"
        if self.table is not None:
            note += f"; the table says {figure(self.table)}"
        if self.high - self.low > 1e-9:
            note += f"; per take {figure(self.low)}-{figure(self.high)} (whole credits round up: the lowest is kept)"
        return f"{fix}  # {note}"


def observed(charges: Iterable[Charge]) -> list[Observed]:
    """Per (model, pricing field): the lowest per-unit charge of the takes the API reported a cost
    for (a charge is rounded up to a whole credit, so the lowest is the closest to the rate),
    minus the table's surcharges."""
    groups: dict[tuple[str, str], list[Charge]] = {}
    for c in charges:
        if c.charged is not None and c.units and c.field and c.field != "credits_range":
            groups.setdefault((c.model, c.field), []).append(c)
    out = []
    for (model, field), group in sorted(groups.items()):
        per = [(c.charged or 0) / (c.units or 1) - ((c.rate or 0) - (c.base or 0)) for c in group]
        out.append(Observed(model, field, _round(min(per)), len(group), sum(c.charged or 0 for c in group),
                            sum(c.units or 0 for c in group), group[0].base, min(per), max(per)))
    return out
