"""The emulator's outputs show their inputs, so a test can check the wiring end to end: the
unmodified runwayml SDK (and `runner apply`) over loopback HTTP, decoded frames compared by
their pixels, not their bytes."""

from __future__ import annotations

import base64
import io
import struct
import time
import zlib
from pathlib import Path

import av
import httpx
import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat
from runwayml import RunwayML

from runner.emulator.media import caption_frames

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "specs" / "assets"
SAME = 8.0  # mean absolute difference per channel (0-255) of a frame and the image it shows, after H.264
APART = 40.0  # ... and of two images that are not the same picture

_OPEN: list[RunwayML] = []


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _OPEN:
        _OPEN.pop().close()


def client(emu) -> RunwayML:
    c = RunwayML(api_key="key_test", base_url=emu.base_url, max_retries=0)
    _OPEN.append(c)
    return c


def finished(c: RunwayML, task_id: str):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        task = c.tasks.retrieve(task_id)
        if task.status in ("SUCCEEDED", "FAILED", "CANCELLED"):
            assert task.status == "SUCCEEDED", task
            return task
        time.sleep(0.005)
    raise AssertionError(f"task {task_id} did not finish")


def output(c: RunwayML, task_id: str) -> bytes:
    response = httpx.get(finished(c, task_id).output[0])
    assert response.status_code == 200
    return response.content


def frames(data: bytes) -> list[Image.Image]:
    with av.open(io.BytesIO(data)) as container:
        return [f.to_image() for f in container.decode(video=0)]


