"""Media files as runner sees them: how long a clip is, and whether a downloaded output is
what its endpoint produces.

Outputs are untrusted files: only PyAV and Pillow ever open them. What counts as a valid
output depends on the endpoint's output kind (``catalog.endpoints``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from runner.catalog.endpoints import OutputKind


def probe_seconds(source: Path | BinaryIO) -> float | None:
    """Length of a video or audio file (a path or an open binary file) in seconds (PyAV),
    or None if it cannot be read."""
    import av  # imported here: probing is rare and PyAV is slow to import

    try:
        with av.open(str(source) if isinstance(source, Path) else source, mode="r") as container:
            if container.duration is not None:
                return float(container.duration) / 1_000_000
            stream = next(iter(container.streams.video or container.streams.audio), None)
            if stream is not None and stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
    except (OSError, ValueError, av.error.FFmpegError):
        return None
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
        with path.open("rb") as f:
            return None if f.read(4) == b"PK\x03\x04" else "the output is not a zip archive"
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


_VERIFIERS: dict[OutputKind, Callable[[Path, str, str], str | None]] = {"video": _verify_video}
