"""Saved plans (``runner plan -o plan.json``): their JSON form and the staleness check.

A saved plan records the spec, state file, input and price-table hashes it was made
from; ``load_plan`` refuses it when any of them changed, saying which.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.catalog.pricing import load_prices
from runner.errors import FileError, StalePlanError
from runner.inputs.paths import folder_root, is_inside, read_back_problem
from runner.planner.make import make_plan
from runner.planner.records import PLAN_FORMAT, Plan
from runner.store import cache as cache_mod
from runner.store.state import file_sha256, state_path


def plan_document(plan: Plan) -> dict[str, Any]:
    """The JSON form of a plan (``--format json`` and ``-o plan.json``); see docs in README."""
    shots = []
    for s in plan.shots:
        shots.append({
            "id": s.id, "symbol": s.symbol, "action": s.action, "model": s.model, "mode": s.mode,
            "reasons": list(s.reasons), "credits": s.credits, "upper_bound": s.upper_bound,
            "moved_from": s.moved_from, "fingerprint": s.fingerprint,
            "location": str(s.location) if s.location else None, "tags": list(s.tags),
            "takes": [{"take": t.take, "action": t.action, "credits": t.credits, "output": t.output,
                       "fingerprint": t.fingerprint, "task_id": t.task_id} for t in s.takes],
        })
    over = plan.over_budget_by
    return {
        "format": PLAN_FORMAT,
        "kind": "runner-plan",
        "spec": {"path": str(plan.spec.path), "name": plan.spec.name, "sha256": plan.spec_sha256},
        "state": {"path": str(plan.state.path.resolve()), "sha256": plan.state_sha256},
        "inputs": plan.inputs,
        "price_table": plan.price_table,
        "options": plan.options,
        "summary": {
            "create": plan.count("create"), "regenerate": plan.count("regenerate"),
            "unchanged": plan.count("unchanged"), "cached": plan.count("cached"),
            "moved": plan.count("move"), "removed": plan.count("remove"), "resume": plan.count("resume"),
            "blocked": plan.count("blocked"),
            "generations": sum(s.creates for s in plan.shots),
            "credits": plan.total_credits, "usd": plan.usd, "upper_bound": plan.upper_bound,
            "unknown_cost": list(plan.unknown_cost), "spent_credits": plan.spent_credits,
            "budget": {"max_credits": plan.max_credits, "over_by": over},
            "changes": plan.has_changes,
        },
        "shots": shots,
    }


def load_plan(path: Path, *, prices: Path | None = None) -> tuple[dict[str, Any], Path]:
    """Read a saved plan and refuse it if anything it was made from has changed.

    Returns the document and the spec path. Raises StalePlanError saying what changed.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("kind") != "runner-plan":
            raise ValueError("not a runner plan")
    except (OSError, ValueError, AttributeError) as e:
        raise FileError(path, f"not a readable plan file ({e})") from None
    if doc.get("format", 0) > PLAN_FORMAT:
        raise FileError(path, "written by a newer runner; upgrade runner")
    spec_path = plan_paths(path, doc)
    changed: list[str] = []
    if file_sha256(spec_path) != doc["spec"]["sha256"]:
        changed.append(f"the spec {doc['spec']['path']} changed")
    if file_sha256(Path(doc["state"]["path"])) != doc["state"]["sha256"]:
        changed.append(f"the state file {doc['state']['path']} changed (another apply ran?)")
    hasher = cache_mod.Hasher()
    for name, digest in doc["inputs"].items():
        try:
            now = hasher.sha256((spec_path.parent / name).resolve())
        except OSError:
            now = None
        if now != digest:
            changed.append(f"input {name} changed")
    _, table = load_prices(prices)
    if table["sha256"] != doc["price_table"]["sha256"]:
        changed.append(f"prices changed (plan used {doc['price_table']['source']}, now {table['source']})")
    if changed:
        raise StalePlanError(path, changed)
    return doc, spec_path


def saved_plan_spec(path: Path) -> Path | None:
    """The spec a saved plan file was made from, or None when ``path`` is not a plan file.
    A plan naming files outside its project is refused (``plan_paths``)."""
    if path.suffix != ".json":
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("kind") != "runner-plan":
            return None
        doc["spec"]["path"]  # noqa: B018 - a plan without it is not a plan file
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None
    return plan_paths(path, doc)


def plan_paths(path: Path, doc: dict[str, Any]) -> Path:
    """The spec path of a saved plan, once every path the plan names is checked: a plan file
    can be edited like any file, so its spec and state must lie in the plan's own project
    (the git top level above the plan file, else its folder), the state must be the spec's,
    and input names must be relative paths inside that project. Nothing else is read."""
    root = folder_root(path.absolute().parent)
    problems = []
    try:
        spec_path = Path(str(doc["spec"]["path"]))
        state = Path(str(doc["state"]["path"]))
        names = [str(n) for n in dict(doc["inputs"])]
    except (KeyError, TypeError, ValueError):
        raise FileError(path, "not a readable plan file (spec, state or inputs missing)") from None
    if not spec_path.is_absolute() or not is_inside(spec_path, root):
        problems.append(f"spec.path {str(spec_path)[:200]!r}")
    if state.resolve() != state_path(spec_path).resolve() or not is_inside(state, root):
        problems.append(f"state.path {str(state)[:200]!r}")
    problems += [f"inputs {n[:200]!r}" for n in names if read_back_problem(n, spec_path.parent, root) is not None]
    if problems:
        raise FileError(path, f"corrupt plan file: {problems[0]} points outside the project {root} (or is not "
                        "the spec's); nothing was read. Make the plan again with `runner plan -o`")
    return spec_path


def plan_from_file(path: Path, *, prices: Path | None = None) -> Plan:
    """Plan again what a saved plan was made from, and refuse it when anything it was made
    from (spec, state, inputs, prices, outputs, cache) changed since."""
    doc, spec_path = load_plan(path, prices=prices)
    options = doc.get("options", {})
    plan = make_plan(spec_path, select=tuple(options.get("select", ())), exclude=tuple(options.get("exclude", ())),
                     replace=tuple(options.get("replace", ())), max_credits=options.get("max_credits"),
                     prices=prices, allow_unpriced=tuple(options.get("allow_unpriced", ())))
    again = [(s["id"], s["action"], [t["fingerprint"] for t in s["takes"]]) for s in plan_document(plan)["shots"]]
    saved = [(s["id"], s["action"], [t["fingerprint"] for t in s["takes"]]) for s in doc["shots"]]
    if again != saved:
        raise StalePlanError(path, ["the outputs or the cache changed since it was made"])
    return plan
