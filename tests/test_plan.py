"""runner plan: each diff symbol, costs, budget, selection, saved plans and their staleness."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from runner.store.cache import Hasher

GOLDEN = Path(__file__).parent / "golden"

SPEC = """
version: 1
name: launch
budget: {max_credits: 1000}
defaults: {model: gen4.5, ratio: "1280:720", duration: 5}
shots:
  - id: "hero-{{ city | slug }}"
    prompt: "sneaker on a rooftop in {{ city }}"
    matrix: {city: [Tokyo, Lima]}
    tags: [hero]
  - id: sunset
    model: veo3.1_fast
    frames: {first: assets/day.png, last: assets/night.png}
    prompt: "day turns to night"
    duration: 4
    audio: false
  - id: spin
    model: gen4_turbo
    image: assets/sneaker.png
    prompt: "slow turn"
    takes: 2
"""


def apply(run, spec: Path):
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02"])
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def plan(run, spec: Path, *args: str):
    return run(["plan", str(spec), *args])


def lines(result) -> dict[str, str]:
    """shot id -> its plan line."""
    out = {}
    for line in result.stdout.splitlines():
        m = re.match(r"^  ([+~=>-]) (\S+)", line)
        if m:
            out[m.group(2)] = line
    return out


def test_new_spec_creates_everything_with_costs(write_spec, run) -> None:
    spec = write_spec(SPEC)
    result = plan(run, spec, "--detailed-exitcode")
    assert result.exit_code == 2
    shown = lines(result)
    assert shown["hero-tokyo"].startswith("  + hero-tokyo") and "60 credits" in shown["hero-tokyo"]
    assert "40 credits" in shown["sunset"]  # veo3.1_fast without audio: 10/s x 4 s
    assert "50 credits (2 takes)" in shown["spin"]  # gen4_turbo 5/s x 5 s x 2
    assert "Plan: 4 to create, 0 unchanged — 210 credits ($2.10)" in result.stdout
    assert "Budget: 210 of 1000 credits" in result.stdout


def test_after_apply_nothing_changes(write_spec, run, api) -> None:
    api()
    spec = write_spec(SPEC)
    apply(run, spec)
    result = plan(run, spec, "--detailed-exitcode")
    assert result.exit_code == 0, result.stdout
    assert "No changes." in result.stdout
    assert set(lines(result)) == {"hero-tokyo", "hero-lima", "sunset", "spin"}
    assert all(line.startswith("  = ") for line in lines(result).values())


def test_changed_prompt_names_the_field(write_spec, run, api) -> None:
    api()
    spec = write_spec(SPEC)
    apply(run, spec)
    spec.write_text(spec.read_text().replace("slow turn", "fast turn"))
    result = plan(run, spec, "--detailed-exitcode")
    assert result.exit_code == 2
    assert re.search(r"~ spin .*50 credits \(2 takes\)\s+prompt changed", lines(result)["spin"])
    assert "Plan: 0 to create, 1 to regenerate" in result.stdout


def test_changed_input_content_is_detected(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec(SPEC)
    apply(run, spec)
    (tmp_path / "assets" / "night.png").write_bytes((tmp_path / "assets" / "hero.png").read_bytes())
    assert "frames.last (content changed)" in lines(plan(run, spec))["sunset"]


def test_reverted_change_is_restored_from_cache(write_spec, run, api) -> None:
    api()
    spec = write_spec(SPEC)
    apply(run, spec)
    original = spec.read_text()
    spec.write_text(original.replace("slow turn", "fast turn"))
    apply(run, spec)
    spec.write_text(original)
    line = lines(plan(run, spec))["spin"]
    assert line.startswith("  = spin") and "restored from cache (prompt changed back)" in line


def test_renamed_shot_is_a_move_without_cost(write_spec, run, api) -> None:
    api()
    spec = write_spec(SPEC)
    apply(run, spec)
    spec.write_text(spec.read_text().replace("id: sunset", "id: dusk"))
    result = plan(run, spec)
    assert "> dusk" in result.stdout and "moved from sunset" in lines(result)["dusk"]
    assert "sunset" not in lines(result)
    assert "— 0 credits" in result.stdout


def test_removed_shot_keeps_its_files(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec(SPEC)
    apply(run, spec)
    text = spec.read_text()
    spec.write_text(text[: text.index("  - id: spin")])
    result = plan(run, spec)
    assert lines(result)["spin"].startswith("  - spin") and "files kept" in lines(result)["spin"]
    apply(run, spec)
    assert (tmp_path / "outputs" / "launch" / "spin" / "1.mp4").is_file()
    assert "spin" not in json.loads((tmp_path / "spec.state.json").read_text())["shots"]


def test_select_exclude_and_replace(write_spec, run, api) -> None:
    api()
    spec = write_spec(SPEC)
    assert set(lines(plan(run, spec, "--select", "hero"))) == {"hero-tokyo", "hero-lima"}  # by tag
    assert set(lines(plan(run, spec, "--select", "hero-*", "--exclude", "*lima"))) == {"hero-tokyo"}
    apply(run, spec)
    result = plan(run, spec, "--replace", "sunset")
    assert re.search(r"~ sunset .*40 credits\s+--replace", lines(result)["sunset"])
    bad = plan(run, spec, "--replace", "nope")
    assert bad.exit_code == 1 and "no shot with id 'nope'" in bad.stderr


def test_over_budget_fails_and_says_by_how_much(write_spec, run) -> None:
    spec = write_spec(SPEC)
    result = plan(run, spec, "--max-credits", "200")
    assert result.exit_code == 1
    assert "Over budget: 210 credits planned, budget 200 — 10 over" in result.stdout
    assert "10 over the budget of 200" in result.stderr


def test_unknown_price_is_flagged_and_a_price_file_fixes_it(write_spec, run, tmp_path: Path) -> None:
    spec = write_spec("version: 1\nname: k\nshots:\n  - id: a\n    model: kling3.0_pro\n    prompt: x\n"
                      "    ratio: '1920:1080'\n    duration: 5\n")
    result = plan(run, spec)
    assert "price unknown" in lines(result)["a"] and "1 shot(s) of unknown price, not counted" in result.stdout
    assert "at least 0 credits" in result.stdout
    prices = tmp_path / "prices.yaml"
    prices.write_text("kling3.0_pro: {credits_per_second: 20}\n")
    doc = json.loads(plan(run, spec, "--prices", str(prices), "--format", "json").stdout)
    assert doc["summary"]["credits"] == 100 and doc["price_table"]["source"] == str(prices)


def _normalize(text: str, tmp_path: Path) -> str:
    text = re.sub(r"[0-9a-f]{64}", "<sha256>", text)
    text = re.sub(r"`[0-9a-f]{12}`", "`<sha>`", text)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<task-id>", text)
    return text.replace(str(tmp_path), "<tmp>")


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_output_formats_match_golden_files(fmt: str, write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec(SPEC)
    assert run(["apply", "spec.yaml", "--yes", "--poll-interval", "0.02"], cwd=tmp_path).exit_code == 0
    text = spec.read_text().replace("rooftop", "beach").replace("id: sunset", "id: dusk")
    spec.write_text(text[: text.index("  - id: spin")])  # ~ two prompts, > a rename, - a removal
    result = run(["plan", "spec.yaml", "--format", fmt], cwd=tmp_path)
    golden = GOLDEN / f"plan.{'json' if fmt == 'json' else 'md'}"
    got = _normalize(result.stdout, tmp_path)
    if os.environ.get("UPDATE_GOLDEN"):  # pragma: no cover - regenerate, then review the diff
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(got)
    assert got == golden.read_text(), "run with UPDATE_GOLDEN=1 and review the diff if the change is intended"


def test_saved_plan_refuses_when_anything_changed(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec(SPEC)
    saved = tmp_path / "plan.json"

    def stale_after(change) -> str:
        assert run(["plan", str(spec), "-o", str(saved)]).exit_code == 0
        change()
        result = run(["apply", str(saved), "--yes"])
        assert result.exit_code == 1
        return result.stderr

    original = spec.read_text()
    assert "the spec" in stale_after(lambda: spec.write_text(original + "\n# edited\n"))
    assert "input assets/day.png changed" in stale_after(
        lambda: (tmp_path / "assets" / "day.png").write_bytes(b"\x89PNG\r\n\x1a\nchanged"))
    (tmp_path / "assets" / "day.png").write_bytes((Path(__file__).parent.parent / "specs/assets/day.png").read_bytes())
    prices = tmp_path / "p.yaml"
    prices.write_text("gen4.5: {credits_per_second: 13}\n")
    assert run(["plan", str(spec), "-o", str(saved)]).exit_code == 0
    result = run(["apply", str(saved), "--yes", "--prices", str(prices)])
    assert result.exit_code == 1 and "prices changed" in result.stderr
    assert "state file" in stale_after(lambda: (tmp_path / "spec.state.json").write_text('{"format": 1, "shots": {}}'))


def test_saved_plan_is_carried_out(write_spec, run, api, tmp_path: Path) -> None:
    emu = api()
    spec = write_spec(SPEC)
    saved = tmp_path / "plan.json"
    assert run(["plan", str(spec), "-o", str(saved), "--select", "hero-*"]).exit_code == 0
    result = run(["apply", str(saved), "--yes", "--poll-interval", "0.02"])
    assert result.exit_code == 0, result.stderr
    assert emu.stats["creates_total"] == 2


def test_corrupt_or_newer_state_is_an_error_and_left_alone(write_spec, run, tmp_path: Path) -> None:
    spec = write_spec(SPEC)
    state = tmp_path / "spec.state.json"
    for text, fragment in (("{not json", "corrupt"), ('{"format": 99, "shots": {}}', "newer runner")):
        state.write_text(text)
        result = plan(run, spec)
        assert result.exit_code == 1 and fragment in result.stderr
        assert state.read_text() == text


def test_warm_hashing_reads_no_file_twice(tmp_path: Path) -> None:
    f = tmp_path / "a.bin"
    f.write_bytes(b"x" * 1000)
    first = Hasher()
    digest = first.sha256(f)
    second = Hasher()  # a new plan, same cache
    assert second.sha256(f) == digest
    assert (first.reads, second.reads) == (1, 0)
    f.write_bytes(b"y" * 1001)
    assert Hasher().sha256(f) != digest


def test_check_account_warns_about_balance_and_daily_caps(write_spec, run, api) -> None:
    api(credit_balance=100, models={"gen4.5": {"maxDailyGenerations": 1, "maxConcurrentGenerations": 2}})
    result = plan(run, write_spec(SPEC), "--check-account")
    assert result.exit_code == 0
    assert "warning: the plan needs 210 credits; the account has 100" in result.stderr
    assert "warning: gen4.5: 2 generations planned, 1 left today (daily cap 1)" in result.stderr
    assert "gen4.5: 2 generations, 2 at a time on this account" in result.stderr


def test_cache_lookups_in_batches_find_outputs_on_both_sides_of_a_batch(write_spec, tmp_path: Path) -> None:
    """A big plan asks the cache for its take fingerprints 900 at a time: outputs cached for the
    5th and the 950th of 1,000 new shots are restored, and one whose blob is gone is not."""
    from runner.planner import make_plan
    from runner.store import cache as cache_mod

    spec = write_spec("""
        version: 1
        name: many
        defaults: {model: gen4.5, ratio: "1280:720", duration: 5}
        shots:
          - id: "s-{{ n }}"
            prompt: "shot {{ n }}"
            matrix: {n: NUMBERS}
    """.replace("NUMBERS", str(list(range(1000)))))
    first = make_plan(spec)
    assert first.count("create") == 1000
    blob = tmp_path / "out.mp4"
    blob.write_bytes(b"\0" * 64)
    meta = {"sha256": cache_mod.sha256_file(blob), "bytes": 64, "task_id": "t", "credits": 60}
    chosen = [s for s in first.shots if s.id in ("s-4", "s-949")]
    for s in chosen:
        cache_mod.output_put(s.takes[0].fingerprint, blob, meta)
    again = make_plan(spec)
    restored = sorted(s.id for s in again.shots if s.action == "cached")
    assert restored == ["s-4", "s-949"] and again.count("create") == 998
    cache_mod.blob_path(str(meta["sha256"])).unlink()
    assert make_plan(spec).count("create") == 1000
