"""Takes of one shot, and different seeds, look different on the emulator (as generations do on
Runway), and the same take and seed look the same again: a review on the emulator compares
different pictures, and a test of "take 2 was used" can tell take 2 from take 1."""

from __future__ import annotations

import hashlib
import io
import itertools
from pathlib import Path

import av
from PIL import Image
from pixels import SAME, first_frame, mad

POLL = ["--poll-interval", "0.02"]
APART = 3 * SAME  # two pictures a person tells apart at a glance


def _middle_frame(path: Path) -> Image.Image:
    with av.open(str(path)) as container:
        frames = [f.to_image().convert("RGB") for f in container.decode(video=0)]
    return frames[len(frames) // 2]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_takes_of_one_shot_are_different_pictures_and_sounds(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec("""
        version: 1
        name: v
        shots:
          - id: keyart
            model: gen4_image
            prompt: key art of a cabin
            ratio: "1920:1080"
            takes: 3
          - id: clip
            model: gen4.5
            prompt: a lake at dawn
            ratio: "1280:720"
            duration: 2
            takes: 2
          - id: from-image
            model: gen4.5
            image: assets/day.png
            prompt: push in
            ratio: "1280:720"
            duration: 2
            takes: 2
          - id: sound
            model: eleven_text_to_sound_v2
            prompt: rain on a tin roof
            duration: 2
            takes: 2
        """)
    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 0, result.stdout + result.stderr
    out = tmp_path / "outputs" / "v"
    images = [out / "keyart" / f"{n}.png" for n in (1, 2, 3)]
    assert len({_sha(p) for p in images}) == 3
    for a, b in itertools.combinations(images, 2):
        assert mad(Image.open(a), Image.open(b)) > APART, (a.name, b.name)
    clips = [out / "clip" / f"{n}.mp4" for n in (1, 2)]
    assert mad(first_frame(clips[0]), first_frame(clips[1])) > APART
    # A video made from an image starts on that image in every take (the wiring stays testable)
    # and its takes differ after the first frame.
    day = Image.open(tmp_path / "assets" / "day.png")
    derived = [out / "from-image" / f"{n}.mp4" for n in (1, 2)]
    assert all(mad(first_frame(p), day) < SAME for p in derived)
    assert mad(_middle_frame(derived[0]), _middle_frame(derived[1])) > SAME
    sounds = [out / "sound" / f"{n}.mp3" for n in (1, 2)]
    assert _sha(sounds[0]) != _sha(sounds[1])


def _keyart(write_spec, seed: int | None, name: str) -> Path:
    seed_line = f"    seed: {seed}\n" if seed is not None else ""
    return write_spec(f"version: 1\nname: {name}\nshots:\n  - id: keyart\n    model: gen4_image\n"
                      f"    prompt: key art of a cabin\n    ratio: '1920:1080'\n{seed_line}", name=f"{name}.yaml")


def test_a_seed_and_a_take_give_the_same_picture_again(write_spec, run, api, tmp_path: Path) -> None:
    made: dict[str, bytes] = {}
    for name, seed in (("one", 1), ("two", 2), ("again", 1), ("none", None)):
        api()  # a fresh emulator each time: the same request is its first create there
        spec = _keyart(write_spec, seed, name)
        assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
        made[name] = (tmp_path / "outputs" / name / "keyart" / "1.png").read_bytes()
    assert made["one"] == made["again"]  # deterministic per seed
    pictures = {k: Image.open(io.BytesIO(v)) for k, v in made.items()}
    assert mad(pictures["one"], pictures["two"]) > APART
    assert mad(pictures["one"], pictures["none"]) > APART


def test_each_take_looks_like_itself_whatever_order_its_creates_come_in(write_spec, run, api, tmp_path) -> None:
    made = []
    for name in ("a", "b"):
        api(max_concurrent=3)  # a fresh emulator: the creates of the three takes race each other
        spec = write_spec("version: 1\nname: NAME\nshots:\n  - id: keyart\n    model: gen4_image\n"
                          "    prompt: key art\n    ratio: '1920:1080'\n    takes: 3\n".replace("NAME", name),
                          name=f"{name}.yaml")
        assert run(["apply", str(spec), "--yes", *POLL, "--parallelism", "3"]).exit_code == 0
        made.append([_sha(tmp_path / "outputs" / name / "keyart" / f"{n}.png") for n in (1, 2, 3)])
    assert made[0] == made[1]  # take n is the same picture on any emulator: runner names the take


def test_only_an_emulator_on_loopback_is_told_the_take(emulator) -> None:
    import asyncio

    from runner.engine.client import Client, Connection

    body = {"model": "gen4_image", "promptText": "key art", "ratio": "1920:1080"}

    async def create(loopback: bool, take: int) -> str:
        client = Client(Connection(emulator.base_url, "key", loopback=loopback))
        try:
            return (await client.create("text_to_image", dict(body), take=take)).task_id
        finally:
            await client.close()

    told = asyncio.run(create(True, 3))
    untold = asyncio.run(create(False, 3))  # as to the real API: no header
    tasks = emulator.emulator.world.tasks
    assert tasks[told].variant == 2
    assert tasks[untold].variant == 1  # the second create of this body, nothing more known
