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
        pytest.param("gemini_omni_flash_1.1", [REF, REF], 52, id="gemini-2-references"),
        pytest.param("grok_imagine_1_5", {**REF, "tag": "hero"}, 81, id="a-single-reference-not-in-a-list-counts-once"),
        pytest.param("veo3.1", [REF] * 3, 200, id="no-per-reference-price"),
    ],
)
def test_per_reference_image(model: str, refs: Any, credits: int) -> None:
    body: dict[str, Any] = {"model": model, "duration": 5, "ratio": "16:9"}
    if refs is not None:
        body["references"] = refs
    assert cost_of(catalog()[model], body).credits == credits


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
    assert cost_of(info, {}, endpoint="video_to_video", input_seconds=6.0).credits == 60
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
