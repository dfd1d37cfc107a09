"""Exact credits per cost rule, from the model catalog's pricing data.

Each table pins one rule of ``runner.catalog.pricing`` at its edges (the exact pixel limit
and one pixel above it, the minimum and one second either side, ...), so that a changed
comparison, constant or operator there changes a number a user would be charged or shown.
``tools/mutation pricing`` measures how many such changes these tests notice.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from runner.catalog.models import ModelInfo, catalog
from runner.catalog.pricing import Cost, cost_of, generation_seconds, load_prices, resolution_tier
from runner.errors import RunnerError
from runner.inputs.media import probe_seconds

ROOT = Path(__file__).resolve().parent.parent


def model(name: str, *, pricing: dict[str, Any] | None = None, defaults: dict[str, Any] | None = None) -> ModelInfo:
    """A catalog model, optionally with other prices or request defaults (as a price file or
    another model file would give it)."""
    info = catalog()[name]
    return dataclasses.replace(info, pricing={**info.pricing, **(pricing or {})},
                               request_defaults=info.request_defaults if defaults is None else defaults)


def credits(name: str, body: dict[str, Any], **kw: Any) -> int | None:
    return cost_of(catalog()[name], {"model": name, **body}, **kw).credits


@pytest.mark.parametrize(
    ("model", "body", "credits", "upper"),
    [
        pytest.param("gen4.5", {"duration": 5, "ratio": "1280:720"}, 60, False, id="gen4.5-12/s"),
        pytest.param("gen4.5", {"duration": 10, "ratio": "1280:720", "outputFormat": "prores"}, 170, False,
                     id="gen4.5-prores-surcharge"),
        pytest.param("gen4_turbo", {"duration": 5}, 25, False, id="gen4_turbo-5/s"),
        pytest.param("gen4_turbo", {}, 50, False, id="gen4_turbo-default-10s"),
        pytest.param("seedance2", {"duration": 6, "ratio": "1280:720"}, 216, False, id="seedance2-36/s"),
        pytest.param("seedance2", {"duration": 6, "ratio": "1920:1080"}, 240, False, id="seedance2-1080p-40/s"),
        pytest.param("seedance2", {"duration": "auto", "ratio": "1280:720"}, 540, True, id="seedance2-auto-max"),
        pytest.param("veo3.1", {"duration": 8}, 320, False, id="veo3.1-audio-40/s"),
        pytest.param("veo3.1", {"duration": 8, "audio": False}, 160, False, id="veo3.1-no-audio-20/s"),
        pytest.param("veo3.1_fast", {"duration": 6}, 90, False, id="veo3.1_fast-audio-15/s"),
        pytest.param("veo3.1_fast", {"duration": 6, "audio": False}, 60, False, id="veo3.1_fast-no-audio-10/s"),
        pytest.param("veo3", {"duration": 8}, 320, False, id="veo3-legacy-40/s"),
        pytest.param("seedance2_mini", {"duration": 2}, 64, False, id="minimum-credits"),
    ],
)
def test_credits(model: str, body: dict, credits: int, upper: bool) -> None:
    cost = cost_of(catalog()[model], {"model": model, **body})
    assert (cost.credits, cost.upper_bound) == (credits, upper)


# --- resolution tiers ----------------------------------------------------------------------
# wan3: 480p 5/s, 720p 10/s, 1080p 20/s, no 4k tier, base 10/s. seedance2 adds 4k at 150/s.
# A tier covers sizes up to and including its pixel limit: 480p 500,000; 720p 1,100,000;
# 1080p 2,300,000; above that 4k (or the base price when the model has no 4k tier).

@pytest.mark.parametrize(
    ("model", "ratio", "credits"),
    [
        pytest.param("wan3", "1000:500", 50, id="480p-at-500000px"),
        pytest.param("wan3", "166667:3", 100, id="720p-at-500001px"),
        pytest.param("wan3", "832:480", 50, id="480p-832x480"),
        pytest.param("wan3", "1100:1000", 100, id="720p-at-1100000px"),
        pytest.param("wan3", "1069:1029", 200, id="1080p-at-1100001px"),
        pytest.param("wan3", "1280:720", 100, id="720p-1280x720"),
        pytest.param("wan3", "2300:1000", 200, id="1080p-at-2300000px"),
        pytest.param("wan3", "69697:33", 100, id="no-4k-tier-at-2300001px-base-price"),
        pytest.param("wan3", "1920:1080", 200, id="1080p-1920x1080"),
        pytest.param("seedance2", "2300:1000", 400, id="seedance2-1080p-at-2300000px"),
        pytest.param("seedance2", "69697:33", 1500, id="seedance2-4k-at-2300001px"),
        pytest.param("seedance2", "3840:2160", 1500, id="seedance2-4k-3840x2160"),
        pytest.param("wan3", "100:100", 50, id="smallest-size-10000px-is-a-size"),
        pytest.param("wan3", "99:101", 100, id="9999px-is-an-aspect-ratio-base-price"),
        pytest.param("wan3", "16:9", 100, id="aspect-16:9-base-price"),
        pytest.param("wan3", "auto_480p", 50, id="auto_480p"),
        pytest.param("wan3", "auto_720p", 100, id="auto_720p"),
        pytest.param("wan3", "auto_1080p", 200, id="auto_1080p"),
        pytest.param("wan3", "auto_1080P", 200, id="auto-tier-name-any-case"),
        pytest.param("wan3", "auto_4k", 100, id="auto-unknown-tier-base-price"),
        pytest.param("wan3", "adaptive", 100, id="not-a-size-base-price"),
        pytest.param("wan3", "1280:720:1", 100, id="malformed-size-base-price"),
    ],
)
def test_resolution_tier_by_ratio(model: str, ratio: str, credits: int) -> None:
    assert cost_of(catalog()[model], {"model": model, "duration": 10, "ratio": ratio}).credits == credits


@pytest.mark.parametrize(
    ("model", "body", "credits"),
    [
        pytest.param("grok_imagine_1_5", {"ratio": "16:9"}, 80, id="aspect-only-base-16/s"),
        pytest.param("grok_imagine_1_5", {"ratio": "16:9", "resolution": "480p"}, 50, id="resolution-480p-10/s"),
        pytest.param("grok_imagine_1_5", {"ratio": "16:9", "resolution": "1080p"}, 145, id="resolution-1080p-29/s"),
        pytest.param("hailuo3", {"ratio": "16:9", "resolution": "768p"}, 50, id="hailuo3-768p-10/s"),
        pytest.param("hailuo3", {"ratio": "16:9", "resolution": "2K"}, 75, id="hailuo3-2K-upper-case-15/s"),
        pytest.param("hailuo3", {"ratio": "16:9", "resolution": "768P"}, 50, id="hailuo3-768P-upper-case"),
        pytest.param("happyhorse_1_0", {"resolution": "1080P"}, 150, id="happyhorse-1080P-30/s"),
        pytest.param("happyhorse_1_0", {"ratio": "1920:1080", "resolution": "720p"}, 75,
                     id="resolution-field-wins-over-the-ratio"),
        pytest.param("happyhorse_1_0", {"ratio": "1280:720", "resolution": "4k"}, 75,
                     id="unknown-resolution-falls-back-to-the-ratio"),
        pytest.param("h3_max", {"resolution": "768p"}, 40, id="h3_max-768p-8/s"),
        pytest.param("h3_max", {"resolution": "720p"}, 40, id="h3_max-no-such-tier-base-8/s"),
    ],
)
def test_resolution_field(model: str, body: dict, credits: int) -> None:
    assert cost_of(catalog()[model], {"model": model, "duration": 5, **body}).credits == credits


@pytest.mark.parametrize(
    ("ratio", "resolution", "tier"),
    [
        pytest.param("1280:720", None, "720p", id="size"),
        pytest.param("1280:720", "480P", "480p", id="resolution-lower-cased"),
        pytest.param("3840:2160", None, "4k", id="4k"),
        pytest.param("16:9", None, None, id="aspect"),
        pytest.param(None, None, None, id="nothing"),
        pytest.param("", "", None, id="empty"),
        pytest.param("auto_720p", None, "720p", id="auto"),
    ],
)
def test_resolution_tier_names(ratio: str | None, resolution: str | None, tier: str | None) -> None:
    tiers = {"480p": 1, "720p": 2, "1080p": 3, "4k": 4}
    assert resolution_tier(ratio, resolution, tiers) == tier


# --- output format surcharges --------------------------------------------------------------
# gen4.5 12/s: +5/s prores, png_sequence; +20/s HDR and 10-bit formats. aleph2 28/s:
# sdr_rec709_10bit +20/s, or +40/s above 4 megapixels (4,000,000 px is not above).

@pytest.mark.parametrize(
    ("model", "fmt", "ratio", "credits"),
    [
        pytest.param("gen4.5", "mp4", "1280:720", 60, id="gen4.5-mp4-no-surcharge"),
        pytest.param("gen4.5", "prores", "1280:720", 85, id="gen4.5-prores+5"),
        pytest.param("gen4.5", "png_sequence", "1280:720", 85, id="gen4.5-png_sequence+5"),
        pytest.param("gen4.5", "hdr10", "1280:720", 160, id="gen4.5-hdr10+20"),
        pytest.param("gen4.5", "hdr_exr_acescg_sequence_2_0", "1584:672", 160, id="gen4.5-exr+20"),
        pytest.param("aleph2", "sdr_rec709_10bit", "2000:2000", 240, id="aleph2-10bit-at-4MP+20"),
        pytest.param("aleph2", "sdr_rec709_10bit", "97561:41", 340, id="aleph2-10bit-above-4MP+40"),
        pytest.param("aleph2", "sdr_rec709_10bit", "3840:2160", 340, id="aleph2-10bit-3840x2160+40"),
        pytest.param("aleph2", "sdr_rec709_10bit", "1280:720", 240, id="aleph2-10bit-1280x720+20"),
        pytest.param("aleph2", "prores", "3840:2160", 165, id="aleph2-prores-above-4MP-has-no-4MP-rate+5"),
        pytest.param("aleph2", "mp4", "3840:2160", 140, id="aleph2-mp4-no-surcharge"),
        pytest.param("aleph2", "sdr_rec709_10bit", None, 240, id="aleph2-no-ratio-+20"),
    ],
)
def test_output_format_surcharge(model: str, fmt: str, ratio: str | None, credits: int) -> None:
    body = {"model": model, "duration": 5, "outputFormat": fmt, **({"ratio": ratio} if ratio else {})}
    assert cost_of(catalog()[model], body).credits == credits


def test_surcharge_tables_may_lack_the_4mp_figure() -> None:
    info = model("gen4.5", pricing={"output_format_surcharge": {"per_second": {"prores": 5}}})
    assert cost_of(info, {"duration": 5, "ratio": "3840:2160", "outputFormat": "prores"}).credits == 85


def test_output_format_on_a_model_without_surcharges_costs_nothing_extra() -> None:
    assert credits("veo3", {"duration": 8, "outputFormat": "mp4"}) == 320


# --- reference images ----------------------------------------------------------------------

REF = {"uri": "https://cdn.example.com/ref.png"}


@pytest.mark.parametrize(
    ("model", "refs", "credits"),
    [
        pytest.param("grok_imagine_1_5", None, 80, id="grok-no-references"),
        pytest.param("grok_imagine_1_5", [], 80, id="grok-empty-list"),
        pytest.param("grok_imagine_1_5", [REF], 81, id="grok-1-reference+1"),
        pytest.param("grok_imagine_1_5", [REF] * 3, 83, id="grok-3-references+3"),
        pytest.param("hailuo3", [REF] * 3, 81, id="hailuo3-3-references+2-each"),
        pytest.param("gemini_omni_flash", [REF, REF], 52, id="gemini-2-references"),
        pytest.param("grok_imagine_1_5", {**REF, "tag": "hero"}, 81, id="a-single-reference-not-in-a-list-counts-once"),
        pytest.param("veo3.1", [REF] * 3, 200, id="no-per-reference-price"),
    ],
)
def test_per_reference_image(model: str, refs: Any, credits: int) -> None:
    body: dict[str, Any] = {"model": model, "duration": 5, "ratio": "16:9"}
    if refs is not None:
        body["references"] = refs
    assert cost_of(catalog()[model], body).credits == credits


# --- start frames and per-endpoint rates (the copies' rules) ---------------------------------

@pytest.mark.parametrize(
    ("model", "frames", "credits"),
    [
        pytest.param("grok_imagine_1_5", None, 80, id="grok-no-start-frame"),
        pytest.param("grok_imagine_1_5", "", 80, id="grok-empty-start-frame"),
        pytest.param("grok_imagine_1_5", [], 80, id="grok-empty-list"),
        pytest.param("grok_imagine_1_5", "https://cdn.example.com/a.png", 81, id="grok-a-uri-is-one-frame+1"),
        pytest.param("grok_imagine_1_5", [{**REF, "position": "first"}], 81, id="grok-a-list-of-one+1"),
        pytest.param("gemini_omni_flash", [{**REF, "position": "first"}], 51, id="gemini-first-frame+1"),
        pytest.param("grok_imagine_1_5_lite", [{**REF, "position": "first"}], 16, id="lite-first-frame+1"),
        pytest.param("wan3", [{**REF, "position": "first"}, {**REF, "position": "last"}], 50, id="wan3-frames-free"),
    ],
)
def test_per_prompt_image(model: str, frames: Any, credits: int) -> None:
    ratio = "16:9" if model == "grok_imagine_1_5" else "1280:720"
    body: dict[str, Any] = {"model": model, "duration": 5, "ratio": ratio}
    if frames is not None:
        body["promptImage"] = frames
    assert cost_of(catalog()[model], body, endpoint="image_to_video").credits == credits


def test_a_start_frame_and_references_add_up() -> None:
    body = {"duration": 5, "ratio": "16:9", "resolution": "480p", "promptImage": "https://cdn.example.com/a.png",
            "references": [REF, REF]}
    assert cost_of(catalog()["grok_imagine_1_5"], body, endpoint="image_to_video").credits == 50 + 1 + 2


@pytest.mark.parametrize(
    ("endpoint", "body", "seconds", "credits", "field"),
    [
        pytest.param("video_to_video", {}, 10.0, 110, "by_endpoint.video_to_video", id="v2v-11-a-second-of-input"),
        pytest.param("video_to_video", {}, 3.5, 39, "by_endpoint.video_to_video", id="v2v-3.5s-rounds-up"),
        pytest.param("text_to_video", {"duration": 10}, None, 100, "credits_per_second", id="t2v-keeps-10"),
    ],
)
def test_by_endpoint_rate(endpoint: str, body: dict, seconds: float | None, credits: int, field: str) -> None:
    cost = cost_of(catalog()["gemini_omni_flash"], {"ratio": "1280:720", **body}, endpoint=endpoint,
                   input_seconds=seconds)
    assert (cost.credits, cost.field) == (credits, field)


def test_by_endpoint_only_changes_the_named_endpoint() -> None:
    info = model("gen4.5", pricing={"by_endpoint": {"image_to_video": 20}})
    assert cost_of(info, {"duration": 5}, endpoint="text_to_video").credits == 60
    assert cost_of(info, {"duration": 5}, endpoint="image_to_video").credits == 100


@pytest.mark.parametrize(
    ("model", "ratio", "credits"),
    [
        pytest.param("seedream5_pro", "1296:864", 5, id="seedream-pro-largest-1k"),
        pytest.param("seedream5_pro", "2048:2048", 9, id="seedream-pro-smallest-2k"),
        pytest.param("seedream5_pro", "auto_1k", 5, id="seedream-pro-auto-1k"),
        pytest.param("seedream5_pro", "auto_2k", 9, id="seedream-pro-auto-2k"),
        pytest.param("seedream5_pro", None, 9, id="seedream-pro-no-ratio-dearest"),
        pytest.param("seedream5_lite", "4096:2304", 4, id="seedream-lite-any-size"),
        pytest.param("gemini_image3_pro", "3168:1344", 20, id="gemini3-largest-2k"),
        pytest.param("gemini_image3_pro", "1024:1024", 20, id="gemini3-1k"),
        pytest.param("gemini_image3_pro", "4096:4096", 40, id="gemini3-smallest-4k"),
        pytest.param("gemini_image3_pro", "6336:2688", 40, id="gemini3-widest-4k"),
    ],
)
def test_image_tiers_of_the_copies(model: str, ratio: str | None, credits: int) -> None:
    body = {"promptText": "p", **({"ratio": ratio} if ratio else {})}
    assert cost_of(catalog()[model], body, endpoint="text_to_image").credits == credits


@pytest.mark.parametrize(
    ("model", "body", "credits", "upper"),
    [
        pytest.param("gpt_image_2", {"ratio": "2560:2560"}, 20, False, id="gpt-default-high-largest-small"),
        pytest.param("gpt_image_2", {"ratio": "3840:1648"}, 41, False, id="gpt-default-high-smallest-4k"),
        pytest.param("gpt_image_2", {"ratio": "auto"}, 41, False, id="gpt-auto-size-is-4k"),
        pytest.param("gpt_image_2", {"ratio": "2048:880", "quality": "low"}, 1, False, id="gpt-low-small"),
        pytest.param("gpt_image_2", {"ratio": "2160:3840", "quality": "low"}, 2, False, id="gpt-low-4k"),
        pytest.param("gpt_image_2", {"ratio": "1920:1088", "quality": "medium"}, 5, False, id="gpt-medium-small"),
        pytest.param("gpt_image_2", {"ratio": "auto", "quality": "auto"}, 41, False, id="gpt-auto-auto"),
        pytest.param("gpt_image_2", {"quality": "medium"}, 11, True, id="gpt-no-size-the-qualitys-dearest"),
        pytest.param("gpt_image_2", {"ratio": "2560:2560", "quality": "ultra"}, 20, True, id="gpt-unknown-quality"),
        pytest.param("grok_imagine_image_2", {"ratio": "1408:704"}, 6, False, id="grok-default-medium-largest-1k"),
        pytest.param("grok_imagine_image_2", {"ratio": "2912:1344"}, 8, False, id="grok-medium-smallest-2k"),
        pytest.param("grok_imagine_image_2", {"ratio": "auto_1k", "quality": "low"}, 4, False, id="grok-low-auto-1k"),
        pytest.param("grok_imagine_image_2", {"ratio": "auto_2k", "quality": "low"}, 6, False, id="grok-low-auto-2k"),
        pytest.param("grok_imagine_image_2", {"ratio": "2048:2048", "referenceImages": [REF, REF]}, 10, False,
                     id="grok-2k-2-references+1-each"),
    ],
)
def test_images_by_quality_and_size(model: str, body: dict, credits: int, upper: bool) -> None:
    cost = cost_of(catalog()[model], {"promptText": "p", **body}, endpoint="text_to_image")
    assert (cost.credits, cost.upper_bound) == (credits, upper)


def test_the_quality_and_size_field_is_named_for_a_price_file() -> None:
    cost = cost_of(catalog()["gpt_image_2"], {"ratio": "3840:2160", "quality": "low"}, endpoint="text_to_image")
    assert (cost.field, cost.base) == ("by_quality_resolution.low.4k", 2)


@pytest.mark.parametrize(
    ("ratio", "seconds", "credits"),
    [
        pytest.param("832:480", 5, 34, id="480p-6.8/s"),
        pytest.param("832:480", 3, 21, id="480p-20.4-rounds-up"),
        pytest.param("1280:720", 5, 70, id="720p-14/s"),
        pytest.param("auto_1080p", 5, 140, id="auto-1080p-28/s"),
    ],
)
def test_wan3_prime_by_resolution(ratio: str, seconds: int, credits: int) -> None:
    assert cost_of(catalog()["wan3_prime"], {"ratio": ratio, "duration": seconds}).credits == credits


# --- minimum credits -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("model", "body", "credits"),
    [
        pytest.param("seedance2_mini", {"duration": 3}, 64, id="mini-48-below-minimum-64"),
        pytest.param("seedance2_mini", {"duration": 4}, 64, id="mini-64-at-minimum"),
        pytest.param("seedance2_mini", {"duration": 5}, 80, id="mini-80-above-minimum"),
        pytest.param("seedance2_5", {"duration": 3, "ratio": "854:480"}, 80, id="2_5-480p-60-below-minimum-80"),
        pytest.param("seedance2_5", {"duration": 4, "ratio": "854:480"}, 80, id="2_5-480p-80-at-minimum"),
        pytest.param("seedance2_5", {"duration": 5, "ratio": "854:480"}, 100, id="2_5-480p-100-above-minimum"),
        pytest.param("seedance2_5", {"duration": 5, "ratio": "1920:1080"}, 340, id="2_5-1080p-68/s"),
    ],
)
def test_minimum_credits(model: str, body: dict, credits: int) -> None:
    assert cost_of(catalog()[model], {"model": model, **body}).credits == credits


@pytest.mark.parametrize(
    ("seconds", "credits"),
    [
        pytest.param(1.9, 56, id="53.2-below-minimum-56"),
        pytest.param(2.0, 56, id="56-at-minimum"),
        pytest.param(2.1, 59, id="58.8-above-minimum-rounded-up"),
    ],
)
def test_minimum_credits_of_a_clip_priced_by_its_length(seconds: float, credits: int) -> None:
    assert cost_of(catalog()["aleph2"], {"model": "aleph2"}, input_seconds=seconds).credits == credits


# --- audio ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("info", "body", "credits"),
    [
        pytest.param(model("veo3.1"), {}, 320, id="absent-model-default-on-40/s"),
        pytest.param(model("veo3.1"), {"audio": True}, 320, id="true-40/s"),
        pytest.param(model("veo3.1"), {"audio": False}, 160, id="false-20/s"),
        pytest.param(model("veo3.1", defaults={"duration": 8, "audio": False}), {}, 160,
                     id="absent-model-default-off-20/s"),
        pytest.param(model("veo3.1", defaults={"duration": 8, "audio": False}), {"audio": True}, 320,
                     id="true-overrides-a-default-off"),
        pytest.param(model("veo3", pricing={"credits_per_second_no_audio": 25}), {}, 320,
                     id="absent-no-default-means-audio-on"),
        pytest.param(model("veo3", pricing={"credits_per_second_no_audio": 25}), {"audio": False}, 200,
                     id="false-with-a-no-audio-price-25/s"),
        pytest.param(model("veo3"), {"audio": False}, 320, id="false-without-a-no-audio-price-full-rate"),
    ],
)
def test_audio(info: ModelInfo, body: dict, credits: int) -> None:
    assert cost_of(info, {"duration": 8, **body}).credits == credits


# --- seconds, unknowns, upper bounds, rounding ---------------------------------------------

def test_act_two_is_priced_by_the_probed_performance_clip() -> None:
    seconds = probe_seconds(ROOT / "specs" / "assets" / "actor.mp4")
    assert seconds == pytest.approx(4.0)
    cost = cost_of(catalog()["act_two"], {"model": "act_two"}, input_seconds=seconds)
    assert (cost.credits, cost.upper_bound) == (20, False)


@pytest.mark.parametrize(
    ("model", "body", "input_seconds", "cost"),
    [
        pytest.param("act_two", {}, 4.0, Cost(20, 4.0, 5), id="performance-clip"),
        pytest.param("act_two", {"duration": 10}, 4.0, Cost(20, 4.0, 5), id="performance-clip-ignores-duration"),
        pytest.param("aleph2", {}, 7.0, Cost(196, 7.0, 28), id="v2v-follows-the-input-clip"),
        pytest.param("aleph2", {"duration": 5}, 7.0, Cost(140, 5.0, 28), id="v2v-duration-wins-over-the-clip"),
        pytest.param("gen4_turbo", {}, None, Cost(50, 10.0, 5), id="model-default-duration"),
        pytest.param("gen4_turbo", {"duration": 5}, 7.0, Cost(25, 5.0, 5), id="duration-not-the-clip"),
        pytest.param("seedance2", {"duration": "auto", "ratio": "1280:720"}, None, Cost(540, 15.0, 36, True),
                     id="auto-upper-bound"),
        pytest.param("seedance2_5", {"duration": "auto", "ratio": "1920:1080"}, None, Cost(2040, 30.0, 68, True),
                     id="auto-upper-bound-at-a-tier-rate"),
        pytest.param("kling3.0_pro", {"duration": 5}, None,
                     Cost(None, 5.0, None, False, "no known price for kling3.0_pro; set one in a price file"),
                     id="unknown-price"),
        pytest.param("act_two", {}, None, Cost(None, None, 5, False, "length of the performance input is unknown"),
                     id="unknown-performance-length"),
        pytest.param("aleph2", {}, None, Cost(None, None, 28, False, "length of the video input is unknown"),
                     id="unknown-video-length"),
        pytest.param("gen4_aleph", {}, 16.6, Cost(249, 16.6, 15), id="float-error-does-not-add-a-credit"),
        pytest.param("gen4_aleph", {}, 4.01, Cost(61, 4.01, 15), id="partial-credit-rounds-up"),
    ],
)
def test_cost_record(model: str, body: dict, input_seconds: float | None, cost: Cost) -> None:
    assert cost_of(catalog()[model], {"model": model, **body}, input_seconds=input_seconds) == cost


def test_auto_duration_without_a_billed_maximum_is_an_unknown_upper_bound() -> None:
    info = model("seedance2", pricing={"auto_duration_billed_seconds": None})
    assert generation_seconds(info, "text_to_video", {"duration": "auto"}, None) == (None, True)


@pytest.mark.parametrize(
    ("model", "endpoint", "body", "input_seconds", "seconds"),
    [
        pytest.param("gen4.5", "text_to_video", {}, None, (None, False), id="no-duration-no-default"),
        pytest.param("gen4.5", "text_to_video", {}, 3.0, (3.0, False), id="no-duration-follows-a-clip"),
        pytest.param("gen4.5", "text_to_video", {"duration": 7.5}, None, (7.5, False), id="fractional"),
        pytest.param("gen4.5", "text_to_video", {"duration": True}, 3.0, (None, False), id="bool-is-no-length"),
        pytest.param("seedance2", "video_to_video", {}, 9.0, (5.0, False), id="model-default-before-the-clip"),
        pytest.param("act_two", "character_performance", {}, None, (None, False), id="performance-unknown"),
    ],
)
def test_generation_seconds(model: str, endpoint: str, body: dict, input_seconds: float | None,
                            seconds: tuple[float | None, bool]) -> None:
    assert generation_seconds(catalog()[model], endpoint, body, input_seconds) == seconds


def test_the_endpoint_decides_where_the_length_comes_from() -> None:
    info = catalog()["gemini_omni_flash"]  # text_to_video first, video_to_video too
    assert cost_of(info, {}, input_seconds=6.0).credits == 60
    # video-to-video: the input's 6 s, at that endpoint's 11 a second
    assert cost_of(info, {}, endpoint="video_to_video", input_seconds=6.0).credits == 66
    assert cost_of(info, {}, endpoint="text_to_video").credits is None


# --- price files ---------------------------------------------------------------------------

def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_built_in_prices() -> None:
    models, table = load_prices(None)
    assert models == catalog()
    assert table["source"] == "built-in"
    assert len(table["sha256"]) == 64 and table == load_prices(None)[1]


def test_a_price_file_overrides_and_adds_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "prices.yaml", "gen4.5: {credits_per_second: 14}\nkling3.0_pro: {credits_per_second: 20}\n")
    models, table = load_prices(path)
    assert table["source"] == str(path)
    assert table["sha256"] != load_prices(None)[1]["sha256"]
    assert cost_of(models["gen4.5"], {"duration": 5, "ratio": "1280:720"}).credits == 70
    assert cost_of(models["gen4.5"], {"duration": 5, "outputFormat": "prores"}).credits == 95  # surcharge kept
    assert cost_of(models["kling3.0_pro"], {"duration": 5}).credits == 100
    assert models["gen4.5"].pricing["source"] == f"price file {path}"
    assert models["gen4.5"].modes == catalog()["gen4.5"].modes
    assert models["veo3"] == catalog()["veo3"]


def test_a_price_file_cannot_make_a_model_free(tmp_path: Path) -> None:
    # A zero rate would let creates pass any budget unnoticed (tests/security/test_budget_attacks.py).
    with pytest.raises(RunnerError, match="credits_per_second: 0 is zero"):
        load_prices(write(tmp_path, "p.yaml", "gen4.5: {credits_per_second: 0}\n"))
    models, _ = load_prices(write(tmp_path, "q.yaml", "gen4.5: {minimum_credits: 0}\n"))  # no floor is fine
    assert cost_of(models["gen4.5"], {"duration": 5}).credits == 60


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("grok_imagine_1_5: {per_prompt_image: -1}\n", "-1 is negative", id="negative-start-frame"),
        pytest.param("gemini_omni_flash: {by_endpoint: {video_to_video: 0}}\n", "0 is zero", id="zero-endpoint-rate"),
        pytest.param("gemini_omni_flash: {by_endpoint: {video_to_video: 1}}\n", "below a tenth of the published",
                     id="endpoint-rate-floor"),
    ],
)
def test_price_files_check_the_new_fields(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(RunnerError, match=message):
        load_prices(write(tmp_path, "p.yaml", text))


def test_a_price_file_sets_one_quality_and_size_and_keeps_the_rest(tmp_path: Path) -> None:
    models, _ = load_prices(write(tmp_path, "p.yaml", "gpt_image_2: {by_quality_resolution: {high: {4k: 45}}}\n"))
    info = models["gpt_image_2"]
    assert cost_of(info, {"ratio": "auto"}, endpoint="text_to_image").credits == 45
    assert cost_of(info, {"ratio": "2560:2560"}, endpoint="text_to_image").credits == 20  # high's other tier kept
    assert cost_of(info, {"ratio": "auto", "quality": "low"}, endpoint="text_to_image").credits == 2


def test_a_price_file_sets_one_resolution_and_keeps_the_others(tmp_path: Path) -> None:
    models, _ = load_prices(write(tmp_path, "p.yaml", "seedance2: {by_resolution: {1080p: 44}}\n"))
    assert cost_of(models["seedance2"], {"duration": 5, "ratio": "1920:1080"}).credits == 220
    assert cost_of(models["seedance2"], {"duration": 5, "ratio": "3840:2160"}).credits == 750


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("gpt_image_2: {by_quality_resolution: {high: {4k: 0}}}\n", "4k: 0 is zero", id="zero"),
        pytest.param("gpt_image_2: {by_quality_resolution: {high: {4k: 3}}}\n", "below a tenth", id="floor"),
        pytest.param("gpt_image_2: {by_quality_resolution: {high: 20}}\n", "expected a mapping of tier",
                     id="not-nested"),
    ],
)
def test_price_files_check_quality_and_size_tables(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(RunnerError, match=message):
        load_prices(write(tmp_path, "p.yaml", text))


def test_a_price_file_sets_the_new_fields(tmp_path: Path) -> None:
    models, _ = load_prices(write(tmp_path, "p.yaml", "gemini_omni_flash: {by_endpoint: {video_to_video: 12}, "
                                                      "per_prompt_image: 0}\n"))
    info = models["gemini_omni_flash"]
    assert cost_of(info, {}, endpoint="video_to_video", input_seconds=10.0).credits == 120
    assert cost_of(info, {"duration": 5, "promptImage": "https://cdn.example.com/a.png"},
                   endpoint="image_to_video").credits == 50


def test_the_table_hash_is_of_the_prices_not_the_file(tmp_path: Path) -> None:
    text = ("gen4.5: {credits_per_second: 14, minimum_credits: 24, checked: 2026-08-01}\n"
            "veo3: {credits_per_second: 30}\n")
    a = load_prices(write(tmp_path, "a.yaml", text))[1]
    b = load_prices(write(tmp_path, "b.yml", "# same prices, another name and order\n"
                                             "veo3: {credits_per_second: 30}\n"
                                             "gen4.5: {checked: 2026-08-01, minimum_credits: 24,"
                                             " credits_per_second: 14}\n"))[1]
    c = load_prices(write(tmp_path, "c.yaml", text.replace("30", "31")))[1]
    assert a["source"] != b["source"]
    assert a["sha256"] == b["sha256"]
    assert c["sha256"] != a["sha256"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(None, "cannot read the price file: [Errno 2]", id="missing"),
        pytest.param("gen4.5: [unclosed\n", "cannot read the price file: while parsing", id="bad-yaml"),
        pytest.param("", "a price file maps model ids to pricing fields", id="empty"),
        pytest.param("- gen4.5\n", "a price file maps model ids to pricing fields", id="a-list"),
        pytest.param("gen9: {credits_per_second: 1}\n", "1:1: gen9: unknown model 'gen9' in the price file",
                     id="unknown-model"),
        pytest.param("gen4.5: 14\n", "1:9: gen4.5: expected a mapping of pricing fields", id="not-a-mapping"),
    ],
)
def test_price_file_errors(text: str | None, message: str, tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(RunnerError) as e:
        load_prices(path)
    assert str(e.value).startswith(f"{path}: {message}") or str(e.value).startswith(f"{path}:{message}")


# --- round 3: every unit Runway publishes, at its edges ----------------------------------------

@pytest.mark.parametrize(
    ("chars", "credits"),
    [
        pytest.param(1, 1, id="one-char-is-a-credit"),
        pytest.param(49, 1, id="49"),
        pytest.param(50, 1, id="50-is-one-credit"),
        pytest.param(51, 2, id="51-rounds-up"),
        pytest.param(100, 2, id="100"),
        pytest.param(101, 3, id="101"),
        pytest.param(350, 7, id="350-float-error-adds-nothing"),
    ],
)
def test_speech_is_one_credit_per_50_characters(chars: int, credits: int) -> None:
    body = {"promptText": "x" * chars, "voice": {"type": "runway-preset", "presetId": "Rachel"}}
    assert cost_of(catalog()["eleven_multilingual_v2"], body, endpoint="text_to_speech").credits == credits


def test_speech_counts_characters_as_the_api_does() -> None:
    # 25 emoji are 50 UTF-16 code units: one credit's worth per 25, not per 50.
    body = {"promptText": "\U0001F600" * 26}
    assert cost_of(catalog()["eleven_multilingual_v2"], body, endpoint="text_to_speech").credits == 2


@pytest.mark.parametrize(
    ("model", "endpoint", "seconds", "credits"),
    [
        pytest.param("eleven_voice_isolation", "voice_isolation", 6.0, 1, id="isolation-6s"),
        pytest.param("eleven_voice_isolation", "voice_isolation", 6.01, 2, id="isolation-just-over-6s"),
        pytest.param("eleven_voice_isolation", "voice_isolation", 12.0, 2, id="isolation-12s"),
        pytest.param("eleven_voice_isolation", "voice_isolation", 18.0, 3, id="isolation-18s-float-error"),
        pytest.param("eleven_voice_isolation", "voice_isolation", 0.5, 1, id="isolation-a-short-clip"),
        pytest.param("eleven_voice_dubbing", "voice_dubbing", 2.0, 1, id="dubbing-2s"),
        pytest.param("eleven_voice_dubbing", "voice_dubbing", 12.0, 6, id="dubbing-12s"),
        pytest.param("eleven_voice_dubbing", "voice_dubbing", 12.5, 7, id="dubbing-12.5s"),
        pytest.param("eleven_multilingual_sts_v2", "speech_to_speech", 3.0, 1, id="sts-3s"),
        pytest.param("eleven_multilingual_sts_v2", "speech_to_speech", 12.0, 4, id="sts-12s"),
        pytest.param("eleven_multilingual_sts_v2", "speech_to_speech", 3.1, 2, id="sts-3.1s"),
    ],
)
def test_voice_is_priced_per_seconds_of_the_input(model: str, endpoint: str, seconds: float, credits: int) -> None:
    assert cost_of(catalog()[model], {"model": model}, endpoint=endpoint, input_seconds=seconds).credits == credits


def test_voice_without_a_measured_input_is_unpriced() -> None:
    cost = cost_of(catalog()["eleven_voice_dubbing"], {}, endpoint="voice_dubbing")
    assert cost.credits is None and cost.note == "length of the audio input is unknown"


@pytest.mark.parametrize(
    ("span", "fields", "credits", "upper"),
    [
        pytest.param([1, 2], {}, 2, True, id="published-1-2-counts-2-as-a-bound"),
        pytest.param([2, 2], {}, 2, False, id="a-single-figure-is-exact"),
        pytest.param([1, 2.5], {}, 3, True, id="a-fractional-top-rounds-up"),
        pytest.param([1, 2], {"credits_per_second": 2}, 6, False, id="a-rate-per-second-wins"),
    ],
)
def test_a_flat_range(span: list[float], fields: dict[str, Any], credits: int, upper: bool) -> None:
    info = model("eleven_text_to_sound_v2", pricing={"credits_range": span, **fields})
    cost = cost_of(info, {"promptText": "boom", "duration": 3})
    assert (cost.credits, cost.upper_bound) == (credits, upper)
    assert cost.field == ("credits_per_second" if fields else "credits_range")


def test_the_published_sound_is_at_most_2_credits() -> None:
    cost = cost_of(catalog()["eleven_text_to_sound_v2"], {"promptText": "a door slams"})
    assert (cost.credits, cost.upper_bound) == (2, True)


@pytest.mark.parametrize(
    ("model", "body", "credits", "upper", "field"),
    [
        pytest.param("ideogram_4_0", {"quality": "low"}, 4, False, "by_quality.low", id="i40-low"),
        pytest.param("ideogram_4_0", {"quality": "medium"}, 7, False, "by_quality.medium", id="i40-medium"),
        pytest.param("ideogram_4_0", {"quality": "high"}, 11, False, "by_quality.high", id="i40-high"),
        pytest.param("ideogram_4_0", {}, 11, True, "by_quality.high", id="i40-no-default-is-the-dearest"),
        pytest.param("ideogram_4_5", {}, 25, False, "by_quality.high", id="i45-default-high"),
        pytest.param("ideogram_4_5", {"referenceImages": [{"uri": "x"}]}, 8, False, "by_quality.medium",
                     id="i45-default-medium-with-references"),
        pytest.param("ideogram_4_5", {"referenceImages": [{"uri": "x"}], "preciseEdit": True}, 25, False,
                     "by_quality.high", id="i45-precise-edit-is-high"),
        pytest.param("ideogram_4_5", {"referenceImages": []}, 25, False, "by_quality.high",
                     id="i45-empty-references-are-none"),
        pytest.param("ideogram_4_5", {"quality": "very_low", "referenceImages": [{"uri": "x"}]}, 1, False,
                     "by_quality.very_low", id="i45-very-low"),
        pytest.param("ideogram_4_5", {"quality": "ultra"}, 25, True, "by_quality.high", id="i45-unknown-quality"),
    ],
)
def test_images_priced_by_quality(model: str, body: dict, credits: int, upper: bool, field: str) -> None:
    cost = cost_of(catalog()[model], {"promptText": "p", **body})
    assert (cost.credits, cost.upper_bound, cost.field) == (credits, upper, field)


@pytest.mark.parametrize(
    ("ratio", "credits"),
    [
        pytest.param("1024:1024", 5, id="1mp-square"),
        pytest.param("1152:768", 5, id="1mp-wide"),
        pytest.param("1024:576", 5, id="1mp-smallest"),
        pytest.param("2048:2048", 10, id="4mp-square"),
        pytest.param("1152:2048", 10, id="4mp-tall"),
    ],
)
def test_bria_is_priced_by_its_1mp_and_4mp_sizes(ratio: str, credits: int) -> None:
    cost = cost_of(catalog()["bria_fibo_1_5"], {"promptText": "p", "ratio": ratio})
    assert cost.credits == credits and cost.field == f"by_resolution.{'1mp' if credits == 5 else '4mp'}"


@pytest.mark.parametrize(
    ("model", "body", "credits"),
    [
        pytest.param("gemini_2.5_flash", {"ratio": "1024:1024"}, 5, id="gemini-2.5-flash-5"),
        pytest.param("muse_image", {"ratio": "1600:1600"}, 1, id="muse-1"),
        pytest.param("gen4_image_turbo", {"ratio": "1080:1080"}, 2, id="gen4-image-turbo-2"),
    ],
)
def test_flat_image_prices(model: str, body: dict, credits: int) -> None:
    assert cost_of(catalog()[model], {"promptText": "p", **body}).credits == credits


@pytest.mark.parametrize(("refs", "credits"), [(0, 9), (1, 10), (3, 12)])
def test_reference_images_of_an_image_request_add_their_surcharge(refs: int, credits: int) -> None:
    # gpt_image_2_5_*: "each reference image adds 1 credit per generated image" (no base price: set one).
    info = model("gpt_image_2_5_flare", pricing={"credits_per_image": 9})
    body = {"promptText": "p", "referenceImages": [{"uri": "x", "tag": f"ref{i}"} for i in range(refs)]}
    assert cost_of(info, body).credits == credits


def test_an_image_model_with_only_a_surcharge_stays_unpriced() -> None:
    assert cost_of(catalog()["gpt_image_2_5_flare"], {"promptText": "p"}).credits is None


@pytest.mark.parametrize(
    ("model", "body", "field", "base"),
    [
        pytest.param("gen4.5", {"duration": 5, "outputFormat": "prores"}, "credits_per_second", 12, id="surcharge"),
        pytest.param("veo3.1", {"duration": 4, "audio": False}, "credits_per_second_no_audio", 20, id="no-audio"),
        pytest.param("seedance2", {"duration": 4, "ratio": "1920:1080"}, "by_resolution.1080p", 40, id="tier"),
        pytest.param("gen4_image", {"ratio": "1280:720"}, "by_resolution.720p", 5, id="listed-ratio"),
    ],
)
def test_a_cost_names_the_field_that_priced_it(model: str, body: dict, field: str, base: float) -> None:
    cost = cost_of(catalog()[model], {"model": model, "promptText": "p", **body})
    assert (cost.field, cost.base) == (field, base)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        pytest.param("gen4_turbo: {credits_per_second: 0.5}\n", True, id="a-tenth-is-allowed"),
        pytest.param("gen4_turbo: {credits_per_second: 0.49}\n", False, id="below-a-tenth"),
        pytest.param("gen4_turbo: {credits_per_second: 0.000000001}\n", False, id="the-attack"),
        pytest.param("seedance2: {by_resolution: {1080p: 4}}\n", True, id="a-tier-at-a-tenth"),
        pytest.param("seedance2: {by_resolution: {1080p: 3.9}}\n", False, id="a-tier-below"),
        pytest.param("ideogram_4_5: {by_quality: {high: 2}}\n", False, id="a-quality-below"),
        pytest.param("eleven_text_to_sound_v2: {credits_range: [0.01, 0.1]}\n", False, id="a-range-below"),
        pytest.param("veo3.1: {credits_per_second_no_audio: 1}\n", False, id="no-audio-below"),
        pytest.param("kling3.0_pro: {credits_per_second: 0.000001}\n", True, id="unpublished-has-no-floor"),
        pytest.param("gen4.5: {credits_per_second: 100}\n", True, id="above-is-fine"),
    ],
)
def test_a_price_file_may_not_undercut_the_published_price_tenfold(text: str, ok: bool, tmp_path: Path) -> None:
    path = write(tmp_path, "prices.yaml", text)
    load_prices(path, trust=True)  # the user vouches for it: accepted
    if ok:
        load_prices(path)
        return
    with pytest.raises(RunnerError, match=r"is below a tenth of the published price .*--trust-prices"):
        load_prices(path)


def test_the_floor_error_is_located_and_says_how_much_more_could_be_spent(tmp_path: Path) -> None:
    path = write(tmp_path, "prices.yaml", "gen4.5: {credits_per_second: 14}\ngen4_turbo:\n  credits_per_second: 0.01\n")
    with pytest.raises(RunnerError) as e:
        load_prices(path)
    assert str(e.value).startswith(f"{path}:3:23: gen4_turbo.credits_per_second: 0.01 is below a tenth of the "
                                   "published price (5): a budget cap reserves by this table, so it would let apply "
                                   "spend up to 500 times the cap")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("eleven_text_to_sound_v2: {credits_range: 2}\n", "expected [low, high]", id="not-a-list"),
        pytest.param("eleven_text_to_sound_v2: {credits_range: [1, 2, 3]}\n", "expected [low, high]", id="three"),
        pytest.param("eleven_text_to_sound_v2: {credits_range: [3, 2]}\n", "the low figure comes first", id="order"),
        pytest.param("eleven_text_to_sound_v2: {credits_range: [0, 2]}\n", "0 is zero", id="zero"),
        pytest.param("ideogram_4_5: {by_quality: {high: -1}}\n", "-1 is negative", id="negative-quality"),
        pytest.param("ideogram_4_5: {default_quality: 3}\n", "expected a quality named in by_quality", id="quality"),
    ],
)
def test_new_price_fields_are_checked(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(RunnerError) as e:
        load_prices(write(tmp_path, "prices.yaml", text), trust=True)
    assert message in str(e.value)


def test_a_price_file_entry_says_where_its_fields_come_from(tmp_path: Path) -> None:
    path = write(tmp_path, "prices.yaml", "aleph2: {credits_per_second: 30}\n")
    pricing = load_prices(path)[0]["aleph2"].pricing
    assert pricing["source"] == f"price file {path}" and "copy" not in pricing
    assert pricing["from_price_file"] == ["credits_per_second"]
    assert pricing["table_source"] == catalog()["aleph2"].pricing["source"]
    assert pricing["minimum_credits"] == 56  # what the file does not set stays


def test_sources_and_dates_are_not_prices() -> None:
    # Only prices decide whether a saved plan is stale: a corrected source text is not a new table.
    import runner.catalog.pricing as pricing

    assert set(pricing.METADATA) >= {"source", "as_of", "copy", "published", "other_sources"}


def test_a_sound_priced_per_second_without_a_duration_is_priced_at_its_longest() -> None:
    info = model("eleven_text_to_sound_v2", pricing={"credits_per_second": 2})
    cost = cost_of(info, {"promptText": "a warm pad"})
    assert (cost.credits, cost.seconds, cost.upper_bound) == (60, 30.0, True)
    bare = model("eleven_text_to_sound_v2", pricing={"credits_per_second": 2, "unset_duration_billed_seconds": None})
    cost = cost_of(bare, {"promptText": "a warm pad"})
    assert cost.credits is None and cost.note == "the model picks the output's length: set duration to price it"
    assert (cost.field, cost.base, cost.rate) == ("credits_per_second", 2, 2)


def test_an_unpriced_cost_still_names_the_field_to_set() -> None:
    cost = cost_of(catalog()["kling3.0_pro"], {"duration": 5})
    assert cost.field == "credits_per_second" and cost.base is None
    span = cost_of(catalog()["eleven_text_to_sound_v2"], {"promptText": "boom"})
    assert (span.field, span.base) == ("credits_range", 2)


@pytest.mark.parametrize(
    ("body", "credits", "upper"),
    [
        pytest.param({"promptText": ""}, 0, False, id="empty-prompt-costs-nothing"),
        pytest.param({}, None, False, id="no-prompt-no-price"),
        pytest.param({"promptText": 7}, None, False, id="not-text"),
    ],
)
def test_speech_without_characters(body: dict, credits: int | None, upper: bool) -> None:
    cost = cost_of(catalog()["eleven_multilingual_v2"], body, endpoint="text_to_speech")
    assert (cost.credits, cost.upper_bound) == (credits, upper)


def test_video_and_image_references_are_both_counted() -> None:
    info = model("gen4.5", pricing={"per_reference_image": 1})
    body = {"duration": 5, "references": [{"uri": "a"}], "referenceImages": [{"uri": "b"}, {"uri": "c"}]}
    assert cost_of(info, body).credits == 63
    assert cost_of(info, {"duration": 5, "references": {"uri": "a"}}).credits == 61  # one, not a list


@pytest.mark.parametrize(
    ("pricing", "priced", "label"),
    [
        pytest.param({"credits_per_second": 12, "source": "Runway API reference: github.com/runwayml/skills"}, True,
                     "Runway", id="runway"),
        pytest.param({"credits_per_image": 1, "source": "runwayml 5.24.0 SDK request-type docstrings"}, True, "SDK",
                     id="sdk"),
        pytest.param({"credits_per_second": 28, "source": "third-party", "copy": True}, True, "copy*", id="copy"),
        pytest.param({"credits_per_second": None, "source": "unpublished"}, False, "-", id="unpublished"),
        pytest.param({"credits_per_image": None, "by_quality": {"low": 4}, "source": "x docstrings"}, True, "SDK",
                     id="by-quality"),
        pytest.param({"credits_per_second": None, "credits_range": [1, 2], "source": "skills"}, True, "Runway",
                     id="range"),
        pytest.param({"credits_per_second": None, "by_quality": {}, "credits_range": [], "source": "s"}, False, "-",
                     id="empty-tables"),
        pytest.param({"credits_per_second": 3, "source": "price file p.yaml", "copy": True}, True, "price file",
                     id="price-file"),
        pytest.param({"credits_per_second": None, "source": "price file p.yaml"}, False, "price file",
                     id="price-file-first"),
        pytest.param({"source": "docstrings", "per_reference_image": 1}, False, "-", id="surcharge-only"),
    ],
)
def test_is_priced_and_the_source_label(pricing: dict, priced: bool, label: str) -> None:
    from runner.catalog.pricing import is_priced, source_label

    assert is_priced(pricing) is priced and source_label(pricing) == label


def test_a_price_file_entry_drops_the_provenance_of_what_it_replaced(tmp_path: Path) -> None:
    path = write(tmp_path, "prices.yaml", "seedance2: {by_resolution: {1080p: 44}}\n")
    pricing = load_prices(path)[0]["seedance2"].pricing
    for field in ("copy", "published", "as_of", "other_sources"):
        assert field not in pricing
    # tier by tier: the tiers the file does not set keep the table's figures
    assert pricing["by_resolution"] == {"480p": 36, "720p": 36, "1080p": 44, "4k": 150}
    assert pricing["credits_per_second"] == 36


def test_published_floors_cover_every_rate() -> None:
    from runner.catalog.pricing import published_floors

    floors = published_floors(catalog())
    assert floors["veo3.1"] == {"credits_per_second": 40, "credits_per_second_no_audio": 20}
    assert floors["eleven_multilingual_v2"] == {"credits_per_character": 0.02}
    assert floors["gen4_image"] == {"credits_per_image": 8, "by_resolution.720p": 5, "by_resolution.1080p": 8}
    assert floors["eleven_text_to_sound_v2"] == {"credits_range": 2}
    assert floors["ideogram_4_0"] == {"by_quality.low": 4, "by_quality.medium": 7, "by_quality.high": 11}
    assert "kling3.0_pro" not in floors
