"""Images as shots: text_to_image models validate, plan per image, apply on the emulator to a
verified still in outputs/<shot>/<take>.png, and show as <img> in the report."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from runner.inputs.media import verify_output

SPEC = """
version: 1
name: art
defaults: {duration: 5}            # a video default: image shots do not take it
shots:
  - id: poster
    model: gen4_image
    prompt: "a trail sneaker on a mossy rock"
    ratio: "1920:1080"
    takes: 2
  - id: square
    model: gen4_image
    prompt: "the same, square"
    ratio: "720:720"
  - id: beach
    model: gen4_image_turbo
    references: [{image: assets/sneaker.png}]
    prompt: "the sneaker on a beach"
    ratio: "1280:720"
"""


def test_image_spec_validates_and_plans_per_image(write_spec, run) -> None:
    spec = write_spec(SPEC)
    result = run(["validate", str(spec)])
    assert result.exit_code == 0, result.stderr
    assert "3 shots, 4 generations" in result.stdout
    plan = json.loads(run(["plan", str(spec), "--format", "json"]).stdout)
    credits = {s["id"]: s["credits"] for s in plan["shots"]}
    # gen4_image: 8 credits per 1080p image (2 takes), 5 per 720p image; gen4_image_turbo: 2 per image.
    assert credits == {"poster": 16, "square": 5, "beach": 2}
    assert plan["summary"]["credits"] == 23


def test_apply_makes_verified_pngs_of_the_requested_ratio(write_spec, run, api, tmp_path: Path) -> None:
    emu = api()
    spec = write_spec(SPEC)
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--format", "json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    out = tmp_path / "outputs" / "art"
    for shot, take, (w, h) in (("poster", 1, (16, 9)), ("poster", 2, (16, 9)), ("square", 1, (1, 1)),
                               ("beach", 1, (16, 9))):
        path = out / shot / f"{take}.png"
        with Image.open(path) as img:
            assert img.format == "PNG"
            assert abs(img.width / img.height - w / h) < 0.02
        assert verify_output(path, "image") is None
    state = json.loads(spec.with_name("spec.state.json").read_text())["shots"]
    assert state["poster"]["takes"][1]["output"] == "outputs/art/poster/2.png"
    # The reference image went up as an upload and reached the API as referenceImages.
    beach = next(t for t in emu.emulator.world.tasks.values() if t.model == "gen4_image_turbo")
    assert beach.endpoint == "text_to_image"
    assert [set(r) for r in beach.body["referenceImages"]] == [{"uri"}]
    assert beach.body["referenceImages"][0]["uri"].startswith("runway://")
    assert "duration" not in beach.body
    assert emu.stats["credits_charged"] == json.loads(result.stdout)["credits"]["charged"] == 23
    # Nothing changed: the next apply creates nothing.
    again = run(["plan", str(spec), "--detailed-exitcode"])
    assert again.exit_code == 0, again.stdout + again.stderr
    assert emu.stats["creates_total"] == 4


def test_report_shows_images_as_img(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec(SPEC)
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--select", "square"]).exit_code == 0
    out = tmp_path / "site" / "report.html"
    result = run(["report", str(spec), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    page = out.read_text()
    assert '<img src="../outputs/art/square/1.png"' in page
    assert "<video" not in page
    assert "img-src data: 'self' file:" in page


def test_output_format_picks_the_extension_and_the_file_type(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec("""
        version: 1
        name: art
        shots:
          - id: flat
            model: recraft_v4_1_flash
            prompt: "a flat fox"
            ratio: "1024:1024"
            output_format: webp
          - id: photo
            model: seedream5_pro
            prompt: "a photo of a fox"
            ratio: "2048:2048"
            output_format: jpeg
        """)
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02"])
    assert result.exit_code == 0, result.stdout + result.stderr
    with Image.open(tmp_path / "outputs" / "art" / "flat" / "1.webp") as img:
        assert img.format == "WEBP"
    with Image.open(tmp_path / "outputs" / "art" / "photo" / "1.jpg") as img:
        assert img.format == "JPEG"


def test_a_reference_image_on_a_private_address_is_refused_before_anything_is_sent(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec("""
        version: 1
        name: art
        shots:
          - id: poster
            model: gen4_image
            prompt: "key art"
            ratio: "1280:720"
            references:
              - image: "https://169.254.169.254/latest/meta-data/style.png"
        """)
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02"])
    assert result.exit_code == 1
    assert "spec.yaml:9:16: shot poster: references[0].image: IP address 169.254.169.254" in result.stderr
    assert emu.stats["creates_total"] == 0 and emu.stats["requests"] == {}


def _image(size: tuple[int, int], fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(buf, format=fmt)
    return buf.getvalue()


BAD_IMAGES = [
    pytest.param(lambda: b"<html>Access denied</html>", "", "not a readable image", id="an-error-page"),
    pytest.param(lambda: _image((64, 64))[:40], "", "not a readable image", id="truncated-png"),
    pytest.param(lambda: _image((1, 1)), "", "is 1x1 pixels", id="one-pixel"),
    pytest.param(lambda: _image((64, 64), "GIF"), "", "a GIF file, not a PNG, JPEG or WebP", id="gif"),
    pytest.param(lambda: _image((64, 64)), "text/html", "unexpected content type 'text/html'", id="html-type"),
]


@pytest.mark.parametrize(("data", "ctype", "why"), BAD_IMAGES)
def test_an_image_output_that_is_not_a_plausible_image_is_refused(data, ctype: str, why: str, tmp_path: Path) -> None:
    path = tmp_path / "download"
    path.write_bytes(data())
    problem = verify_output(path, "image", content_type=ctype, suffix=".png")
    assert problem is not None and why in problem


def test_models_lists_image_models_with_their_kind(run) -> None:
    result = run(["models", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    kinds = {m["model"]: m["kind"] for m in json.loads(result.stdout)}
    assert kinds["gen4_image"] == kinds["gemini_2.5_flash"] == "image"
    assert kinds["gen4.5"] == "video"
    table = run(["models"]).stdout
    assert "gen4_image_turbo" in table and "2/image" in table


def test_an_unpriced_image_model_is_blocked_under_a_cap_until_priced_per_image(write_spec, run, tmp_path: Path) -> None:
    spec = write_spec("""
        version: 1
        name: art
        budget: {max_credits: 100}
        shots:
          - id: poster
            model: nano_banana_2.1
            prompt: "key art"
            ratio: "1024:1024"
        """)
    result = run(["plan", str(spec)])
    assert result.exit_code == 1
    assert "spec.yaml:5:9: shot poster: model: nano_banana_2.1 has no known price" in result.stderr
    assert "(nano_banana_2.1: {credits_per_image: N})" in result.stderr
    prices = tmp_path / "prices.yaml"
    prices.write_text("nano_banana_2.1: {credits_per_image: 4}\n")
    priced = run(["plan", str(spec), "--prices", str(prices), "--format", "json"])
    assert priced.exit_code == 0, priced.stderr
    assert json.loads(priced.stdout)["summary"]["credits"] == 4


def test_a_reference_tag_reaches_the_api_and_a_bad_one_is_refused_at_its_line(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec("""
        version: 1
        name: art
        shots:
          - id: rock
            model: gen4_image
            prompt: "@shoe on a mossy rock"
            ratio: "1280:720"
            references:
              - {image: assets/sneaker.png, tag: shoe}
        """)
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02"])
    assert result.exit_code == 0, result.stdout + result.stderr
    (task,) = emu.emulator.world.tasks.values()
    assert [r["tag"] for r in task.body["referenceImages"]] == ["shoe"]

    bad = write_spec("""
        version: 1
        name: art
        shots:
          - id: rock
            model: gen4_image
            prompt: "@my-shoe on a rock"
            ratio: "1280:720"
            references:
              - {image: assets/sneaker.png, tag: my-shoe}
              - {video: assets/clip.mp4}
        """, name="bad.yaml")
    result = run(["validate", str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml:9:42: shot rock: references[0].tag: a tag is 3-16 letters, digits or underscores" in result.stderr
    assert "shot rock: references: gen4_image reference mode takes no video references" in result.stderr
    alone = write_spec("""
        version: 1
        name: art
        shots:
          - id: tag-alone
            model: gen4_image
            prompt: "x"
            ratio: "1280:720"
            references: [{tag: shoe}]
        """, name="alone.yaml")
    result = run(["validate", str(alone)])
    assert result.exit_code == 1
    assert "alone.yaml:8:18: shot tag-alone: references[0]: tag needs image beside it" in result.stderr
