"""The model catalog: well-formed schemas, the guide's rules encoded as schema data."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from runner.catalog.models import MODES, catalog, schema_dir

GUIDE_MODELS = ["gen4.5", "seedance2", "gen4_turbo", "gen4_aleph", "veo3", "veo3.1", "veo3.1_fast", "act_two"]
SCHEMA_FILES = sorted(schema_dir().rglob("*.json"))


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=[p.name for p in SCHEMA_FILES])
def test_every_schema_file_is_valid_draft_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_guide_models_are_covered_with_prices() -> None:
    cat = catalog()
    for name in GUIDE_MODELS:
        assert name in cat, name
        assert cat[name].pricing["credits_per_second"] is not None, name


def test_legacy_models_point_to_their_replacement() -> None:
    cat = catalog()
    assert (cat["gen4_aleph"].status, cat["gen4_aleph"].replacement) == ("legacy", "aleph2")
    assert (cat["veo3"].status, cat["veo3"].replacement) == ("legacy", "veo3.1")
    assert cat["aleph2"].status == "current"


def test_every_mode_has_a_schema() -> None:
    for info in catalog().values():
        assert info.modes, info.name
        for mode, endpoint in info.modes.items():
            assert mode in MODES
            assert endpoint in info.document["$defs"]
            assert mode in info.document["$defs"]


def errors(model: str, mode: str, body: dict) -> list[str]:
    errors = catalog()[model].validator(mode).iter_errors(body)
    return [e.message + " " + str(e.schema.get("x-error", "")) for e in errors]


def test_seedance_keyframes_and_reference_images_cannot_mix() -> None:
    mixed = {"model": "seedance2", "promptImage": [{"uri": "https://a.example/1.png", "position": "first"},
                                                     {"uri": "https://a.example/2.png"}]}
    assert any("cannot be mixed" in e for e in errors("seedance2", "image", mixed))
    refs = {"model": "seedance2", "promptImage": [{"uri": "https://a.example/1.png"}, {"uri": "https://a.example/2.png"}]}
    assert errors("seedance2", "image", refs) == []
    keys = {"model": "seedance2", "promptImage": [{"uri": "https://a.example/1.png", "position": "first"},
                                                   {"uri": "https://a.example/2.png", "position": "last"}]}
    assert errors("seedance2", "keyframes", keys) == []


@pytest.mark.parametrize("model", ["veo3.1", "veo3.1_fast"])
def test_veo_last_frame_needs_a_first_frame(model: str) -> None:
    last = {"uri": "https://a.example/l.png", "position": "last"}
    body = {"model": model, "ratio": "1280:720", "promptImage": [last]}
    assert any("needs a first frame" in e for e in errors(model, "keyframes", body))
    body["promptImage"].insert(0, {"uri": "https://a.example/f.png", "position": "first"})
    assert errors(model, "keyframes", body) == []


@pytest.mark.parametrize(
    ("model", "mode", "good", "bad"),
    [
        ("gen4.5", "text", [2, 10], [1, 11]),
        ("gen4_turbo", "image", [2, 10], [1, 11]),
        ("veo3.1", "text", [4, 6, 8], [5, 7, 10]),
        ("veo3", "text", [8], [4, 6]),
        ("seedance2", "text", [4, 15, "auto"], [3, 16, "long"]),
    ],
)
def test_duration_limits(model: str, mode: str, good: list, bad: list) -> None:
    base = {"model": model, "promptText": "x", "ratio": "1280:720"}
    if mode == "image":
        base["promptImage"] = "https://a.example/i.png"
    for value in good:
        assert errors(model, mode, {**base, "duration": value}) == [], value
    for value in bad:
        assert errors(model, mode, {**base, "duration": value}), value


def test_ratio_sets_differ_by_mode() -> None:
    gen45 = catalog()["gen4.5"]
    text = gen45.properties("text_to_video")["ratio"]["enum"]
    image = gen45.properties("image_to_video")["ratio"]["enum"]
    assert sorted(text) == ["1280:720", "720:1280"]
    assert len(image) == 6 and "1584:672" in image


def test_prompt_limits() -> None:
    assert catalog()["gen4.5"].properties("text_to_video")["promptText"]["maxLength"] == 1000
    assert catalog()["seedance2"].properties("text_to_video")["promptText"]["maxLength"] == 3500


def test_act_two_needs_character_and_performance_and_takes_no_prompt() -> None:
    body = {"model": "act_two", "character": {"type": "image", "uri": "https://a.example/c.png"}}
    assert any("'reference' is a required property" in e for e in errors("act_two", "performance", body))
    body["reference"] = {"type": "video", "uri": "https://a.example/p.mp4"}
    assert errors("act_two", "performance", body) == []
    assert errors("act_two", "performance", {**body, "promptText": "smile"})


def test_gen4_turbo_has_only_image_mode() -> None:
    assert list(catalog()["gen4_turbo"].modes) == ["image"]


@pytest.mark.parametrize("model", sorted(catalog()))
def test_memoized_validation_gives_the_same_errors(model: str) -> None:
    info = catalog()[model]
    for mode in info.modes:
        props = info.properties(info.modes[mode])
        for prompt in ("", "short", "y" * 1001, "z" * 3501):
            body = {"model": model, "promptText": prompt, "ratio": "1:1", "duration": 99}
            if "promptText" not in props:
                continue
            direct = sorted((list(e.absolute_path), e.validator) for e in info.validator(mode).iter_errors(body))
            for _ in range(2):  # the second call is answered from the memo
                memo = sorted((list(e.absolute_path), e.validator) for e in info.errors(mode, body))
                assert memo == direct, (model, mode, len(prompt))
