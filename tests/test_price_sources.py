"""Every price names where it comes from, Runway's published figures are the table's, and a
third-party copy is used only where it agrees with Runway's own (tools/price_table.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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


# Third-party copies of the docs site's pricing page (docs.dev.runwayml.com/guides/pricing), as
# each reads: repository -> (path @ commit, date checked) and model -> its figures, in the
# table's fields. A copy is used only if it agrees with RUNWAY and SDK wherever both price.
COPIES: dict[str, dict[str, Any]] = {
    "vericontext/vibeframe": {
        "where": ".agents/references/providers/runway.md @6cf1c270", "as_of": "2026-10-04",
        "figures": {
            "gen4.5": {"credits_per_second": 12},  # "12 cr/s"
            "gen4_turbo": {"credits_per_second": 5},
            "act_two": {"credits_per_second": 5},
            "aleph2": {"credits_per_second": 28, "minimum_credits": 56},  # "28 cr/s, 56 cr minimum"
            "seedance2": {"credits_per_second": 36, "by_resolution": {"480p": 36, "720p": 36, "1080p": 40, "4k": 150}},
            "seedance2_5": {"by_resolution": {"480p": 20, "720p": 30, "1080p": 68}, "minimum_credits": 80},
            "seedance2_fast": {"credits_per_second": 29},
            "seedance2_mini": {"credits_per_second": 16, "minimum_credits": 64},
            "veo3.1": {"credits_per_second": 40, "credits_per_second_no_audio": 20},  # "40 / 15 cr/s with audio,
            "veo3.1_fast": {"credits_per_second": 15, "credits_per_second_no_audio": 10},  # 20 / 10 without"
            "gemini_omni_flash": {"credits_per_second": 10},  # "10 cr/s (+1 per image)"
            "grok_imagine_1_5": {"by_resolution": {"480p": 10, "720p": 16, "1080p": 29}, "per_reference_image": 1},
            "wan3": {"by_resolution": {"480p": 5, "720p": 10, "1080p": 20}},  # "5 / 10 / 20 cr/s;
            "wan3_prime": {"by_resolution": {"480p": 6.8, "720p": 14, "1080p": 28}},  # prime 6.8 / 14 / 28"
            "hailuo3": {"by_resolution": {"768p": 10, "2k": 15}},  # "10 / 15 cr/s (768P / 2K) + refs"
            "h3_max": {"by_resolution": {"480p": 5, "768p": 8}},
            "happyhorse_1_0": {"by_resolution": {"720p": 15, "1080p": 30}},
            "gemini_2.5_flash": {"credits_per_image": 5},
        },
    },
    "cluely/unmodel": {
        "where": "src/providers/runway/pricing.ts and models.ts @196d9bec", "as_of": "2026-08-13",
        "figures": {
            "gen4.5": {"credits_per_second": 12},
            "gen4_turbo": {"credits_per_second": 5},
            "veo3.1": {"credits_per_second": 40, "credits_per_second_no_audio": 20},
            "veo3.1_fast": {"credits_per_second": 15, "credits_per_second_no_audio": 10},
            "aleph2": {"credits_per_second": 28, "minimum_credits": 56},
            "hailuo3": {"by_resolution": {"768p": 10, "2k": 15}, "per_reference_image": 2},
            "happyhorse_1_0": {"by_resolution": {"720p": 15, "1080p": 30}},
            "seedance2": {"by_resolution": {"480p": 36, "720p": 36, "1080p": 40, "4k": 150}},
            "seedance2_fast": {"credits_per_second": 29},
            "seedance2_mini": {"credits_per_second": 16, "minimum_credits": 64},
            "seedance2_5": {"by_resolution": {"480p": 20, "720p": 30}, "minimum_credits": 80},
            "grok_imagine_1_5": {"by_resolution": {"480p": 10, "720p": 16, "1080p": 29}, "per_reference_image": 1,
                                 "per_prompt_image": 1},
            "gemini_omni_flash": {"credits_per_second": 10, "by_endpoint": {"video_to_video": 11},
                                  "per_prompt_image": 1},
            "gen4_image": {"by_resolution": {"720p": 5, "1080p": 8}},
            "gen4_image_turbo": {"credits_per_image": 2},
            "gemini_2.5_flash": {"credits_per_image": 5},
            "seedream5_lite": {"credits_per_image": 4},
            "seedream5_pro": {"by_resolution": {"1k": 5, "2k": 9}},
            "gemini_image3_pro": {"by_resolution": {"1k_2k": 20, "4k": 40}},
            "gpt_image_2": {"by_quality_resolution": {"low": {"1k_2k": 1, "4k": 2}, "medium": {"1k_2k": 5, "4k": 11},
                                                      "high": {"1k_2k": 20, "4k": 41}, "auto": {"1k_2k": 20, "4k": 41}},
                            "default_quality": "high"},
            "grok_imagine_image_2": {"by_quality_resolution": {"low": {"1k": 4, "2k": 6}, "medium": {"1k": 6, "2k": 8}},
                                     "default_quality": "medium", "per_reference_image": 1},
        },
    },
    "coledtouch/Atelier": {
        "where": "src/runway.js @57026bd2", "as_of": "2026-10-08",
        "figures": {
            "gen4.5": {"credits_per_second": 12},
            "gen4_turbo": {"credits_per_second": 5},
            "aleph2": {"credits_per_second": 28, "minimum_credits": 56},
            "veo3.1": {"credits_per_second": 40, "credits_per_second_no_audio": 20},
            "veo3.1_fast": {"credits_per_second": 15, "credits_per_second_no_audio": 10},
            "grok_imagine_1_5": {"by_resolution": {"480p": 10, "720p": 16, "1080p": 29}, "per_prompt_image": 1},
            "grok_imagine_1_5_lite": {"by_resolution": {"480p": 2, "720p": 3, "1080p": 14}, "per_prompt_image": 1},
        },
    },
}
# Copies found and NOT used, with the figure that rules each out.
REJECTED: dict[str, dict[str, Any]] = {
    # Docsbook-Websites/runway-api, pricing/*.md @14af13f (2026-08-15): the fullest copy, but for
    # eleven_text_to_sound_v2 it says "1 credit per second of audio" (durations of 0.5-30 s) or 2
    # without a duration, where Runway's reference says "1-2 credits" a sound.
    "Docsbook-Websites/runway-api": {
        "gen4.5": {"credits_per_second": 12},
        "seedance2": {"credits_per_second": 36},
        "eleven_multilingual_v2": {"credits_per_character": 1 / 50},
        "eleven_voice_isolation": {"credits_per_second": 1 / 6},
        "eleven_text_to_sound_v2": {"credits_range": [1, 30]},
    },
}


def _disagreements(figures: dict[str, dict[str, Any]]) -> list[str]:
    """Where a copy and Runway's own figures (its API reference, the SDK's docstrings) differ."""
    own = {**SDK, **RUNWAY}
    out = []
    for name, fields in figures.items():
        for field, value in fields.items():
            if name in own and field in own[name] and own[name][field] != value:
                out.append(f"{name}.{field}: copy {value}, Runway {own[name][field]}")
            # a copy's tier at a size Runway's single figure covers must say that figure too
            if field == "by_resolution" and name in own and "credits_per_second" in own[name]:
                flat = own[name]["credits_per_second"]
                if name == "seedance2" and (value.get("480p"), value.get("720p")) != (flat, flat):
                    out.append(f"{name}.by_resolution: 480p/720p differ from Runway's {flat}")
    return out


@pytest.mark.parametrize("repo", sorted(COPIES))
def test_each_copy_agrees_with_runway_wherever_both_price(repo: str) -> None:
    assert _disagreements(COPIES[repo]["figures"]) == []
    assert set(COPIES[repo]["figures"]) & set(RUNWAY), "a copy that shares no figure with Runway cannot be checked"


@pytest.mark.parametrize("repo", sorted(REJECTED))
def test_a_rejected_copy_disagrees_and_prices_nothing(repo: str) -> None:
    assert _disagreements(REJECTED[repo]) != []
    for name, info in catalog().items():
        sources = [info.pricing.get("source", "")] + [o["source"] for o in info.pricing.get("other_sources") or []]
        assert not any(repo in str(src) for src in sources), name


def _copy_entries() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, info in sorted(catalog().items()):
        if info.pricing.get("copy"):
            out.append((name, info.pricing))
        for other in info.pricing.get("other_sources") or []:
            out.append((name, {**other, **{f: info.pricing[f] for f in other["fields"]}}))
    return out


@pytest.mark.parametrize(("name", "entry"), _copy_entries(), ids=[n for n, _ in _copy_entries()])
def test_a_copy_entry_names_its_copy_and_says_what_it_says(name: str, entry: dict[str, Any]) -> None:
    assert entry.get("copy") is True
    repo = next((r for r in COPIES if r in entry["source"]), None)
    assert repo, f"{name}: {entry['source']!r} names none of the checked copies"
    copy = COPIES[repo]
    assert copy["where"] in entry["source"] and entry["as_of"] == copy["as_of"]
    figures = copy["figures"].get(name)
    assert figures, f"{name}: {repo} does not price it"
    for field, value in figures.items():
        if field in entry:
            assert entry[field] == value, f"{name}.{field}"
    assert name not in RUNWAY or "other_sources" not in entry  # Runway's own figure is never a copy's


def test_copies_are_marked_and_runway_models_are_not_copies() -> None:
    copies = {n for n, i in catalog().items() if i.pricing.get("copy")}
    assert copies >= {"aleph2", "seedance2_5", "wan3", "wan3_prime", "seedream5_pro"}
    assert not copies & set(RUNWAY)  # a model Runway prices is Runway's entry, never a copy's
    seedance = catalog()["seedance2"].pricing
    assert seedance["by_resolution"]["480p"] == seedance["by_resolution"]["720p"] == RUNWAY["seedance2"][
        "credits_per_second"]


def test_the_image_copies_agree_with_what_the_sdk_says_of_them() -> None:
    # runwayml 5.24 text_to_image docstrings: gpt_image_2 quality "Defaults to `high`";
    # grok_imagine_image_2 "Defaults to `medium`; `low` ... costs 2 fewer credits per image",
    # "2K ratios cost 2 additional credits per image", each reference image "adds 1 credit".
    gpt = COPIES["cluely/unmodel"]["figures"]["gpt_image_2"]
    assert gpt["default_quality"] == "high"
    grok = COPIES["cluely/unmodel"]["figures"]["grok_imagine_image_2"]
    grid = grok["by_quality_resolution"]
    assert grok["default_quality"] == "medium" and grok["per_reference_image"] == 1
    assert all(grid["medium"][t] - grid["low"][t] == 2 for t in ("1k", "2k"))
    assert all(grid[q]["2k"] - grid[q]["1k"] == 2 for q in ("low", "medium"))


def test_a_model_the_copies_price_only_as_a_range_stays_unpriced() -> None:
    pricing = catalog()["gemini_omni_flash_1.1"].pricing
    assert not is_priced(pricing) and "3.4-30" in pricing["source"]


def test_how_many_models_are_priced() -> None:
    priced = sorted(n for n, i in catalog().items() if is_priced(i.pricing))
    assert len(priced) == 38 and len(catalog()) - len(priced) == 25  # 23 and 40 before round 3, then 33


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
    assert "vericontext/vibeframe" in detail and "(as of 2026-10-04)" in detail
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
