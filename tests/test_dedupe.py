"""Identical requests in one plan are paid once: the later take waits for the first and gets a
copy of its file, as a later plan would restore it from the cache; validate names both shots."""

from __future__ import annotations

import json
from pathlib import Path

POLL = ["--poll-interval", "0.02"]
TWINS = """
version: 1
name: twins
shots:
  - id: "hero-lagos-{{ size }}"
    model: gen4.5
    prompt: "Trail sneaker on a rooftop in Lagos{{ extra }}"
    ratio: "1280:720"
    duration: 5
    matrix: {size: [wide, close]}
    vars: {}
"""


def twins(write_spec, extra: str = "", **more: str) -> Path:
    text = TWINS.replace("    vars: {}\n", "").replace("{{ extra }}", extra)
    for key, value in more.items():
        text += f"    {key}: {value}\n"
    return write_spec(text)


def test_validate_warns_naming_both_shots(write_spec, run) -> None:
    result = run(["validate", str(twins(write_spec))])
    assert result.exit_code == 0
    assert ("spec.yaml:4:9: shot hero-lagos-close: prompt: hero-lagos-close sends the same request as hero-lagos-wide: "
            "it reuses that result; vary the prompt or use takes: 2 for variations") in result.stderr
    assert result.stderr.count("sends the same request") == 1


def test_a_varied_prompt_is_no_duplicate(write_spec, run) -> None:
    result = run(["validate", str(twins(write_spec, extra=", {{ size }} shot"))])
    assert result.exit_code == 0 and "same request" not in result.stderr


def test_plan_prices_the_duplicate_at_zero_with_a_reason(write_spec, run) -> None:
    spec = twins(write_spec)
    text = run(["plan", str(spec)]).stdout
    assert ("+ hero-lagos-close  gen4.5 text            0 credits          new shot; sends the same request as "
            "hero-lagos-wide: reuses that result (0 credits)") in text
    assert "Plan: 2 to create, 0 unchanged — 60 credits ($0.60)" in text
    doc = json.loads(run(["plan", str(spec), "--format", "json"]).stdout)
    close = next(s for s in doc["shots"] if s["id"] == "hero-lagos-close")
    assert close["credits"] == 0 and close["takes"][0]["action"] == "reuse"
    assert close["takes"][0]["reuses"] == {"shot": "hero-lagos-wide", "take": 1}
    assert doc["summary"]["credits"] == 60 and doc["summary"]["generations"] == 1


def test_one_apply_makes_one_create_and_writes_both_files(write_spec, run, api, tmp_path: Path) -> None:
    emu = api()
    spec = twins(write_spec)
    result = run(["apply", str(spec), "--yes", *POLL, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert emu.stats["creates_total"] == 1
    wide, close = (tmp_path / "outputs" / "twins" / f"hero-lagos-{s}" / "1.mp4" for s in ("wide", "close"))
    assert wide.read_bytes() == close.read_bytes() and wide.stat().st_size > 0
    doc = json.loads(result.stdout)
    assert doc["credits"]["charged"] == 60 and doc["counts"] == {"cached": 1, "done": 1}
    state = json.loads(spec.with_name("spec.state.json").read_text())["shots"]
    first, second = state["hero-lagos-wide"]["takes"][0], state["hero-lagos-close"]["takes"][0]
    assert second["sha256"] == first["sha256"] and second["credits"] == 0 and second["source"] == "cache"
    assert first["credits"] == 60 and first["source"] == "api"
    again = run(["plan", str(spec), "--detailed-exitcode"])
    assert again.exit_code == 0 and "No changes" in again.stdout


def test_takes_of_twin_shots_pair_up_by_take_number(write_spec, run, api, tmp_path: Path) -> None:
    emu = api()
    spec = twins(write_spec, takes="2")
    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 0, result.stderr
    assert emu.stats["creates_total"] == 2  # takes 1 and 2 of the first shot; the second copies them
    out = tmp_path / "outputs" / "twins"
    for n in (1, 2):
        wide, close = out / "hero-lagos-wide" / f"{n}.mp4", out / "hero-lagos-close" / f"{n}.mp4"
        assert wide.read_bytes() == close.read_bytes()
    state = json.loads(spec.with_name("spec.state.json").read_text())["shots"]
    first, twin = state["hero-lagos-wide"]["takes"], state["hero-lagos-close"]["takes"]
    assert [t["fingerprint"] for t in first] == [t["fingerprint"] for t in twin]
    assert first[0]["fingerprint"] != first[1]["fingerprint"]
    assert {t["task_id"] for t in first} == {t["task_id"] for t in twin}


def test_when_the_first_fails_the_twin_is_not_started_and_costs_nothing(write_spec, run, api) -> None:
    emu = api()
    spec = twins(write_spec, extra=" [[fail:SAFETY.INPUT.TEXT]]")
    result = run(["apply", str(spec), "--yes", *POLL, "--format", "json"])
    assert result.exit_code == 1
    assert emu.stats["creates_total"] == 1
    doc = json.loads(result.stdout)
    (skipped,) = doc["outcomes"]["not_started"]
    assert skipped["shot"] == "hero-lagos-close"
    assert skipped["reason"] == "not started: it reuses hero-lagos-wide take 1, which failed"


def test_a_twin_of_a_shot_already_made_copies_its_file(write_spec, run, api, tmp_path: Path, monkeypatch) -> None:
    emu = api()
    spec = write_spec(TWINS.replace("matrix: {size: [wide, close]}", "matrix: {size: [wide]}").replace(
        "    vars: {}\n", "").replace("{{ extra }}", ""))
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    # A fresh cache (another machine) and a new twin: its file comes from the first shot's, free.
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "other-cache"))
    spec.write_text(spec.read_text().replace("[wide]", "[wide, close]"))
    plan = run(["plan", str(spec)]).stdout
    assert "sends the same request as hero-lagos-wide: reuses that result (0 credits)" in plan
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    assert emu.stats["creates_total"] == 1
    out = tmp_path / "outputs" / "twins"
    assert (out / "hero-lagos-close" / "1.mp4").read_bytes() == (out / "hero-lagos-wide" / "1.mp4").read_bytes()


def test_the_demo_sends_a_different_request_per_size(run) -> None:
    root = Path(__file__).resolve().parent.parent
    result = run(["validate", str(root / "specs" / "demo.yaml")])
    assert result.exit_code == 0 and "same request" not in result.stderr
    plan = json.loads(run(["plan", str(root / "specs" / "demo.yaml"), "--format", "json"]).stdout)
    lagos = [s for s in plan["shots"] if s["id"].startswith("hero-lagos-")]
    assert len(lagos) == 2 and lagos[0]["fingerprint"] != lagos[1]["fingerprint"]
