"""What `plan` says a shot costs is what the API charges for it.

The emulator bills with its own hand-written price table (runner/emulator/prices.py), not
with the runner's pricing code, so a wrong figure or rule in either shows up here as
charged != planned. Each shot is planned with `runner plan --format json`, applied on the
emulator, and its task's charge read from the emulator.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from runner.emulator.audio import render_audio
from runner.emulator.media import render_video


def shot(sid: str, model: str, **fields: Any) -> dict[str, Any]:
    return {"id": sid, "model": model, **fields}


# One shot per pricing rule and model: lengths, audio off, resolution tiers (by `resolution`,
# `auto_<tier>` ratios and frame sizes at the tier edges), output formats (and the >4 MP
# figure), reference images, minimums, `auto`, and lengths that follow a probed clip.
SHOTS: list[dict[str, Any]] = [
    shot("gen45-text", "gen4.5", prompt="p", ratio="1280:720", duration=5),
    shot("gen45-prores", "gen4.5", prompt="p", ratio="720:1280", duration=7, output_format="prores"),
    shot("gen45-hdr10", "gen4.5", prompt="p", ratio="1280:720", duration=3, output_format="hdr10"),
    shot("gen45-image-hdr-prores", "gen4.5", image="assets/sneaker.png", prompt="p", ratio="960:960", duration=4,
         output_format="hdr_prores"),
    shot("gen45-takes", "gen4.5", prompt="p", ratio="1280:720", duration=2, takes=2),
    shot("turbo-default-length", "gen4_turbo", image="assets/day.png", prompt="p", ratio="1280:720"),
    shot("turbo-3s", "gen4_turbo", image="assets/day.png", prompt="p", ratio="832:1104", duration=3),
    shot("veo31-audio", "veo3.1", prompt="p", ratio="1920:1080", duration=4),
    shot("veo31-silent", "veo3.1", prompt="p", ratio="1280:720", duration=6, audio=False),
    shot("veo31fast-keyframes-silent", "veo3.1_fast", frames={"first": "assets/day.png", "last": "assets/night.png"},
         prompt="p", ratio="1280:720", duration=8, audio=False),
    shot("veo31fast-default-length", "veo3.1_fast", prompt="p", ratio="720:1280"),
    shot("veo3-legacy", "veo3", prompt="p", ratio="1280:720", duration=8),
    shot("seedance-480p", "seedance2", prompt="p", ratio="992:432", duration=5),
    shot("seedance-720p-wide", "seedance2", prompt="p", ratio="1470:630", duration=4),
    shot("seedance-1080p", "seedance2", prompt="p", ratio="1920:1080", duration=4),
    shot("seedance-1080p-wide", "seedance2", prompt="p", ratio="2206:946", duration=4),
    shot("seedance-4k", "seedance2", prompt="p", ratio="3840:2160", duration=4),
    shot("seedance-default-length", "seedance2", prompt="p", ratio="1280:720"),
    shot("seedance-auto", "seedance2", prompt="p", ratio="1280:720", duration="auto"),
    shot("seedance-references", "seedance2", references=[{"image": "assets/day.png"}, {"image": "assets/night.png"}],
         prompt="p", duration=4, audio=False),
    # Video-to-video on a model with a default length: billed at that default, not the clip's.
    shot("seedance-restyle-default-length", "seedance2", video="assets/clip.mp4", prompt="p"),
    shot("seedance-fast-restyle-6s", "seedance2_fast", video="assets/clip.mp4", duration=6),
    shot("seedance25-minimum", "seedance2_5", prompt="p", ratio="854:480", duration=3),
    shot("seedance25-1080p-mov", "seedance2_5", prompt="p", ratio="1920:1080", duration=5, output_format="mov"),
    shot("seedance25-auto", "seedance2_5", prompt="p", ratio="1280:720", duration="auto"),
    shot("seedance-fast", "seedance2_fast", prompt="p", ratio="1280:720", duration=6),
    shot("seedance-mini-minimum", "seedance2_mini", prompt="p", ratio="1280:720", duration=3),
    shot("seedance-mini-auto", "seedance2_mini", prompt="p", ratio="1280:720", duration="auto"),
    shot("aleph2-restyle", "aleph2", video="assets/clip.mp4", prompt="p"),
    shot("aleph2-prores", "aleph2", video="assets/clip.mp4", prompt="p", output_format="prores"),
    shot("aleph2-10bit-4k", "aleph2", video="assets/clip.mp4", prompt="p", ratio="3840:2160",
         output_format="sdr_rec709_10bit"),
    shot("aleph2-10bit-hd", "aleph2", video="assets/clip.mp4", prompt="p", ratio="1920:1080",
         output_format="sdr_rec709_10bit"),
    shot("gen4-aleph-legacy", "gen4_aleph", video="assets/clip.mp4", prompt="p"),
    shot("act-two", "act_two", character={"image": "assets/hero.png"}, performance="assets/actor.mp4"),
    shot("act-two-odd-length", "act_two", character={"image": "assets/hero.png"}, performance="assets/odd.mp4"),
    shot("aleph2-odd-length", "aleph2", video="assets/odd.mp4", prompt="p"),
    shot("act-two-video-character", "act_two", character={"video": "assets/clip.mp4"},
         performance="assets/actor.mp4", ratio="960:960"),
    shot("gemini-text", "gemini_omni_flash", prompt="p", ratio="1280:720", duration=6),
    shot("gemini-restyle", "gemini_omni_flash", video="assets/clip.mp4", prompt="p"),
    shot("gemini-first-frame", "gemini_omni_flash", image="assets/day.png", prompt="p", ratio="1280:720", duration=5),
    shot("grok-1080p", "grok_imagine_1_5", prompt="p", ratio="16:9", duration=5, params={"resolution": "1080p"}),
    shot("grok-480p-reference", "grok_imagine_1_5", references=[{"image": "assets/day.png"}], prompt="p",
         ratio="1:1", duration=4, params={"resolution": "480p"}),
    shot("grok-no-resolution", "grok_imagine_1_5", prompt="p", ratio="9:16", duration=3),
    shot("grok-start-frame", "grok_imagine_1_5", image="assets/day.png", prompt="p", duration=5,
         params={"resolution": "720p"}),
    shot("grok-lite-square-720", "grok_imagine_1_5_lite", prompt="p", ratio="720:720", duration=5),
    shot("grok-lite-480", "grok_imagine_1_5_lite", prompt="p", ratio="720:480", duration=5),
    shot("grok-lite-1080", "grok_imagine_1_5_lite", prompt="p", ratio="1152:1744", duration=5),
    shot("grok-lite-auto-1080", "grok_imagine_1_5_lite", image="assets/day.png", prompt="p", ratio="auto_1080p",
         duration=4),
    shot("h3-480p", "h3_max", prompt="p", duration=5, params={"resolution": "480p"}),
    shot("h3-768p", "h3_max", prompt="p", duration=5, params={"resolution": "768p"}),
    shot("hailuo-768p-upper", "hailuo3", prompt="p", ratio="16:9", duration=6, params={"resolution": "768P"}),
    shot("hailuo-references", "hailuo3", references=[{"image": "assets/day.png"}, {"image": "assets/night.png"}],
         prompt="p", ratio="16:9", duration=6, params={"resolution": "2k"}),
    shot("hailuo-restyle", "hailuo3", video="assets/clip.mp4", prompt="p", ratio="16:9"),
    shot("happyhorse-720p", "happyhorse_1_0", prompt="p", ratio="1108:832", duration=5),
    shot("happyhorse-1080p", "happyhorse_1_0", prompt="p", ratio="1662:1248", duration=5),
    shot("wan3-480p", "wan3", prompt="p", ratio="720:544", duration=5),
    shot("wan3-auto-1080p", "wan3", prompt="p", ratio="auto_1080p", duration=5),
    shot("wan3-prime-480p-odd", "wan3_prime", prompt="p", ratio="832:480", duration=3),
    shot("wan3-prime-1080p", "wan3_prime", prompt="p", ratio="1440:1440", duration=5),
    # Images: credits per image, the size tier from the model's list of ratios, not pixel counts
    # (1024:1024 is sold as 1080p, 1680:720 as 720p).
    shot("gen4-image-square-1080p", "gen4_image", prompt="p", ratio="1024:1024"),
    shot("gen4-image-wide-720p", "gen4_image", prompt="p", ratio="1680:720", takes=2),
    shot("gen4-image-references", "gen4_image", references=[{"image": "assets/day.png"}], prompt="p",
         ratio="1920:1080"),
    shot("gen4-image-turbo", "gen4_image_turbo", references=[{"image": "assets/day.png"}], prompt="p",
         ratio="720:720", seed=3),
    shot("gemini25-image", "gemini_2.5_flash", prompt="p", ratio="1024:1024"),
    # The copies' image tiers: seedream5_pro 1K / 2K (auto_ too), gemini_image3_pro 1K-2K / 4K.
    shot("seedream-lite", "seedream5_lite", prompt="p", ratio="2048:2048"),
    shot("seedream-pro-1k", "seedream5_pro", prompt="p", ratio="1296:864"),
    shot("seedream-pro-2k", "seedream5_pro", prompt="p", ratio="2048:2048"),
    shot("seedream-pro-auto-1k", "seedream5_pro", prompt="p", ratio="auto_1k"),
    shot("gemini3-2k", "gemini_image3_pro", prompt="p", ratio="3168:1344"),
    shot("gemini3-4k", "gemini_image3_pro", prompt="p", ratio="4096:4096"),
    # By quality and size: gpt_image_2 (default high; `auto` is 4K), grok_imagine_image_2 (default medium).
    shot("gpt-default", "gpt_image_2", prompt="p", ratio="2560:2560"),
    shot("gpt-low-4k", "gpt_image_2", prompt="p", ratio="3840:2160", params={"quality": "low"}),
    shot("gpt-auto-size", "gpt_image_2", prompt="p", ratio="auto", params={"quality": "medium"}),
    shot("grok-image-default", "grok_imagine_image_2", prompt="p", ratio="1408:704"),
    shot("grok-image-low-2k", "grok_imagine_image_2", prompt="p", ratio="auto_2k", params={"quality": "low"}),
    shot("grok-image-references", "grok_imagine_image_2", references=[{"image": "assets/day.png"},
                                                                      {"image": "assets/night.png"}],
         prompt="p", ratio="2048:2048"),
    # Per image by size (bria: 1 MP 5, 4 MP 10) or by quality (ideogram), from the SDK docstrings.
    shot("bria-1mp", "bria_fibo_1_5", prompt="p", ratio="1152:768"),
    shot("bria-4mp", "bria_fibo_1_5", prompt="p", ratio="2048:2048"),
    shot("ideogram40-low", "ideogram_4_0", prompt="p", params={"quality": "low"}),
    shot("ideogram40-no-quality", "ideogram_4_0", prompt="p"),
    shot("ideogram45-default", "ideogram_4_5", prompt="p", ratio="1024:1024"),
    shot("ideogram45-references", "ideogram_4_5", references=[{"image": "assets/day.png"}], prompt="p"),
    shot("ideogram45-very-low", "ideogram_4_5", references=[{"image": "assets/day.png"}], prompt="p",
         params={"quality": "very_low"}),
    shot("muse", "muse_image", prompt="p", ratio="1600:1600"),
    # Audio (Runway's API reference): speech per 50 characters, voice per seconds of input, a flat sound.
    shot("speech-101-chars", "eleven_multilingual_v2", prompt="x" * 101, voice="Rachel"),
    shot("isolate-12s", "eleven_voice_isolation", audio="assets/line.wav"),
    shot("dub-12s", "eleven_voice_dubbing", audio="assets/line.wav", params={"targetLang": "es"}),
    shot("revoice-12s", "eleven_multilingual_sts_v2", audio="assets/line.wav", voice="Rachel"),
    shot("sound", "eleven_text_to_sound_v2", prompt="a door slams", duration=3),
    # HDR (video_to_hdr): 20 credits per second of the input clip, every profile alike (SDK docstring).
    shot("ruby-hdr10", "ruby", video="assets/clip.mp4"),
    shot("ruby-exr-odd-length", "ruby", video="assets/odd.mp4", output_format="hdr_exr_sequence"),
]


def spec_text() -> str:
    return yaml.safe_dump({"version": 1, "name": "prices", "shots": SHOTS}, sort_keys=False)


def test_every_shot_is_charged_what_the_plan_said(write_spec, run, api) -> None:
    emu = api(video_fps=2, video_max_side=64)  # small outputs: this test is about credits
    spec = write_spec(spec_text())
    # A clip of 3.25 s: billing by its length needs a rounding rule (to a whole credit).
    (spec.parent / "assets" / "odd.mp4").write_bytes(render_video("odd", "1280:720", 3.25, fps=8, max_side=64))
    (spec.parent / "assets" / "line.wav").write_bytes(render_audio("a spoken line", 12.0, "wav"))
    planned = run(["plan", str(spec), "--format", "json"])
    assert planned.exit_code == 0, planned.stderr
    plan = {s["id"]: s for s in json.loads(planned.stdout)["shots"]}
    assert set(plan) == {s["id"] for s in SHOTS}
    applied = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--format", "json"])
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    state = json.loads(spec.with_name("spec.state.json").read_text())["shots"]
    tasks = emu.emulator.world.tasks

    wrong = []
    for sid in (s["id"] for s in SHOTS):
        for planned_take in plan[sid]["takes"]:
            take = state[sid]["takes"][planned_take["take"] - 1]
            task = tasks[take["task_id"]]
            bound = planned_take["credits"]
            assert bound is not None, f"{sid}: the plan has no price for a model the emulator prices"
            if plan[sid]["upper_bound"]:
                # `auto`: held at the plan's bound, charged for the length the model chose.
                ok = task.estimated == bound and task.final <= bound
            else:
                ok = task.estimated == task.final == bound
            if not ok:
                wrong.append(f"{sid} take {planned_take['take']} ({task.model} {task.endpoint}): planned {bound}, "
                             f"held {task.estimated}, charged {task.final}")
    assert wrong == []
    doc = json.loads(applied.stdout)
    assert doc["credits"]["charged"] == emu.stats["credits_charged"]


def test_auto_is_settled_below_the_bound_for_some_shots(write_spec, run, api) -> None:
    # seedance2 `auto` holds 15 s and the model picks 4..15 s: over a few takes the charge
    # is seen below the hold, and each charge is a whole number of seconds at 36 credits/s.
    emu = api(video_fps=2, video_max_side=64, seed=7)
    spec = write_spec("version: 1\nname: prices\nshots:\n  - id: a\n    model: seedance2\n    prompt: p\n"
                      "    ratio: '1280:720'\n    duration: auto\n    takes: 4\n")
    plan = json.loads(run(["plan", str(spec), "--format", "json"]).stdout)
    assert plan["summary"]["upper_bound"] is True and plan["summary"]["credits"] == 4 * 36 * 15
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--format", "json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    charges = [t.final for t in emu.emulator.world.tasks.values()]
    assert len(charges) == 4
    assert all(c % 36 == 0 and 4 * 36 <= c <= 15 * 36 for c in charges)
    assert min(charges) < 15 * 36
    assert json.loads(result.stdout)["credits"]["charged"] == sum(charges)


@pytest.mark.parametrize("model", ["kling3.0_pro", "gemini_omni_flash_1.1"])
def test_a_model_without_a_known_price_is_not_free_on_the_emulator(write_spec, run, api, model: str) -> None:
    # The runner cannot price it (plan: "price unknown"); the emulator bills its documented
    # flat default of 10 credits/s, and the runner reports what was charged, not what it planned.
    emu = api(video_fps=2, video_max_side=64)
    ratio = "1920:1080"
    spec = write_spec(f"version: 1\nname: prices\nshots:\n  - id: a\n    model: {model}\n    prompt: p\n"
                      f"    ratio: '{ratio}'\n    duration: 5\n")
    plan = json.loads(run(["plan", str(spec), "--format", "json"]).stdout)
    assert plan["shots"][0]["credits"] is None and plan["summary"]["unknown_cost"]
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--format", "json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert emu.stats["credits_charged"] == 50
    assert json.loads(result.stdout)["credits"]["charged"] == 50


def test_an_image_model_without_a_known_price_is_billed_per_image_on_the_emulator(write_spec, run, api) -> None:
    # nano_banana_2.1 has no published price: plan says unknown; the emulator bills its flat
    # default of 10 credits per image (not per second: an image has no length).
    emu = api(video_max_side=64)
    spec = write_spec("version: 1\nname: prices\nshots:\n  - id: a\n    model: nano_banana_2.1\n    prompt: p\n"
                      "    ratio: '1024:1024'\n    takes: 2\n")
    plan = json.loads(run(["plan", str(spec), "--format", "json"]).stdout)
    assert plan["shots"][0]["credits"] is None and plan["summary"]["unknown_cost"]
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--format", "json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert emu.stats["credits_charged"] == 20
    assert json.loads(result.stdout)["credits"]["charged"] == 20
