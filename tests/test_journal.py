"""The apply journal, on its own: what it records, what it forgets, and when it is on disk.

The journal is what makes apply resumable and never pay twice, so its rules are checked
directly here (real state files in tmp_path), besides the crash and fault campaigns that
check them end to end.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.engine.journal import Journal
from runner.planner import ShotPlan, TakePlan, make_plan
from runner.store.state import Pending, ShotState, State, Take, load_state, save_state
from runner.store.steps import journal_path, read_steps

SPEC = ("version: 1\nname: t\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 5}\n"
        "shots:\n  - id: a\n    prompt: one\n    takes: 2\n")


def on_disk(path: Path) -> dict:
    """What is durable: the state file's shots with the journal's steps replayed over them
    (read raw: these tests use short task ids that the state schema would refuse)."""
    shots = json.loads(path.read_text())["shots"] if path.exists() else {}
    for _, changed in read_steps(journal_path(path)).lines:
        for sid, raw in changed.items():
            if raw is None:
                shots.pop(sid, None)
            else:
                shots[sid] = raw
    return shots


@pytest.fixture
def planned(write_spec) -> tuple[ShotPlan, Path]:
    spec = write_spec(SPEC)
    plan = make_plan(spec)
    return plan.shots[0], spec.with_name("spec.state.json")


META = {"sha256": "ab" * 32, "bytes": 10, "credits": 60, "task_id": "t-1", "finished": "2026-01-01T00:00:00Z"}


def test_an_intent_and_its_task_id_are_on_disk_when_flush_returns(planned) -> None:
    sp, path = planned

    async def go() -> None:
        journal = Journal(State(path))
        intent = journal.add_intent(sp, sp.takes[0], attempt=1)
        await journal.flush()
        entry = on_disk(path)["a"]["pending"]
        assert [(p["take"], p["task_id"], p["fingerprint"]) for p in entry] == [(1, None, sp.takes[0].fingerprint)]
        journal.set_task_id("a", intent, "task-1")
        await journal.flush()
        assert on_disk(path)["a"]["pending"][0]["task_id"] == "task-1"

    asyncio.run(go())


def test_concurrent_flushes_each_see_their_own_change_on_disk(planned) -> None:
    sp, path = planned

    async def one(journal: Journal, n: int) -> list[str]:
        intent = journal.add_intent(sp, sp.takes[n % 2], attempt=n)
        journal.set_task_id("a", intent, f"task-{n}")
        await journal.flush()
        return [p["task_id"] for p in on_disk(path)["a"]["pending"]]

    async def go() -> None:
        journal = Journal(State(path))
        seen = await asyncio.gather(*(one(journal, n) for n in range(40)))
        for n, ids in enumerate(seen):
            assert f"task-{n}" in ids  # when flush returned, this coroutine's change was durable
        assert len(on_disk(path)["a"]["pending"]) == 40

    asyncio.run(go())


def test_an_older_snapshot_never_replaces_a_newer_one(planned) -> None:
    sp, path = planned
    journal = Journal(State(path))
    journal.add_intent(sp, sp.takes[0], attempt=1)
    old = (journal._version, journal.state.to_json())
    journal.add_intent(sp, sp.takes[1], attempt=1)
    journal.save_now()
    journal._write(*old)  # a slow writer thread finishing late
    assert len(on_disk(path)["a"]["pending"]) == 2


def test_recording_a_take_replaces_that_take_and_drops_only_its_task(planned) -> None:
    sp, path = planned
    journal = Journal(State(path))
    first = journal.add_intent(sp, sp.takes[0], attempt=1)
    journal.set_task_id("a", first, "t-1")
    second = journal.add_intent(sp, sp.takes[1], attempt=1)
    journal.set_task_id("a", second, "t-2")
    journal.record_take(sp, sp.takes[0], META, "api", task_id="t-1")
    journal.record_take(sp, sp.takes[0], {**META, "sha256": "cd" * 32}, "api", task_id="t-1")
    entry = journal.get("a")
    assert entry is not None
    assert [t.sha256 for t in entry.takes] == ["cd" * 32]
    assert [p.task_id for p in entry.pending] == ["t-2"]  # the other take is still in flight
    assert entry.fingerprint == sp.fingerprint


def test_the_request_becomes_the_baseline_only_when_every_take_is_in(planned) -> None:
    sp, path = planned
    state = State(path, {"a": ShotState("old-fp", "gen4.5", "text", {"promptText": "old"})})
    journal = Journal(state)
    journal.record_take(sp, sp.takes[0], META, "api")
    assert journal.get("a").fingerprint == "old-fp"  # take 2 is missing: "which fields changed" stays right
    journal.record_take(sp, sp.takes[1], META, "api")
    entry = journal.get("a")
    assert entry.fingerprint == sp.fingerprint and entry.request["promptText"] == "one"


def test_refusals_are_remembered_and_forgotten_when_the_request_changes(planned) -> None:
    sp, path = planned
    journal = Journal(State(path))
    journal.remember_refusal(sp, sp.takes[0], code="SAFETY.INPUT.TEXT", reason="no", task_id="t-9")
    journal.get("a").failure["stale-fingerprint"] = {"take": 2, "code": "ASSET.INVALID"}
    journal.finish_shot_if_complete(sp)
    assert set(journal.get("a").failure) == {sp.takes[0].fingerprint}  # refusals of old requests go
    journal.record_take(sp, sp.takes[0], META, "api")
    journal.record_take(sp, sp.takes[1], META, "api")
    assert journal.get("a").failure is None  # every take done: nothing refused any more


def test_a_removed_shot_keeps_its_entry_while_its_journal_holds_tasks(tmp_path: Path) -> None:
    pending = Pending(1, "fp", "task-1", "2026-01-01T00:00:00Z")
    state = State(tmp_path / "s.state.json", {"busy": ShotState("fp", "gen4.5", "text", {}, pending=[pending]),
                                              "idle": ShotState("e" * 64, "gen4.5", "text", {})})
    journal = Journal(state)
    journal.remove("busy")
    journal.remove("idle")
    journal.remove("never-there")
    assert journal.get("busy") is not None and journal.get("idle") is None


def test_a_rename_moves_the_whole_entry(tmp_path: Path) -> None:
    take = Take(1, "fp1", "out/old/1.mp4", "ab" * 32, 5, 60, "t", "2026-01-01T00:00:00Z")
    state = State(tmp_path / "s.state.json", {"old": ShotState("fp", "gen4.5", "text", {}, takes=[take],
                                                               failure={"x": {"code": "SAFETY"}})})
    journal = Journal(state)
    journal.rename("old", "new")
    assert journal.get("old") is None and journal.get("new").takes == [take]
    assert journal.get("new").failure == {"x": {"code": "SAFETY"}}


def test_dropping_an_intent_or_a_task_leaves_the_others(planned) -> None:
    sp, path = planned
    journal = Journal(State(path))
    a = journal.add_intent(sp, sp.takes[0], attempt=1)
    b = journal.add_intent(sp, sp.takes[1], attempt=1)
    journal.set_task_id("a", b, "t-b")
    c = journal.add_intent(sp, sp.takes[1], attempt=2)
    journal.set_task_id("a", c, "t-c")
    journal.drop_intent("a", a)
    journal.drop_intent("a", a)  # twice is harmless
    journal.drop_task("a", "t-b")
    journal.drop_task("missing", "t-c")
    assert [p.task_id for p in journal.get("a").pending] == ["t-c"]


def test_the_plans_state_is_not_changed_by_apply(planned) -> None:
    sp, path = planned
    original = State(path, {"a": ShotState("fp", "gen4.5", "text", {}, pending=[Pending(1, "x", "t", "now")])})
    journal = Journal(original)
    journal.add_intent(sp, sp.takes[0], attempt=1)
    journal.drop_task("a", "t")
    journal.rename("a", "b")
    assert list(original.shots) == ["a"] and [p.task_id for p in original.shots["a"].pending] == ["t"]


def test_nothing_is_written_when_nothing_changed(tmp_path: Path) -> None:
    path = tmp_path / "s.state.json"
    save_state(State(path, {"a": ShotState("f" * 64, "gen4.5", "text", {})}))
    inode = path.stat().st_ino
    journal = Journal(load_state(path))
    journal.save_now()
    assert path.stat().st_ino == inode  # a write would have renamed a new file into place


def test_a_new_state_file_is_written_even_when_empty(tmp_path: Path) -> None:
    path = tmp_path / "s.state.json"
    Journal(load_state(path)).save_now()
    assert json.loads(path.read_text()) == {"format": 1, "shots": {}}


def test_take_plans_with_the_same_fingerprint_share_refusals(planned) -> None:
    sp, path = planned
    twin = TakePlan(2, sp.takes[0].fingerprint, "create", "x/2.mp4")
    journal = Journal(State(path))
    journal.remember_refusal(sp, twin, code="ASSET.INVALID", reason="bad", task_id="t")
    assert journal.get("a").failure[sp.takes[0].fingerprint]["take"] == 2


UTC_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def recent(stamp: str) -> bool:
    """A UTC time stamp in the state's form, taken just now."""
    when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return bool(UTC_STAMP.match(stamp)) and abs(datetime.now(UTC) - when) < timedelta(minutes=1)


