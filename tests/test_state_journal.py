"""The local journal (`<spec>.state.journal`): a step is one appended line whatever the size of
the campaign; the state file is folded at the end of apply and every N steps; reading replays
the lines, ignores a torn last line, and refuses a corrupt one naming file:line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from runner.engine.journal import Journal
from runner.errors import StateError
from runner.planner import make_plan
from runner.spec import thaw
from runner.store.local import LocalState
from runner.store.place import Place
from runner.store.state import ShotState, State, load_state, save_state
from runner.store.steps import encode_step, journal_path

POLL = ["--poll-interval", "0.02"]
TASK = "0c6e7bd4-7a7d-4d6c-9f0e-2d1e6f3a9b10"


def spec_text(*ids: str) -> str:
    return "version: 1\nname: t\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 2}\nshots:\n" + "".join(
        f"  - id: {sid}\n    prompt: '{sid} prompt'\n" for sid in ids)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def applied(write_spec, run, api) -> tuple[Path, dict]:
    """A spec with shots a and b applied on the emulator: (spec, the state file's document)."""
    api()
    spec = write_spec(spec_text("a", "b"))
    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 0, result.stderr
    state_file = spec.with_name("spec.state.json")
    assert not journal_path(state_file).exists()  # folded into the state file at the end of apply
    return spec, json.loads(state_file.read_text())


def test_a_step_writes_only_the_changed_shot_whatever_the_campaign_size(write_spec) -> None:
    spec = write_spec(spec_text("a"))
    state_file = spec.with_name("spec.state.json")
    save_state(State(state_file, {f"s{i}": ShotState(f"{i:064x}", "gen4.5", "text", {"promptText": str(i)})
                                  for i in range(2000)}))
    before = state_file.read_bytes()
    plan = make_plan(spec)
    sp = next(s for s in plan.shots if s.id == "a")

    async def go() -> None:
        journal = Journal(plan.state, plan.place)
        intent = journal.add_intent(sp, sp.takes[0], attempt=1)
        await journal.flush()
        journal.set_task_id("a", intent, TASK)
        await journal.flush()

    asyncio.run(go())
    assert state_file.read_bytes() == before  # 2,000 shots, and not one byte of them rewritten
    steps = lines(journal_path(state_file))
    assert [(s["seq"], list(s["shots"])) for s in steps] == [(1, ["a"]), (2, ["a"])]
    assert [p["task_id"] for p in steps[1]["shots"]["a"]["pending"]] == [TASK]
    loaded = load_state(state_file)
    assert len(loaded.shots) == 2001 and loaded.shots["a"].pending[0].task_id == TASK


def test_the_state_file_is_folded_every_n_steps_and_at_the_end(tmp_path: Path) -> None:
    state_file = tmp_path / "s.state.json"
    place = Place(tmp_path / "s.yaml", state_file, local=LocalState(state_file, every=3))
    state = State(state_file)
    for i in range(4):
        state.shots[f"s{i}"] = ShotState(f"{i:064x}", "gen4.5", "text", {})
        place.prepare_save(state, changed={f"s{i}"})()
        place.prepare_save(state, changed=set())()  # nothing changed: no step
    assert json.loads(state_file.read_text())["shots"] == {"s0": json.loads(state.to_json())["shots"]["s0"]}
    assert [s["seq"] for s in lines(journal_path(state_file))] == [1, 2, 3]  # s0 came with the first snapshot
    # every max(N, number of shots) steps: 4 shots here, so the 4th step folds
    state.shots["s0"].fingerprint = "e" * 64
    place.prepare_save(state, changed={"s0"})()
    assert state_file.read_text() == state.to_json() and not journal_path(state_file).exists()
    del state.shots["s1"]
    place.prepare_save(state, changed={"s1"})()
    assert lines(journal_path(state_file)) == [{"seq": 1, "shots": {"s1": None}}]
    assert set(load_state(state_file).shots) == {"s0", "s2", "s3"}
    place.save(state, final=True)
    assert state_file.read_text() == state.to_json() and not journal_path(state_file).exists()
    inode = state_file.stat().st_ino
    place.save(state, final=True)  # nothing new: nothing written
    assert state_file.stat().st_ino == inode and not journal_path(state_file).exists()


def test_a_torn_last_line_is_ignored_then_cut_off_before_the_next_step(applied, run) -> None:
    spec, doc = applied
    state_file = spec.with_name("spec.state.json")
    journal = journal_path(state_file)
    entry = doc["shots"]["a"]
    gone = encode_step(1, {"b": None})
    journal.write_bytes(gone + encode_step(2, {"a": {**entry, "takes": []}})[:40])  # killed mid-append
    assert set(load_state(state_file).shots) == {"a"}
    plan = run(["plan", str(spec), "--format", "json"])
    assert plan.exit_code == 0, plan.stderr
    place = Place(spec, state_file)
    state = load_state(state_file)
    state.shots["c"] = ShotState("c" * 64, "gen4.5", "text", {})
    place.prepare_save(state, changed={"c"})()
    assert [s["seq"] for s in lines(journal)] == [1, 2]  # the torn piece is gone, the step follows line 1
    assert set(load_state(state_file).shots) == {"a", "c"}


@pytest.mark.parametrize(("text", "line", "says"), [
    pytest.param(b"{not json\n{}\n", 1, "not JSON", id="not-json"),
    pytest.param(encode_step(1, {}) + encode_step(3, {}), 2, "step 3 follows step 1", id="gap"),
    pytest.param(encode_step(2, {}), 1, "step 2 follows step 0", id="not-from-one"),
    pytest.param(b'{"seq": 1, "shots": {}, "x": 1}\n', 1, 'not a journal step', id="extra-key"),
    pytest.param(b'{"seq": 1, "shots": {"../x": null}}\n', 1, 'shots: "../x" is not a shot id', id="bad-id"),
    pytest.param(b'{"seq": 1, "shots": {"a": 5}}\n', 1, "shots.a: 5 is neither a shot entry nor null",
                 id="bad-entry"),
    pytest.param(b'{"seq": true, "shots": {}}\n', 1, "seq: true is not a step number", id="bool-seq"),
])
def test_a_corrupt_journal_line_is_an_error_naming_file_and_line(applied, run, text, line, says) -> None:
    spec, _ = applied
    journal = journal_path(spec.with_name("spec.state.json"))
    journal.write_bytes(text)
    result = run(["plan", str(spec)])
    assert result.exit_code == 1
    assert f"corrupt journal {journal}:{line}: {says}" in result.stderr
    assert "Fix or delete that line" in result.stderr and "Traceback" not in result.stderr


def test_journal_entries_get_the_state_files_checks(applied, run) -> None:
    spec, doc = applied
    journal = journal_path(spec.with_name("spec.state.json"))
    entry = doc["shots"]["a"]
    bad_task = {**entry, "pending": [{"take": 1, "fingerprint": entry["takes"][0]["fingerprint"],
                                      "task_id": "../organization", "created": "now", "attempt": 1,
                                      "estimated": 5}]}
    journal.write_bytes(encode_step(1, {"b": None}) + encode_step(2, {"a": bad_task}))
    result = run(["plan", str(spec)])
    assert result.exit_code == 1
    assert f"corrupt journal {journal}:2: $.shots.a.pending[0].task_id:" in result.stderr
    assert "not a Runway task id" in result.stderr
    outside = {**entry, "takes": [{**entry["takes"][0], "output": "../../etc/passwd"}]}
    journal.write_bytes(encode_step(1, {"a": outside}))
    result = run(["plan", str(spec)])
    assert result.exit_code == 1
    assert f"{journal}:1: corrupt state file: shots.a.takes[0].output points outside the project" in result.stderr
    assert "Fix or delete that line" in result.stderr


def test_a_crash_between_the_fold_and_removing_the_journal_changes_nothing(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(spec_text("a", "b"))
    state_file = spec.with_name("spec.state.json")
    plan = make_plan(spec)
    sp = plan.shots[0]

    async def killed_apply() -> None:  # what an apply killed after its first create leaves behind
        journal = Journal(plan.state, plan.place)
        intent = journal.add_intent(sp, sp.takes[0], attempt=1)
        await journal.flush()
        created = await emu_create(emu, sp)
        journal.set_task_id(sp.id, intent, created)
        await journal.flush()

    asyncio.run(killed_apply())
    before = load_state(state_file).to_json()
    assert json.loads(before)["shots"]["a"]["pending"][0]["task_id"] is not None
    save_state(load_state(state_file))  # the fold's new state file is in place, the journal not yet removed
    assert journal_path(state_file).exists()
    assert load_state(state_file).to_json() == before  # its lines replayed again change nothing
    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 0, result.stderr
    assert emu.stats["creates_total"] == 2  # a's journaled task was polled, not created again
    shots = json.loads(state_file.read_text())["shots"]
    assert all(s["pending"] == [] and len(s["takes"]) == 1 for s in shots.values())
    assert not journal_path(state_file).exists()


async def emu_create(emu, sp) -> str:
    """Create a's task on the emulator as apply does (the real SDK over HTTP)."""
    from runner.engine.client import Client, connection_from_env

    client = Client(connection_from_env(emulator_url=emu.base_url))
    try:
        created = await client.create(sp.shot.request.endpoint, thaw(sp.shot.request.body))
    finally:
        await client.close()
    return created.task_id


def test_an_apply_with_nothing_to_do_folds_a_journal_left_behind(applied, run) -> None:
    spec, doc = applied
    state_file = spec.with_name("spec.state.json")
    full = load_state(state_file)
    save_state(State(state_file, {"b": full.shots["b"]}))
    LocalState(state_file).prepare(full, changed={"a"})()  # a killed apply journaled a's finished take
    assert json.loads(state_file.read_text())["shots"].keys() == {"b"}
    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 0 and "No changes" in result.stdout + result.stderr
    assert json.loads(state_file.read_text()) == doc and not journal_path(state_file).exists()


def test_a_saved_plan_notices_a_journal_step_made_after_it(applied, run, tmp_path) -> None:
    spec, _ = applied
    state_file = spec.with_name("spec.state.json")
    spec.write_text(spec_text("a", "b", "c"))
    assert run(["plan", str(spec), "-o", str(tmp_path / "plan.json")]).exit_code == 0
    state = load_state(state_file)
    state.shots["x"] = ShotState("d" * 64, "gen4.5", "text", {})
    LocalState(state_file).prepare(state, changed={"x"})()
    result = run(["apply", str(tmp_path / "plan.json"), "--yes", *POLL])
    assert result.exit_code == 1
    assert "state file" in result.stderr and "changed" in result.stderr and "stale" in result.stderr


def test_a_saved_plan_made_with_a_journal_applies(applied, run, tmp_path) -> None:
    spec, doc = applied
    state_file = spec.with_name("spec.state.json")
    full = load_state(state_file)
    save_state(State(state_file, {"b": full.shots["b"]}))
    LocalState(state_file).prepare(full, changed={"a"})()
    spec.write_text(spec_text("a", "b", "c"))
    assert run(["plan", str(spec), "-o", str(tmp_path / "plan.json")]).exit_code == 0
    result = run(["apply", str(tmp_path / "plan.json"), "--yes", *POLL])
    assert result.exit_code == 0, result.stderr
    assert set(json.loads(state_file.read_text())["shots"]) == {"a", "b", "c"}


def test_reading_refuses_a_journal_that_cannot_be_read(tmp_path: Path) -> None:
    state_file = tmp_path / "s.state.json"
    journal_path(state_file).mkdir()
    with pytest.raises(StateError, match="cannot read the journal"):
        load_state(state_file)
