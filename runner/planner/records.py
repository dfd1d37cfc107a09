"""What a plan is made of: per take and per shot actions, and the plan as a whole.

Symbols of a shot: ``+`` create, ``~`` regenerate, ``=`` unchanged or restored from the
cache, ``>`` moved, ``-`` removed (files kept), ``!`` blocked (a remembered SAFETY/ASSET
refusal). Take actions: ``create`` (paid), ``keep``, ``move`` (a renamed shot's file),
``restore`` (from the cache or the store, free), ``refetch`` (a recorded take whose file is
nowhere any more, read again from its task while Runway keeps it: free), ``resume`` (a
journaled task, already paid, or an intent of unknown outcome), ``blocked``, ``reuse`` (the
same request as an earlier take of this plan, ``reuses``: apply waits for that take and copies
its file, free; identical requests are paid once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from runner.catalog.endpoints import ENDPOINTS
from runner.catalog.models import catalog
from runner.catalog.pricing import CREDIT_USD, Cost
from runner.errors import Location, Problem
from runner.planner.budget import over_budget_by
from runner.spec import Shot, Spec
from runner.store.place import Place
from runner.store.state import State

PLAN_FORMAT = 1

Symbol = Literal["+", "~", "=", ">", "-", "!"]
TakeAction = Literal["create", "keep", "move", "restore", "refetch", "resume", "blocked", "reuse"]


@dataclass(frozen=True)
class TakePlan:
    take: int
    fingerprint: str
    action: TakeAction
    output: str
    credits: int | None = None
    task_id: str | None = None
    source: str | None = None
    blocked: str | None = None
    cached: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    reuses: tuple[str, int] | None = None
    """For ``reuse``: the (shot, take) of this plan that makes the same request first."""


@dataclass(frozen=True)
class ShotPlan:
    id: str
    symbol: Symbol
    action: str
    reasons: tuple[str, ...]
    model: str
    mode: str
    fingerprint: str
    takes: tuple[TakePlan, ...] = ()
    credits: int | None = 0
    upper_bound: bool = False
    moved_from: str | None = None
    location: Location | None = None
    tags: tuple[str, ...] = ()
    shot: Shot | None = field(default=None, compare=False, repr=False)
    canonical: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    input_seconds: float | None = field(default=None, compare=False, repr=False)
    price: Cost | None = field(default=None, compare=False, repr=False)
    """What one take of this shot costs by the table (units billed, rate, the pricing field)."""

    @property
    def creates(self) -> int:
        """Takes that may be generated (and paid for) by apply."""
        return sum(1 for t in self.takes if t.action == "create" or (t.action == "resume" and not t.task_id))


@dataclass(frozen=True)
class Plan:
    spec: Spec
    state: State
    shots: tuple[ShotPlan, ...]
    total_credits: int
    unknown_cost: tuple[str, ...]
    upper_bound: bool
    max_credits: float | None
    price_table: dict[str, str]
    inputs: dict[str, str]
    spec_sha256: str
    state_sha256: str | None
    spent_credits: int
    options: dict[str, Any] = field(default_factory=dict)
    place: Place | None = None
    probed: dict[str, float | None] = field(default_factory=dict)
    """Input lengths this plan probed itself (content sha256 -> seconds), for apply to share."""
    """Where the state came from and goes back to (None: the local default, for hand-made plans)."""

    def count(self, action: str) -> int:
        return sum(1 for s in self.shots if s.action == action)

    @property
    def has_changes(self) -> bool:
        return any(s.action not in ("unchanged",) for s in self.shots)

    @property
    def over_budget_by(self) -> int | None:
        return over_budget_by(self.total_credits, self.max_credits)

    @property
    def cap_name(self) -> str:
        """Where the plan's budget comes from, as the user wrote it."""
        return "--max-credits" if self.options.get("max_credits") is not None else "budget.max_credits"

    def unpriced_problems(self) -> list[Problem]:
        """Shots of unknown cost while a budget is set: apply could spend past the budget
        unawares, so they are refused unless their model is named with --allow-unpriced."""
        if self.max_credits is None:
            return []
        allowed = set(self.options.get("allow_unpriced") or ())
        problems = []
        for s in self.shots:
            if s.creates and s.credits is None and s.model not in allowed:
                problems.append(Problem(
                    s.location or Location(self.spec.display), f"{s.model} has no known price for this request, "
                    f"and {self.cap_name} {self.max_credits:g} is set: apply could spend past it. Give it a price "
                    f"in a --prices file ({s.model}: {{{_rate_field(s.model, s.mode)}: N}}) or accept the risk with "
                    f"--allow-unpriced {s.model}", shot=s.id, field="model"))
        return problems

    @property
    def credits(self) -> int:
        """What apply would spend (the total of the shots it creates; unknown prices not counted)."""
        return self.total_credits

    @property
    def changes(self) -> tuple[ShotPlan, ...]:
        """The shots apply would act on (everything but ``unchanged``)."""
        return tuple(s for s in self.shots if s.action != "unchanged")

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON data: the document `runner plan --format json` prints and `-o` saves."""
        from runner.planner.saved import plan_document  # saved builds on this module

        return plan_document(self)

    @property
    def usd(self) -> float:
        return round(self.total_credits * CREDIT_USD, 2)


def _rate_field(model: str, mode: str) -> str:
    """The price-file field that prices ``model`` in ``mode``: per second, or per image."""
    info = catalog().get(model)
    endpoint = info.modes.get(mode) if info else None
    unit = ENDPOINTS[endpoint].price_unit if endpoint in ENDPOINTS else "second"
    return f"credits_per_{unit}"