def test_a_recorded_take_is_on_disk_as_the_download_described_it(planned) -> None:
    sp, path = planned
    journal = Journal(State(path))
    journal.record_take(sp, sp.takes[0], META, "api")
    journal.record_take(sp, sp.takes[1], {k: v for k, v in META.items() if k != "finished"}, "cache")
    journal.save_now()
    takes = on_disk(path)["a"]["takes"]
    assert takes[0] == {"take": 1, "fingerprint": sp.takes[0].fingerprint, "output": sp.takes[0].output,
                        "sha256": META["sha256"], "bytes": 10, "credits": 60, "task_id": "t-1",
                        "finished": "2026-01-01T00:00:00Z", "source": "api"}
    assert takes[1]["source"] == "cache" and recent(takes[1]["finished"])  # no time given: now, in UTC


def test_an_intent_on_disk_says_which_take_when_which_attempt_and_its_estimate(planned) -> None:
    sp, path = planned

    async def go() -> None:
        journal = Journal(State(path))
        journal.add_intent(sp, sp.takes[1], attempt=3)
        await journal.flush()

    asyncio.run(go())
    entry = on_disk(path)["a"]
    (intent,) = entry["pending"]
    assert {k: intent[k] for k in ("take", "fingerprint", "task_id", "attempt", "estimated")} == \
        {"take": 2, "fingerprint": sp.takes[1].fingerprint, "task_id": None, "attempt": 3, "estimated": 60}
    assert recent(intent["created"])
    # A shot's first journal entry carries what the plan would make of it, for "which fields changed".
    assert (entry["model"], entry["mode"], entry["fingerprint"]) == ("gen4.5", "text", sp.fingerprint)
    assert entry["request"]["promptText"] == "one"