def audio_seconds(data: bytes) -> float | None:
    """Length of the audio track (from its decoded samples), None without one."""
    with av.open(io.BytesIO(data)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        return sum(f.samples for f in container.decode(stream)) / stream.rate


def asset(name: str, size: tuple[int, int] = (320, 180)) -> Image.Image:
    """An input image as the emulator shows it: letterboxed onto the output frame."""
    with Image.open(ASSETS / name) as img:
        return ImageOps.pad(img.convert("RGB"), size, color=(0, 0, 0))


def mad(a: Image.Image, b: Image.Image, *, top: float = 1.0) -> float:
    """Mean absolute difference per channel; ``top`` compares only that fraction from the top
    (the bottom edge of a derived video's middle frames carries a moving bar)."""
    box = (0, 0, a.width, int(a.height * top))
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB").crop(box), b.convert("RGB").crop(box))).mean) / 3


def task_inputs(emu, task_id: str) -> dict[str, str]:
    return dict(emu.emulator.world.tasks[task_id].inputs)


def upload(c: RunwayML, path: Path) -> str:
    return c.uploads.create_ephemeral(file=path).uri


# --- images in, frames out ---------------------------------------------------------------


def test_an_image_to_video_output_starts_on_the_uploaded_image(emulator) -> None:
    c = client(emulator)
    created = c.image_to_video.create(model="gen4_turbo", prompt_image=upload(c, ASSETS / "day.png"),
                                      ratio="1280:720", duration=2, prompt_text="the cabin at noon")
    shown = frames(output(c, created.id))
    assert len(shown) == 16  # 2 s at the emulator's 8 fps
    assert mad(shown[0], asset("day.png")) < SAME
    assert mad(shown[0], asset("night.png")) > APART
    assert task_inputs(emulator, created.id) == {"promptImage": "upload"}


def test_first_and_last_keyframes_are_the_first_and_last_frames(emulator) -> None:
    c = client(emulator)
    created = c.image_to_video.create(
        model="veo3.1_fast", ratio="1280:720", duration=4, prompt_text="the cabin turns from day to night",
        prompt_image=[{"uri": upload(c, ASSETS / "day.png"), "position": "first"},
                      {"uri": upload(c, ASSETS / "night.png"), "position": "last"}])
    shown = frames(output(c, created.id))
    assert mad(shown[0], asset("day.png")) < SAME
    assert mad(shown[-1], asset("night.png")) < SAME
    assert mad(shown[-1], asset("day.png")) > APART
    middle = shown[len(shown) // 2]  # on the way from one to the other
    assert mad(middle, asset("day.png"), top=0.9) > SAME and mad(middle, asset("night.png"), top=0.9) > SAME


def test_an_image_of_another_aspect_is_letterboxed(emulator) -> None:
    c = client(emulator)
    created = c.image_to_video.create(model="gen4_turbo", prompt_image=upload(c, ASSETS / "hero.png"),
                                      ratio="1280:720", duration=2)
    first = frames(output(c, created.id))[0]
    assert mad(first, asset("hero.png")) < SAME  # portrait 360x640 centred in 320x180, black bars beside
    assert first.crop((0, 0, 60, 180)).convert("L").getextrema()[1] < 30


def test_a_data_uri_input_is_shown(emulator) -> None:
    c = client(emulator)
    data_uri = "data:image/png;base64," + base64.b64encode((ASSETS / "night.png").read_bytes()).decode()
    created = c.image_to_video.create(model="gen4_turbo", prompt_image=data_uri, ratio="1280:720", duration=2)
    assert mad(frames(output(c, created.id))[0], asset("night.png")) < SAME
    assert task_inputs(emulator, created.id) == {"promptImage": "data URI"}


def test_an_https_input_is_not_fetched_and_the_caption_render_is_recorded(emulator) -> None:
    c = client(emulator)
    created = c.image_to_video.create(model="gen4_turbo", prompt_image="https://example.com/day.png",
                                      ratio="1280:720", duration=2, prompt_text="from the web")
    first = frames(output(c, created.id))[0]
    caption = next(caption_frames("from the web", "1280:720", 2, fps=8, max_side=320, label="gen4_turbo"))
    assert mad(first, caption) < SAME
    assert task_inputs(emulator, created.id)["promptImage"].startswith("not fetched: the emulator has no network")


def test_an_image_task_shows_its_first_reference(emulator) -> None:
    c = client(emulator)
    created = c.text_to_image.create(model="gen4_image", ratio="1920:1080", prompt_text="@day in a new light",
                                     reference_images=[{"uri": upload(c, ASSETS / "day.png"), "tag": "day"},
                                                       {"uri": upload(c, ASSETS / "night.png"), "tag": "night"}])
    with Image.open(io.BytesIO(output(c, created.id))) as img:
        assert img.format == "PNG" and img.size == (320, 180)
        assert mad(img, asset("day.png")) < 2  # lossless: only the resize differs
        assert mad(img, asset("night.png")) > APART


# --- a video in, a video out -------------------------------------------------------------


def clip(path: Path, colours: list[tuple[int, int, int]], fps: int = 12) -> Path:
    """A 640x360 clip showing each colour for one frame, with a white square that moves."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for i, colour in enumerate(colours):
            img = Image.new("RGB", (640, 360), colour)
            img.paste((255, 255, 255), (i * 10, 40, i * 10 + 80, 120))
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_video_to_video_shows_its_input_clip_retimed_with_keyframes(emulator, tmp_path: Path) -> None:
    colours = [(200 - 5 * i, 40, 5 * i + 20) for i in range(36)]  # 3 s at 12 fps, red turning blue
    source = clip(tmp_path / "in.mp4", colours)
    with av.open(str(source)) as container:
        given = [f.to_image().resize((320, 180)) for f in container.decode(video=0)]
    c = client(emulator)
    created = c.video_to_video.create(model="aleph2", video_uri=upload(c, source), prompt_text="keep it",
                                      keyframes=[{"uri": upload(c, ASSETS / "day.png"), "at": 0.5}])
    shown = frames(output(c, created.id))
    assert len(shown) == 24  # the input's 3 s at the emulator's 8 fps
    assert mad(shown[0], given[0]) < SAME and mad(shown[-1], given[-1]) < SAME
    assert mad(shown[-1], given[0]) > SAME  # the clip plays, it is not one still
    assert mad(shown[round(0.5 * 23)], asset("day.png")) < SAME
    assert set(task_inputs(emulator, created.id).values()) == {"upload"}


def test_act_two_starts_on_its_character_image_for_the_performance_s_length(emulator) -> None:
    c = client(emulator)
    created = c.character_performance.create(
        model="act_two", ratio="1280:720", character={"type": "image", "uri": upload(c, ASSETS / "hero.png")},
        reference={"type": "video", "uri": upload(c, ASSETS / "actor.mp4")})
    shown = frames(output(c, created.id))
    assert len(shown) == 32  # actor.mp4 is 4 s
    assert mad(shown[0], asset("hero.png")) < SAME


def test_an_image_sequence_output_shows_the_same_frames(emulator) -> None:
    import zipfile

    c = client(emulator)
    created = c.image_to_video.create(model="gen4.5", prompt_image=upload(c, ASSETS / "day.png"), ratio="1280:720",
                                      duration=2, prompt_text="frames", output_format="png_sequence")
    with zipfile.ZipFile(io.BytesIO(output(c, created.id))) as z:
        names = sorted(z.namelist())
        assert len(names) == 16
        with Image.open(io.BytesIO(z.read(names[0]))) as first:
            assert mad(first, asset("day.png")) < 2  # PNG frames are lossless


# --- sound --------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "audio", "expected"), [
    pytest.param("veo3.1_fast", True, 4.0, id="asked-for"),
    pytest.param("veo3.1_fast", False, None, id="turned-off"),
    pytest.param("veo3.1_fast", None, 4.0, id="the-model-makes-sound"),
    pytest.param("gen4_turbo", None, None, id="the-model-is-silent"),
])
def test_audio_true_gives_a_track_as_long_as_the_video(emulator, model: str, audio: bool | None,
                                                       expected: float | None) -> None:
    c = client(emulator)
    extra = {} if audio is None else {"audio": audio}
    created = c.image_to_video.create(model=model, prompt_image=upload(c, ASSETS / "day.png"), ratio="1280:720",
                                      duration=4, prompt_text="a bell rings", **extra)
    data = output(c, created.id)
    seconds = audio_seconds(data)
    if expected is None:
        assert seconds is None
    else:
        assert seconds == pytest.approx(expected, abs=0.1)
    assert len(frames(data)) == 32


# --- hostile inputs -----------------------------------------------------------------------


def _png(width: int, height: int, payload: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", payload) + chunk(b"IEND", b"")


HOSTILE = [
    # 20000 x 20000 RGB would be 1.2 GB decoded: a 1 MB row of zeros compresses to a kilobyte.
    pytest.param(lambda: _png(20000, 20000, zlib.compress(b"\0" * 1_000_000, 9)), id="png-bomb"),
    pytest.param(lambda: _png(5000, 5000, zlib.compress(b"\0" * 1_000_000, 9)), id="png-above-our-limit"),
    pytest.param(lambda: (ASSETS / "day.png").read_bytes()[:1200], id="truncated-png"),
    pytest.param(lambda: b"\x89PNG\r\n\x1a\n" + b"\xff" * 500, id="garbage-png"),
    pytest.param(lambda: b"<svg xmlns='http://www.w3.org/2000/svg'/>", id="not-an-image-format"),
]


@pytest.mark.parametrize("content", HOSTILE)
def test_a_hostile_upload_falls_back_and_the_server_keeps_serving(emulator, tmp_path: Path, content) -> None:
    c = client(emulator)
    bad = tmp_path / "bad.png"
    bad.write_bytes(content())
    created = c.image_to_video.create(model="gen4_turbo", prompt_image=upload(c, bad), ratio="1280:720",
                                      duration=2, prompt_text="hostile")
    first = frames(output(c, created.id))[0]
    caption = next(caption_frames("hostile", "1280:720", 2, fps=8, max_side=320, label="gen4_turbo"))
    assert mad(first, caption) < SAME
    assert task_inputs(emulator, created.id)["promptImage"].startswith("unreadable: ")
    after = c.image_to_video.create(model="gen4_turbo", prompt_image=upload(c, ASSETS / "day.png"),
                                    ratio="1280:720", duration=2)
    assert mad(frames(output(c, after.id))[0], asset("day.png")) < SAME


def _huge_clip(path: Path) -> Path:
    """Two 4000x2400 frames: above the emulator's frame-size limit, a few kilobytes on disk."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 4000, 2400, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for _ in range(2):
            for packet in stream.encode(av.VideoFrame.from_image(Image.new("RGB", (4000, 2400)))):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize(("make", "why"), [
    pytest.param(lambda p: p.write_bytes((ASSETS / "clip.mp4").read_bytes()[:3000]), "unreadable: ", id="truncated"),
    pytest.param(_huge_clip, "unreadable: ValueError: 4000x2400 video frames are above the limit", id="huge-frames"),
])
def test_a_hostile_input_clip_falls_back(emulator, tmp_path: Path, make, why: str) -> None:
    c = client(emulator)
    bad = tmp_path / "bad.mp4"
    make(bad)
    created = c.video_to_video.create(model="aleph2", video_uri=upload(c, bad), prompt_text="broken")
    seconds = emulator.emulator.world.tasks[created.id].seconds  # the clip's length, else 5 s
    caption = next(caption_frames("broken", "1280:720", seconds, fps=8, max_side=320, label="aleph2"))
    assert mad(frames(output(c, created.id))[0], caption) < SAME
    assert task_inputs(emulator, created.id)["videoUri"].startswith(why)


# --- end to end through runner apply --------------------------------------------------------


def test_apply_wires_a_spec_s_frames_and_audio_into_the_video(write_spec, run, api) -> None:
    api()
    spec = write_spec("""
        version: 1
        name: wiring
        shots:
          - id: day-to-night
            model: veo3.1_fast
            frames: {first: assets/day.png, last: assets/night.png}
            prompt: "the cabin turns from day to night"
            ratio: "1280:720"
            duration: 4
            audio: false
          - id: hero
            model: veo3.1_fast
            image: assets/hero.png
            prompt: "the hero turns"
            ratio: "1280:720"
            duration: 4
            audio: true
    """)
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02"])
    assert result.exit_code == 0, result.stderr
    outputs = spec.parent / "outputs" / "wiring"
    day_to_night = (outputs / "day-to-night" / "1.mp4").read_bytes()
    shown = frames(day_to_night)
    assert mad(shown[0], asset("day.png")) < SAME and mad(shown[-1], asset("night.png")) < SAME
    assert audio_seconds(day_to_night) is None
    hero = (outputs / "hero" / "1.mp4").read_bytes()
    assert mad(frames(hero)[0], asset("hero.png")) < SAME
    assert audio_seconds(hero) == pytest.approx(4.0, abs=0.1)


def _text_mask(prompt: str) -> Image.Image:
    """The caption's pure white pixels in the first frame: the background and the label are never white, and
    the threshold leaves out the anti-aliased edges, whose shade follows the prompt's own background colour."""
    frame = next(caption_frames(prompt, "1280:720", 1, fps=1, max_side=320, label=""))
    return frame.convert("L").point(lambda v: 255 if v > 252 else 0).convert("1")


def test_captions_draw_accented_letters_not_missing_glyph_boxes() -> None:
    """"São Paulo" shows an ã: not the box of a glyph the font lacks (U+E000, private use, is in
    no font), and not a plain a (the tilde is there)."""
    sao = _text_mask("São Paulo")
    assert ImageChops.difference(sao, _text_mask("S\ue000o Paulo")).getbbox() is not None, "ã drawn as a box"
    tilde = ImageChops.difference(sao, _text_mask("Sao Paulo")).getbbox()
    assert tilde is not None and tilde[3] - tilde[1] < 12, "the ã should differ from an a by its tilde only"
    for word in ("Zürich", "Kraków", "Москва", "Ελλάδα", "Hà Nội"):
        assert ImageChops.difference(_text_mask(word), _text_mask("\ue000" * len(word))).getbbox() is not None
