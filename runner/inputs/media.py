"""Media files as runner sees them: how long a clip is, and whether a downloaded output is
what its endpoint produces.

Outputs are untrusted files: only PyAV and Pillow ever open them (audio: PyAV). What counts as a valid
output depends on the endpoint's output kind (``catalog.endpoints``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from runner.catalog.endpoints import OutputKind
from runner.inputs.cachedir import cache_dir

if TYPE_CHECKING:
    import zipfile

    import av


def probe_seconds(source: Path | BinaryIO) -> float | None:
    """Length of a video or audio file (a path or an open binary file) in seconds (PyAV),
    or None if it cannot be read."""
    import av  # imported here: probing is rare and PyAV is slow to import

    try:
        with av.open(str(source) if isinstance(source, Path) else source, mode="r") as container:
            return _seconds(container)
    except (OSError, ValueError, av.error.FFmpegError):
        return None


def _seconds(container: av.container.InputContainer) -> float | None:
    """Length of an open container: its own duration, else its first video (or audio) stream's."""
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    stream = next(iter(container.streams.video or container.streams.audio), None)
    if stream is not None and stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


@dataclass(frozen=True)
class MediaFacts:
    """What a local input clip is, as the API's input limits need it: length in seconds, size
    in bytes and the picture's width and height (0 for audio). ``seconds`` is None when the
    container does not say."""

    seconds: float | None
    bytes: int
    width: int = 0
    height: int = 0


def media_facts(path: Path, size: int, mtime_ns: int) -> MediaFacts | None:
    """``probe_media``, remembered in the cache folder by (resolved path, size, mtime), as the
    file hashes are: validating unchanged clips again (pre-commit, on every commit) reads a
    small JSON file instead of loading PyAV. A cache entry that is not what this writes is
    probed again and replaced (the cache holds nothing that cannot be measured again)."""
    key = hashlib.sha256(f"{path}\0{size}\0{mtime_ns}".encode("utf-8", "surrogateescape")).hexdigest()
    entry = cache_dir() / "media" / f"{key[:40]}.json"
    try:
        known = json.loads(entry.read_text(encoding="utf-8"))
        return _facts_of(known, str(path))
    except (OSError, ValueError, TypeError, KeyError):
        pass
    facts = probe_media(path)
    _remember(entry, {"path": str(path), "facts": asdict(facts) if facts is not None else None})
    return facts


def _facts_of(known: dict[str, object], path: str) -> MediaFacts | None:
    if known["path"] != path:  # a hash collision of the key (never seen): measure it
        raise KeyError(path)
    facts = known["facts"]
    if facts is None:
        return None
    if not isinstance(facts, dict) or not all(isinstance(facts[k], int | float | None) for k in
                                              ("seconds", "bytes", "width", "height")):
        raise TypeError("not a media facts entry")
    return MediaFacts(facts["seconds"], int(facts["bytes"]), int(facts["width"]), int(facts["height"]))


