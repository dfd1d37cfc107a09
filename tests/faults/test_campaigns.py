"""Fault campaigns: "nothing lost, nothing paid twice" under crashes and a faulty API.

Each campaign runs in a quick form in the default suite and in full with
``RUNNER_FULL_CAMPAIGNS=1 pytest -m slow tests/faults`` (see docs/performance.md,
Fault campaigns). The runner runs as a real process (`python -m runner apply`) against an
emulator on loopback; nothing is mocked. Kills happen at moments the emulator's event
hooks mark (see runner/emulator/hooks.py), not after guessed sleeps. An apply that exits
3 (a bug in runner) fails a campaign; exit 1 after an injected fault is tried again.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from runner.emulator import HookEvent, prompt_hash
from runner.store.blobs import blob_key
from runner.store.cache import sha256_file
from runner.store.lease import holder_of
from runner.store.objects import open_store
from runner.store.shared import SharedState
from runner.store.state import State, load_state

FULL = bool(os.environ.get("RUNNER_FULL_CAMPAIGNS"))


def spec_of(n: int, folder: Path, duration: int = 2) -> Path:
    spec = folder / "campaign.yaml"
    spec.write_text(f"version: 1\nname: c\ndefaults: {{model: gen4.5, ratio: '1280:720', duration: {duration}}}\n"
                    f"shots:\n  - id: 's{{{{ i }}}}'\n    prompt: 'shot {{{{ i }}}}'\n"
                    f"    matrix: {{i: {list(range(n))}}}\n")
    return spec


def env_for(emu, folder: Path) -> dict[str, str]:
    return {**os.environ, "RUNWAYML_BASE_URL": emu.base_url, "RUNWAYML_API_SECRET": "key_test_only",
            "RUNNER_CACHE_DIR": str(folder / "cache")}


def apply_cmd(spec: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "runner", "apply", str(spec), "--yes", "--poll-interval", "0.02", *extra]


def state_of(spec: Path, store: str | None = None) -> dict:
    """The spec's state as runner reads it: the state file and the local journal's lines after
    it (after a SIGKILL the file may be behind and the journal holds the rest), or ``store``'s
    snapshot and journal (read as another machine would, through the runner's own reader)."""
    if store is None:
        return json.loads(load_state(spec.with_name("campaign.state.json")).to_json())
    shared = SharedState(open_store(store), "c", spec.name)
    return json.loads(shared.load(State(spec.with_name("campaign.state.json"))).to_json())


def check_outputs(spec: Path, n: int, store: str | None = None) -> None:
    shots = state_of(spec, store)["shots"]
    assert len(shots) == n
    for shot in shots.values():
        assert shot["pending"] == [] and len(shot["takes"]) == 1
        take = shot["takes"][0]
        assert sha256_file(spec.parent / take["output"]) == take["sha256"]
    leftovers = list(spec.parent.glob(".tmp-*")) + list((spec.parent / "outputs").rglob(".tmp-*"))
    assert leftovers == []


# Where the crash campaign kills apply, and the emulator event that marks the moment.
KILL_POINTS = {
    "intent": "create",  # an intent is journaled, the create request is at the API, no task id yet
    "task_id": "first_read",  # the task id is journaled (apply writes it before it polls)
    "download": "half_streamed",  # half of an output is on its way into a temp file
}


class Killer:
    """SIGKILLs the armed apply process at the first emulator event of the armed kill point."""

    def __init__(self, emu) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.point = ""
        self.left = 1
        self.hit: HookEvent | None = None
        self.kills: Counter[str] = Counter()
        for point, event in KILL_POINTS.items():
            emu.on(event, functools.partial(self.on_event, point))

    def arm(self, proc: subprocess.Popen[bytes], point: str, nth: int = 1) -> None:
        """Kill ``proc`` at the ``nth`` event of ``point`` from now on."""
        with self.lock:
            self.proc, self.point, self.hit, self.left = proc, point, None, nth

    def on_event(self, point: str, event: HookEvent) -> None:
        with self.lock:
            if self.proc is None or point != self.point or self.hit is not None:
                return
            self.left -= 1
            if self.left > 0:
                return
            self.proc.send_signal(signal.SIGKILL)  # before the emulator goes on: the moment is exact
            self.hit = event
            self.kills[point] += 1


def check_kill_point(spec: Path, point: str, hit: HookEvent, store: str | None = None) -> None:
    """The journal holds what the runner promises at that moment."""
    shots = state_of(spec, store)["shots"]
    pending_ids = {p["task_id"] for s in shots.values() for p in s["pending"]}
    done_ids = {t["task_id"] for s in shots.values() for t in s["takes"]}
    if point == "intent":
        shot = shots[hit.prompt.replace("shot ", "s")]
        assert any(p["task_id"] is None for p in shot["pending"]), shot["pending"]
    else:
        assert hit.task_id in pending_ids and hit.task_id not in done_ids, (point, hit.task_id, shots)


def lease_for(env: dict[str, str], kill: int) -> dict[str, str]:
    """Odd kills leave a short lease (RUNNER_LOCK_LEASE_SECONDS), even ones the default 300 s."""
    return {**env, "RUNNER_LOCK_LEASE_SECONDS": "2"} if kill % 2 else env


def recover_lock(spec: Path, env: dict[str, str], store: str, kill: int) -> str:
    """A killed apply leaves its lease in the store. Recover as a user would: after odd kills
    let the short lease run out while the next apply waits (--lock-timeout); after even ones
    read the lock id from the refusal and run `runner state unlock`."""
    if kill % 2:
        return "--lock-timeout=60"
    refused = subprocess.run(apply_cmd(spec, "--store", store), env=env, capture_output=True, text=True,
                             timeout=120, check=False)
    assert refused.returncode == 1 and "runner state unlock " in refused.stderr, refused.stderr
    lock_id = refused.stderr.split("runner state unlock ")[1].split()[0]
    unlocked = subprocess.run([sys.executable, "-m", "runner", "state", "unlock", lock_id, str(spec), "--store", store],
                              env=env, capture_output=True, text=True, timeout=120, check=False)
    assert unlocked.returncode == 0, unlocked.stderr
    return "--lock-timeout=0"


def crash_campaign(make_emulator, folder: Path, *, shots: int, kills: int, store: str | None = None) -> None:
    # Two slots per model: a killed apply has at most two creates of its own under way, so
    # `shots > 2 * kills` leaves a new shot to create for every kill.
    emu = make_emulator(time_scale=0.02, max_concurrent=2)  # a generation takes 0.4 s
    spec = spec_of(shots, folder)
    env = env_for(emu, folder)
    where = ["--store", store] if store else []
    killer = Killer(emu)
    points = list(KILL_POINTS)
    journal_only = 0
    for i in range(kills):
        point = points[i % len(points)]
        lock = [recover_lock(spec, env, store, i - 1)] if store and i else []
        proc = subprocess.Popen(apply_cmd(spec, *where, *lock), env=lease_for(env, i) if store else env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        killer.arm(proc, point)
        _, err = proc.communicate(timeout=300)
        assert killer.hit is not None, f"kill {i + 1} ({point}): apply ended on its own: {err.decode()[-2000:]}"
        assert proc.returncode == -signal.SIGKILL
        check_kill_point(spec, point, killer.hit, store)  # the state parses, and says what it must
        if not store and killer.hit.task_id and \
                killer.hit.task_id not in spec.with_name("campaign.state.json").read_text():
            journal_only += 1  # a paid task id only the local journal held (the file is folded when apply ends)
    assert killer.kills == Counter({p: len(range(i, kills, len(points))) for i, p in enumerate(points)})
    unknown = sum(1 for s in state_of(spec, store)["shots"].values() for p in s["pending"] if not p["task_id"])
    lock = [recover_lock(spec, env, store, kills - 1)] if store else []
    final = subprocess.run(apply_cmd(spec, *where, *lock, "--recreate-unknown", "--format", "json"), env=env,
                           capture_output=True, text=True, timeout=300, check=False)
    assert final.returncode == 0, final.stdout + final.stderr
    check_outputs(spec, shots, store)
    creates = emu.stats["creates_total"]
    # Every shot was created once, plus at most the creates the runner itself reported
    # as "may have been created" (an intent journaled, the kill before the task id).
    assert shots <= creates <= shots + unknown, (creates, unknown)
    if store:
        check_store(spec, store, shots)
    else:
        assert journal_only > 0  # the local journal, not the state file, carried paid tasks across kills
    print(f"\ncrash campaign ({'store ' + store if store else 'state file'}): {shots} shots, {kills} SIGKILLs "
          f"({dict(killer.kills)}), {unknown} reported 'may have been created', {creates} creates in all"
          + ("" if store else f"; {journal_only} kills left a paid task id that only the local journal held"))


def check_store(spec: Path, store: str, shots: int) -> None:
    """Another machine finds every output in the store, and the lock free."""
    objects = open_store(store)
    takes = [s["takes"][0] for s in state_of(spec, store)["shots"].values()]
    for take in takes:
        got = objects.read(blob_key(take["sha256"]))
        assert got is not None and got.data == (spec.parent / take["output"]).read_bytes(), take
    assert holder_of(objects, "locks/c.json")[0] is None  # released by the final apply
    assert objects.keys("specs/c/journal") == []  # folded into the snapshot at the end


def test_crash_campaign_quick(make_emulator, tmp_path: Path) -> None:
    crash_campaign(make_emulator, tmp_path, shots=16, kills=6)


@pytest.mark.slow
def test_crash_campaign_full(make_emulator, tmp_path: Path) -> None:
    crash_campaign(make_emulator, tmp_path, shots=60, kills=24)


def test_crash_campaign_bucket_quick(make_emulator, make_bucket, tmp_path: Path) -> None:
    crash_campaign(make_emulator, tmp_path, shots=8, kills=3, store=make_bucket())


@pytest.mark.slow
def test_crash_campaign_bucket_full(make_emulator, make_bucket, tmp_path: Path) -> None:
    crash_campaign(make_emulator, tmp_path, shots=60, kills=24, store=make_bucket())


# The random campaign kills where the runner promises that nothing is paid twice: right after a
# create (its task id is journaled: the first read of the task comes next) and halfway through the
# download of a task that the same apply created. (A kill while a create request is under way
# leaves a create of unknown outcome, which only --recreate-unknown makes again: the campaigns
# above cover it, bounded by what apply reported. A task resumed from an earlier kill is polled
# beside the new creates, so a kill during its download could cut one: it is not a kill point here.)
RANDOM_POINTS = ("task_id", "download")


class OwnTaskKiller(Killer):
    """A Killer whose download kills wait for a task created since it was armed."""

    def __init__(self, emu) -> None:
        self.own: set[str] = set()
        super().__init__(emu)

    def arm(self, proc: subprocess.Popen[bytes], point: str, nth: int = 1) -> None:
        with self.lock:
            self.own = set()
        super().arm(proc, point, nth)

    def on_event(self, point: str, event: HookEvent) -> None:
        with self.lock:
            if point == "task_id" and event.task_id:
                self.own.add(event.task_id)
            if point == "download" and event.task_id not in self.own:
                return
        super().on_event(point, event)


def random_crash_campaign(make_emulator, folder: Path, *, kills: int, store: str, seed: int) -> None:
    """``kills`` SIGKILLs, each at a random kill point and a random one of its first two
    occurrences, of applies (one take at a time) against ``store`` (a folder or a bucket); between kills the lock is
    recovered as a user would (``recover_lock``). Ends with one create per shot and every output
    matching its sha256, in the output folder and in the store."""
    import random

    rng = random.Random(seed)
    shots = 2 * kills + 4  # a killed apply starts at most two shots: a new one is left for every kill
    emu = make_emulator(time_scale=0.02, max_concurrent=2)  # a generation takes 0.4 s
    spec = spec_of(shots, folder)
    env = env_for(emu, folder)
    killer = OwnTaskKiller(emu)
    plan = [(rng.choice(RANDOM_POINTS), rng.randint(1, 2)) for _ in range(kills)]
    for i, (point, nth) in enumerate(plan):
        lock = [recover_lock(spec, env, store, i - 1)] if i else []
        # One take at a time: a kill then finds no other create under way (which could be cut
        # between its request and its answer: a create of unknown outcome, not what this measures).
        proc = subprocess.Popen(apply_cmd(spec, "--store", store, "--parallelism", "1", *lock),
                                env=lease_for(env, i), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        killer.arm(proc, point, nth)
        _, err = proc.communicate(timeout=300)
        assert killer.hit is not None, f"kill {i + 1} ({point} #{nth}, seed {seed}): apply ended on its own: " \
                                       f"{err.decode()[-2000:]}"
        assert proc.returncode == -signal.SIGKILL
        check_kill_point(spec, point, killer.hit, store)  # the store's state parses, and says what it must
    lock = [recover_lock(spec, env, store, kills - 1)]
    final = subprocess.run(apply_cmd(spec, "--store", store, *lock, "--format", "json"), env=env,
                           capture_output=True, text=True, timeout=300, check=False)
    assert final.returncode == 0, final.stdout + final.stderr
    check_outputs(spec, shots, store)
    check_store(spec, store, shots)
    assert emu.stats["creates_total"] == shots, (emu.stats["creates_total"], shots, seed)  # nothing paid twice
    print(f"\nrandom crash campaign (seed {seed}, store {store}): {shots} shots, {kills} SIGKILLs "
          f"({dict(killer.kills)}), {emu.stats['creates_total']} creates")


def test_random_crash_campaign_folder_store_quick(make_emulator, tmp_path: Path) -> None:
    random_crash_campaign(make_emulator, tmp_path, kills=4, store=str(tmp_path / "store"), seed=21)


def test_random_crash_campaign_bucket_quick(make_emulator, make_bucket, tmp_path: Path) -> None:
    random_crash_campaign(make_emulator, tmp_path, kills=3, store=make_bucket(), seed=22)


@pytest.mark.slow
def test_random_crash_campaign_folder_store_full(make_emulator, tmp_path: Path) -> None:
    random_crash_campaign(make_emulator, tmp_path, kills=30, store=str(tmp_path / "store"), seed=2101)


@pytest.mark.slow
def test_random_crash_campaign_bucket_full(make_emulator, make_bucket, tmp_path: Path) -> None:
    random_crash_campaign(make_emulator, tmp_path, kills=30, store=make_bucket(), seed=2102)


def fault_soak(make_emulator, folder: Path, *, shots: int, seed: int, rounds: int = 40) -> None:
    emu = make_emulator(
        time_scale=0.01, max_concurrent=10, seed=seed,
        error_rate=0.10, rate_limit_rate=0.10, fail_rate=0.05, truncate_rate=0.02,
        failure_codes=["SAFETY.INPUT.TEXT", "INTERNAL", "THIRD_PARTY.UNAVAILABLE", "ASSET.INVALID"],
    )
    spec = spec_of(shots, folder)
    env = env_for(emu, folder)
    charged = 0
    outcomes: dict[str, list[dict]] = {}
    reported_creates: dict[str, int] = {}
    for _ in range(rounds):
        result = subprocess.run(apply_cmd(spec, "--recreate-unknown", "--format", "json", "--retries", "2"),
                                env=env, capture_output=True, text=True, timeout=600, check=False)
        # 3 is a bug in runner: that fails the campaign, it is not a fault to try again.
        assert result.returncode in (0, 1), f"apply exited {result.returncode}: {result.stderr[-3000:]}"
        if not result.stdout.strip().startswith("{"):
            # The plan or the account check met an injected fault: try again, as a user would.
            last = result.stderr.strip().splitlines()[-1]
            assert result.returncode == 1 and last.startswith("error: ") and "(injected)" in last, result.stderr
            continue
        doc = json.loads(result.stdout)
        charged += doc["credits"]["charged"]
        for status, items in doc["outcomes"].items():
            for o in items:
                outcomes.setdefault(o["shot"], []).append({**o, "status": status})
                reported_creates[o["shot"]] = reported_creates.get(o["shot"], 0) + o["creates"]
                assert o["creates"] <= 3, o  # one create and at most --retries 2 more in one apply
        if doc["ok"] or all(status in ("done", "kept", "cached", "moved") or o["code"] == "BLOCKED"
                            for status, items in doc["outcomes"].items() for o in items):
            break
    state = state_of(spec)["shots"]
    stats = emu.stats
    for i in range(shots):
        sid = f"s{i}"
        entry = state.get(sid, {})
        done = bool(entry.get("takes"))
        refused = entry.get("failure") or {}
        # Every shot ends done, or failed for a reason it states (SAFETY/ASSET: fix the input).
        assert done or refused, (sid, outcomes.get(sid))
        creates = stats["creates"].get(f"gen4.5:{prompt_hash(f'shot {i}')}", 0)
        if refused and not done:
            code = next(iter(refused.values()))["code"]
            assert code.startswith(("SAFETY", "ASSET"))
            assert any(o["status"] == "failed" and o["reason"] for o in outcomes[sid])
            if code.startswith("SAFETY"):
                assert creates <= 1 + sum(o["status"] == "unknown" for o in outcomes[sid])  # never retried
    # What the runner reported as charged is what the API charged.
    assert charged == stats["credits_charged"]
    done = sum(1 for e in state.values() if e.get("takes"))
    print(f"\nfault soak: {shots} shots, {len(stats['requests'])} endpoints hit, {sum(stats['requests'].values())} "
          f"requests, {stats['creates_total']} creates, {done} done, {shots - done} refused (SAFETY/ASSET), "
          f"charged {charged} credits = emulator tally {stats['credits_charged']}")


def test_fault_soak_quick(make_emulator, tmp_path: Path) -> None:
    fault_soak(make_emulator, tmp_path, shots=30, seed=5)


@pytest.mark.slow
def test_fault_soak_full(make_emulator, tmp_path: Path) -> None:
    fault_soak(make_emulator, tmp_path, shots=100, seed=2026)


def test_two_applies_and_a_plan_at_the_same_time(make_emulator, tmp_path: Path) -> None:
    emu = make_emulator(time_scale=0.01, max_concurrent=4)
    spec = spec_of(16, tmp_path)
    env = env_for(emu, tmp_path)
    applies = [subprocess.Popen(apply_cmd(spec), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    plans = []
    while any(p.poll() is None for p in applies):
        plan = subprocess.run([sys.executable, "-m", "runner", "plan", str(spec), "--format", "json"], env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert plan.returncode == 0, plan.stderr  # the state file is always whole
        plans.append(json.loads(plan.stdout))
    results = [p.communicate() + (p.returncode,) for p in applies]
    assert sorted(r[2] for r in results) in ([0, 0], [0, 1])
    assert emu.stats["creates_total"] == 16
    check_outputs(spec, 16)
    assert plans


# A hostile API: per shot, one of these answers (runner/emulator/hostile.py), or a healthy one.
HOSTILE_MIX = ["", "[[task:never-finish]]", "[[task-weird]]", "[[create:id-traversal]]", "[[create:estimate-text]]",
               "[[task:cost-text]]", "[[task:output-crlf]]", "[[create:id-missing]]", "[[task:status-missing]]",
               "[[task:other-task]]", "[[task-html]]"]
BAD_IDS = ("[[create:id-traversal]]", "[[create:id-missing]]")
WARNED = ("[[create:estimate-text]]",)  # an odd estimate is a warning: the task is polled and finished


def hostile_campaign(make_emulator, folder: Path, *, rounds: int) -> None:
    emu = make_emulator(time_scale=0.01, max_concurrent=4)
    n = rounds * len(HOSTILE_MIX)
    prompts = {f"s{i}": f"shot {i} {HOSTILE_MIX[i % len(HOSTILE_MIX)]}".strip() for i in range(n)}
    spec = folder / "campaign.yaml"
    spec.write_text("version: 1\nname: c\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 2}\nshots:\n"
                    + "".join(f"  - id: {sid}\n    prompt: '{p}'\n" for sid, p in prompts.items()))
    env = env_for(emu, folder)
    # The deadline bounds the run: a task that never finishes is left in the journal at 2 s.
    hostile = subprocess.run(apply_cmd(spec, "--task-timeout", "2", "--format", "json"), env=env,
                             capture_output=True, text=True, timeout=600, check=False)
    assert hostile.returncode == 1, hostile.stderr[-3000:]  # it ended, with an error, and not a bug (3)
    doc = json.loads(hostile.stdout)
    outcomes = {o["shot"]: (status, o) for status, items in doc["outcomes"].items() for o in items}
    for sid, prompt in prompts.items():
        status, o = outcomes[sid]
        assert (status == "done") == (not prompt.endswith("]]") or prompt.endswith(WARNED)), (sid, status, o)
        if "never-finish" in prompt:
            assert status == "unknown" and o["code"] == "TIMEOUT" and "--task-timeout" in o["reason"]
    shots = state_of(spec)["shots"]
    paid = {sid for sid, s in shots.items() for p in s["pending"] if p["task_id"]} | \
           {sid for sid, s in shots.items() if s["takes"]}
    assert paid == {sid for sid, p in prompts.items() if not p.endswith(BAD_IDS)}  # every known task kept
    creates_before = dict(emu.stats["creates"])
    assert sum(creates_before.values()) == n  # one create per shot, none repeated

    emu.configure(hostile=False)
    healthy = subprocess.run(apply_cmd(spec, "--format", "json"), env=env, capture_output=True, text=True,
                             timeout=600, check=False)
    doc = json.loads(healthy.stdout)
    unknown = {o["shot"] for o in doc["outcomes"].get("unknown", [])}
    assert unknown == {sid for sid, p in prompts.items() if p.endswith(BAD_IDS)}  # reported, not re-created
    assert healthy.returncode == 1 and dict(emu.stats["creates"]) == creates_before  # zero extra creates
    for sid in paid:
        assert state_of(spec)["shots"][sid]["takes"] and not state_of(spec)["shots"][sid]["pending"]

    last = subprocess.run(apply_cmd(spec, "--recreate-unknown"), env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert last.returncode == 0, last.stdout + last.stderr
    check_outputs(spec, n)
    creates = emu.stats["creates"]
    for sid, prompt in prompts.items():
        key = f"gen4.5:{prompt_hash(prompt)}"
        assert creates[key] == (2 if prompt.endswith(BAD_IDS) else 1), (sid, creates[key])
    print(f"\nhostile campaign: {n} shots, {len(unknown)} answers with no usable task id (created again only "
          f"with --recreate-unknown), {sum(creates.values())} creates in all")


def test_hostile_api_campaign_quick(make_emulator, tmp_path: Path) -> None:
    hostile_campaign(make_emulator, tmp_path, rounds=1)


@pytest.mark.slow
def test_hostile_api_campaign_full(make_emulator, tmp_path: Path) -> None:
    hostile_campaign(make_emulator, tmp_path, rounds=6)
