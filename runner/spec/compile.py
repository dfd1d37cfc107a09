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
# Also deciding the mode, but never defaults for every shot: ``audio`` is an input only when it
# is a path or URL (``audio: false`` turns a video's sound off), and ``voice`` makes speech.
INPUT_FIELDS = (*MEDIA_FIELDS, "audio", "voice")
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
    "referenceImages": "references",
    "referenceVideos": "references",
    "referenceAudio": "references",
    "videoUri": "video",
    "promptVideo": "video",
    "character": "character",
    "reference": "performance",
    "imageUri": "image",
    "audioUri": "audio",
    "referenceAudios": "references",
    "voice": "voice",
}


def infer_mode(fields: Mapping[str, Any]) -> tuple[str, tuple[str, str] | None]:
    """The mode the fields imply, and (message, field to point at) when they contradict each other."""
    has = present_inputs(fields)
    return _implied_mode(has, fields), _conflict(has)


def present_inputs(fields: Mapping[str, Any]) -> set[str]:
    """The mode-deciding fields a shot sets (``audio`` only as a file, not as on/off)."""
    has = {f for f in INPUT_FIELDS if fields.get(f) not in (None, {}, [])}
    if not isinstance(fields.get("audio"), str):
        has.discard("audio")
    return has


def _implied_mode(has: set[str], fields: Mapping[str, Any]) -> str:
    if has & {"character", "performance"}:
        return "performance"
    if "video" in has:
        return "video"
    if "audio" in has:
        return "audio"
    if "frames" in has:
        return "keyframes" if "last" in fields["frames"] else "image"
    if "image" in has:
        return "image"
    if "references" in has:
        return "reference"
    if "voice" in has:
        return "speech"
    return "text"


def _conflict(has: set[str]) -> tuple[str, str] | None:
    """Why the media fields present cannot go together in one request (and the field to point
    at), or None. ``image`` + ``references`` is the guide's "image reference" mode: allowed."""
    if "image" in has and "frames" in has:
        return "use either image or frames, not both (image is the same as frames.first)", ""
    if "references" in has and "frames" in has:
        return ("references cannot be combined with frames: keyframes (frames.first/last) and reference images "
                "are exclusive; use image: plus references for reference mode, or drop references"), "references"
    if has & {"character", "performance"} and has - {"character", "performance"}:
        others = ", ".join(sorted(has - {"character", "performance"}))
        return f"performance mode (character + performance) takes no {others}; remove it", ""
    if "video" in has and has & {"image", "frames"}:
        return "video mode takes no image or frames; remove them or drop video", ""
    if "audio" in has and has & {"video", "image", "frames", "references"}:
        others = ", ".join(sorted(has & {"video", "image", "frames", "references"}))
        return f"an audio input (audio mode) takes no {others}; remove it or drop audio", "audio"
    if "voice" in has and has & {"image", "frames", "references", "character", "performance"}:
        return ("voice goes with a prompt (speech) or with an audio or video input (speech to speech); "
                "remove it"), "voice"
    return None