def test_a_refusal_on_disk_names_take_code_reason_time_and_task(planned) -> None:
    sp, path = planned
    journal = Journal(State(path))
    journal.remember_refusal(sp, sp.takes[0], code="SAFETY.INPUT.TEXT", reason="refused", task_id="t-7")
    journal.save_now()
    refusal = on_disk(path)["a"]["failure"][sp.takes[0].fingerprint]
    assert {k: refusal[k] for k in ("take", "code", "reason", "task_id")} == \
        {"take": 1, "code": "SAFETY.INPUT.TEXT", "reason": "refused", "task_id": "t-7"}
    assert recent(refusal["at"])


def test_a_change_to_a_loaded_state_is_written(tmp_path: Path) -> None:
    path = tmp_path / "s.state.json"
    save_state(State(path, {"a": ShotState("f" * 64, "gen4.5", "text", {}),
                            "b": ShotState("e" * 64, "gen4.5", "text", {})}))
    journal = Journal(load_state(path))
    assert [sid for sid, _ in journal.items()] == ["a", "b"]
    journal.remove("b")
    journal.save_now()
    assert list(on_disk(path)) == ["a"]


def test_a_flush_with_nothing_new_does_not_write_again(planned) -> None:
    sp, path = planned

    async def go() -> None:
        journal = Journal(State(path))
        journal.add_intent(sp, sp.takes[0], attempt=1)
        await journal.flush()
        inode = path.stat().st_ino
        await journal.flush()
        assert path.stat().st_ino == inode

    asyncio.run(go())
