"""Read the installed ``runwayml`` SDK's request types and turn them into JSON Schema.

The SDK's ``*_create_params`` modules are generated from Runway's OpenAPI document, so
they are the most current description of what the API accepts. This module converts each
model's ``TypedDict`` into a Draft 2020-12 schema of the exact request body (field
aliases, enums, required keys, nested objects) with the field docstrings as
descriptions. ``tools/gen_models.py`` writes the result into ``schema/models/`` and the
drift test compares the committed files with a fresh conversion.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import typing
from collections.abc import Iterable, Sequence
from typing import Any, NotRequired, Required, get_args, get_origin

from typing_extensions import is_typeddict

ENDPOINTS = ("text_to_video", "image_to_video", "video_to_video", "character_performance", "text_to_image",
             "image_upscale", "video_upscale", "video_to_hdr", "sound_effect", "text_to_speech", "video_to_audio",
             "speech_to_speech", "voice_dubbing", "voice_isolation")

_RANGE = re.compile(
    r"(?:integer|number|value)?\s*(?:from|between)\s+(\d+)\s+(?:to|and)\s+(\d+)", re.IGNORECASE
)
_MAX_CHARS = re.compile(r"up to (\d+) characters", re.IGNORECASE)


def _docstrings(module: Any) -> dict[str, dict[str, str]]:
    """Field docstrings per class, read from the module source (typing drops them)."""
    tree = ast.parse(inspect.getsource(module))
    docs: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields: dict[str, str] = {}
        body = node.body
        for i, stmt in enumerate(body):
            if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                fields["__doc__"] = inspect.cleandoc(str(stmt.value.value))
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                nxt = body[i + 1] if i + 1 < len(body) else None
                if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                    fields[stmt.target.id] = inspect.cleandoc(str(nxt.value.value))
        docs[node.name] = fields
    return docs


class _Converter:
    def __init__(self, module: Any) -> None:
        self.module = module
        self.docs = _docstrings(module)

    def typeddict(self, cls: type) -> dict[str, Any]:
        hints = typing.get_type_hints(cls, include_extras=True)
        props: dict[str, Any] = {}
        required: list[str] = []
        for name, hint in hints.items():
            is_required = False
            alias = name
            while True:
                origin = get_origin(hint)
                if origin is Required:
                    is_required = True
                    hint = get_args(hint)[0]
                elif origin is NotRequired:
                    hint = get_args(hint)[0]
                elif origin is typing.Annotated:
                    args = get_args(hint)
                    for meta in args[1:]:
                        if getattr(meta, "alias", None):
                            alias = meta.alias
                    hint = args[0]
                else:
                    break
            schema = self.convert(hint)
            doc = self.docs.get(cls.__name__, {}).get(name)
            if doc:
                schema = {"description": doc, **schema}
                _constraints_from_doc(schema, doc)
            props[alias] = schema
            if is_required:
                required.append(alias)
        out: dict[str, Any] = {"type": "object"}
        class_doc = self.docs.get(cls.__name__, {}).get("__doc__")
        if class_doc:
            out["description"] = class_doc
        out["properties"] = props
        if required:
            out["required"] = sorted(required)
        out["additionalProperties"] = False
        return out

    def convert(self, hint: Any) -> dict[str, Any]:
        for plain, schema in _PLAIN:
            if hint is plain:
                return dict(schema)
        origin = get_origin(hint)
        if origin is typing.Literal:
            values = list(get_args(hint))
            return {"const": values[0]} if len(values) == 1 else {"enum": values}
        if origin is typing.Union:
            return self.union(get_args(hint))
        if origin in (Iterable, list, typing.Sequence, Sequence):
            (item,) = get_args(hint)
            return {"type": "array", "items": self.convert(item)}
        if is_typeddict(hint):
            return self.typeddict(hint)
        raise TypeError(f"unsupported SDK type {hint!r} in {self.module.__name__}")

    def union(self, args: tuple[Any, ...]) -> dict[str, Any]:
        members = [self.convert(a) for a in args]
        if all("enum" in m or "const" in m for m in members):
            values: list[Any] = []
            for m in members:
                values.extend(m.get("enum", [m.get("const")]))
            return {"enum": values}
        return {"anyOf": members}


_PLAIN: tuple[tuple[Any, dict[str, Any]], ...] = (
    (str, {"type": "string"}), (bool, {"type": "boolean"}), (int, {"type": "integer"}),
    (float, {"type": "number"}), (object, {}), (Any, {}), (type(None), {"type": "null"}),
)


def _constraints_from_doc(schema: dict[str, Any], doc: str) -> None:
    """Numeric ranges and length limits that the SDK states only in prose."""
    if schema.get("type") == "integer":
        m = _RANGE.search(doc)
        if m:
            schema["minimum"], schema["maximum"] = int(m.group(1)), int(m.group(2))
    if schema.get("type") == "string":
        m = _MAX_CHARS.search(doc)
        if m:
            schema["maxLength"] = int(m.group(1))
        if "non-empty" in doc:
            schema["minLength"] = 1


def sdk_bodies() -> dict[str, dict[str, dict[str, Any]]]:
    """model id -> endpoint -> JSON Schema of the request body, from the installed SDK."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for endpoint in ENDPOINTS:
        module = importlib.import_module(f"runwayml.types.{endpoint}_create_params")
        alias = next(getattr(module, n) for n in module.__all__ if n.endswith("CreateParams"))
        members = get_args(alias) or (alias,)
        conv = _Converter(module)
        for cls in members:
            body = conv.typeddict(cls)
            model = body["properties"]["model"]
            names = [model["const"]] if "const" in model else model["enum"]
            for name in names:
                found.setdefault(name, {})[endpoint] = body
    return found


def sdk_version() -> str:
    import runwayml

    return str(runwayml.__version__)
