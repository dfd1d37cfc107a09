"""What an emulated output shows, derived from the request's inputs, so tests can check the
wiring end to end (that a shot made from ``day.png`` really starts on day.png).

- A video given an image starts on it (``promptImage`` as a URI, or its ``first`` item) and
  ends on its ``last`` item; between them it fades from one to the other. act_two starts on
  its character image (or shows its character video).
- video_to_video shows its input clip's frames, re-timed to the output's length (first
  frame to first frame, last to last), with each keyframe image at its time.
- An image task with ``referenceImages`` shows the first one (image-to-image).
- A video has an audio track when the request says ``audio: true``, or says nothing and
  the model makes sound by default (``AUDIO_BY_DEFAULT``); otherwise none.

Images are letterboxed onto the output frame (aspect kept, black bars). Inputs are read
only where the emulator has them without a network: its own uploads (``runway://``) and
``data:`` URIs; an https URL is not fetched. Every input is untrusted: bounded in bytes,
pixels and decoded frames, opened only by Pillow and PyAV, and anything that cannot be read
within those bounds falls back to the caption render (``media``) — never an error of the
task or the server. ``Task.inputs`` records, per media field, what became of it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import av
from PIL import Image, ImageDraw, ImageOps

from runner.catalog.endpoints import ENDPOINTS, MediaRef, media_refs, parent_item, pointer_shape
from runner.emulator.sim import Task
from runner.inputs.assets import data_uri_content

MAX_INPUT_BYTES = 16 * 1024 * 1024
"""Largest upload the emulator keeps to derive outputs from (larger ones are still accepted)."""
MAX_DATA_URI_BYTES = 5 * 1024 * 1024
"""The API's limit for a data URI's decoded content."""
MAX_IMAGE_PIXELS = 4096 * 4096
"""Largest input image decoded, judged from its header before any pixel is decompressed."""
MAX_VIDEO_PIXELS = 3840 * 2160
MAX_CLIP_FRAMES = 900
"""Frames decoded from one input clip at most; a longer clip is re-timed from its start."""
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")

# Models that make sound unless the request says ``audio: false`` (the emulator's own
# knowledge, like its price table: Veo 3 and the Seedance 2 family generate audio).
AUDIO_BY_DEFAULT = frozenset({"veo3", "veo3.1", "veo3.1_fast", "seedance2", "seedance2_5", "seedance2_fast",
                              "seedance2_mini"})

READ_UPLOAD, READ_DATA = "upload", "data URI"
NOT_FETCHED = "not fetched: the emulator has no network; caption render"


def field_name(pointer: Iterable[str | int]) -> str:
    """How ``Task.inputs`` names a body field: ``promptImage``, ``promptImage/1/uri``."""
    return "/".join(str(p) for p in pointer)


# --- at create: keep the bytes, decode nothing ------------------------------------------


def attach(task: Task, uploads: Mapping[str, Mapping[str, Any]]) -> None:
    """Keep the bytes of each media input of ``task`` the emulator can read, and note in
    ``task.inputs`` what became of every one. Called at create, in the event loop: nothing
    is decoded here, only located (and a data URI's base64 undone, bounded)."""
    for ref in media_refs(task.endpoint, task.body):
        name = field_name(ref.pointer)
        data, note = _locate(ref.ref, uploads)
        task.inputs[name] = note
        if data is not None:
            task.media[name] = data


def _locate(ref: str, uploads: Mapping[str, Mapping[str, Any]]) -> tuple[bytes | None, str]:
    if ref.startswith("runway://"):
        data = (uploads.get(ref) or {}).get("data")
        if isinstance(data, bytes):
            return data, READ_UPLOAD
        return None, f"not kept: an upload over {MAX_INPUT_BYTES // 2**20} MB or unfinished; caption render"
    if ref[:5].lower() == "data:":
        return _data_uri(ref)
    return None, NOT_FETCHED


def _data_uri(ref: str) -> tuple[bytes | None, str]:
    header, sep, payload = ref[5:].partition(",")
    if not sep:
        return None, "unreadable: a data URI without a comma; caption render"
    # judged before decoding: base64 holds 3 bytes in 4 characters, %XX one in 3 at most
    longest = MAX_DATA_URI_BYTES * 4 // 3 + 4 if header.lower().endswith(";base64") else MAX_DATA_URI_BYTES * 3
    if len(payload) > longest:
        return None, f"unreadable: a data URI over {MAX_DATA_URI_BYTES // 2**20} MB; caption render"
    try:
        return data_uri_content(header, payload), READ_DATA
    except ValueError:
        return None, "unreadable: a data URI whose base64 is broken; caption render"


# --- at render: decode (bounded) and build -----------------------------------------------


def _decode(task: Task, name: str, decoder: Callable[[bytes], Any]) -> Any:
    """``decoder`` applied to the input held for field ``name``, or None (recorded) when the
    input is missing or cannot be read within the bounds."""
    data = task.media.get(name)
    if data is None:
        return None
    try:
        return decoder(data)
    except Exception as e:  # noqa: BLE001 - an untrusted file may fail any way; the render falls back
        task.inputs[name] = f"unreadable: {type(e).__name__}: {str(e)[:200]}; caption render"
        return None


def open_image(data: bytes, size: tuple[int, int] | None = None) -> Image.Image:
    """An RGB copy of the image in ``data``; its pixel count is checked from the header before
    anything is decompressed. ``size`` lets a JPEG decode at a reduced scale."""
    with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as img:
        width, height = img.size
        if width * height > MAX_IMAGE_PIXELS:
            raise ValueError(f"{width}x{height} pixels is above the limit of {MAX_IMAGE_PIXELS}")
        if size is not None:
            img.draft("RGB", size)
        img.load()
        if img.mode in ("RGBA", "LA", "PA", "P"):
            rgba = img.convert("RGBA")
            flat = Image.new("RGB", img.size)
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        return img.convert("RGB")


def fit(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``img`` letterboxed onto a black frame of ``size``: aspect kept, centred."""
    return ImageOps.pad(img, size, method=Image.Resampling.BILINEAR, color=(0, 0, 0))


def input_image(task: Task, size: tuple[int, int] | None = None) -> Image.Image | None:
    """The first image input of ``task`` (in the endpoint registry's field order) that the
    emulator can read, decoded under the bounds; None when there is none. For renderers that
    show their input: image-to-image here, an upscale later."""
    for ref in media_refs(task.endpoint, task.body):
        if ref.kind == "image" and (img := _decode(task, field_name(ref.pointer),
                                                   lambda d: open_image(d, size))) is not None:
            return img  # type: ignore[no-any-return]
    return None


def still(task: Task, size: tuple[int, int]) -> Image.Image | None:
    """An image task's output when it has a readable image input; None: the caption render."""
    img = input_image(task, size)
    return fit(img, size) if img is not None else None


def has_audio(task: Task) -> bool:
    """Whether ``task``'s video has a sound track: the request's ``audio``, else the model's habit."""
    if ENDPOINTS[task.endpoint].output != "video":
        return False
    said = task.body.get("audio")
    return said if isinstance(said, bool) else task.model in AUDIO_BY_DEFAULT


@dataclass
class _Looks:
    """What an output's frames are built from, decoded once per task."""

    first: Image.Image | None = None
    last: Image.Image | None = None
    clip: list[Image.Image] | None = None
    clip_seconds: float | None = None
    keys: list[tuple[MediaRef, Image.Image]] = field(default_factory=list)

    def empty(self) -> bool:
        return self.first is None and self.last is None and self.clip is None and not self.keys


def video_frames(task: Task, size: tuple[int, int], count: int,
                 caption: Callable[[], Iterable[Image.Image]]) -> list[Image.Image] | None:
    """The ``count`` frames of ``task``'s video when its inputs shape them; None when no
    input is readable (the caller renders the caption video as for a text-only task).
    ``caption`` gives the caption frames, used under keyframes when the clip is unreadable."""
    looks = _looks(task, size, count)
    if looks.empty():
        return None
    if looks.clip is not None:
        frames = looks.clip
    elif looks.first is not None or looks.last is not None:
        frames = _fade(looks.first, looks.last, count)
    else:
        frames = list(caption())
    frames = [_progress(img.copy(), i, count) if 0 < i < count - 1 else img.copy() for i, img in enumerate(frames)]
    if looks.first is not None:
        frames[0] = looks.first
    if looks.last is not None:
        frames[-1] = looks.last
    for ref, img in looks.keys:
        frames[_key_index(task, ref, looks.clip_seconds, count)] = img
    return frames


def _looks(task: Task, size: tuple[int, int], count: int) -> _Looks:
    looks = _Looks()
    body = task.body
    for ref in media_refs(task.endpoint, body):
        name, shape = field_name(ref.pointer), pointer_shape(ref.pointer)
        if ref.kind == "video" and shape in ("videoUri", "promptVideo", "character/uri") and looks.clip is None:
            clip = _decode(task, name, lambda d: _clip(d, size, count))
            if clip is not None:
                looks.clip, looks.clip_seconds = clip
            continue
        if ref.kind != "image" or shape not in ("promptImage", "promptImage/*/uri", "character/uri",
                                                "keyframes/*/uri"):
            continue
        img = _decode(task, name, lambda d: fit(open_image(d, size), size))
        if img is None:
            continue
        if shape == "keyframes/*/uri":
            looks.keys.append((ref, img))
        elif shape == "promptImage/*/uri" and parent_item(body, ref.pointer).get("position") == "last":
            looks.last = img
        else:
            looks.first = img
    return looks


def _key_index(task: Task, ref: MediaRef, clip_seconds: float | None, count: int) -> int:
    """The output frame a keyframe lands on: its ``at`` fraction, or its ``seconds`` into the input clip."""
    item = parent_item(task.body, ref.pointer)
    at, seconds = item.get("at"), item.get("seconds")
    if isinstance(at, int | float):
        fraction = float(at)
    elif isinstance(seconds, int | float):
        fraction = float(seconds) / (clip_seconds or task.seconds or 1.0)
    else:
        fraction = 0.0
    return round(min(1.0, max(0.0, fraction)) * (count - 1))


def _fade(first: Image.Image | None, last: Image.Image | None, count: int) -> list[Image.Image]:
    """From ``first`` to ``last`` (either may be missing: then the other throughout)."""
    if first is None or last is None:
        one = first if first is not None else last
        assert one is not None  # noqa: S101 - the caller has one of them
        return [one] * count
    return [Image.blend(first, last, i / max(count - 1, 1)) for i in range(count)]


def _progress(img: Image.Image, index: int, count: int) -> Image.Image:
    """A bar moving along the bottom edge, so a derived video visibly plays."""
    width, height = img.size
    x = int(index / max(count - 1, 1) * (width - width // 8))
    ImageDraw.Draw(img).rectangle([x, height - max(2, height // 30), x + width // 8, height], fill=(255, 255, 255))
    return img


def _clip(data: bytes, size: tuple[int, int], count: int) -> tuple[list[Image.Image], float | None]:
    """``count`` frames of the clip in ``data``, re-timed so that the first and last output
    frames are its first and last, letterboxed to ``size``; and the clip's length."""
    with av.open(io.BytesIO(data), mode="r") as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        _check_video_size(stream.codec_context.width, stream.codec_context.height)
        seconds = container.duration / 1_000_000 if container.duration else None
        rate = float(stream.average_rate or 24)
        end = max(0.0, seconds - 1 / rate) if seconds else None
        picks: list[Image.Image] = []
        latest: Image.Image | None = None
        for decoded, frame in enumerate(container.decode(stream)):
            if decoded >= MAX_CLIP_FRAMES:
                break
            _check_video_size(frame.width, frame.height)
            latest = None
            when = frame.time if frame.time is not None else decoded / rate
            while len(picks) < count and (end is None or len(picks) * end / max(count - 1, 1) <= when + 1e-3):
                latest = latest or _to_image(frame, size)
                picks.append(latest)
                if end is None:
                    break
            if len(picks) >= count:
                break
    if not picks:
        raise ValueError("no decodable frame")
    if end is None:  # length unknown: spread the frames read over the output
        return [picks[i * len(picks) // count] for i in range(count)], seconds
    return picks + [picks[-1]] * (count - len(picks)), seconds


def _check_video_size(width: int, height: int) -> None:
    if width * height > MAX_VIDEO_PIXELS:
        raise ValueError(f"{width}x{height} video frames are above the limit of {MAX_VIDEO_PIXELS} pixels")


def _to_image(frame: av.VideoFrame, size: tuple[int, int]) -> Image.Image:
    """One decoded frame scaled down by the decoder (cheap) and then letterboxed."""
    scale = min(size[0] / frame.width, size[1] / frame.height)
    width, height = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
    small = frame.reformat(width=width, height=height, format="rgb24").to_image()  # type: ignore[no-untyped-call]
    return fit(small, size)
