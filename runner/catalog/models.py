"""The model catalog (``schema/models/*.json``), mode inference and request compilation.

A model file is data: one JSON Schema per endpoint (the exact request body) and per spec
mode, plus ``x-runway`` metadata (endpoint per mode, prices, limits, status). Adding a
model is adding a file. This module turns a rendered shot into the request body of the
endpoint its mode uses; local paths stay symbolic here (apply uploads them) and are
listed in ``Request.inputs`` so that fingerprints can hash their content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

import jsonschema

from runner.errors import CatalogError

Mode = Literal["text", "image", "keyframes", "reference", "video", "performance"]
MODES: tuple[str, ...] = get_args(Mode)
MediaKind = Literal["image", "video", "audio"]

# Shot fields that carry media, and fields whose presence decides the mode.
MEDIA_FIELDS = ("image", "frames", "references", "video", "character", "performance")
# Plain shot field -> request body key.
SCALAR_FIELDS = {
    "prompt": "promptText",
    "ratio": "ratio",
    "duration": "duration",
    "seed": "seed",
    "audio": "audio",
    "output_format": "outputFormat",
}
# Request body key -> the shot field a user should edit (for error messages).
BODY_TO_FIELD = {
    **{v: k for k, v in SCALAR_FIELDS.items()},
    "promptImage": "image",
    "references": "references",
    "referenceVideos": "references",
    "referenceAudio": "references",
    "videoUri": "video",
    "promptVideo": "video",
    "character": "character",
    "reference": "performance",
}


def schema_dir() -> Path:
    """``schema/`` of the source tree, or the copy bundled into an installed wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "schema", package.parent / "schema"):
        if (candidate / "spec.schema.json").is_file():
            return candidate
    raise CatalogError(package, "cannot find the schema/ folder; reinstall runner")  # pragma: no cover


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
    duration_from: str
    document: dict[str, Any] = field(repr=False)

    def endpoint_schema(self, endpoint: str) -> dict[str, Any]:
        return dict(self.document["$defs"][endpoint])

    def properties(self, endpoint: str) -> dict[str, Any]:
        return dict(self.document["$defs"][endpoint].get("properties", {}))

    def validator(self, mode: str) -> jsonschema.protocols.Validator:
        return _validator(self.name, mode)

    def errors(self, mode: str, body: dict[str, Any]) -> list[jsonschema.ValidationError]:
        """Validation errors of ``body`` for ``mode``, memoized (see ``_FREE_TEXT``)."""
        text = body.get(_FREE_TEXT)
        if not isinstance(text, str) or not _text_is_length_only(self.name, mode):
            return list(self.validator(mode).iter_errors(body))
        rest = {k: v for k, v in body.items() if k != _FREE_TEXT}
        key = (self.name, mode, json.dumps(rest, sort_keys=True, default=str), len(text))
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
                duration_from=meta.get("duration_from", "request"),
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
_MEMO: dict[tuple[str, str, str, int], list[jsonschema.ValidationError]] = {}
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
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


@dataclass(frozen=True)
class Input:
    """A media input of a request: where it sits in the body and what it points at."""

    pointer: tuple[str | int, ...]
    ref: str
    kind: MediaKind
    field: str
    source: Literal["local", "url", "runway", "data"]


@dataclass(frozen=True)
class Request:
    """A compiled API request. ``body`` is plain JSON data and must not be mutated."""

    model: str
    mode: str
    endpoint: str
    body: dict[str, Any]
    inputs: tuple[Input, ...]


def infer_mode(fields: dict[str, Any]) -> tuple[str, str | None]:
    """The mode the fields imply, and a conflict message when they contradict each other."""
    has = {f for f in MEDIA_FIELDS if fields.get(f) not in (None, {}, [])}
    conflict = None
    if "image" in has and "frames" in has:
        conflict = "use either image or frames, not both (image is the same as frames.first)"
    elif "references" in has and has & {"image", "frames"}:
        conflict = "references cannot be combined with image or frames: keyframes and reference images are exclusive"
    elif has & {"character", "performance"} and has - {"character", "performance"}:
        others = ", ".join(sorted(has - {"character", "performance"}))
        conflict = f"performance mode (character + performance) takes no {others}; remove it"
    elif "video" in has and has & {"image", "frames"}:
        conflict = "video mode takes no image or frames; remove them or drop video"
    if has & {"character", "performance"}:
        return "performance", conflict
    if "video" in has:
        return "video", conflict
    if "frames" in has:
        return ("keyframes" if "last" in fields["frames"] else "image"), conflict
    if "image" in has:
        return "image", conflict
    if "references" in has:
        return "reference", conflict
    return "text", conflict


def check_declared_mode(declared: str, inferred: str, fields: dict[str, Any]) -> str | None:
    """Why an explicit ``mode`` disagrees with the fields, or None when it agrees."""
    if declared == inferred:
        return None
    if declared == "keyframes" and fields.get("frames"):
        return None  # frames.first alone is a valid keyframes request on most models
    present = [f for f in MEDIA_FIELDS if fields.get(f) not in (None, {}, [])]
    needs = {
        "text": "no image, frames, references, video, character or performance",
        "image": "image (or frames.first)",
        "keyframes": "frames.first and/or frames.last",
        "reference": "references",
        "video": "video",
        "performance": "character and performance",
    }[declared]
    have = ", ".join(present) if present else "no media fields"
    return (
        f"mode {declared} needs {needs}, but the shot has {have} (which means mode {inferred}); "
        f"remove mode or set mode: {inferred}"
        + (f", or remove {', '.join(present)}" if declared == "text" and present else "")
    )


