"""The charge comes from the API, and what differs from the plan is named: per model, planned and
charged, the price-file line that fixes it; credits of unpriced models the plan did not count;
`runner prices` and `runner prices --observed`."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from runner.catalog.models import catalog
from runner.planner.charges import Charge, Drift, drift, observed, per_unit, unplanned

ROOT = Path(__file__).resolve().parent.parent
POLL = ["--poll-interval", "0.02"]
GEN45 = "version: 1\nname: d\nshots:\n  - {id: a, model: gen4.5, prompt: a rooftop, ratio: '1280:720', duration: 5}\n"


def cheap_gen45(tmp_path: Path) -> Path:
    prices = tmp_path / "prices.yaml"
    prices.write_text("gen4.5: {credits_per_second: 10}\n")
    return prices


def test_a_wrong_table_price_is_named_with_both_figures_and_its_fix(write_spec, run, api, tmp_path: Path) -> None:
    emu = api()
    spec = write_spec(GEN45)
    prices = cheap_gen45(tmp_path)
    result = run(["apply", str(spec), "--yes", *POLL, "--prices", str(prices)])
    assert result.exit_code == 0, result.stderr
    take = json.loads(spec.with_name("spec.state.json").read_text())["shots"]["a"]["takes"][0]
    assert take["credits"] == 60 and "credits_from" not in take  # the API's charge, not the table's 50
    lines = [line for line in result.stdout.splitlines() if "gen4.5" in line and "50" in line and "60" in line]
    assert lines == ["  gen4.5: planned 50, charged 60 (table 10/s; the API billed 12/s)"]
    assert "    price file line that fixes it: gen4.5: {credits_per_second: 12}" in result.stdout
    assert emu.stats["credits_charged"] == 60


def test_the_json_summary_carries_the_drift(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec(GEN45)
    result = run(["apply", str(spec), "--yes", *POLL, "--prices", str(cheap_gen45(tmp_path)), "--format", "json"])
    doc = json.loads(result.stdout)
    assert doc["drift"] == [{"model": "gen4.5", "unit": "second", "takes": 1, "planned": 50, "charged": 60,
                             "table_rate": 10, "billed_rate": 12.0, "fix": "gen4.5: {credits_per_second: 12}",
                             "text": "gen4.5: planned 50, charged 60 (table 10/s; the API billed 12/s)"}]
    assert doc["unplanned"] == [] and doc["credits"]["charged"] == 60


def test_the_report_names_the_same_drift(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec(GEN45)
    prices = cheap_gen45(tmp_path)
    assert run(["apply", str(spec), "--yes", *POLL, "--prices", str(prices)]).exit_code == 0
    result = run(["report", str(spec), "--prices", str(prices)])
    assert result.exit_code == 0, result.stderr
    assert "  gen4.5: planned 50, charged 60 (table 10/s; the API billed 12/s)" in result.stdout
    page = spec.with_name("spec.report.html").read_text()
    assert "gen4.5: planned 50, charged 60 (table 10/s; the API billed 12/s)" in page
    assert "gen4.5: {credits_per_second: 12}" in page
    plain = run(["report", str(spec)])  # the built-in table says 12/s: it agrees with the API
    assert "Charged other than planned" not in plain.stdout


def test_the_progress_line_shows_the_apis_estimate(write_spec, run, api) -> None:
    api()
    result = run(["apply", str(write_spec(GEN45)), "--yes", *POLL])
    assert re.search(r"\] a #1: (PENDING|RUNNING) \(estimated 60 credits\)", result.stderr), result.stderr


def test_spend_on_unpriced_models_is_named_and_said_to_be_outside_the_plan(tmp_path: Path, run, api,
                                                                         monkeypatch) -> None:
    api(video_fps=2, video_max_side=64)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copytree(ROOT / "specs" / "assets", tmp_path / "specs" / "assets")
    spec = tmp_path / "examples" / "storyboard.yaml"
    doc = yaml.safe_load(spec.read_text())
    unpriced = sorted({s["model"] for s in doc["shots"] if s.get("model") and not _priced(s["model"])})
    assert unpriced == ["magnific_video_upscaler_creative", "mirelo_sfx_2_0"]
    result = run(["apply", str(spec), "--yes", *POLL, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [u["model"] for u in summary["unplanned"]] == unpriced
    assert all(u["charged"] > 0 and u["takes"] == 3 for u in summary["unplanned"])
    extra = sum(u["charged"] for u in summary["unplanned"])
    assert summary["credits"]["charged"] == summary["credits"]["planned"] + extra  # every credit accounted for
    spec.with_name("storyboard.state.json").unlink()
    text = run(["apply", str(spec), "--yes", *POLL, "--replace", "sound-bed"]).stdout
    assert "Spend beyond the plan" not in text  # nothing unpriced was created this time


def _priced(model: str) -> bool:
    from runner.catalog.pricing import is_priced

    return is_priced(catalog()[model].pricing)


def test_runner_prices_prints_the_table_with_units_and_sources(run) -> None:
    result = run(["prices"])
    assert result.exit_code == 0
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:] if line and not line.startswith("1 ")}
    assert re.fullmatch(r"eleven_voice_isolation +second +1 per 6 s +Runway 2026-04-21", rows["eleven_voice_isolation"])
    assert re.fullmatch(r"aleph2 +second +28/s; at least 56; \+5-20/s by output format +copy\* 2026-10-04",
                        rows["aleph2"])
    assert re.fullmatch(r"gemini_omni_flash +second +10/s; 11/s on video_to_video; \+1 per reference image; "
                        r"\+1 per start frame +copy\* 2026-08-13", rows["gemini_omni_flash"])
    assert re.fullmatch(r"kling3\.0_pro +second +\? +- \(unpublished\)", rows["kling3.0_pro"])
    assert "ideogram_4_0" in rows and "no default documented: planned at the dearest" in rows["ideogram_4_0"]
    doc = json.loads(run(["prices", "gen4.5", "seed_audio", "--format", "json"]).stdout)
    assert [(r["model"], r["unit"]) for r in doc] == [("gen4.5", "second"), ("seed_audio", "second"),
                                                      ("seed_audio", "character")]
    assert run(["prices", "gen9"]).exit_code == 1


def test_observed_prices_come_from_the_states_and_change_nothing(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec(GEN45 + "  - {id: b, model: kling3.0_pro, prompt: a beach, ratio: '1920:1080', duration: 5}\n")
    prices = cheap_gen45(tmp_path)
    assert run(["apply", str(spec), "--yes", *POLL, "--prices", str(prices)]).exit_code == 0
    before = {p: p.read_bytes() for p in (ROOT / "schema" / "models").glob("*.json")}
    result = run(["prices", "--observed", str(spec), "--prices", str(prices)])
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    assert lines == ["gen4.5: {credits_per_second: 12}  # 1 take, 60 credits for 5 units; the table says 10",
                     "kling3.0_pro: {credits_per_second: 10}  # 1 take, 50 credits for 5 units"]
    observed_file = tmp_path / "observed.yaml"
    observed_file.write_text(result.stdout)
    plan = json.loads(run(["plan", str(spec), "--prices", str(observed_file), "--format", "json",
                           "--replace", "a", "--replace", "b"]).stdout)
    assert {s["id"]: s["credits"] for s in plan["shots"]} == {"a": 60, "b": 50}  # a usable price file
    assert before == {p: p.read_bytes() for p in (ROOT / "schema" / "models").glob("*.json")}


# --- the records -------------------------------------------------------------------------------

def charge(model: str = "gen4.5", planned: int | None = 50, charged: int | None = 60, units: float | None = 5,
           rate: float | None = 10, field: str | None = "credits_per_second", base: float | None = 10,
           unit: str = "second") -> Charge:
    return Charge("a", 1, model, unit, planned, charged, units, rate, field, base)  # type: ignore[arg-type]


def test_drift_is_per_model_and_only_where_the_totals_differ() -> None:
    found = drift([charge(), charge(), charge("veo3", 320, 320, 8, 40, base=40)])
    assert [(d.model, d.planned, d.charged, d.takes) for d in found] == [("gen4.5", 100, 120, 2)]
    assert drift([charge(charged=None), charge(planned=None)]) == []


@pytest.mark.parametrize(
    ("c", "fix"),
    [
        pytest.param(charge(), "gen4.5: {credits_per_second: 12}", id="rate"),
        pytest.param(charge("seedance2", 200, 220, 5, 40, "by_resolution.1080p", 40), "seedance2: "
                     "{by_resolution: {1080p: 44}}", id="tier"),
        pytest.param(charge(planned=85, charged=90, rate=17, base=12), "gen4.5: {credits_per_second: 13}",
                     id="surcharge-kept-out"),
        pytest.param(charge("eleven_text_to_sound_v2", 2, 3, None, None, "credits_range", 2),
                     "eleven_text_to_sound_v2: {credits_range: [3, 3]}", id="flat-range"),
        pytest.param(charge("eleven_voice_isolation", 2, 3, 12, 1 / 6, base=1 / 6),
                     "eleven_voice_isolation: {credits_per_second: 0.25}", id="fraction"),
    ],
)
def test_the_fix_is_a_price_file_line(c: Charge, fix: str) -> None:
    (d,) = drift([c])
    assert d.fix == fix


def test_the_lowest_per_unit_charge_decides_the_billed_rate() -> None:
    # 1 credit per 6 s billed as whole credits: 12 s cost 2 (1/6 per s), 2 s cost 1 (1/2 per s).
    takes = [charge("eleven_voice_isolation", 1, 1, 2, 1 / 20, base=1 / 20),
             charge("eleven_voice_isolation", 1, 2, 12, 1 / 20, base=1 / 20)]
    (d,) = drift(takes)
    assert d.billed_rate == pytest.approx(1 / 6)
    assert d.text() == "eleven_voice_isolation: planned 2, charged 3 (table 1 per 20 s; the API billed 1 per 6 s)"
    (o,) = observed(takes)
    assert o.value == pytest.approx(1 / 6, rel=1e-5) and o.takes == 2 and o.credits == 3


def test_drift_without_units_says_how_many_takes() -> None:
    d = Drift("m", "task", 2, 4, 6, None, None, None, None)
    assert d.text() == "m: planned 4, charged 6 over 2 takes" and d.fix is None


def test_unplanned_spend_is_summed_per_model() -> None:
    found = unplanned([charge("kling3.0_pro", None, 50), charge("kling3.0_pro", None, 50), charge()])
    assert [(u.model, u.takes, u.charged) for u in found] == [("kling3.0_pro", 2, 100)]
    assert found[0].text() == "kling3.0_pro: 100 credits charged for 2 takes the plan did not count (no known price)"


@pytest.mark.parametrize(("value", "unit", "text"), [(12, "second", "12/s"), (1 / 6, "second", "1 per 6 s"),
                                                     (0.02, "character", "1 per 50 chars"), (5, "image", "5/image"),
                                                     (2.5, "second", "2.5/s")])
def test_rates_read_as_published(value: float, unit: str, text: str) -> None:
    assert per_unit(value, unit) == text