def _remember(entry: Path, doc: dict[str, object]) -> None:
    """Write a cache entry whole or not at all (temp file and rename): parallel runs share the cache.
    A cache that cannot be written (read-only home) costs a probe next time, nothing else."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        os.replace(temp, entry)
    except OSError:
        Path(temp).unlink(missing_ok=True)


def probe_media(path: Path) -> MediaFacts | None:
    """Length, size and resolution of a local video or audio file (PyAV reads only the
    headers), or None if it cannot be read as media."""
    import av

    try:
        size = path.stat().st_size
        with av.open(str(path), mode="r") as container:
            width = height = 0
            if container.streams.video:
                ctx = container.streams.video[0].codec_context
                width, height = int(ctx.width or 0), int(ctx.height or 0)
            return MediaFacts(_seconds(container), size, width, height)
    except (OSError, ValueError, av.error.FFmpegError):
        return None


def verify_output(path: Path, kind: OutputKind, *, content_type: str = "", suffix: str = "") -> str | None:
    """None when ``path`` holds a readable output of ``kind``, else what is wrong with it.

    ``suffix`` is the extension the output will have (``.zip`` for image-sequence formats),
    since ``path`` itself may be a temp file.
    """
    if path.stat().st_size == 0:
        return "the output file is empty"
    return _VERIFIERS[kind](path, content_type.split(";")[0].strip().lower(), suffix or path.suffix)


def _verify_video(path: Path, ctype: str, suffix: str) -> str | None:
    """A video (or the image / zip of frames the API returns for some output formats)."""
    import av
    from PIL import Image

    if ctype and not ctype.startswith(("video/", "image/", "application/octet-stream", "application/zip",
                                       "binary/octet-stream")):
        return f"unexpected content type {ctype!r} for a generated output"
    if suffix == ".zip":
        return _verify_frames_zip(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return "the output has no video stream"
            next(container.decode(video=0))
        return None
    except (OSError, ValueError, StopIteration, av.error.FFmpegError):
        pass
    try:
        with Image.open(path) as img:
            img.verify()
        return None
    except (OSError, ValueError, SyntaxError):
        return "the output is not a readable video or image"


# Image-sequence formats: PNG frames (png_sequence, hdr_png_sequence) or OpenEXR frames,
# with sidecars such as colorimetry.json. Nothing is extracted: entries are only read.
FRAME_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\x76\x2f\x31\x01")
SIDECAR_SUFFIXES = (".json",)
MAX_ZIP_ENTRIES = 100_000


def _verify_frames_zip(path: Path) -> str | None:
    """A zip of image frames (the API's image-sequence output formats), not a video or anything else."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            entries = [i for i in z.infolist() if not i.is_dir()]
            if len(entries) > MAX_ZIP_ENTRIES:
                return f"the output zip has {len(entries)} entries, more than {MAX_ZIP_ENTRIES}"
            frames = []
            for info in entries:
                why = _zip_entry_problem(z, info)
                if why:
                    return why
                if not info.filename.lower().endswith(SIDECAR_SUFFIXES):
                    frames.append(info)
            if not frames:
                return "the output zip holds no image frames"
            return _png_problem(z, frames[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, NotImplementedError, EOFError):
        return "the output is not a readable zip archive"


def _zip_entry_problem(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
        return f"the output zip has an unsafe entry name {name!r}"
    if name.lower().endswith(SIDECAR_SUFFIXES):
        return None
    with z.open(info) as member:
        head = member.read(8)
    if not head.startswith(FRAME_MAGIC):
        return f"the output zip holds {name!r}, which is not a PNG or EXR frame"
    return None


def _png_problem(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    """The first frame, when it is a PNG, must decode (Pillow checks it; EXR is judged by its magic)."""
    from PIL import Image

    with z.open(info) as member:
        if not member.read(8).startswith(FRAME_MAGIC[0]):
            return None
    try:
        with z.open(info) as member, Image.open(member) as img:
            img.verify()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return f"the output zip's frame {info.filename!r} is not a readable PNG"
    return None


# A generated image: at least this many pixels a side (a 1x1 "image" is an error page in
# disguise), at most what Runway's largest sizes need (11264:1408, 8192:2048...).
IMAGE_SIDE_MIN = 16
IMAGE_SIDE_MAX = 16_384


def _verify_image(path: Path, ctype: str, suffix: str) -> str | None:
    """A still image Pillow can decode (PNG, JPEG or WebP), of a plausible size."""
    from PIL import Image

    if ctype and not ctype.startswith(("image/", "application/octet-stream", "binary/octet-stream")):
        return f"unexpected content type {ctype!r} for a generated image"
    try:
        with Image.open(path) as img:
            fmt, (width, height) = img.format, img.size
            img.verify()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return "the output is not a readable image"
    if fmt not in ("PNG", "JPEG", "WEBP"):
        return f"the output is a {fmt} file, not a PNG, JPEG or WebP image"
    if min(width, height) < IMAGE_SIDE_MIN or max(width, height) > IMAGE_SIDE_MAX:
        return (f"the output image is {width}x{height} pixels; a generated image is "
                f"{IMAGE_SIDE_MIN} to {IMAGE_SIDE_MAX} pixels a side")
    return None


# A generated sound: longer than this (an empty or one-packet file is a failure in disguise),
# shorter than the longest clip an audio endpoint takes in (a dubbed film reel).
AUDIO_SECONDS_MIN = 0.05
AUDIO_SECONDS_MAX = 4 * 3600


def _verify_audio(path: Path, ctype: str, suffix: str) -> str | None:
    """A sound PyAV can decode, with an audio stream of plausible length. The container is not
    held to the extension: without a requested format the extension (.mp3) is runner's guess,
    and refusing a paid, playable sound over it would help nobody."""
    import av

    if ctype and not ctype.startswith(("audio/", "application/octet-stream", "binary/octet-stream",
                                       "application/ogg")):
        return f"unexpected content type {ctype!r} for generated audio"
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return "the output has no audio stream"
            next(container.decode(audio=0))
            seconds = _seconds(container)
    except (OSError, ValueError, StopIteration, av.error.FFmpegError):
        return "the output is not readable audio"
    if seconds is None or not AUDIO_SECONDS_MIN <= seconds <= AUDIO_SECONDS_MAX:
        return (f"the output audio lasts {seconds if seconds is not None else 'an unknown time'} s; generated "
                f"audio lasts {AUDIO_SECONDS_MIN} s to {AUDIO_SECONDS_MAX // 3600} hours")
    return None


_VERIFIERS: dict[OutputKind, Callable[[Path, str, str], str | None]] = {
    "video": _verify_video, "image": _verify_image, "audio": _verify_audio}
