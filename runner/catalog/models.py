"""The model catalog (``schema/models/*.json``), mode inference and request compilation.

A model file is data: one JSON Schema per endpoint (the exact request body) and per spec
mode, plus ``x-runway`` metadata (endpoint per mode, prices, limits, status). Adding a
model is adding a file. What each endpoint's body means (media fields, duration, output
kind) is in ``catalog.endpoints``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast, get_args

import jsonschema

from runner.errors import CatalogError

Mode = Literal["text", "image", "keyframes", "reference", "video", "performance", "audio", "speech"]
MODES: tuple[str, ...] = get_args(Mode)

def bundled(rel: str) -> Path:
    """A data file or folder that ships with runner (``schema``, the workflow template, the
    sample asset): inside the installed package (the wheel puts them under ``runner/``, see
    pyproject.toml), else in the source checkout next to the package."""
    packaged = resources.files("runner").joinpath(rel)
    if packaged.is_file() or packaged.is_dir():
        return Path(str(packaged))
    return Path(str(resources.files("runner"))).parent / rel


def schema_dir() -> Path:
    """``schema/`` bundled into the installed wheel, or the source tree's."""
    folder = bundled("schema")
    if not (folder / "spec.schema.json").is_file():  # pragma: no cover - a broken install
        raise CatalogError(folder, "cannot find the schema/ folder; reinstall runner")
    return folder


@dataclass(frozen=True)
class ModelInfo:
    """One model file: its modes, endpoints, prices and schemas."""

    name: str
    path: Path
    status: str
    replacement: str | None
    modes: dict[str, str]
    pricing: dict[str, Any]
    limits: dict[str, Any]
    request_defaults: dict[str, Any]
    document: dict[str, Any] = field(repr=False)

    def properties(self, endpoint: str) -> dict[str, Any]:
        return dict(self.document["$defs"][endpoint].get("properties", {}))

    def validator(self, mode: str) -> jsonschema.protocols.Validator:
        return _validator(self.name, mode)

    def errors(self, mode: str, body: Mapping[str, Any]) -> list[jsonschema.ValidationError]:
        """Validation errors of ``body`` for ``mode``, memoized (see ``_FREE_TEXT``)."""
        text = body.get(_FREE_TEXT)
        if not isinstance(text, str) or not _text_is_length_only(self.name, mode):
            return list(self.validator(mode).iter_errors(body))
        rest = {k: v for k, v in body.items() if k != _FREE_TEXT}
        key = (self.name, mode, _memo_key(rest), len(text))
        hit = _MEMO.get(key)
        if hit is None:
            probe = {**rest, _FREE_TEXT: "x" * len(text)}
            hit = _MEMO[key] = list(self.validator(mode).iter_errors(probe))
            if len(_MEMO) > 50_000:
                _MEMO.clear()
        return hit


@lru_cache(maxsize=1)
def catalog() -> dict[str, ModelInfo]:
    """All model files, by model id."""
    models: dict[str, ModelInfo] = {}
    for path in sorted((schema_dir() / "models").glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            meta = doc["x-runway"]
            models[meta["model"]] = ModelInfo(
                name=meta["model"],
                path=path,
                status=meta["status"],
                replacement=meta.get("replacement"),
                modes={m: v["endpoint"] for m, v in meta["modes"].items()},
                pricing=meta["pricing"],
                limits=meta.get("limits", {}),
                request_defaults=meta.get("request_defaults", {}),
                document=doc,
            )
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise CatalogError(path, f"broken model file: {e}") from None
    return models


# Validating thousands of matrix variants that differ only in their prompt is the cost of
# a large validate/plan. When a model's schema constrains promptText by type and length
# alone, validity depends on the prompt's length, not its words: validate the rest of the
# body once per (rest, length), with a placeholder prompt of that length.
_FREE_TEXT = "promptText"
_MEMO: dict[tuple[str, str, object, int], list[jsonschema.ValidationError]] = {}
_FLAT = frozenset({str, int, float, bool, type(None)})


def _memo_key(rest: Mapping[str, Any]) -> object:
    """The rest of a body as a key: its (name, type, value) triples when every value is a scalar
    (True and 1 are one key to Python, not to a schema), else its canonical JSON."""
    if all(type(v) in _FLAT for v in rest.values()):
        return tuple(sorted((k, type(v).__name__, v) for k, v in rest.items()))
    return json.dumps(rest, sort_keys=True, default=str)
_LENGTH_ONLY = {"type", "maxLength", "minLength", "description"}


@cache
def _text_is_length_only(model: str, mode: str) -> bool:
    found: list[bool] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "patternProperties" in node or "dependentSchemas" in node:
                found.append(False)
            props = node.get("properties")
            if isinstance(props, dict) and _FREE_TEXT in props:
                sub = props[_FREE_TEXT]
                found.append(isinstance(sub, dict) and set(sub) <= _LENGTH_ONLY)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(_validator(model, mode).schema)
    return all(found)


@cache
def _validator(model: str, mode: str) -> jsonschema.protocols.Validator:
    doc = catalog()[model].document
    # Inline the mode's $ref to its endpoint body: resolving references costs more than
    # the validation itself when thousands of shots are checked.
    mode_schema = doc["$defs"][mode]
    parts = [doc["$defs"][p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p for p in mode_schema["allOf"]]
    schema = {"$schema": doc["$schema"], "allOf": parts}
    return validator(schema)


def _whole(_: object, value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@cache
def _strict(cls: type[jsonschema.protocols.Validator]) -> type[jsonschema.protocols.Validator]:
    checker = cls.TYPE_CHECKER.redefine("integer", _whole)
    return cast(type[jsonschema.protocols.Validator],
                jsonschema.validators.extend(cls, type_checker=checker))  # type: ignore[no-untyped-call]


def validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """The validator of one of runner's schemas (specs, model requests, state and plan files).

    JSON Schema counts ``1.0`` as an integer; runner does not: where a whole number is meant
    (a take, a seed, ``{from: X, take: N}``, a model's integer duration, a state file's
    bytes), ``1.0`` is refused with "a whole number" rather than carried on as a float that
    later code turns into ``int("1.0")`` or sends to the API as ``5.0``. Every schema of
    runner is checked with this one rule (``store.fastcheck`` compiles the same)."""
    return _strict(jsonschema.validators.validator_for(schema))(schema)


