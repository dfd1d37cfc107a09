"""Small, real output files for emulated tasks: the prompt on a coloured, moving field, as an
MP4, as a zip of PNG frames for the image-sequence output formats, or as one still image
(PNG, JPEG or WebP) for image endpoints.

The frame size keeps the requested ratio's aspect (longest side ``max_side``), the length
is the requested duration, so a person (or the HTML report) can tell shots apart and a
test can check duration and aspect with PyAV. When a request's inputs shape the output
(``derive``), the caller passes the frames (or the still) instead of the caption render,
and a video may carry an audio track: a tone as long as the video.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import io
import textwrap
import zipfile
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
from PIL import Image, ImageDraw, ImageFont

from runner.emulator.audio import mux_tone, tone_hz, tone_stream
from runner.inputs.media import probe_seconds


def frame_size(ratio: str | None, max_side: int) -> tuple[int, int]:
    """Even width and height with the ratio's aspect; 16:9 when the ratio is not W:H."""
    try:
        w, h = (int(x) for x in str(ratio).split(":", 1))
    except ValueError:
        w, h = 16, 9
    if w <= 0 or h <= 0:
        w, h = 16, 9
    scale = max_side / max(w, h)
    return max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)


def frame_count(seconds: float, fps: int) -> int:
    """How many frames a video of ``seconds`` has at ``fps`` (at least one)."""
    return max(1, round(seconds * fps))


# DejaVu Sans cut down to Latin (with its extensions), Greek, Cyrillic and punctuation (fonts/README):
# Pillow's own font has ASCII only, so "São Paulo" came out as "S□o Paulo"; a font of the system
# (Debian's fonts-dejavu) is not on every machine that runs the emulator.
CAPTION_FONT = Path(__file__).with_name("fonts") / "DejaVuSans-subset.ttf"


@functools.lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(str(CAPTION_FONT), size=size)
    except ImportError:  # pragma: no cover - Pillow without FreeType: ASCII only
        return ImageFont.load_default()


class Look(NamedTuple):
    """What makes one generation of a request look like itself (``sim.Task.look``): which
    create of that body it is (0: the first; the take it stands for) and its seed."""

    variant: int = 0
    seed: int | None = None

    @property
    def text(self) -> str:
        """``take 2 seed 7``; empty for the first create of an unseeded body."""
        if self.variant == 0 and self.seed is None:
            return ""
        return f"take {self.variant + 1}" + (f" seed {self.seed}" if self.seed is not None else "")


FIRST = Look()
_SPREAD = 0.381966  # the golden angle as a fraction of the hue circle: successive takes lie far apart


def look_color(prompt: str, look: Look = FIRST) -> tuple[int, int, int]:
    """A colour of the prompt's own, turned round the hue circle by the take and the seed, so
    that takes (and seeds) of one request differ at a glance."""
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    hue = digest[0] / 256 + look.variant * _SPREAD + (look.seed or 0) * _SPREAD * _SPREAD
    saturation = 0.45 + digest[1] / 255 * 0.3
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, 0.62)
    return round(r * 255), round(g * 255), round(b * 255)


