"""Plans: what apply would do and what it costs, compared with the state and the cache; saved plans; renderers."""

from runner.planner.make import estimate, make_plan
from runner.planner.records import PLAN_FORMAT, Plan, ShotPlan, TakePlan

__all__ = ["PLAN_FORMAT", "Plan", "ShotPlan", "TakePlan", "estimate", "make_plan"]
