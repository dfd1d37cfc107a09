"""The state file's text is the same whether shots' parts come from the encoding cache or
are encoded afresh, through every kind of change apply makes."""

from __future__ import annotations

import json
from pathlib import Path

from runner.store.state import FORMAT, Pending, ShotState, State, Take, _shot_json, load_state, save_state


def full(state: State) -> str:
    doc = {"format": FORMAT, "shots": {k: _shot_json(v) for k, v in sorted(state.shots.items())}}
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


FP1 = "f1" * 32
TASK1 = "0c6e7bd4-7a7d-4d6c-9f0e-2d1e6f3a9b10"
TASK2 = "1d7f8ce5-8b8e-4e7d-a01f-3e2f7a4bac21"


def test_cached_encoding_matches_a_full_one_through_every_change(tmp_path: Path) -> None:
    state = State(tmp_path / "s.state.json")
    assert state.to_json() == full(state)
    for i in range(5):
        state.shots[f"s{i}"] = ShotState(f"{i:064x}", "gen4.5", "text", {"promptText": f"é {i}"})
    assert state.to_json() == full(state)
    shot = state.shots["s2"]
    intent = Pending(1, FP1, None, "2026-01-01T00:00:00Z")
    changes = [
        lambda: shot.pending.append(intent),
        lambda: setattr(intent, "task_id", TASK1),
        lambda: shot.takes.append(Take(1, FP1, "o/1.mp4", "a" * 64, 10, 5, TASK1, "now")),
        lambda: setattr(shot, "pending", []),
        lambda: setattr(shot, "takes", [Take(1, FP1, "o/1.mp4", "b" * 64, 11, 5, TASK2, "later")]),
        lambda: setattr(shot, "failure", {FP1: {"code": "SAFETY.INPUT.TEXT", "take": 1, "reason": "no"}}),
        lambda: setattr(shot, "failure", None),
        lambda: setattr(shot, "fingerprint", "e" * 64),
        lambda: state.shots.pop("s0"),
        lambda: state.shots.__setitem__("s9", state.shots.pop("s1")),
    ]
    for change in changes:
        change()
        assert state.to_json() == full(state)
    save_state(state)
    again = load_state(state.path)
    assert again.to_json() == state.path.read_text() == full(again)


def test_task_ids_have_one_form_everywhere() -> None:
    """The schemas, the client's check and the emulator agree on what a task id is."""
    from runner.emulator.sim import _uuid
    from runner.store.documents import TASK_ID_PATTERN, is_task_id, schema

    assert schema("state.schema.json")["$defs"]["taskId"]["pattern"] == TASK_ID_PATTERN
    assert schema("plan.schema.json")["$defs"]["taskId"]["pattern"] == TASK_ID_PATTERN
    assert all(is_task_id(_uuid()) for _ in range(100))
    assert is_task_id(TASK1)
    for bad in (TASK1 + "\n", TASK1.upper(), "../organization", TASK1[:-1], TASK1 + "0", "", None, 7):
        assert not is_task_id(bad), bad


def test_the_client_never_puts_a_bad_task_id_in_a_url(emulator) -> None:
    """Defence in depth behind the schemas: a task id that reached the client another way."""
    import asyncio

    import pytest

    from runner.engine.client import Client, connection_from_env
    from runner.errors import ApiError

    async def go() -> None:
        client = Client(connection_from_env(emulator_url=emulator.base_url))
        try:
            for bad in ("../organization", "/v1/organization", TASK1 + "?x=1", TASK1 + "\r\nX: 1"):
                with pytest.raises(ApiError, match="not a Runway task id"):
                    await client.task(bad)
                with pytest.raises(ApiError, match="not a Runway task id"):
                    await client.cancel(bad)
        finally:
            await client.close()

    asyncio.run(go())
    assert emulator.stats["requests"] == {}
