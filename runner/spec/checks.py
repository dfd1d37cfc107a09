"""Checks on a loaded spec document before shots are built, and how problems are grouped.

- the spec schema (``schema/spec.schema.json``), worded for people;
- strings that look like API keys (refused, never echoed);
- one line for a problem that every variant of a matrix shot repeats.
"""

from __future__ import annotations

import json
import math
import os
import re
from functools import lru_cache
from typing import Any

import jsonschema

from runner.bounded import number_problem, short
from runner.catalog.models import schema_dir, validator
from runner.errors import Location, Problem
from runner.spec import schema_errors as words
from runner.spec.yamlload import Document, Path_


@lru_cache(maxsize=1)
def spec_schema() -> dict[str, Any]:
    return dict(json.loads((schema_dir() / "spec.schema.json").read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def _spec_validator() -> jsonschema.protocols.Validator:
    return validator(spec_schema())


def schema_problems(doc: Document) -> list[Problem]:
    return [p for _, p in located_schema_problems(doc)]


def located_schema_problems(doc: Document) -> list[tuple[int | None, Problem]]:
    """Every schema problem with the index of the shot entry it is in (None: outside ``shots[i]``),
    so that the other shots can still go through the later stages."""
    problems: list[tuple[int | None, Problem]] = []
    for error in _spec_validator().iter_errors(doc.data):
        path = tuple(error.absolute_path)
        shot, field_path = _shot_of(doc, path)
        index = path[1] if len(path) >= 2 and path[0] == "shots" and isinstance(path[1], int) else None

        def add(where: Location, message: str, fpath: Path_ = field_path, shot: str | None = shot,
                index: int | None = index) -> None:
            problems.append((index, Problem(where, message, shot=shot, field=dotted(fpath) or None)))

        if error.validator == "additionalProperties":
            allowed = list(words.schema_of(error).get("properties", {}))
            for key in words.unknown_keys(error):
                msg = f"unknown field {key!r}{words.did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}"
                add(doc.where_key((*path, key)), msg, (*field_path, key))
            continue
        if error.validator == "required":
            for key in words.missing_keys(error):
                add(doc.where(path), f"missing required field {key!r}")
            continue
        add(doc.where(path), words.describe(error, name=dotted(field_path) or "spec"))
    return problems


def budget_problems(doc: Document) -> list[Problem]:
    """A cap that is NaN or infinite: JSON Schema's ``minimum`` lets them through (NaN compares
    false with everything), and either would make the budget check meaningless."""
    budget = doc.data.get("budget")
    value = budget.get("max_credits") if isinstance(budget, dict) else None
    if isinstance(value, float) and (math.isnan(value) or value == math.inf):  # -inf: the schema says "below 0"
        return [Problem(doc.where(("budget", "max_credits")), f"{value} is not a budget; give a finite number of "
                        "credits (at least 0), or remove budget.max_credits for no cap", field="budget.max_credits")]
    return []


def _shot_of(doc: Document, path: Path_) -> tuple[str | None, Path_]:
    """The (unrendered) id of the shot a schema error is in, and the path inside it."""
    if len(path) >= 2 and path[0] == "shots" and isinstance(path[1], int):
        raw = doc.data["shots"][path[1]]
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            return raw["id"], path[2:]
    return None, path


def dotted(path: Path_) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


_KEY_SHAPE = re.compile(r"\bkey_[A-Za-z0-9]{32,}\b")
KEY_MESSAGE = ("this looks like a Runway API key. Never put keys in a spec: remove it, rotate the key now "
               "(dev.runwayml.com → API Keys), and pass keys through RUNWAYML_API_SECRET")


def looks_like_key(text: str) -> bool:
    """Shaped like a Runway key (``key_`` + 32 or more letters/digits), or holding the configured one."""
    live = os.environ.get("RUNWAYML_API_SECRET", "")
    return bool(_KEY_SHAPE.search(text)) or (len(live) >= 8 and live in text)


def secret_problems(doc: Document) -> list[Problem]:
    """Strings that look like a Runway API key (or are the configured one). Never echoed.
    (Strings that templates build are checked after rendering: ``Problems.rendered``.)"""
    found: list[Problem] = []

    def walk(value: Any, path: Path_) -> None:
        if isinstance(value, str):
            if looks_like_key(value):
                found.append(Problem(doc.where(path), KEY_MESSAGE, field=dotted(path) or None))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k, path)
                walk(v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*path, i))

    walk(doc.data, ())
    return found


def number_problems(doc: Document) -> list[Problem]:
    """Numbers anywhere in the document that cannot be computed with: NaN, infinite, or beyond
    2^53 (``runner.bounded.number_problem``) — a 400-digit integer made plan crash on its way to
    a float. (``budget.max_credits`` has its own words: ``budget_problems`` and the schema.
    Numbers that templates build are checked in the compiled request: ``spec.bodycheck``.)"""
    found: list[Problem] = []
    stack: list[tuple[Any, Path_]] = [(doc.data, ())]
    while stack:  # the document nests at most 64 levels, but there is no need to recurse
        value, path = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, (*path, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(value))
        elif path != ("budget", "max_credits") or isinstance(value, int):  # budget_problems: NaN and inf caps
            why = number_problem(value)
            if why is not None:
                hint = "a smaller number" if "too large" in why else "a finite number, or a string in quotes"
                found.append(Problem(doc.where(path), f"{short(value)} {why}; write {hint}",
                                     field=dotted(path[2:] if path[:1] == ("shots",) else path) or None,
                                     shot=_shot_of(doc, path)[0]))
    return found


def collapse(problems: list[Problem]) -> list[Problem]:
    """One line for a problem that every variant of a matrix shot repeats."""
    groups: dict[tuple[Location, str | None, str], list[Problem]] = {}
    for p in problems:
        groups.setdefault((p.location, p.field, p.message), []).append(p)
    out: list[Problem] = []
    for items in groups.values():
        first = items[0]
        if len(items) > 1 and first.shot:
            shot = f"{first.shot} (and {len(items) - 1} more)"
            out.append(Problem(first.location, first.message, shot, first.field, first.severity))
        elif len(items) > 1:
            out.append(Problem(first.location, f"{first.message} (in {len(items)} matrix variants)", None,
                               first.field, first.severity))
        else:
            out.extend(items)
    return out
