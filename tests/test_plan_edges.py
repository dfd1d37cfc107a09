"""Plan and validate edge cases found in review, each as a user would meet it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.catalog.models import catalog
from runner.catalog.pricing import cost_of

SHOT = "  - id: {id}\n    model: gen4.5\n    prompt: {prompt}\n    ratio: '1280:720'\n    duration: 4\n"


def spec_of(*shots: tuple[str, str]) -> str:
    return "version: 1\nname: t\nshots:\n" + "".join(SHOT.format(id=i, prompt=p) for i, p in shots)


def test_saved_plan_applies_from_another_directory(write_spec, run, api, tmp_path: Path, monkeypatch) -> None:
    emu = api()
    spec = write_spec(spec_of(("a", "cat")))
    saved = tmp_path / "plan.json"
    assert run(["plan", str(spec), "-o", str(saved)], cwd=tmp_path).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(["apply", str(saved), "--yes", "--poll-interval", "0.02"], cwd=elsewhere)
    assert result.exit_code == 0, result.stderr
    assert emu.stats["creates_total"] == 1


def test_a_price_file_named_by_another_path_is_the_same_table(write_spec, run, tmp_path: Path) -> None:
    write_spec(spec_of(("a", "cat")))
    prices = tmp_path / "prices.yaml"
    prices.write_text("gen4.5: {credits_per_second: 13}\n")
    saved = tmp_path / "plan.json"
    assert run(["plan", "spec.yaml", "--prices", "prices.yaml", "-o", str(saved)], cwd=tmp_path).exit_code == 0
    from runner.planner.saved import load_plan

    load_plan(saved, prices=prices.resolve())  # no StalePlanError


def test_excluding_a_renamed_shot_does_not_remove_its_old_id(write_spec, run, api) -> None:
    api()
    spec = write_spec(spec_of(("a", "cat"), ("b", "dog")))
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02"]).exit_code == 0
    spec.write_text(spec_of(("a", "cat"), ("renamed", "dog")))
    result = run(["plan", str(spec), "--exclude", "renamed"])
    assert "- b" not in result.stdout
    assert run(["apply", str(spec), "--yes", "--exclude", "renamed"]).exit_code == 0
    assert "> renamed" in run(["plan", str(spec)]).stdout


def test_select_that_matches_nothing_is_an_error(write_spec, run) -> None:
    result = run(["plan", str(write_spec(spec_of(("a", "cat")))), "--select", "typo*"])
    assert result.exit_code == 1 and "matched no shot" in result.stderr


def test_every_missing_field_is_named(write_spec, run) -> None:
    spec = write_spec("name: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: x\n")
    assert "missing required field 'version'" in run(["validate", str(spec)]).stderr
    spec = write_spec("version: 1\nshots:\n  - id: a\n    model: gen4.5\n    prompt: x\n", name="s2.yaml")
    result = run(["validate", str(spec)])
    assert result.stderr.count("missing required field") == 1 and "'name'" in result.stderr
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: x\n", name="s3.yaml")
    result = run(["validate", str(spec)])
    assert "needs duration" in result.stderr and "needs ratio" in result.stderr
    assert "(and 1 more)" not in result.stderr


def test_a_fully_excluded_matrix_makes_no_shot_and_says_so(write_spec, run) -> None:
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: 'x-{{ v }}'\n    model: gen4.5\n    prompt: p\n"
                      "    ratio: '1280:720'\n    duration: 4\n    matrix: {v: [a]}\n    exclude: [{v: a}]\n"
                      + SHOT.format(id="b", prompt="q"))
    result = run(["validate", "--format", "json", str(spec)])
    doc = json.loads(result.stdout)
    assert doc["specs"][0]["shots"] == 1
    assert any("every matrix combination is excluded" in p["message"] for p in doc["problems"])


def test_default_params_give_way_to_the_shots_own_field(write_spec, run) -> None:
    spec = write_spec("version: 1\nname: t\ndefaults: {params: {seed: 3}}\nshots:\n  - id: a\n    model: gen4.5\n"
                      "    prompt: x\n    ratio: '1280:720'\n    duration: 4\n    seed: 7\n")
    assert run(["validate", str(spec)]).exit_code == 0


def test_numeric_id_gets_a_clear_message_once(write_spec, run) -> None:
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: '{{ n }}'\n    model: gen4.5\n    prompt: x\n"
                      "    ratio: '1280:720'\n    duration: 4\n    matrix: {n: [1, 2]}\n")
    result = run(["validate", str(spec)])
    assert result.exit_code == 1 and "id rendered to int 1" in result.stderr
    undefined = write_spec("version: 1\nname: t\nshots:\n  - id: 'a-{{ cty }}'\n    model: gen4.5\n    prompt: x\n"
                           "    ratio: '1280:720'\n    duration: 4\n    matrix: {city: [x, y, z]}\n", name="u.yaml")
    result = run(["validate", str(undefined)])
    assert result.stderr.count("error:") == 1 and "(in 3 matrix variants)" in result.stderr


@pytest.mark.parametrize(
    ("model", "body", "credits"),
    [
        ("wan3", {"ratio": "auto_1080p", "duration": 5}, 100),
        ("wan3", {"ratio": "auto_480p", "duration": 5}, 25),
        ("grok_imagine_1_5", {"ratio": "16:9", "duration": 5}, 80),  # aspect only: the base (720p) rate
        ("grok_imagine_1_5", {"ratio": "16:9", "resolution": "1080p", "duration": 5}, 145),
        ("seedance2_5", {"duration": "auto"}, 900),
    ],
)
def test_resolution_tiers_and_auto(model: str, body: dict, credits: int) -> None:
    assert cost_of(catalog()[model], {"model": model, **body}).credits == credits


def test_video_to_video_without_duration_is_priced_by_the_input(write_spec, run) -> None:
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: v\n    model: gemini_omni_flash\n"
                      "    video: assets/clip.mp4\n"
                      "    prompt: snow\n")
    doc = json.loads(run(["plan", str(spec), "--format", "json"]).stdout)
    assert doc["shots"][0]["credits"] == 44  # video-to-video: 11 credits/s x the 4 s clip


def test_missing_output_names_the_take_and_takes_growth_is_named(write_spec, run, api, tmp_path: Path,
                                                                  monkeypatch) -> None:
    api()
    spec = write_spec(spec_of(("a", "cat")).replace("duration: 4\n", "duration: 4\n    takes: 2\n"))
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02"]).exit_code == 0
    (tmp_path / "outputs" / "t" / "a" / "1.mp4").unlink()
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "empty-cache"))  # a fresh CI checkout
    shown = run(["plan", str(spec)]).stdout  # paid for, so read again from its task first, for free
    assert "output missing: fetched again from task" in shown and "0 credits" in shown
    spec.write_text(spec.read_text().replace("takes: 2", "takes: 3"))
    assert "takes 2 → 3" in run(["plan", str(spec)]).stdout


def test_a_saved_plan_refuses_new_selection_options(write_spec, run, tmp_path: Path) -> None:
    spec = write_spec(spec_of(("a", "cat")))
    saved = tmp_path / "plan.json"
    assert run(["plan", str(spec), "-o", str(saved)]).exit_code == 0
    result = run(["apply", str(saved), "--yes", "--select", "a"])
    assert result.exit_code == 1 and "carries its own" in result.stderr