def caption_frames(prompt: str, ratio: str | None, seconds: float, *, fps: int, max_side: int,
                   label: str, look: Look = FIRST) -> Iterator[Image.Image]:
    """The frames of an output: ``prompt`` and ``label`` on a colour of the prompt's own, and of
    its ``look`` (another take or seed of one request shows another colour and says which)."""
    width, height = frame_size(ratio, max_side)
    if look.text:
        label = f"{label} · {look.text}"
    base = look_color(prompt, look)
    accent = (255 - base[0] // 2, 255 - base[1] // 2, 200)
    font = _font(max(10, height // 12))
    lines = textwrap.wrap(prompt or "(no prompt)", width=max(12, width // max(6, height // 20)))[:6]
    frames = frame_count(seconds, fps)
    for i in range(frames):
        img = Image.new("RGB", (width, height), base)
        draw = ImageDraw.Draw(img)
        x = int((i / max(frames - 1, 1)) * (width - width // 8))
        draw.rectangle([x, height - height // 10, x + width // 8, height], fill=accent)
        y = height // 12
        for line in lines:
            draw.text((width // 20, y), line, fill=(255, 255, 255), font=font)
            y += height // 10
        draw.text((width // 20, height - height // 5), f"{label}  {i / fps:4.1f}s", fill=accent, font=font)
        yield img


def render_video(prompt: str, ratio: str | None, seconds: float, *, fps: int = 8, max_side: int = 320,
                 label: str = "", frames: Iterable[Image.Image] | None = None, audio: bool = False,
                 look: Look = FIRST) -> bytes:
    """An H.264 MP4 of ``seconds`` length showing ``prompt`` and ``label`` (or ``frames``, each
    of the ratio's frame size), with an AAC tone of the video's length when ``audio``."""
    width, height = frame_size(ratio, max_side)
    if frames is None:
        frames = caption_frames(prompt, ratio, seconds, fps=fps, max_side=max_side, label=label, look=look)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = {"preset": "ultrafast", "crf": "30"}
        sound = tone_stream(out, "aac", AUDIO_RATE) if audio else None  # every stream exists before the first packet
        count = 0
        for count, img in enumerate(frames, 1):
            frame = av.VideoFrame.from_image(img)  # type: ignore[no-untyped-call]
            frame.pts = count - 1
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if sound is not None:
            mux_tone(out, sound, round(count / fps * AUDIO_RATE), tone_hz(prompt + look.text))
    return buf.getvalue()


AUDIO_RATE = 16_000  # a video's sound track (AAC)


def render_png_sequence(prompt: str, ratio: str | None, seconds: float, *, fps: int = 8, max_side: int = 320,
                        label: str = "", frames: Iterable[Image.Image] | None = None, look: Look = FIRST) -> bytes:
    """A zip of PNG frames named like the API's sequences (``frame.0001.png``, …)."""
    if frames is None:
        frames = caption_frames(prompt, ratio, seconds, fps=fps, max_side=max_side, label=label, look=look)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i, img in enumerate(frames, 1):
            png = io.BytesIO()
            img.save(png, format="PNG")
            z.writestr(f"frame.{i:04d}.png", png.getvalue())
    return buf.getvalue()


def render_image(prompt: str, ratio: str | None, *, max_side: int = 320, label: str = "",
                 fmt: str = "PNG", image: Image.Image | None = None, look: Look = FIRST) -> bytes:
    """One still of the requested ratio (a 16:9 frame when the ratio is not ``W:H``), as PNG,
    JPEG or WebP (Pillow format names): ``image`` when given, else the caption render."""
    img = image if image is not None else next(caption_frames(prompt, ratio, 0, fps=1, max_side=max_side,
                                                                label=label, look=look))
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def vary(frames: list[Image.Image], prompt: str, look: Look) -> list[Image.Image]:
    """Frames shaped by inputs (``derive``), made to look like one take among several: every
    frame but the first and the last (which show the inputs, so tests can check the wiring)
    is tinted a quarter of the way to the look's colour. Unchanged when ``look`` is empty."""
    if not look.text or len(frames) < 3:
        return frames
    tint = Image.new("RGB", frames[0].size, look_color(prompt, look))
    return [frames[0], *(Image.blend(f.convert("RGB"), tint, 0.25) for f in frames[1:-1]), frames[-1]]


def mark(img: Image.Image, prompt: str, look: Look) -> Image.Image:
    """A still shaped by an input (``derive``), marked as one take among several: a band of the
    look's colour along its top edge (an eighth of its height). Unchanged when ``look`` is empty."""
    if not look.text:
        return img
    out = img.convert("RGB").copy()
    ImageDraw.Draw(out).rectangle([0, 0, out.width, max(2, out.height // 8)], fill=look_color(prompt, look))
    return out


def media_seconds(data: bytes) -> float | None:
    """Length of an uploaded video or audio file, or None when it is not one."""
    return probe_seconds(io.BytesIO(data))
