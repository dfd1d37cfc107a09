"""The money rules in one place: the spec's budget, the account's balance and daily caps,
and the running tally apply keeps while it creates.

- ``over_budget_by``: a plan above its budget is refused (plan exits 1, apply does nothing).
- ``check_account``: what the account cannot do of the planned creates (balance, daily cap
  per model), and how many creates each model has left today; ``runner plan
  --check-account`` words it as warnings, apply refuses a balance shortfall and stops
  starting creates of a model at its cap.
- ``Spend``: apply's tally. Each create reserves its estimate and its slot of the daily
  cap when its check passes, before it is sent (``--max-credits`` counts the estimates of
  creates made, in flight, or of unknown outcome in this run); a create that surely did
  not happen gives them back.
- Caps hold against the API's own figures: when a task's ``estimatedCost`` or ``cost`` is
  above what its create reserved, the reservation grows to it, and later takes of that model
  are reserved at the price the API showed (per unit billed, else per take), so creates stop
  before the cap would be passed. The spend can then pass a cap only by what the creates
  already in flight cost beyond their reservations: at most P takes at their real price, for
  parallelism P.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from runner.bounded import Bound, short

CAP = Bound(0, 1e12, unit="credits")
"""A credit cap (``--max-credits``, ``budget.max_credits``): 10^12 credits is ten billion dollars."""


def cap_problem(value: object) -> str | None:
    """Why ``value`` cannot be a cap in credits, or None (None itself means no cap)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{short(value)} is not a number of credits"
    if not math.isfinite(value):
        return f"{value} is not a finite number of credits"
    if value < 0:
        return f"{value:g} is negative"
    if value > CAP.high:
        return f"{short(value)} is above the most a cap can be ({CAP.high:g})"
    return None


def over_budget_by(credits: int, max_credits: float | None) -> int | None:
    """How many credits ``credits`` is above the budget, or None when within it (or no budget)."""
    if max_credits is None or credits <= max_credits:
        return None
    return int(credits - max_credits)


@dataclass(frozen=True)
class ModelAllowance:
    """One model's planned creates against its tier."""

    model: str
    planned: int
    daily_cap: int | None
    left_today: int | None
    concurrency: int | None

    @property
    def over_cap(self) -> bool:
        return self.left_today is not None and self.planned > self.left_today


@dataclass(frozen=True)
class AccountCheck:
    balance: int
    needed: int
    models: tuple[ModelAllowance, ...]

    @property
    def short_by(self) -> int | None:
        """Credits missing for the planned creates, or None when the balance covers them."""
        return self.needed - self.balance if self.needed > self.balance else None

    def daily_left(self) -> dict[str, int]:
        """Creates each capped model may still make today (models without a cap are absent)."""
        return {m.model: m.left_today for m in self.models if m.left_today is not None}


def check_account(*, balance: int, needed: int, planned: Mapping[str, int],
                  tiers: Mapping[str, Mapping[str, int | None]], daily_used: Mapping[str, int]) -> AccountCheck:
    """Compare planned creates per model (and the credits they need) with the account."""
    models = []
    for model, n in sorted(planned.items()):
        tier = tiers.get(model) or {}
        cap = tier.get("daily")
        left = None if cap is None else cap - daily_used.get(model, 0)
        models.append(ModelAllowance(model, n, cap, left, tier.get("concurrency")))
    return AccountCheck(balance, needed, tuple(models))


@dataclass
class Spend:
    """What apply has committed in this run, against ``--max-credits`` and the daily caps.

    A create takes its share at the moment its check passes (``reserve``), before anything
    is awaited, so creates running side by side can never together pass a cap. The share
    is given back only when the create surely did not happen (``release``: the API refused
    it, or a stop came before it was sent); a create whose answer was lost may have been
    charged, so its share stays taken for the rest of the run (``possibly_charged``).
    """

    max_credits: float | None = None
    daily_left: dict[str, int] = field(default_factory=dict)
    committed: int = 0
    possibly_charged: int = 0
    per_unit: dict[str, float] = field(default_factory=dict)
    """model -> the highest credits per billed unit the API reported for one of its takes."""
    per_take: dict[str, int] = field(default_factory=dict)
    """model -> the highest credits the API reported for a take whose units are unknown."""
    cap_name: str = "--max-credits"

    def price(self, model: str, planned: int, units: float | None = None) -> int:
        """What a take of ``model`` that the table prices at ``planned`` (for ``units`` billed)
        reserves: the table's figure, or what the API showed for this model if that is more."""
        seen = self.per_take.get(model, 0)
        rate = self.per_unit.get(model)
        if rate is not None and units:
            seen = max(seen, math.ceil(rate * units - 1e-9))
        return max(planned, seen)

    def reported(self, model: str, reserved: int, credits: float, units: float | None = None) -> int:
        """The API says a take reserved at ``reserved`` costs ``credits``: the reservation grows
        to it (never shrinks: a refund is not counted before the task ends), and the model's
        later takes reserve at that price. Returns the take's reservation now."""
        whole = math.ceil(credits - 1e-9)
        if not whole > reserved:
            return reserved
        self.committed += whole - reserved
        if units:
            self.per_unit[model] = max(self.per_unit.get(model, 0.0), credits / units)
        else:
            self.per_take[model] = max(self.per_take.get(model, 0), whole)
        return whole

    def refusal(self, model: str, credits: int) -> str | None:
        """Why a create of ``credits`` on ``model`` may not start now, or None."""
        # Written so that a cap that is not a number (NaN) refuses instead of allowing everything.
        if self.max_credits is not None and not self.committed + credits <= self.max_credits:
            if model in self.per_unit or model in self.per_take:
                return (f"{self.cap_name} {self.max_credits:g} would be exceeded: {model} costs {credits} a take by "
                        f"the API's own figures, more than the price table says; fix its price")
            return f"{self.cap_name} {self.max_credits:g} would be exceeded"
        if self.daily_left.get(model, 1) <= 0:
            return f"the daily cap of {model} is reached"
        return None

    def reserve(self, model: str, credits: int) -> str | None:
        """Take this create's share of the caps now, or say why it may not start."""
        why = self.refusal(model, credits)
        if why is None:
            self.committed += credits
            if model in self.daily_left:
                self.daily_left[model] -= 1
        return why

    def release(self, model: str, credits: int) -> None:
        """The reserved create surely did not happen: its share is free again."""
        self.committed -= credits
        if model in self.daily_left:
            self.daily_left[model] += 1

    def lost_answer(self, credits: int) -> None:
        """The reserved create may have happened (its answer was lost): it stays counted."""
        self.possibly_charged += credits
