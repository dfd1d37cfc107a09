"""A flaky or unreachable object store (a FaultProxy in front of moto): retried conditional
writes are recognised as our own, an apply through 20 % faults pays each shot once, and an
outage stops apply before it pays for anything it could not journal."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from test_shared_apply import checkout, outputs

from runner.errors import LockLost, StoreError
from runner.store.blobs import blob_key
from runner.store.lease import acquire, holder_of, kept
from runner.store.objects import open_store
from runner.store.shared import SharedState
from runner.store.state import ShotState, State

SPEC = """\
version: 1
name: launch
shots:
  - id: "city-{{ n }}"
    model: gen4.5
    prompt: "a city, shot {{ n }}"
    ratio: "1280:720"
    duration: 4
    matrix:
      n: [1, 2, 3, 4, 5, 6]
"""


def every_put_lands_then_fails(proxy: FaultProxy, after: str) -> None:
    """Each PUT reaches the store, then its answer is lost, so obstore sends it once more."""
    proxy.only = lambda method, path, headers: method == "PUT"
    proxy.after_rate, proxy.after, proxy.max_in_a_row = 1.0, after, 1  # type: ignore[assignment]


@pytest.mark.parametrize("after", ["500", "drop"])
def test_a_retried_conditional_write_that_had_landed_is_our_own(flaky_any: tuple[str, FaultProxy], after: str) -> None:
    url, proxy = flaky_any
    objects = open_store(url)
    every_put_lands_then_fails(proxy, after)

    etag = objects.create("journal/000000000001.json", b"step 1 by us")
    assert etag is not None  # before the fix: None, read as "somebody else wrote step 1"
    assert [(s.method, s.fault) for s in proxy.log[:2]] == [("PUT", f"after-{after}"), ("PUT", "")]
    got = objects.read("journal/000000000001.json")
    assert got is not None and got.data == b"step 1 by us" and got.etag == etag
    assert objects.create("journal/000000000001.json", b"step 1 by somebody else") is None

    new = objects.replace("journal/000000000001.json", b"replaced by us", etag)
    assert new is not None and new != etag  # before the fix: None, read as "taken over"
    assert objects.replace("journal/000000000001.json", b"stale", etag) is None
    assert len(proxy.faults()) == 4  # two lost answers per write, all retried


def test_a_lock_whose_writes_are_retried_is_still_ours(flaky_any: tuple[str, FaultProxy]) -> None:
    url, proxy = flaky_any
    objects = open_store(url)
    every_put_lands_then_fails(proxy, "mixed")
    lease = acquire(objects, "locks/launch.json", "spec.yaml")  # before the fix: LockHeld by "somebody"
    lease.renew()  # before the fix: LockLost, "taken over"
    assert holder_of(objects, "locks/launch.json")[0] == lease.holder
    lease.release()
    assert holder_of(objects, "locks/launch.json")[0] is None
    assert len(proxy.faults()) == 3


def _state_with(tmp_path: Path, *shot_ids: str) -> State:
    state = State(tmp_path / "spec.state.json")
    for sid in shot_ids:
        state.shots[sid] = ShotState("f" * 64, "gen4.5", "text", {"promptText": sid})
    return state


def test_journal_steps_written_through_retries_are_read_back(flaky_any: tuple[str, FaultProxy], tmp_path: Path) -> None:
    url, proxy = flaky_any
    objects = open_store(url)
    every_put_lands_then_fails(proxy, "mixed")
    writer = SharedState(objects, "launch", "spec.yaml")
    writer.load(State(tmp_path / "spec.state.json"))
    writer.save(_state_with(tmp_path, "a"))  # before the fix: LockLost
    writer.save(_state_with(tmp_path, "a", "b"))
    assert set(SharedState(objects, "launch", "spec.yaml").load(State(tmp_path / "x.json")).shots) == {"a", "b"}


def test_two_writers_of_the_same_step_still_conflict(bucket_url: str, tmp_path: Path) -> None:
    # Identical changes from two applies must not look like one writer's retry: steps name their writer.
    objects = open_store(bucket_url)
    first, second = (SharedState(objects, "launch", "spec.yaml") for _ in range(2))
    for writer in (first, second):
        writer.load(State(tmp_path / "spec.state.json"))
    first.save(_state_with(tmp_path, "a"))
    with pytest.raises(LockLost, match="written by somebody else"):
        second.save(_state_with(tmp_path, "a"))


def test_apply_through_a_flaky_store_pays_each_shot_once(flaky: tuple[str, FaultProxy], tmp_path: Path, run,
                                                         api) -> None:
    url, proxy = flaky
    emu = api()
    proxy.fail_rate, proxy.fail_status = 0.1, 503  # refused before the store saw it
    proxy.after_rate, proxy.after = 0.1, "mixed"  # done by the store, answer lost
    proxy.reset(seed=7)  # a seed whose first 20 draws hold every kind of fault
    spec = checkout(tmp_path, "a", SPEC)
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--store", url])
    assert result.exit_code == 0, result.stderr
    assert emu.stats["creates_total"] == 6  # every shot once
    kinds = {s.fault for s in proxy.faults()}
    assert kinds >= {"503", "after-500", "after-drop"} and len(proxy.faults()) >= 5, proxy.faults()

    proxy.fail_rate = proxy.after_rate = 0.0
    objects = open_store(url)
    assert objects.keys("specs/launch/journal") == []  # folded into the snapshot at the end
    assert objects.read("specs/launch/state.json") is not None
    made = outputs(spec)
    assert len(made) == 6
    for sha256 in made.values():  # every output is in the store, byte for byte
        got = objects.read(blob_key(sha256))
        assert got is not None and hashlib.sha256(got.data).hexdigest() == sha256
    b = checkout(tmp_path, "b", SPEC)
    assert run(["apply", str(b), "--yes", "--poll-interval", "0.02", "--store", url]).exit_code == 0
    assert emu.stats["creates_total"] == 6 and outputs(b) == made


@pytest.mark.parametrize("outage", ["503", "refused"])
def test_an_unreachable_store_stops_apply_before_any_create(flaky: tuple[str, FaultProxy], tmp_path: Path, run, api,
                                                            monkeypatch: pytest.MonkeyPatch, outage: str) -> None:
    url, proxy = flaky
    emu = api()
    spec = checkout(tmp_path, "a", SPEC.replace("[1, 2, 3, 4, 5, 6]", "[1, 2]"))
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--store", url]).exit_code == 0
    before = outputs(spec)
    spec.write_text(SPEC.replace("[1, 2, 3, 4, 5, 6]", "[1, 2, 3]"))

    if outage == "503":
        proxy.down = True
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    failed = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--store", url])
    assert failed.exit_code == 1
    assert failed.stderr.startswith(f"error: store {url}/"), failed.stderr
    assert "check the credentials and endpoint in the environment" in failed.stderr
    assert emu.stats["creates_total"] == 2  # nothing sent that the store could not journal

    proxy.down = False
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--store", url]).exit_code == 0
    assert emu.stats["creates_total"] == 3  # the two paid before were not paid again
    after = outputs(spec)
    assert {k: after[k] for k in before} == before and len(after) == 3


def test_an_outage_during_apply_stops_new_creates_and_keeps_what_was_paid(flaky: tuple[str, FaultProxy],
                                                                           tmp_path: Path, run, api) -> None:
    url, proxy = flaky
    emu = api()

    outages = [1]  # one outage, in the first apply

    def outage_starts(event) -> None:
        if outages:
            proxy.down = True
            outages.pop()

    def outage_ends(event) -> None:
        proxy.down = False

    emu.on("create", outage_starts)  # the store fails while the first create is at the API
    emu.on("half_streamed", outage_ends)  # and is back while its output downloads
    spec = checkout(tmp_path, "a", SPEC)
    first = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--store", url, "--format", "json"])
    assert first.exit_code == 1, first.stderr
    doc = json.loads(first.stdout)
    made = emu.stats["creates_total"]
    assert 1 <= made < 6
    assert {o["shot"] for o in doc["outcomes"]["done"]} | {o["shot"] for o in doc["outcomes"]["not_started"]} == \
        {f"city-{n}" for n in range(1, 7)}
    assert len(doc["outcomes"]["done"]) == made  # every task created was finished and downloaded
    assert all("no create is sent while the journal cannot be written" in o["reason"]
               for o in doc["outcomes"]["not_started"])
    state = SharedState(open_store(url), "launch", "spec.yaml").load(State(tmp_path / "x.json"))
    assert sum(len(s.takes) for s in state.shots.values()) == made  # the store knows all of them
    assert not any(s.pending for s in state.shots.values())

    again = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--store", url])
    assert again.exit_code == 0, again.stderr
    assert emu.stats["creates_total"] == 6  # the rest, once; nothing paid twice
    assert len(outputs(spec)) == 6


@pytest.mark.parametrize(("var", "value"), [("RUNNER_STORE_RETRY_SECONDS", "soon"),
                                            ("RUNNER_STORE_RETRY_SECONDS", "nan"),
                                            ("RUNNER_STORE_RETRY_SECONDS", "0"),
                                            ("RUNNER_LOCK_LEASE_SECONDS", "-5"),
                                            ("RUNNER_LOCK_LEASE_SECONDS", "inf")])
def test_a_retry_or_lease_setting_that_is_not_seconds_is_refused(bucket_url: str, tmp_path: Path, run, api,
                                                                  monkeypatch: pytest.MonkeyPatch, var: str,
                                                                  value: str) -> None:
    emu = api()
    monkeypatch.setenv(var, value)
    spec = checkout(tmp_path, "a", SPEC)
    refused = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--store", bucket_url])
    assert refused.exit_code == 1
    assert f"error: store {bucket_url}: {var}={value!r} is not a number of seconds from" in refused.stderr
    assert emu.stats["creates_total"] == 0


def test_a_release_that_fails_in_an_outage_never_hides_the_error_that_ended_apply(
        flaky: tuple[str, FaultProxy]) -> None:
    url, proxy = flaky
    objects = open_store(url)
    lease = acquire(objects, "locks/launch.json", "spec.yaml")
    with pytest.raises(RuntimeError, match="what ended apply"), kept(lease):
        proxy.down = True
        raise RuntimeError("what ended apply")

    proxy.down = False
    other = acquire(objects, "locks/other.json", "other.yaml")
    with pytest.raises(StoreError, match=rf"the lock was not released: .*runner state unlock {other.lock_id}"), \
            kept(other):
        proxy.down = True
