"""What a finished task's output URL serves, chosen by the kind of file its endpoint makes.

The endpoint registry (``runner.catalog.endpoints``, ``ENDPOINTS[name].output``) says
whether an endpoint produces video, image or audio; ``RENDERERS`` maps that kind to the
function that makes such a file and the content type it is served with. Only the kinds
some endpoint produces have a renderer: an image or audio endpoint adds one line here.
What a file shows follows the request's inputs where the emulator can read them
(``derive``: a video starts on its image, an image shows its reference), else the prompt.
Audio is a tone (``emulator.audio``) of the task's
length; an upscaled image is a still at ``scaleFactor`` times the emulator's frame size.

Takes differ as generations do: the n-th create of one request body (and its ``seed``) has a
``Look`` of its own (``sim.Task.look``): another colour for a caption render, a tint after the
first frame of a video shaped by inputs, a band on a still shaped by one, another pitch for a
sound. The first create of an unseeded body renders exactly as before. Upscales are the same
picture whatever the take, as an upscaler's are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from runner.catalog.endpoints import ENDPOINTS, OutputKind, output_extension
from runner.emulator import derive, media
from runner.emulator.audio import CONTENT_TYPES, render_audio
from runner.emulator.config import EmulatorConfig
from runner.emulator.media import render_image, render_png_sequence, render_video
from runner.emulator.sim import Task


@dataclass(frozen=True)
class Renderer:
    content_type: str
    render: Callable[[Task, EmulatorConfig], bytes]


def _ratio(task: Task) -> str:
    return str(task.body.get("ratio") or "1280:720")


def _derived_frames(task: Task, config: EmulatorConfig) -> list[Image.Image] | None:
    """The frames the task's inputs shape (``derive``), or None for the caption render."""
    size = media.frame_size(_ratio(task), config.video_max_side)
    fps, side = config.video_fps, config.video_max_side
    frames = derive.video_frames(task, size, media.frame_count(task.seconds, fps), lambda: media.caption_frames(
        task.prompt, _ratio(task), task.seconds, fps=fps, max_side=side, label=task.model, look=task.look))
    return None if frames is None else media.vary(frames, task.prompt, task.look)


def _video(task: Task, config: EmulatorConfig) -> bytes:
    video = render_video(task.prompt, _ratio(task), task.seconds, fps=config.video_fps,
                         max_side=config.video_max_side, label=task.model, frames=_derived_frames(task, config),
                         audio=derive.has_audio(task), look=task.look)
    if task.pad_to > len(video):  # an mp4 may carry trailing free space; players ignore it
        video += _free_box(task.pad_to - len(video))
    return video


def _frames_zip(task: Task, config: EmulatorConfig) -> bytes:
    return render_png_sequence(task.prompt, _ratio(task), task.seconds, fps=config.video_fps,
                               max_side=config.video_max_side, label=task.model, frames=_derived_frames(task, config),
                               look=task.look)


def _image(task: Task, config: EmulatorConfig) -> bytes:
    fmt = IMAGE_FORMATS[output_extension(task.endpoint, task.body)][1]
    image = derive.still(task, media.frame_size(_ratio(task), config.video_max_side))
    return render_image(task.prompt, _ratio(task), max_side=config.video_max_side, label=task.model, fmt=fmt,
                        image=None if image is None else media.mark(image, task.prompt, task.look), look=task.look)


def _upscaled(task: Task, config: EmulatorConfig) -> bytes:
    """An image_upscale output: its input image (``derive``) ``scaleFactor`` (default 2) times
    larger, so a test sees which image was upscaled; a caption still at that factor of the
    emulator's frame size when the input is not readable here (an https URL)."""
    fmt = IMAGE_FORMATS[output_extension(task.endpoint, task.body)][1]
    factor = task.body.get("scaleFactor")
    factor = factor if isinstance(factor, int) and not isinstance(factor, bool) and factor > 0 else 2
    source = derive.input_image(task)
    if source is None:
        side = min(config.video_max_side * factor, UPSCALE_SIDE_MAX)
        return render_image(task.prompt or task.model, "16:9", max_side=side, label=task.model, fmt=fmt)
    shrink = min(1.0, UPSCALE_SIDE_MAX / (max(source.size) * factor))
    size = (max(1, round(source.width * factor * shrink)), max(1, round(source.height * factor * shrink)))
    return render_image(task.prompt, None, fmt=fmt, image=source.convert("RGB").resize(size, Image.Resampling.BICUBIC))


# Upscaled stills stay well inside what verify_output accepts (16,384 a side) and quick to draw.
UPSCALE_SIDE_MAX = 4096
# Speech runs at about 15 characters a second: the emulator's spoken line lasts that long.
SPEECH_CHARS_PER_SECOND = 15


def _audio(task: Task, config: EmulatorConfig) -> bytes:
    seconds = task.seconds
    if task.endpoint == "text_to_speech":  # billed per character: the length follows the text
        seconds = max(1.0, len(task.prompt) / SPEECH_CHARS_PER_SECOND)
    return render_audio(task.prompt or task.model, seconds, output_extension(task.endpoint, task.body), task.look.text)


# An image task's file by its extension (outputFormat, else png): content type, Pillow format.
IMAGE_FORMATS = {"png": ("image/png", "PNG"), "jpg": ("image/jpeg", "JPEG"), "webp": ("image/webp", "WEBP")}

RENDERERS: dict[OutputKind, Renderer] = {
    "video": Renderer("video/mp4", _video),
    "image": Renderer("image/png", _image),
    "audio": Renderer("audio/mpeg", _audio),
}
# Image-sequence output formats (``outputFormat: png_sequence`` and the HDR sequences) come
# as a zip of frames, whatever the endpoint's kind; the emulator draws PNG frames for all of them.
SEQUENCE = Renderer("application/zip", _frames_zip)


def kind_of(task: Task) -> OutputKind:
    return ENDPOINTS[task.endpoint].output


def renderer(task: Task) -> Renderer:
    """How ``task``'s output is made and served."""
    ext = output_extension(task.endpoint, task.body)
    if ext == "zip":
        return SEQUENCE
    if kind_of(task) == "image":
        return Renderer(IMAGE_FORMATS[ext][0], _upscaled if task.endpoint == "image_upscale" else _image)
    if kind_of(task) == "audio":
        return Renderer(CONTENT_TYPES.get(ext, "audio/mpeg"), _audio)
    return RENDERERS[kind_of(task)]


def file_name(task: Task, index: int) -> str:
    """The last part of an output URL's path, e.g. ``0.mp4`` (``0.zip`` for a frame sequence)."""
    return f"{index}.{output_extension(task.endpoint, task.body)}"


def _free_box(size: int) -> bytes:
    """An ISO-BMFF 'free' box of ``size`` bytes (size >= 8)."""
    size = max(size, 8)
    return size.to_bytes(4, "big") + b"free" + b"\0" * (size - 8)
