"""A compiled request its model's schema refuses -> problems in the words of the spec.

Every jsonschema error on a request body becomes a ``BodyProblem`` that names the spec
field a user edits (``duration``, ``frames``, ``params.keyframes``), not the API's key, and
says what is allowed. Where in the YAML it points is the caller's business: it knows where
each field was written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError

from runner.bounded import number_problem, short
from runner.catalog.endpoints import Pointer
from runner.catalog.models import ModelInfo
from runner.spec import schema_errors as words
from runner.spec.compile import BODY_TO_FIELD
from runner.spec.records import Request


@dataclass(frozen=True)
class BodyProblem:
    """What is wrong with the request, named by spec field. ``at_key``: point at the field's
    key (it should not be there); ``at_shot``: point at the shot (the field is missing)."""

    field: str
    message: str
    at_key: bool = False
    at_shot: bool = False


def body_problems(info: ModelInfo, request: Request, origins: Mapping[Pointer, str]) -> Iterator[BodyProblem]:
    """The problems of ``request`` against ``info``'s schema for its mode; ``origins`` maps body
    paths to the spec fields they were compiled from."""
    subject = f"{info.name} {request.mode} mode"
    voice_said = False
    flagged = set()
    for pointer, message in number_problems(request.body):
        flagged.add(pointer)
        yield BodyProblem(_origin_for(origins, pointer) or ".".join(map(str, pointer)), message)
    for error in info.errors(request.mode, request.body):
        if tuple(error.absolute_path) in flagged:
            continue  # said above, in plainer words than "nan is not allowed"
        if error.absolute_path and error.absolute_path[0] == "voice" and "voice" in info.properties(request.endpoint):
            if not voice_said:  # a preset where a clip is wanted fails three ways: say it once
                voice_said = True
                yield _invalid(origins, error, subject) if error.validator == "enum" else _voice(info, request, subject)
            continue
        if error.validator == "required":
            yield _missing(info, request, error, subject)
        elif error.validator == "additionalProperties":
            yield from _unknown(info, request, origins, error, subject)
        else:
            yield _invalid(origins, error, subject)


MAX_SECONDS = 3600
"""The longest duration runner sends: no endpoint generates an hour; a bound for the arithmetic of prices."""
MAX_SEED = 4_294_967_295
"""The API's seeds run from 0 to 2^32 - 1."""


def number_problems(body: Any) -> Iterator[tuple[Pointer, str]]:
    """(body path, what is wrong) of every number of a compiled request that must not be sent,
    whatever its model's schema says (templates build numbers the spec's schema never sees,
    and model schemas leave many numbers unbounded): NaN, infinite or beyond 2^53 anywhere; a
    ``duration`` not above 0 or above an hour; a ``seed`` outside 0 to 2^32 - 1."""
    stack: list[tuple[Any, Pointer]] = [(body, ())]
    while stack:
        value, pointer = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, (*pointer, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*pointer, i)) for i, v in enumerate(value))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            why = number_problem(value)
            if why is not None:
                yield pointer, f"{short(value)} {why}"
            elif pointer == ("duration",) and not 0 < value <= MAX_SECONDS:
                yield pointer, f"{short(value)} is not a duration: give seconds above 0 and at most {MAX_SECONDS:,}"
            elif pointer == ("seed",) and not 0 <= value <= MAX_SEED:
                yield pointer, f"{short(value)} is not a seed: seeds are whole numbers from 0 to {MAX_SEED:,}"


def _missing(info: ModelInfo, request: Request, error: ValidationError, subject: str) -> BodyProblem:
    key = words.missing_keys(error)[0]
    spec_field = BODY_TO_FIELD.get(key, f"params.{key}")
    hint = _allowed_hint(info.properties(request.endpoint).get(key, {}))
    return BodyProblem(spec_field, f"{subject} needs {spec_field}{hint}", at_shot=True)


def _unknown(info: ModelInfo, request: Request, origins: Mapping[Pointer, str], error: ValidationError,
             subject: str) -> Iterator[BodyProblem]:
    path = tuple(error.absolute_path)
    allowed = sorted(words.schema_of(error).get("properties", {}))
    for key in words.unknown_keys(error):
        spec_field = _origin_for(origins, (*path, key)) or key
        if spec_field.startswith("params."):
            message = (f"{key!r} is not a field of {info.name}'s {request.endpoint} request"
                       f"{words.did_you_mean(key, allowed)}; fields: {', '.join(allowed)}")
        elif key in _REFERENCE_KINDS and not path:
            message = f"{subject} takes no {_REFERENCE_KINDS[key]} references; remove those items from references"
        else:
            message = f"{subject} does not take {spec_field}; remove it"
        yield BodyProblem(spec_field, message, at_key=True)


def _voice(info: ModelInfo, request: Request, subject: str) -> BodyProblem:
    """A voice of the wrong form: name the form this model takes."""
    shape = info.properties(request.endpoint)["voice"]
    presets = shape.get("properties", {}).get("presetId", {}).get("enum")
    if presets:
        wanted = f"a preset name: {words.choices_text(list(presets))}"
    else:
        wanted = "a reference clip: voice: {audio: <file>}"
    return BodyProblem("voice", f"{subject} takes {wanted}")


# Request keys that hold the video and audio items of a shot's ``references``.
_REFERENCE_KINDS = {"referenceVideos": "video", "referenceAudio": "audio"}


def _invalid(origins: Mapping[Pointer, str], error: ValidationError, subject: str) -> BodyProblem:
    path = tuple(error.absolute_path)
    spec_field = _origin_for(origins, path) or ".".join(str(p) for p in path) or "request"
    units = "seconds" if spec_field == "duration" else ""
    return BodyProblem(spec_field, words.describe(error, name=spec_field, subject=subject, units=units))


def _allowed_hint(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return f" (one of {words.choices_text(list(prop['enum']))})"
    if "minimum" in prop and "maximum" in prop:
        return f" ({prop['minimum']}–{prop['maximum']})"
    return ""


def _origin_for(origins: Mapping[Pointer, str], path: Pointer) -> str | None:
    """The spec field of ``path`` or of its nearest enclosing body path."""
    for n in range(len(path), 0, -1):
        if path[:n] in origins:
            return origins[path[:n]]
    return None