def classify(ref: str) -> Literal["local", "url", "runway", "data"]:
    lowered = ref.lower()
    if lowered.startswith("runway://"):
        return "runway"
    if lowered.startswith("data:"):
        return "data"
    if "://" in lowered:
        return "url"
    return "local"


class _Compiler:
    def __init__(self, info: ModelInfo, mode: str, fields: dict[str, Any]) -> None:
        self.info = info
        self.mode = mode
        self.endpoint = info.modes[mode]
        self.props = info.properties(self.endpoint)
        self.fields = fields
        self.body: dict[str, Any] = {"model": info.name}
        self.inputs: list[Input] = []
        self.origins: dict[tuple[str | int, ...], str] = {}

    def media(self, pointer: tuple[str | int, ...], ref: str, kind: MediaKind, spec_field: str) -> str:
        self.inputs.append(Input(pointer, ref, kind, spec_field, classify(ref)))
        self.origins[pointer] = spec_field
        return ref

    def item_shape(self, key: str) -> dict[str, Any]:
        items = self.props.get(key, {}).get("items", {})
        if "anyOf" in self.props.get(key, {}):
            for branch in self.props[key]["anyOf"]:
                if branch.get("type") == "array":
                    items = branch.get("items", {})
        return dict(items.get("properties", {}))

    def typed(self, key: str, kind: str, uri: str) -> dict[str, Any]:
        return {"type": kind, "uri": uri} if "type" in self.item_shape(key) else {"uri": uri}

    def references(self) -> None:
        refs = self.fields.get("references") or []
        groups: dict[str, list[Any]] = {"references": [], "referenceVideos": [], "referenceAudio": []}
        key_for = {"image": "references", "video": "referenceVideos", "audio": "referenceAudio"}
        for i, item in enumerate(refs):
            if not isinstance(item, dict) or len(item) != 1:
                continue
            (kind, ref), = item.items()
            key = key_for.get(kind)
            if key is None or not isinstance(ref, str):
                continue
            pointer = (key, len(groups[key]), "uri")
            groups[key].append(self.typed(key, kind, self.media(pointer, ref, kind, f"references[{i}].{kind}")))
        for key, values in groups.items():
            if values:
                self.body[key] = values
                self.origins.setdefault((key,), "references")

    def compile(self) -> tuple[dict[str, Any], tuple[Input, ...], dict[tuple[str | int, ...], str]]:
        f = self.fields
        mode = self.mode
        if mode in ("image", "keyframes"):
            frames = f.get("frames") or {}
            if mode == "image":
                ref = f.get("image") or frames.get("first")
                spec_field = "image" if f.get("image") else "frames.first"
                if isinstance(ref, str):
                    self.body["promptImage"] = self.media(("promptImage",), ref, "image", spec_field)
            else:
                items: list[dict[str, str]] = []
                for pos in ("first", "last"):
                    if isinstance(frames.get(pos), str):
                        pointer = ("promptImage", len(items), "uri")
                        uri = self.media(pointer, frames[pos], "image", f"frames.{pos}")
                        items.append({"uri": uri, "position": pos})
                        self.origins[("promptImage", len(items) - 1)] = f"frames.{pos}"
                self.body["promptImage"] = items
            self.origins[("promptImage",)] = "frames" if f.get("frames") else "image"
        elif mode == "reference":
            self.references()
        elif mode == "video":
            key = "promptVideo" if "promptVideo" in self.props else "videoUri"
            if isinstance(f.get("video"), str):
                self.body[key] = self.media((key,), f["video"], "video", "video")
            self.references()
        elif mode == "performance":
            character = f.get("character") or {}
            for kind in ("image", "video"):
                if isinstance(character.get(kind), str):
                    uri = self.media(("character", "uri"), character[kind], kind, f"character.{kind}")
                    self.body["character"] = {"type": kind, "uri": uri}
            self.origins[("character",)] = "character"
            if isinstance(f.get("performance"), str):
                uri = self.media(("reference", "uri"), f["performance"], "video", "performance")
                self.body["reference"] = {"type": "video", "uri": uri}
        for spec_field, key in SCALAR_FIELDS.items():
            if spec_field in f and f[spec_field] is not None:
                self.body[key] = f[spec_field]
                self.origins[(key,)] = spec_field
        for key, value in (f.get("params") or {}).items():
            self.origins[(key,)] = f"params.{key}"
            self.body[key] = value
        return self.body, tuple(self.inputs), self.origins


def compile_request(
    info: ModelInfo, mode: str, fields: dict[str, Any]
) -> tuple[Request, dict[tuple[str | int, ...], str]]:
    """Build the request body for ``mode``; also return body path -> shot field origins."""
    body, inputs, origins = _Compiler(info, mode, fields).compile()
    return Request(info.name, mode, info.modes[mode], body, inputs), origins