def check_declared_mode(declared: str, inferred: str, fields: Mapping[str, Any]) -> str | None:
    """Why an explicit ``mode`` disagrees with the fields, or None when it agrees."""
    if declared == inferred:
        return None
    if declared == "keyframes" and fields.get("frames"):
        return None  # frames.first alone is a valid keyframes request on most models
    if declared == "speech" and inferred == "text":
        return None  # speech from a prompt in the model's default voice (seed_audio)
    present = [f for f in INPUT_FIELDS if f in present_inputs(fields)]
    needs = {
        "text": "no image, frames, references, video, character, performance, audio file or voice",
        "image": "image (or frames.first)",
        "keyframes": "frames.first and/or frames.last",
        "reference": "references",
        "video": "video",
        "performance": "character and performance",
        "audio": "audio (an audio file to work on)",
        "speech": "a prompt, and voice or none",
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

    def item_schema(self, key: str) -> dict[str, Any]:
        items = self.props.get(key, {}).get("items", {})
        if "anyOf" in self.props.get(key, {}):
            for branch in self.props[key]["anyOf"]:
                if branch.get("type") == "array":
                    items = branch.get("items", {})
        return dict(items)

    def item_shape(self, key: str) -> dict[str, Any]:
        return dict(self.item_schema(key).get("properties", {}))

    def typed(self, key: str, kind: str, uri: str) -> dict[str, Any]:
        return {"type": kind, "uri": uri} if "type" in self.item_shape(key) else {"uri": uri}

    def references(self) -> None:
        refs = self.fields.get("references") or []
        # Image endpoints (text_to_image) spell their image references referenceImages.
        own = "references" in self.props or "referenceImages" not in self.props
        images = "references" if own else "referenceImages"
        # seed_audio's sound_effect takes its reference clips as plain URIs (referenceAudios).
        audios = "referenceAudios" if "referenceAudios" in self.props else "referenceAudio"
        groups: dict[str, list[Any]] = {images: [], "referenceVideos": [], audios: []}
        key_for = {"image": images, "video": "referenceVideos", "audio": audios}
        for i, item in enumerate(refs):
            kinds = [k for k in key_for if isinstance(item, dict) and k in item]
            if len(kinds) != 1 or not isinstance(item[kinds[0]], str):
                continue  # the spec schema has reported it
            kind, key = kinds[0], key_for[kinds[0]]
            n = len(groups[key])
            if key == "referenceAudios":
                groups[key].append(self.media((key, n), item[kind], f"references[{i}].{kind}"))
                continue
            entry = self.typed(key, kind, self.media((key, n, "uri"), item[kind], f"references[{i}].{kind}"))
            if "tag" in item:  # the model's schema says whether its references take a tag
                entry["tag"] = item["tag"]
                self.origins[(key, n, "tag")] = f"references[{i}].tag"
            groups[key].append(entry)
        for key, values in groups.items():
            if values:
                self.body[key] = values
                self.origins.setdefault((key,), "references")

    def image(self) -> None:
        f = self.fields
        if "imageUri" in self.props:  # an image to work on (image_upscale), not a first frame
            if isinstance(f.get("image"), str):
                self.body["imageUri"] = self.media(("imageUri",), f["image"], "image")
            return
        frames = f.get("frames") or {}
        ref = f.get("image") or frames.get("first")
        spec_field = "image" if f.get("image") else "frames.first"
        if isinstance(ref, str):  # named by the field it came from: image, or frames.first
            self.body["promptImage"] = self.media(("promptImage",), ref, spec_field)
        self.origins.setdefault(("promptImage",), "frames" if f.get("frames") else "image")
        if f.get("references"):
            self.image_references()

    def image_references(self) -> None:
        """``image`` + ``references`` (the guide's "image reference" form). Where the endpoint has
        no ``references`` key but takes ``promptImage`` items without a position (seedance2), the
        SDK's form is one list of reference images: the image first, then the image references.
        Video and audio references keep their own keys."""
        self.references()
        if "references" in self.props or "references" not in self.body or not self.takes_unpositioned_images():
            return  # the endpoint takes references as they are (or refuses them: the schema says so)
        refs = self.body.pop("references")
        self.origins.pop(("references",), None)
        first = self.body.get("promptImage")
        items: list[dict[str, str]] = []
        if isinstance(first, str):
            items.append({"uri": first})
            self.origins[("promptImage", 0, "uri")] = self.origins.pop(("promptImage",), "image")
        for n, ref in enumerate(refs):
            items.append({"uri": ref["uri"]})
            self.origins[("promptImage", len(items) - 1, "uri")] = self.origins.pop(("references", n, "uri"))
        self.body["promptImage"] = items
        self.origins[("promptImage",)] = "references"

    def takes_unpositioned_images(self) -> bool:
        """Whether ``promptImage`` may be a list of ``{uri}`` items (reference images)."""
        items = self.item_schema("promptImage")
        return "uri" in items.get("properties", {}) and "position" not in items.get("required", [])

    def keyframes(self) -> None:
        frames = self.fields.get("frames") or {}
        items: list[dict[str, str]] = []
        for pos in ("first", "last"):
            if isinstance(frames.get(pos), str):
                pointer = ("promptImage", len(items), "uri")
                uri = self.media(pointer, frames[pos], f"frames.{pos}")
                items.append({"uri": uri, "position": pos})
                self.origins[("promptImage", len(items) - 1)] = f"frames.{pos}"
        self.body["promptImage"] = items
        self.origins[("promptImage",)] = "frames" if self.fields.get("frames") else "image"

    def video(self) -> None:
        if "media" in self.props:  # speech_to_speech: {type, uri}
            self.typed_media("video")
            return
        key = "promptVideo" if "promptVideo" in self.props else "videoUri"
        if isinstance(self.fields.get("video"), str):
            self.body[key] = self.media((key,), self.fields["video"], "video")
        self.references()

    def audio(self) -> None:
        if "media" in self.props:
            self.typed_media("audio")
        elif isinstance(self.fields.get("audio"), str):
            self.body["audioUri"] = self.media(("audioUri",), self.fields["audio"], "audio")

    def typed_media(self, kind: str) -> None:
        if isinstance(self.fields.get(kind), str):
            self.body["media"] = {"type": kind, "uri": self.media(("media", "uri"), self.fields[kind], kind)}
        self.origins[("media",)] = kind

    def voice(self) -> None:
        """``voice: Maya`` is a preset; ``voice: {audio: ...}`` a reference clip (seed_audio).
        Set on a request that takes no voice, it still goes in, for the schema to refuse by name."""
        voice = self.fields.get("voice")
        if isinstance(voice, str):
            self.body["voice"] = {"type": "runway-preset", "presetId": voice}
        elif isinstance(voice, Mapping) and isinstance(voice.get("audio"), str):
            uri = self.media(("voice", "audioUri"), voice["audio"], "voice.audio")
            self.body["voice"] = {"type": "reference-audio", "audioUri": uri}
        else:
            return
        self.origins[("voice",)] = "voice"

    def performance(self) -> None:
        character = self.fields.get("character") or {}
        for kind in ("image", "video"):
            if isinstance(character.get(kind), str):
                uri = self.media(("character", "uri"), character[kind], f"character.{kind}")
                self.body["character"] = {"type": kind, "uri": uri}
        self.origins[("character",)] = "character"
        if isinstance(self.fields.get("performance"), str):
            uri = self.media(("reference", "uri"), self.fields["performance"], "performance")
            self.body["reference"] = {"type": "video", "uri": uri}

    def compile(self) -> tuple[dict[str, Any], dict[Pointer, str]]:
        """Media fields of the mode first, then the plain fields, then ``params`` as given."""
        media = {"image": self.image, "keyframes": self.keyframes, "reference": self.references,
                 "video": self.video, "performance": self.performance, "audio": self.audio}.get(self.mode)
        if media is not None:
            media()
        self.voice()
        for spec_field, key in SCALAR_FIELDS.items():
            if spec_field == "audio" and isinstance(self.fields.get("audio"), str):
                continue  # an audio file, placed by audio()
            if self.fields.get(spec_field) is not None:
                self.body[key] = self.fields[spec_field]
                self.origins[(key,)] = spec_field
        for key, value in (self.fields.get("params") or {}).items():
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
