"""A spec's state in a store: journal steps of what changed, snapshots, two machines, tampering."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from runner.errors import LockLost, StateError, StoreError
from runner.store import shared as shared_mod
from runner.store.objects import Objects
from runner.store.place import open_place
from runner.store.shared import SharedState
from runner.store.state import ShotState, State, Take, save_state


def _sha(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _shot(n: int, takes: int = 1) -> ShotState:
    return ShotState(fingerprint=_sha(n), model="gen4.5", mode="text", request={"promptText": f"p{n}"},
                     takes=[Take(t, _sha(n, t), f"outputs/s{n}/{t}.mp4", "a" * 64, 100, 25, None,
                                 "2026-11-30T00:00:00Z") for t in range(1, takes + 1)])


def _state(tmp_path: Path, count: int) -> State:
    return State(tmp_path / "spec.state.json", {f"s{n}": _shot(n) for n in range(count)})


def test_each_save_writes_one_step_with_only_what_changed(objects: Objects, tmp_path: Path) -> None:
    writer = SharedState(objects, "launch", "spec.yaml")
    state = writer.load(State(tmp_path / "x"))
    state.shots = _state(tmp_path, 50).shots
    writer.save(state)
    state.shots["s7"] = _shot(7, takes=2)
    writer.save(state)
    writer.save(state)  # nothing changed: nothing written
    steps = objects.keys("specs/launch/journal")
    assert len(steps) == 2
    last = objects.read(steps[-1])
    assert last is not None and list(json.loads(last.data)["shots"]) == ["s7"]

    reader = SharedState(objects, "launch", "spec.yaml").load(State(tmp_path / "y"))
    assert reader.shots == state.shots


def test_snapshots_fold_the_steps_in_and_removed_shots_stay_removed(objects: Objects, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_mod, "COMPACT", 3)
    writer = SharedState(objects, "launch", "spec.yaml")
    state = writer.load(State(tmp_path / "x"))
    for n in range(5):
        state.shots[f"s{n}"] = _shot(n)
        writer.save(state)
    del state.shots["s0"]
    writer.save(state, compact=True)
    assert objects.keys("specs/launch/journal") == []
    again = SharedState(objects, "launch", "spec.yaml").load(State(tmp_path / "y"))
    assert sorted(again.shots) == ["s1", "s2", "s3", "s4"]


def test_a_second_writer_of_the_same_step_is_stopped(objects: Objects, tmp_path: Path) -> None:
    a = SharedState(objects, "launch", "spec.yaml")
    b = SharedState(objects, "launch", "spec.yaml")
    sa, sb = a.load(State(tmp_path / "a")), b.load(State(tmp_path / "b"))
    sa.shots["s1"] = _shot(1)
    a.save(sa)
    sb.shots["s2"] = _shot(2)
    with pytest.raises(LockLost, match="somebody else"):
        b.save(sb)


def test_another_spec_with_the_same_name_is_refused(objects: Objects, tmp_path: Path) -> None:
    a = SharedState(objects, "launch", "team-a/spec.yaml")
    state = a.load(State(tmp_path / "a"))
    state.shots["s1"] = _shot(1)
    a.save(state, compact=True)
    with pytest.raises(StoreError, match="another spec with the same name"):
        SharedState(objects, "launch", "team-b/spec.yaml").load(State(tmp_path / "b"))


@pytest.mark.parametrize("key,body", [
    ("specs/launch/state.json", b"not json"),
    ("specs/launch/state.json", b"[]"),
    ("specs/launch/state.json", b'{"shots": {"s1": {"model": 1}}}'),
    ("specs/launch/journal/000000000001.json", b'{"shots": {"../x": {}}}'),
    ("specs/launch/state.json", b'{"shots": {}, "upto": -1}'),
    ("specs/launch/journal/000000000001.json", b'{"shots": []}'),
    ("specs/launch/journal/000000000001.json", b'{"shots": {"s1": "x"}}'),
])
def test_tampered_state_objects_are_a_clear_error(objects: Objects, tmp_path: Path, key: str, body: bytes) -> None:
    # Read back like a state file: the same schema, the same path and id checks.
    objects.write(key, body)
    with pytest.raises((StoreError, StateError), match="corrupt state"):
        SharedState(objects, "launch", "spec.yaml").load(State(tmp_path / "x"))


def test_the_first_use_of_a_store_takes_over_the_local_state_file(store_url: str, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    local = _state(tmp_path, 3)
    save_state(local)
    before = local.path.read_bytes()
    place = open_place(spec, "launch", store_url, project_root=tmp_path)
    state = place.load_state()
    assert state.shots == local.shots
    assert place.objects is not None and place.objects.keys("specs") == []  # reading writes nothing
    place.save(state, final=True)  # what apply does once it changes anything
    assert local.path.read_bytes() == before  # left as it was
    fresh = open_place(spec, "launch", store_url, project_root=tmp_path)
    local.path.unlink()
    assert fresh.load_state().shots == local.shots  # now it lives in the store


def test_a_step_costs_the_shots_that_changed_and_a_taken_over_state_is_written_whole(
        store_url: str, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    save_state(_state(tmp_path, 3))  # the committed state file, before the store existed
    place = open_place(spec, "launch", store_url, project_root=tmp_path)
    state = place.load_state()
    state.shots["s1"] = _shot(1, takes=2)
    place.prepare_save(state, changed=["s1"])()  # the engine names what it changed; no fold yet
    assert place.objects is not None
    (first,) = place.objects.keys("specs/launch/journal")
    got = place.objects.read(first)
    assert got is not None and sorted(json.loads(got.data)["shots"]) == ["s0", "s1", "s2"]  # taken over whole

    state.shots["s2"] = _shot(2, takes=2)
    place.prepare_save(state, changed=["s2"])()
    second = place.objects.read(place.objects.keys("specs/launch/journal")[-1])
    assert second is not None and list(json.loads(second.data)["shots"]) == ["s2"]  # only what changed

    (tmp_path / "spec.state.json").unlink()  # a crash before the fold, on a machine without the file
    again = open_place(spec, "launch", store_url, project_root=tmp_path).load_state()
    assert again.shots == state.shots
