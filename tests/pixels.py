"""Comparing what the emulator's outputs show: decoded frames, not bytes (H.264 changes pixels
a little), so tests can check which input a video or image was made from."""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image, ImageChops, ImageStat

SAME = 8.0  # mean absolute difference per channel (0-255) of a frame and the image it shows


def first_frame(path: Path) -> Image.Image:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_image().convert("RGB")


def mad(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel of ``a`` and ``b`` (resized to ``a``)."""
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB").resize(a.size))
    return sum(ImageStat.Stat(diff).mean) / 3
