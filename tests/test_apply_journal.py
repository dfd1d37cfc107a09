"""The journal under renames, removals, selections, --replace, --cancel-pending and
vanished tasks: a paid task is never dropped silently and never paid for twice."""

from __future__ import annotations

import json
from pathlib import Path

POLL = ["--poll-interval", "0.02"]
FAIL_DOWNLOAD = ["--max-output-mb", "0.0001"]  # the task succeeds (paid), its download is refused


def shot(sid: str, prompt: str, takes: int = 1) -> str:
    return (f"  - id: {sid}\n    model: gen4.5\n    prompt: \"{prompt}\"\n    ratio: '1280:720'\n    duration: 4\n"
            f"    takes: {takes}\n")


def spec_text(*shots: str) -> str:
    return "version: 1\nname: t\nshots:\n" + "".join(shots)


def apply(run, spec: Path, *extra: str):
    return run(["apply", str(spec), "--yes", *POLL, *extra])


def state(spec: Path) -> dict:
    return json.loads(spec.with_name("spec.state.json").read_text())


def test_renaming_a_shot_with_several_takes_moves_files_and_state(write_spec, run, api, tmp_path) -> None:
    emu = api()
    spec = write_spec(spec_text(shot("a", "a cat", takes=2)))
    assert apply(run, spec).exit_code == 0
    spec.write_text(spec_text(shot("b", "a cat", takes=2)))
    result = apply(run, spec)
    assert result.exit_code == 0, result.stdout + result.stderr
    takes = state(spec)["shots"]["b"]["takes"]
    assert [t["output"] for t in takes] == ["outputs/t/b/1.mp4", "outputs/t/b/2.mp4"]
    assert all((tmp_path / t["output"]).is_file() for t in takes)
    assert "a" not in state(spec)["shots"] and emu.stats["creates_total"] == 2


def test_renaming_a_shot_keeps_its_journal(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(spec_text(shot("a", "a cat")))
    assert apply(run, spec, *FAIL_DOWNLOAD).exit_code == 1
    spec.write_text(spec_text(shot("b", "a cat")))
    result = apply(run, spec)
    assert result.exit_code == 0, result.stdout
    assert emu.stats["creates_total"] == 1  # the paid task was finished, not made again
    assert state(spec)["shots"]["b"]["takes"][0]["output"] == "outputs/t/b/1.mp4"


def test_a_removed_shot_with_a_paid_task_is_finished_into_the_cache(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(spec_text(shot("a", "a cat"), shot("c", "a dog")))
    assert apply(run, spec, *FAIL_DOWNLOAD).exit_code == 1
    spec.write_text(spec_text(shot("a", "a cat")))
    apply(run, spec)
    spec.write_text(spec_text(shot("a", "a cat"), shot("c", "a dog")))  # it comes back
    plan = run(["plan", str(spec)])
    assert "= c" in plan.stdout and "restored from cache" in plan.stdout
    assert emu.stats["creates"].get("gen4.5:" + __import__("runner.emulator", fromlist=["x"]).prompt_hash("a dog")) == 1


def test_select_leaves_other_shots_journal_alone(write_spec, run, api) -> None:
    api()
    spec = write_spec(spec_text(shot("a", "a cat"), shot("b", "a dog")))
    assert apply(run, spec, *FAIL_DOWNLOAD).exit_code == 1
    assert apply(run, spec, "--select", "b").exit_code == 0
    assert state(spec)["shots"]["a"]["pending"][0]["task_id"]  # still journaled, untouched
    assert apply(run, spec).exit_code == 0
    assert state(spec)["shots"]["a"]["takes"][0]["output"] == "outputs/t/a/1.mp4"


def test_replace_with_a_journaled_task_keeps_both_paid_results(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(spec_text(shot("a", "a cat")))
    assert apply(run, spec, *FAIL_DOWNLOAD).exit_code == 1
    result = apply(run, spec, "--replace", "a")
    assert result.exit_code == 0, result.stdout
    entry = state(spec)["shots"]["a"]
    assert entry["pending"] == [] and len(entry["takes"]) == 1
    assert emu.stats["creates_total"] == 2  # the replacement, as asked; the first is in the cache


def test_cancel_pending_never_deletes_a_finished_task(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(spec_text(shot("a", "a cat")))
    assert apply(run, spec, *FAIL_DOWNLOAD).exit_code == 1
    result = run(["apply", str(spec), "--yes", "--cancel-pending"])
    assert "already succeeded (paid): kept" in result.stdout
    assert state(spec)["shots"]["a"]["pending"][0]["task_id"]
    assert emu.stats["tasks"] == {"SUCCEEDED": 1}
    assert apply(run, spec).exit_code == 0 and emu.stats["creates_total"] == 1


def test_a_vanished_task_does_not_stop_the_rest(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(spec_text(shot("a", "a cat")))
    assert apply(run, spec, *FAIL_DOWNLOAD).exit_code == 1
    emu.emulator.world.tasks.clear()  # deleted on the dashboard, or expired
    spec.write_text(spec_text(shot("a", "a cat"), *(shot(f"n{i}", f"new {i}") for i in range(4))))
    result = apply(run, spec)
    assert "no longer exists on the API" in result.stdout
    assert emu.stats["creates_total"] == 5  # the four new ones were created, not left "unknown"
    assert state(spec)["shots"]["a"]["pending"] == []
    assert apply(run, spec).exit_code == 0  # and the next apply makes the lost one again


def test_recreate_unknown_is_priced_and_needs_confirmation(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(spec_text(shot("a", "x [[lost-response]]")))
    assert apply(run, spec).exit_code == 1
    plan = run(["plan", str(spec)])
    assert "1 create of unknown outcome" in plan.stdout and "48 credits" in plan.stdout
    unconfirmed = run(["apply", str(spec), "--recreate-unknown", *POLL])
    assert unconfirmed.exit_code == 1 and "pass --yes" in unconfirmed.stderr
    capped = run(["apply", str(spec), "--recreate-unknown", "--yes", "--max-credits", "10", *POLL])
    assert capped.exit_code == 1
    assert emu.stats["creates_total"] == 1
