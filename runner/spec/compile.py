"""A rendered shot -> the request body of the endpoint its mode uses.

The spec's vocabulary (``prompt``, ``image``, ``frames``, ``references``...) meets the API's
(``promptText``, ``promptImage``...) here and nowhere else. Modes are inferred from the
media fields present. Local paths stay symbolic in the body (apply uploads them); every
media reference in the body is listed in ``Request.inputs`` so that it is checked, hashed
and uploaded, wherever it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.catalog.endpoints import Pointer, media_refs
from runner.catalog.models import ModelInfo
from runner.inputs.assets import classify
from runner.spec.records import Input, Request, freeze

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


def infer_mode(fields: Mapping[str, Any]) -> tuple[str, str | None]:
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


def check_declared_mode(declared: str, inferred: str, fields: Mapping[str, Any]) -> str | None:
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


class _Compiler:
    def __init__(self, info: ModelInfo, mode: str, fields: Mapping[str, Any]) -> None:
        self.info = info
        self.mode = mode
        self.endpoint = info.modes[mode]
        self.props = info.properties(self.endpoint)
        self.fields = fields
        self.body: dict[str, Any] = {"model": info.name}
        self.origins: dict[Pointer, str] = {}

    def media(self, pointer: Pointer, ref: str, spec_field: str) -> str:
        """Put a media reference into the body; the registry finds it there again (``inputs``)."""
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
            groups[key].append(self.typed(key, kind, self.media(pointer, ref, f"references[{i}].{kind}")))
        for key, values in groups.items():
            if values:
                self.body[key] = values
                self.origins.setdefault((key,), "references")

    def compile(self) -> tuple[dict[str, Any], dict[Pointer, str]]:
        f = self.fields
        mode = self.mode
        if mode in ("image", "keyframes"):
            frames = f.get("frames") or {}
            if mode == "image":
                ref = f.get("image") or frames.get("first")
                spec_field = "image" if f.get("image") else "frames.first"
                if isinstance(ref, str):
                    self.body["promptImage"] = self.media(("promptImage",), ref, spec_field)
            else:
                items: list[dict[str, str]] = []
                for pos in ("first", "last"):
                    if isinstance(frames.get(pos), str):
                        pointer = ("promptImage", len(items), "uri")
                        uri = self.media(pointer, frames[pos], f"frames.{pos}")
                        items.append({"uri": uri, "position": pos})
                        self.origins[("promptImage", len(items) - 1)] = f"frames.{pos}"
                self.body["promptImage"] = items
            self.origins[("promptImage",)] = "frames" if f.get("frames") else "image"
        elif mode == "reference":
            self.references()
        elif mode == "video":
            key = "promptVideo" if "promptVideo" in self.props else "videoUri"
            if isinstance(f.get("video"), str):
                self.body[key] = self.media((key,), f["video"], "video")
            self.references()
        elif mode == "performance":
            character = f.get("character") or {}
            for kind in ("image", "video"):
                if isinstance(character.get(kind), str):
                    uri = self.media(("character", "uri"), character[kind], f"character.{kind}")
                    self.body["character"] = {"type": kind, "uri": uri}
            self.origins[("character",)] = "character"
            if isinstance(f.get("performance"), str):
                uri = self.media(("reference", "uri"), f["performance"], "performance")
                self.body["reference"] = {"type": "video", "uri": uri}
        for spec_field, key in SCALAR_FIELDS.items():
            if spec_field in f and f[spec_field] is not None:
                self.body[key] = f[spec_field]
                self.origins[(key,)] = spec_field
        for key, value in (f.get("params") or {}).items():
            self.origins[(key,)] = f"params.{key}"
            self.body[key] = value
        return self.body, self.origins


def compile_request(info: ModelInfo, mode: str, fields: Mapping[str, Any]) -> tuple[Request, dict[Pointer, str]]:
    """Build the request body for ``mode``; also return body path -> shot field origins.

    The inputs are every media reference the endpoint registry finds in the body, whether a
    shot field or ``params`` put it there: all of them are checked, hashed and uploaded alike.
    """
    endpoint = info.modes[mode]
    body, origins = _Compiler(info, mode, fields).compile()
    inputs = tuple(Input(r.pointer, r.ref, r.kind, field_of(origins, r.pointer), classify(r.ref))
                   for r in media_refs(endpoint, body))
    return Request(info.name, mode, endpoint, freeze(body), inputs), origins


def field_of(origins: Mapping[Pointer, str], pointer: Pointer) -> str:
    """The spec field behind a body path: its own origin, or the nearest enclosing one with the
    rest of the path appended (``params.keyframes`` + ``[0].uri``)."""
    for n in range(len(pointer), 0, -1):
        if pointer[:n] in origins:
            return origins[pointer[:n]] + dotted_suffix(pointer[n:])
    return dotted_suffix(pointer).lstrip(".")


def dotted_suffix(path: Pointer) -> str:
    """``(0, "uri")`` -> ``[0].uri``; appended to a field name."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
