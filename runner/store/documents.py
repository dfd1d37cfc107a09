"""Files runner wrote and reads back — state files and saved plans — checked like any input.

Both are committed to git or passed around, so a pull request (or a broken merge) can
change them. Before anything in them is used, they are validated against their JSON
Schema (``schema/state.schema.json``, ``schema/plan.schema.json``, Draft 2020-12); the
first problem, by location, becomes one ``StateError`` / ``FileError`` that names the
file, the JSON path and what is wrong, and says what to do.

Task ids get special care because they become URL paths (``GET /v1/tasks/<id>``):
``TASK_ID`` is the form the API documents (a lowercase UUID); the schemas hold the same
pattern (a test keeps them equal) and the API client checks it again before each request.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any, cast

import jsonschema

from runner.bounded import escaped, parse_json, read_file
from runner.catalog.models import schema_dir, validator
from runner.store.fastcheck import Check, compile_schema

# As in the schemas: ``(?!\n)`` because Python's ``$`` also matches before a final newline
# (jsonschema searches with ``re``); ECMA-262's ``$`` does not, so the pattern means the same there.
TASK_ID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?!\\n)$"
TASK_ID = re.compile(TASK_ID_PATTERN)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_SHOWN = 60

__all__ = ["TASK_ID", "TASK_ID_PATTERN", "first_problem", "is_task_id", "json_path", "more", "parse_json",
           "read_json", "schema", "shown"]


def is_task_id(value: object) -> bool:
    """Whether ``value`` has the form of a Runway task id (and nothing more: no newline, no path)."""
    return isinstance(value, str) and TASK_ID.fullmatch(value) is not None


def shown(value: object, limit: int = _SHOWN) -> str:
    """A value as it may appear in a message: JSON, control characters escaped, cut short."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        text = repr(value).encode("ascii", "backslashreplace").decode()
    text = escaped(text)  # DEL: what json.dumps leaves as it is
    return text if len(text) <= limit else text[:limit] + "…"


@cache
def schema(name: str) -> dict[str, Any]:
    return dict(json.loads((schema_dir() / name).read_text(encoding="utf-8")))


@cache
def _fast(name: str) -> Check:
    return compile_schema(schema(name))


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    return validator(schema(name))


def json_path(parts: list[str | int] | tuple[str | int, ...]) -> str:
    """``$.shots.hero.takes[0].take``; keys that are not plain names are quoted."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _NAME.fullmatch(part) and len(part) <= _SHOWN:
            out += f".{part}"
        else:
            out += f"[{shown(part, limit=80)}]"  # whole sha256 keys: the user searches the file for them
    return out


_TYPE_NAMES = {"object": "an object", "array": "a list", "string": "a string", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "null"}


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _what(error: jsonschema.ValidationError) -> str:
    """What is wrong, in plain words, without echoing more than a short piece of the value."""
    v, value, wanted_value = error.validator, error.instance, cast(Any, error.validator_value)
    sch = error.schema if isinstance(error.schema, dict) else {}
    if v == "type":
        wanted = sch["type"] if isinstance(sch["type"], list) else [sch["type"]]
        found = "null" if value is None else f"{shown(value)} is {_kind(value)}"
        return f"{found}; expected " + " or ".join(_TYPE_NAMES[t] for t in wanted)
    if v == "required":
        missing = [k for k in wanted_value if isinstance(value, dict) and k not in value]
        return f"missing field {shown(missing[0] if missing else wanted_value)}"
    if v == "additionalProperties" and isinstance(value, dict):
        extra = sorted(k for k in value if k not in sch.get("properties", {}))
        return f"unknown field {shown(extra[0] if extra else '?')}"
    if v in ("minimum", "maximum"):
        side = "below the minimum" if v == "minimum" else "above the maximum"
        return f"{shown(value)} is {side} of {wanted_value}"
    if v in ("pattern", "minLength", "maxLength") and "x-what" in sch:
        return f"{shown(value)} is not {sch['x-what']}"
    if v in ("minLength", "maxLength", "maxItems"):
        unit = "items" if v == "maxItems" else "characters"
        return f"{shown(value)} has {'fewer' if v == 'minLength' else 'more'} than {wanted_value} {unit}"
    if v in ("enum", "const"):
        allowed = wanted_value if v == "enum" else [wanted_value]
        return f"{shown(value)} is not one of {', '.join(shown(a) for a in allowed)}"
    if v == "anyOf":
        return _best_of(error)
    return error.message if len(error.message) <= 200 else error.message[:200] + "…"


def _best_of(error: jsonschema.ValidationError) -> str:
    """``anyOf`` [x, null]: say what x wants (null is the obvious other choice)."""
    inner = [e for e in error.context or () if e.validator != "type" or e.validator_value != "null"]
    return _what(inner[0]) + " (or null)" if inner else f"{shown(error.instance)} is not allowed here"


def first_problem(name: str, doc: Any) -> tuple[str, str, int] | None:
    """(JSON path, what is wrong, how many problems) of ``doc`` against ``schema/<name>``, or None."""
    if _fast(name)(doc):
        return None
    errors = sorted(_validator(name).iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:  # pragma: no cover - the two validators disagree: a bug, but still refuse the file
        return "$", f"does not match schema/{name}", 1
    error = errors[0]
    path: list[str | int] = list(error.absolute_path)
    if "propertyNames" in error.schema_path:  # the instance is the key itself
        path.append(str(error.instance))
    return json_path(path), _what(error), len(errors)


def more(count: int) -> str:
    """" (and N more problems)" after the first of ``count`` problems."""
    return "" if count <= 1 else f" (and {count - 1} more problem{'s' if count > 2 else ''})"


def read_json(path: Path, limit: int, *, what: str) -> Any:
    """Parse a JSON file of at most ``limit`` bytes (``runner.bounded``): ``Unreadable`` for a
    file that is not a regular file or is over the cap, ValueError (with a short reason) for
    text that is not JSON runner accepts, OSError when it cannot be opened."""
    return parse_json(read_file(path, limit, what=what))
