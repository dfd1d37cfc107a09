"""Saved plans (``runner plan -o plan.json``): their JSON form and the staleness check.

A saved plan records the spec, state file, input and price-table hashes it was made
from; ``load_plan`` refuses it when any of them changed, saying which.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.bounded import PLAN_BYTES, Unreadable
from runner.catalog.pricing import load_prices
from runner.errors import FileError, StalePlanError
from runner.inputs.paths import folder_root, is_inside, read_back_problem
from runner.planner.make import make_plan
from runner.planner.records import PLAN_FORMAT, Plan
from runner.store import cache as cache_mod
from runner.store.documents import first_problem, more, read_json, shown
from runner.store.place import Place, store_identity
from runner.store.state import file_sha256, state_path
from runner.store.steps import state_digest


def plan_document(plan: Plan) -> dict[str, Any]:
    """The JSON form of a plan (``--format json`` and ``-o plan.json``); described in docs/plan.md (Formats)."""
    shots = []
    for s in plan.shots:
        shots.append({
            "id": s.id, "symbol": s.symbol, "action": s.action, "model": s.model, "mode": s.mode,
            "reasons": list(s.reasons), "credits": s.credits, "upper_bound": s.upper_bound,
            "moved_from": s.moved_from, "fingerprint": s.fingerprint,
            "location": str(s.location) if s.location else None, "tags": list(s.tags),
            "inputs_from": [{"shot": u.shot, "take": u.take, "field": u.field}
                            for u in (s.shot.upstreams if s.shot else ())],
            "takes": [{"take": t.take, "action": t.action, "credits": t.credits, "output": t.output,
                       "fingerprint": t.fingerprint, "task_id": t.task_id,
                       **({"reuses": {"shot": t.reuses[0], "take": t.reuses[1]}} if t.reuses else {})}
                      for t in s.takes],
        })
    over = plan.over_budget_by
    return {
        "format": PLAN_FORMAT,
        "kind": "runner-plan",
        "spec": {"path": str(plan.spec.path), "name": plan.spec.name, "sha256": plan.spec_sha256},
        "state": {"path": str(plan.state.path.resolve()), "sha256": plan.state_sha256,
                  "store": store_identity(plan.place.url) if plan.place else None},
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


def read_plan(path: Path) -> dict[str, Any]:
    """A plan file's document, validated against ``schema/plan.schema.json`` (plan files are
    passed around and can be edited: nothing in one is used before it is checked)."""
    try:
        doc = read_json(path, PLAN_BYTES, what="saved plans")
    except Unreadable as e:
        raise FileError(path, f"{e.reason}; make the plan again with `runner plan -o`",
                        label="cannot read the plan file") from None
    except OSError as e:
        raise FileError(path, f"cannot read the plan file: {e.strerror or e}") from None
    except ValueError as e:
        raise _corrupt(path, "$", f"not JSON ({shown(str(e))[1:-1]})") from None
    fmt = doc.get("format") if isinstance(doc, dict) else None
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > PLAN_FORMAT:
        raise FileError(path, "written by a newer runner; upgrade runner")
    problem = first_problem("plan.schema.json", doc)
    if problem is not None:
        where, what, count = problem
        raise _corrupt(path, where, what + more(count))
    return dict(doc)


def _corrupt(path: Path, where: str, what: str) -> FileError:
    return FileError(path, f"{where}: {what}; make the plan again with `runner plan -o`", label="corrupt plan file")


def load_plan(path: Path, *, prices: Path | None = None) -> tuple[dict[str, Any], Path]:
    """Read a saved plan and refuse it if anything it was made from has changed.

    Returns the document and the spec path. Raises StalePlanError saying what changed.
    """
    doc = read_plan(path)
    spec_path = plan_paths(path, doc)
    changed: list[str] = []
    if file_sha256(spec_path) != doc["spec"]["sha256"]:
        changed.append(f"the spec {doc['spec']['path']} changed")
    if not doc["state"].get("store") and state_digest(Path(doc["state"]["path"])) != doc["state"]["sha256"]:
        changed.append(f"the state file {doc['state']['path']} changed (another apply ran?)")
    hasher = cache_mod.Hasher()
    for name, digest in doc["inputs"].items():
        try:
            now = hasher.sha256((spec_path.parent / name).resolve())
        except OSError:
            now = None
        if now != digest:
            changed.append(f"input {name} changed")
    _, table = load_prices(prices, trust=bool(doc.get("options", {}).get("trust_prices")))
    if table["sha256"] != doc["price_table"]["sha256"]:
        changed.append(f"prices changed (plan used {doc['price_table']['source']}, now {table['source']})")
    if changed:
        raise StalePlanError(path, changed)
    return doc, spec_path


def saved_plan_spec(path: Path) -> Path | None:
    """The spec a saved plan file was made from, or None when ``path`` is not a plan file
    (not ``.json``, or a JSON document without ``"kind": "runner-plan"``). A ``.json`` file
    that is not JSON, or a plan file that fails its checks or names files outside its project
    (``plan_paths``), is a FileError."""
    if path.suffix != ".json":
        return None
    try:
        doc = read_json(path, PLAN_BYTES, what="saved plans")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, Unreadable):
        doc = {"kind": "runner-plan"}  # a .json that is not JSON: report it as the plan file it claims to be
    if not isinstance(doc, dict) or doc.get("kind") != "runner-plan":
        return None
    return plan_paths(path, read_plan(path))


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


def check_plan_store(path: Path, url: str | None) -> None:
    """Refuse the saved plan at ``path`` unless it was made against the store this apply uses
    (``url``: what ``--store``, ``RUNNER_STORE`` and the spec's ``store:`` give). A plan file can
    be edited like any file, and its store would receive the state, the lock and the outputs:
    the plan never chooses the store. Call before anything is created or any folder is made."""
    recorded = read_plan(path)["state"].get("store")
    if store_identity(recorded) != store_identity(url):
        made = f"the store {shown(recorded, limit=200)}" if recorded else "the local state file (no store)"
        now = f"the store {shown(url, limit=200)}" if url else \
            "the local state file (no --store, RUNNER_STORE or store:)"
        raise FileError(path, f"state.store: the plan was made against {made}, but this apply would use {now}; "
                        "nothing was done. Apply it with the store it was made with, or make a new plan with "
                        "`runner plan -o`", label="saved plan")


def plan_from_file(path: Path, *, place: Place, prices: Path | None = None) -> Plan:
    """Plan again what a saved plan was made from, in ``place`` (whose store ``check_plan_store``
    accepted), and refuse it when anything it was made from (spec, state, inputs, prices,
    outputs, cache, store) changed since, or when one of its take files is not the one runner
    derives (``OutputLayout.problem``)."""
    doc, spec_path = load_plan(path, prices=prices)
    check_plan_store(path, place.url)
    options = doc.get("options", {})
    plan = make_plan(spec_path, select=tuple(options.get("select", ())), exclude=tuple(options.get("exclude", ())),
                     replace=tuple(options.get("replace", ())), max_credits=options.get("max_credits"),
                     prices=prices, allow_unpriced=tuple(options.get("allow_unpriced", ())), place=place,
                     trust_prices=bool(options.get("trust_prices")))
    layout = plan.spec.outputs
    for i, shot in enumerate(doc["shots"]):
        for j, take in enumerate(shot["takes"]):
            why = layout.problem(take["output"], shot_id=str(shot["id"]), take=int(take["take"]))
            if why is not None:
                raise _corrupt(path, f"$.shots[{i}].takes[{j}].output", f"{shown(take['output'], limit=200)} {why}; "
                               "nothing was done")
    if doc["state"].get("store") and plan.state_sha256 != doc["state"]["sha256"]:
        raise StalePlanError(path, [f"the state in {doc['state']['store']} changed (another apply ran?)"])
    again = [_comparable(s) for s in plan_document(plan)["shots"]]
    saved = [_comparable(s) for s in doc["shots"]]
    if again != saved:
        raise StalePlanError(path, ["the outputs or the cache changed since it was made"])
    return plan


def _comparable(shot: dict[str, Any]) -> tuple[Any, ...]:
    """What of a saved shot must match the plan made again: its action, take fingerprints and
    the graph edges into it (a plan file edited to rewire inputs is refused)."""
    edges = [(e["shot"], e["take"], e["field"]) for e in shot.get("inputs_from", [])]
    return shot["id"], shot["action"], [t["fingerprint"] for t in shot["takes"]], edges
