"""Turn jsonschema errors into plain sentences that say what is allowed.

The schemas stay data; this module only words their failures. A subschema may carry an
``x-error`` text that replaces the generic wording (used for rules such as "a last frame
needs a first frame"). For ``anyOf``/``oneOf`` failures the most relevant branch is
worded (jsonschema's ``best_match``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

MAX_CHOICES = 12
_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def did_you_mean(word: object, choices: list[Any]) -> str:
    """`` (did you mean 'x'?)`` when a choice is close to ``word``, else ``''``."""
    if not isinstance(word, str):
        return ""
    texts = [c for c in choices if isinstance(c, str)]
    close = difflib.get_close_matches(word, texts, n=1, cutoff=0.75)
    if not close:
        lowered = {t.lower(): t for t in texts}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f" (did you mean {close[0]!r}?)" if close else ""


def choices_text(values: list[Any], more_hint: str = "") -> str:
    shown = [str(v) for v in values[:MAX_CHOICES]]
    if len(values) > MAX_CHOICES:
        return ", ".join(shown) + f", … ({len(values) - MAX_CHOICES} more{more_hint})"
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def _type_words(expected: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    return " or ".join(_TYPE_WORDS.get(str(n), str(n)) for n in names)


def schema_of(error: ValidationError) -> dict[str, Any]:
    """The failing subschema as a dict (jsonschema types it loosely)."""
    return error.schema if isinstance(error.schema, dict) else {}


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) < 60 else repr(value[:57] + "...")
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def x_error(error: ValidationError) -> str | None:
    """The nearest ``x-error`` text on the failing schema or its parents."""
    schema = schema_of(error)
    if "x-error" in schema:
        return str(schema["x-error"])
    parent = error.parent
    while parent is not None:
        if isinstance(parent.schema, dict) and "x-error" in parent.schema:
            return str(parent.schema["x-error"])
        parent = parent.parent
    return None


@dataclass(frozen=True)
class _Failure:
    """One failed keyword, with the words a sentence about it needs."""

    value: Any  # the value that failed
    arg: Any  # the keyword's argument: the enum, the maximum...
    where: str  # " for gen4.5 text mode", or ""
    owner: str  # "gen4.5 text mode's ", or ""
    unit: str  # " seconds", or ""
    subject: str


_SENTENCES: dict[str, Callable[[_Failure], str]] = {
    "enum": lambda f: (f"{_shown(f.value)} is not available{f.where}; choose {choices_text(list(f.arg))}"
                       f"{did_you_mean(f.value, list(f.arg))}"),
    "const": lambda f: f"{_shown(f.value)} is not allowed{f.where}; it must be {f.arg!r}",
    "maximum": lambda f: f"{_shown(f.value)} is above {f.owner}maximum of {f.arg}{f.unit}",
    "minimum": lambda f: f"{_shown(f.value)} is below {f.owner}minimum of {f.arg}{f.unit}",
    "maxLength": lambda f: f"is {len(f.value)} characters long; {f.subject or 'the limit'} allows at most {f.arg}",
    "minLength": lambda f: "must not be empty",
    "maxItems": lambda f: f"has {len(f.value)} items; at most {f.arg} allowed{f.where}",
    "minItems": lambda f: "must not be empty" if f.arg == 1 else f"needs at least {f.arg} items",
    "type": lambda f: f"must be {_type_words(f.arg)}, not {_shown(f.value)}",
    "pattern": lambda f: f"{_shown(f.value)} does not match the required pattern {f.arg}",
    "minProperties": lambda f: "must not be empty",
}


def describe(error: ValidationError, *, name: str, subject: str = "", units: str = "") -> str:
    """A sentence for one error about the value called ``name``.

    ``subject`` names what imposes the rule ("gen4.5 text mode"), ``units`` is appended
    to numbers ("seconds").
    """
    custom = x_error(error)
    if custom:
        return custom
    validator = str(error.validator)
    if validator in ("anyOf", "oneOf") and error.context:
        # A value of the right type for one branch ({from: ...} where a path string is also
        # allowed) is best told what is wrong inside that branch, not that it is no string.
        inside = [e for e in error.context if not (e.validator == "type" and len(e.relative_schema_path) == 2)]
        return describe(best_match(inside or error.context), name=name, subject=subject, units=units)
    if validator == "additionalProperties":
        allowed = list(schema_of(error).get("properties", {}))
        return "; ".join(f"unknown field {k!r}{did_you_mean(k, allowed)}; allowed: {', '.join(allowed)}"
                         for k in unknown_keys(error))
    if validator == "not":  # e.g. a reference item naming two kinds: not any pair of them
        pairs: Any = error.validator_value
        keys = dict.fromkeys(str(k) for b in pairs.get("anyOf", []) for k in b.get("required", []))
        return f"takes only one of: {', '.join(keys)}" if keys else str(error.message)
    if validator == "dependentRequired":
        needs: Any = error.validator_value
        instance: Any = error.instance
        key = next((k for k in needs if k in instance and any(n not in instance for n in needs[k])), "")
        return f"{key} needs {' and '.join(needs.get(key, []))} beside it" if key else str(error.message)
    if validator == "maxProperties":
        return f"takes only one of: {', '.join(schema_of(error).get('properties', {}))}"
    sentence = _SENTENCES.get(validator)
    if sentence is None:
        return str(error.message)
    return sentence(_Failure(
        value=error.instance, arg=error.validator_value, where=f" for {subject}" if subject else "",
        owner=f"{subject}'s " if subject else "", unit=f" {units}" if units else "", subject=subject,
    ))


def unknown_keys(error: ValidationError) -> list[str]:
    """Keys reported by an ``additionalProperties`` error."""
    allowed = set(schema_of(error).get("properties", {}))
    instance: Any = error.instance
    return sorted(str(k) for k in instance if k not in allowed)


def missing_keys(error: ValidationError) -> list[str]:
    """The properties a ``required`` error is about (jsonschema reports one per key)."""
    required: Any = error.validator_value
    instance: Any = error.instance
    missing = [str(k) for k in required if k not in instance]
    text = str(error.message)
    named = [k for k in missing if text.startswith(repr(k))]
    return named or missing[:1]
