"""Turn jsonschema errors into plain sentences that say what is allowed.

The schemas stay data; this module only words their failures. A subschema may carry an
``x-error`` text that replaces the generic wording (used for rules such as "a last frame
needs a first frame"). For ``anyOf``/``oneOf`` failures the most relevant branch is
worded (jsonschema's ``best_match``).
"""

from __future__ import annotations

import difflib
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


def describe(error: ValidationError, *, name: str, subject: str = "", units: str = "") -> str:
    """A sentence for one error about the value called ``name``.

    ``subject`` names what imposes the rule ("gen4.5 text mode"), ``units`` is appended
    to numbers ("seconds").
    """
    custom = x_error(error)
    if custom:
        return custom
    v = error.validator
    value: Any = error.instance
    arg: Any = error.validator_value
    where = f" for {subject}" if subject else ""
    owner = f"{subject}'s " if subject else ""
    unit = f" {units}" if units else ""
    if v == "enum":
        return f"{_shown(value)} is not available{where}; choose {choices_text(list(arg))}{did_you_mean(value, list(arg))}"
    if v == "const":
        return f"{_shown(value)} is not allowed{where}; it must be {arg!r}"
    if v == "maximum":
        return f"{_shown(value)} is above {owner}maximum of {arg}{unit}"
    if v == "minimum":
        return f"{_shown(value)} is below {owner}minimum of {arg}{unit}"
    if v == "maxLength":
        return f"is {len(value)} characters long; {subject or 'the limit'} allows at most {arg}"
    if v == "minLength":
        return "must not be empty"
    if v == "maxItems":
        return f"has {len(value)} items; at most {arg} allowed{where}"
    if v == "minItems":
        return "must not be empty" if arg == 1 else f"needs at least {arg} items"
    if v == "type":
        return f"must be {_type_words(arg)}, not {_shown(value)}"
    if v == "pattern":
        return f"{_shown(value)} does not match the required pattern {arg}"
    if v in ("anyOf", "oneOf") and error.context:
        best = best_match(error.context)
        return describe(best, name=name, subject=subject, units=units)
    if v == "minProperties":
        return "must not be empty"
    if v == "maxProperties":
        return f"takes only one of: {', '.join(schema_of(error).get('properties', {}))}"
    return str(error.message)


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
