"""Every price names where it comes from, Runway's published figures are the table's, and a
third-party copy is used only where it agrees with Runway's own (tools/price_table.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from runner.catalog.models import catalog
from runner.catalog.pricing import is_priced
from runner.emulator.audio import render_audio

# Runway's API reference (runwayml/skills, skills/rw-api-reference/SKILL.md at c5674fd, 2026-04-21),
# as it reads: model -> the pricing fields that say the same.
RUNWAY = {
    "gen4.5": {"credits_per_second": 12},
    "gen4_turbo": {"credits_per_second": 5},
    "gen4_aleph": {"credits_per_second": 15},
    "act_two": {"credits_per_second": 5},
    "veo3": {"credits_per_second": 40},
    "veo3.1": {"credits_per_second": 40, "credits_per_second_no_audio": 20},  # "20-40"
    "veo3.1_fast": {"credits_per_second": 15, "credits_per_second_no_audio": 10},  # "10-15"
    "seedance2": {"credits_per_second": 36},
    "gen4_image": {"by_resolution": {"720p": 5, "1080p": 8}},  # "5 (720p), 8 (1080p)"
    "gen4_image_turbo": {"credits_per_image": 2},
    "gemini_2.5_flash": {"credits_per_image": 5},
    "eleven_multilingual_v2": {"credits_per_character": 1 / 50},  # "1 credit/50 chars"
    "eleven_text_to_sound_v2": {"credits_range": [1, 2]},  # "1-2 credits"
    "eleven_voice_isolation": {"credits_per_second": 1 / 6},  # "1 credit/6 sec"
    "eleven_voice_dubbing": {"credits_per_second": 1 / 2},  # "1 credit/2 sec"
    "eleven_multilingual_sts_v2": {"credits_per_second": 1 / 3},  # "1 credit/3 sec"
}
# The runwayml 5.24.0 request-type docstrings.
SDK = {
    "bria_fibo_1_5": {"by_resolution": {"1mp": 5, "4mp": 10}},
    "ideogram_4_0": {"by_quality": {"low": 4, "medium": 7, "high": 11}},
    "ideogram_4_5": {"by_quality": {"very_low": 1, "low": 4, "medium": 8, "high": 25}},
    "muse_image": {"credits_per_image": 1},
    "ruby": {"credits_per_second": 20},
    "gpt_image_2_5_flare": {"per_reference_image": 1},
    "gpt_image_2_5_sunburst": {"per_reference_image": 1},
}


@pytest.mark.parametrize("name", sorted(catalog()))
def test_every_entry_names_its_source_and_date(name: str) -> None:
    pricing = catalog()[name].pricing
    assert pricing.get("source"), f"{name}: no source"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(pricing.get("as_of"))), f"{name}: as_of is not a date"
    assert pricing.get("copy") in (None, True)
    if not is_priced(pricing):
        assert str(pricing["source"]).startswith("unpublished"), f"{name}: unpriced, so its source must say so"
    for other in pricing.get("other_sources") or []:
        assert other["source"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", other["as_of"]) and other["fields"]
    surcharge = pricing.get("output_format_surcharge")
    if surcharge:
        assert surcharge["source"] and surcharge["as_of"]


@pytest.mark.parametrize("name", sorted(RUNWAY))
def test_runways_published_prices_are_the_tables(name: str) -> None:
    pricing = catalog()[name].pricing
    for field, value in RUNWAY[name].items():
        assert pricing[field] == value, f"{name}.{field}"
    assert "runwayml/skills" in pricing["source"] and pricing["as_of"] == "2026-04-21" and not pricing.get("copy")


@pytest.mark.parametrize("name", sorted(SDK))
def test_the_sdks_docstring_prices_are_the_tables(name: str) -> None:
    pricing = catalog()[name].pricing
    for field, value in SDK[name].items():
        assert pricing[field] == value, f"{name}.{field}"
    assert "docstrings" in pricing["source"] and pricing["as_of"] == "2026-10-23"


def test_copies_are_marked_and_agree_with_runway_wherever_both_price() -> None:
    copies = {n for n, i in catalog().items() if i.pricing.get("copy")}
    assert copies >= {"aleph2", "seedance2_5", "wan3"}
    assert not copies & set(RUNWAY)  # a model Runway prices is Runway's entry, never a copy's
    for name, info in catalog().items():
        for other in info.pricing.get("other_sources") or []:
            assert other.get("copy") is True
            # seedance2's tiers are a copy's: at the sizes Runway's one figure covers they say 36 too.
            if name == "seedance2":
                tiers = info.pricing["by_resolution"]
                assert tiers["480p"] == tiers["720p"] == RUNWAY["seedance2"]["credits_per_second"]


def test_how_many_models_are_priced() -> None:
    priced = sorted(n for n, i in catalog().items() if is_priced(i.pricing))
    assert len(priced) == 33 and len(catalog()) - len(priced) == 30  # was 23 and 40 before round 3


def test_the_published_prices_plan_as_runway_says(write_spec, run) -> None:
    """A 12 s clip and a 100-character prompt: the figures of Runway's API reference."""
    spec = write_spec("""
        version: 1
        name: published
        shots:
          - {id: speech, model: eleven_multilingual_v2, prompt: "%s", voice: Rachel}
          - {id: still, model: gemini_2.5_flash, prompt: a cabin, ratio: "1024:1024"}
          - {id: clean, model: eleven_voice_isolation, audio: assets/line.wav}
          - {id: dub, model: eleven_voice_dubbing, audio: assets/line.wav, params: {targetLang: es}}
          - {id: revoice, model: eleven_multilingual_sts_v2, audio: assets/line.wav, voice: Rachel}
    """ % ("y" * 100))
    (spec.parent / "assets" / "line.wav").write_bytes(render_audio("a spoken line", 12.0, "wav"))
    result = run(["plan", str(spec), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    credits = {s["id"]: s["credits"] for s in json.loads(result.stdout)["shots"]}
    assert credits == {"speech": 2, "still": 5, "clean": 2, "dub": 6, "revoice": 4}


def test_runner_models_shows_the_source_and_marks_copies(run) -> None:
    table = run(["models"]).stdout
    assert re.search(r"│ aleph2 .*│ copy\* +│", table) and re.search(r"│ gen4\.5 .*│ Runway +│", table)
    assert re.search(r"│ muse_image .*│ SDK +│", table) and re.search(r"│ kling3\.0_pro .*│ - +│", table)
    detail = run(["models", "aleph2"]).stdout
    assert "a third-party copy of Runway's pricing page, not Runway's own" in " ".join(detail.split())
    assert "(as of 2026-08-01)" in detail
    own = " ".join(run(["models", "eleven_voice_isolation"]).stdout.split())
    assert "github.com/runwayml/skills" in own and "(as of 2026-04-21); published as: 1 credit/6 sec" in own


def test_a_price_file_still_overrides_any_entry(write_spec, run, tmp_path: Path) -> None:
    spec = write_spec("version: 1\nname: p\nshots:\n  - {id: a, model: gen4.5, prompt: p, ratio: '1280:720', "
                      "duration: 5}\n  - {id: b, model: eleven_voice_isolation, audio: assets/line.wav}\n")
    (spec.parent / "assets" / "line.wav").write_bytes(render_audio("a spoken line", 12.0, "wav"))
    prices = tmp_path / "prices.yaml"
    prices.write_text("gen4.5: {credits_per_second: 13}\neleven_voice_isolation: {credits_per_second: 1}\n")
    result = run(["plan", str(spec), "--prices", str(prices), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert {s["id"]: s["credits"] for s in json.loads(result.stdout)["shots"]} == {"a": 65, "b": 12}
