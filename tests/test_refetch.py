"""Recover before paying again: a take the state records whose file is gone from the disk,
the cache and the store is read again from its task (fresh signed URLs) for free; when Runway
no longer has it, apply spends nothing and the next plan counts a new generation."""

from __future__ import annotations

import hashlib
import json
import shutil
import urllib.request
from pathlib import Path

import pytest

POLL = ["--poll-interval", "0.02"]
SPEC = ("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: 'a lighthouse'\n"
        "    ratio: '1280:720'\n    duration: 4\n    takes: 2\n")


def lose_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh machine with the committed state file only: no outputs, an empty cache."""
    folder = tmp_path / "outputs" / "t"
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.mp4")}
    shutil.rmtree(folder)
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "empty-cache"))
    return before


def test_a_lost_output_is_fetched_again_from_its_task_for_free(write_spec, run, api, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    emu = api()
    spec = write_spec(SPEC)
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    before = lose_everything(tmp_path, monkeypatch)

    plan = run(["plan", str(spec), "--format", "json"])
    doc = json.loads(plan.stdout)
    assert doc["summary"]["credits"] == 0 and doc["summary"]["generations"] == 0
    assert [t["action"] for t in doc["shots"][0]["takes"]] == ["refetch", "refetch"]
    assert "fetched again from task" in doc["shots"][0]["reasons"][0]

    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert emu.stats["creates_total"] == 2  # none more
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / "outputs" / "t").rglob("*.mp4")}
    assert after == before
    again = json.loads(run(["plan", str(spec), "--format", "json"]).stdout)
    assert {s["action"] for s in again["shots"]} == {"unchanged"}


def test_when_runway_no_longer_has_the_task_nothing_is_spent_and_the_next_plan_says_so(
        write_spec, run, api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    emu = api()
    spec = write_spec(SPEC)
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    lose_everything(tmp_path, monkeypatch)
    urllib.request.urlopen(urllib.request.Request(f"{emu.base_url}/_emulator/reset", method="POST")).close()

    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 1
    assert "Runway no longer has it" in result.stdout and "the next plan counts a new generation" in result.stdout
    assert emu.stats["creates_total"] == 0  # the plan said 0 credits: nothing was spent

    plan = json.loads(run(["plan", str(spec), "--format", "json"]).stdout)
    assert plan["summary"]["generations"] == 2 and plan["summary"]["credits"] > 0
    assert plan["shots"][0]["reasons"] == ["no output on record (take 1, 2)"]


def test_an_intent_of_unknown_outcome_whose_output_is_in_the_cache_is_restored_not_paid_again(
        write_spec, run, api, tmp_path: Path) -> None:
    # What a journal outage leaves: the task finished into this machine's cache, but the state
    # still holds only the intent (no task id). Restoring beats "may have been created".
    emu = api()
    spec = write_spec(SPEC)
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    state_file = tmp_path / "spec.state.json"
    state = json.loads(state_file.read_text())
    shot = state["shots"]["a"]
    shot["pending"] = [{"take": t["take"], "fingerprint": t["fingerprint"], "task_id": None,
                        "created": t["finished"], "attempt": 1, "estimated": None} for t in shot["takes"]]
    shot["takes"] = []
    state_file.write_text(json.dumps(state))
    shutil.rmtree(tmp_path / "outputs" / "t")

    plan = json.loads(run(["plan", str(spec), "--format", "json"]).stdout)
    assert plan["summary"]["credits"] == 0 and {t["action"] for t in plan["shots"][0]["takes"]} == {"restore"}
    result = run(["apply", str(spec), "--yes", *POLL, "--recreate-unknown"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert emu.stats["creates_total"] == 2  # not one more, even with --recreate-unknown
    after = json.loads(state_file.read_text())["shots"]["a"]
    assert after["pending"] == [] and len(after["takes"]) == 2
    assert len(list((tmp_path / "outputs" / "t").rglob("*.mp4"))) == 2
