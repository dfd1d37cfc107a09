"""The endpoint registry: what runner knows about each Runway task endpoint, as data.

A model file (``schema/models/<model>.json``) says which endpoint each spec mode uses and
what the body may hold; this registry says, once per endpoint, what the body *means*:

- ``media``: every body field that points at media (a URL, a ``runway://`` URI, a data URI
  or, in a spec, a local path), with the kind of media it must be. Every one of them goes
  through the URL policy and the upload path, whether a shot field or ``params`` set it.
- ``duration``: where the billed length comes from: the request (``duration``, else the
  model's default), else the input clip named by ``duration_input`` (``input_label`` is
  its name in messages); ``input`` always follows that clip.
  ``none``: the endpoint makes something without a length (an image).
- ``price_unit``: what a model's price is per: a ``second`` of output, an ``image``, or a
  ``character`` of the prompt (speech from text).
- ``output``: the kind of file the task produces (video / image / audio); it picks the
  file extension, how a download is verified, the report's element and what the emulator
  serves.

Adding a model of an existing endpoint is adding a model file; adding an endpoint is
adding an entry here (and its request bodies in the model files).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

MediaKind = Literal["image", "video", "audio"]
OutputKind = Literal["video", "image", "audio"]
DurationSource = Literal["request", "input", "none"]
PriceUnit = Literal["second", "image", "character"]
Pointer = tuple[str | int, ...]

WILDCARD = "*"


@dataclass(frozen=True)
class MediaSlot:
    """A body field holding media. ``pattern`` is a body path where ``*`` stands for every
    item of a list; ``kind`` None means a sibling ``type`` field names the kind (act_two's
    ``character``). ``promptImage`` has two slots: one URI, or a list of ``{uri, position}``."""

    pattern: tuple[str, ...]
    kind: MediaKind | None


@dataclass(frozen=True)
class EndpointInfo:
    name: str
    output: OutputKind
    media: tuple[MediaSlot, ...]
    duration: DurationSource
    duration_input: tuple[str, ...] = ()
    input_label: str = ""
    price_unit: PriceUnit = "second"


def _slots(*items: tuple[str, MediaKind | None]) -> tuple[MediaSlot, ...]:
    return tuple(MediaSlot(tuple(p.split("/")), kind) for p, kind in items)


# Reference media, as every endpoint that takes them spells them.
_REFERENCES: tuple[tuple[str, MediaKind], ...] = (
    ("references/*/uri", "image"), ("referenceVideos/*/uri", "video"), ("referenceAudio/*/uri", "audio"))
# klingO3 also takes its image references as one bare string (``references: str | list``).
_ONE_REFERENCE: tuple[str, MediaKind] = ("references", "image")

ENDPOINTS: dict[str, EndpointInfo] = {
    "text_to_video": EndpointInfo(
        "text_to_video", "video", _slots(*_REFERENCES), duration="request"),
    "image_to_video": EndpointInfo(
        "image_to_video", "video",
        _slots(("promptImage", "image"), ("promptImage/*/uri", "image"), _ONE_REFERENCE, *_REFERENCES),
        duration="request"),
    "video_to_video": EndpointInfo(
        "video_to_video", "video",
        _slots(("videoUri", "video"), ("promptVideo", "video"), ("keyframes/*/uri", "image"), _ONE_REFERENCE,
               *_REFERENCES),
        duration="request", duration_input=("videoUri", "promptVideo"), input_label="video"),
    "character_performance": EndpointInfo(
        "character_performance", "video", _slots(("character/uri", None), ("reference/uri", "video")),
        duration="input", duration_input=("reference/uri",), input_label="performance"),
    # One image per task (the runner refuses outputCount > 1: a take is one file).
    "text_to_image": EndpointInfo(
        "text_to_image", "image", _slots(("referenceImages/*/uri", "image"), ("maskUri", "image")),
        duration="none", price_unit="image"),
    # Upscales, HDR, dubbing, isolation and voice changes make as long an output as their input.
    "image_upscale": EndpointInfo(
        "image_upscale", "image", _slots(("imageUri", "image")), duration="none", price_unit="image"),
    "video_upscale": EndpointInfo(
        "video_upscale", "video", _slots(("videoUri", "video")),
        duration="input", duration_input=("videoUri",), input_label="video"),
    "video_to_hdr": EndpointInfo(
        "video_to_hdr", "video", _slots(("videoUri", "video")),
        duration="input", duration_input=("videoUri",), input_label="video"),
    # Audio endpoints. A take is one file: numVariants above 1 is refused (model files).
    "sound_effect": EndpointInfo(
        "sound_effect", "audio", _slots(("referenceAudios/*", "audio")), duration="request"),
    "text_to_speech": EndpointInfo(
        "text_to_speech", "audio", _slots(("voice/audioUri", "audio")), duration="none", price_unit="character"),
    "video_to_audio": EndpointInfo(
        "video_to_audio", "audio", _slots(("videoUri", "video")), duration="request"),
    "speech_to_speech": EndpointInfo(
        "speech_to_speech", "audio", _slots(("media/uri", None)),
        duration="input", duration_input=("media/uri",), input_label="speech"),
    "voice_dubbing": EndpointInfo(
        "voice_dubbing", "audio", _slots(("audioUri", "audio")),
        duration="input", duration_input=("audioUri",), input_label="audio"),
    "voice_isolation": EndpointInfo(
        "voice_isolation", "audio", _slots(("audioUri", "audio")),
        duration="input", duration_input=("audioUri",), input_label="audio"),
}

# Output file extension by the request's outputFormat (or an audio endpoint's format);
# otherwise by output kind.
FORMAT_EXTENSIONS = {"mp4": "mp4", "hdr10": "mp4", "hlg": "mp4", "prores": "mov", "mov": "mov", "png_sequence": "zip",
                     "hdr_pq_12bit_master": "mov", "hdr_prores": "mov", "hdr_png_sequence": "zip",
                     "hdr_exr_sequence": "zip", "hdr_exr_acescg_sequence_1_3": "zip",
                     "hdr_exr_acescg_sequence_2_0": "zip",
                     "png": "png", "jpeg": "jpg", "webp": "webp",
                     "mp3": "mp3", "wav": "wav", "flac": "flac", "ogg_opus": "ogg"}
KIND_EXTENSIONS: dict[OutputKind, str] = {"video": "mp4", "image": "png", "audio": "mp3"}


def endpoint(name: str) -> EndpointInfo:
    """The registry entry of ``name``; a model file naming an unknown endpoint is a catalog bug."""
    return ENDPOINTS[name]


def output_extension(endpoint_name: str, body: Mapping[str, Any]) -> str:
    """File extension of this request's output: by ``outputFormat`` (``format`` on mirelo's
    audio endpoints) when set, else by kind."""
    fmt = body.get("outputFormat", body.get("format"))
    if isinstance(fmt, str) and fmt in FORMAT_EXTENSIONS:
        return FORMAT_EXTENSIONS[fmt]
    return KIND_EXTENSIONS[ENDPOINTS[endpoint_name].output]


@dataclass(frozen=True)
class MediaRef:
    """One media reference found in a body: where it sits, what it holds, which kind it must be."""

    pointer: Pointer
    ref: str
    kind: MediaKind


def media_refs(endpoint_name: str, body: Mapping[str, Any]) -> list[MediaRef]:
    """Every media reference in ``body``, in registry order; values that are not strings are
    left to schema validation."""
    found: list[MediaRef] = []
    seen: set[Pointer] = set()
    for slot in ENDPOINTS[endpoint_name].media:
        for pointer, value in _walk(body, slot.pattern, ()):
            if pointer in seen or not isinstance(value, str):
                continue
            kind = slot.kind or _sibling_kind(body, pointer)
            if kind is None:
                continue
            seen.add(pointer)
            found.append(MediaRef(pointer, value, kind))
    return found


def _walk(node: Any, pattern: tuple[str, ...], at: Pointer) -> Iterator[tuple[Pointer, Any]]:
    if not pattern:
        yield at, node
        return
    head, rest = pattern[0], pattern[1:]
    if head == WILDCARD:
        if isinstance(node, list | tuple):
            for i, item in enumerate(node):
                yield from _walk(item, rest, (*at, i))
        return
    if isinstance(node, Mapping) and head in node:
        yield from _walk(node[head], rest, (*at, head))


def parent_item(body: Mapping[str, Any], pointer: Pointer) -> Mapping[str, Any]:
    """The object holding the value at ``pointer`` (e.g. the ``{uri, position}`` item of a
    ``promptImage/1/uri``); empty when that is not an object."""
    parent: Any = body
    for key in pointer[:-1]:
        parent = parent[key]
    return parent if isinstance(parent, Mapping) else {}


def _sibling_kind(body: Mapping[str, Any], pointer: Pointer) -> MediaKind | None:
    kind = parent_item(body, pointer).get("type")
    return kind if kind in ("image", "video", "audio") else None


def pointer_shape(pointer: Pointer) -> str:
    """A body path as the registry spells its slots: ``promptImage/*/uri`` for ``promptImage/1/uri``."""
    return "/".join(WILDCARD if isinstance(k, int) else str(k) for k in pointer)


def is_input_clip(endpoint_name: str, pointer: Pointer) -> bool:
    """Whether the media at ``pointer`` is the clip whose length the billed duration may follow."""
    return pointer_shape(pointer) in ENDPOINTS[endpoint_name].duration_input


def follows_input(endpoint_name: str, body: Mapping[str, Any]) -> bool:
    """Whether this request's billed length is (or may be) the input clip's."""
    ep = ENDPOINTS[endpoint_name]
    return bool(ep.duration_input) and (ep.duration == "input" or "duration" not in body)


TAKE_HEADER = "X-Runner-Take"
"""The header with which runner tells an emulator on loopback (never the real API) which take
of its shot a create is, so that the emulator's takes look different take by take."""
