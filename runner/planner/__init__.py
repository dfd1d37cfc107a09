"""Plans: what apply would do and what it costs, compared with the state and the cache; saved plans; renderers.

Exports are loaded on first use (as in ``runner.engine``): a light module of this package (the
budget cap, price figures) is imported by the command line's option definitions, and importing
it must not load the planner, the store and the spec pipeline with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.planner.make import estimate, make_plan
    from runner.planner.records import PLAN_FORMAT, Plan, ShotPlan, TakePlan

__all__ = ["PLAN_FORMAT", "Plan", "ShotPlan", "TakePlan", "estimate", "make_plan"]

_HOMES = {"estimate": "make", "make_plan": "make", "PLAN_FORMAT": "records", "Plan": "records",
          "ShotPlan": "records", "TakePlan": "records"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"runner.planner.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'runner.planner' has no attribute {name!r}")
