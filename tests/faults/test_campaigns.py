"""Fault campaigns: "nothing lost, nothing paid twice" under crashes and a faulty API.

Each campaign runs in a quick form in the default suite and in full with
``RUNNER_FULL_CAMPAIGNS=1 pytest -m slow tests/faults`` (see README, Performance and
reliability). The runner runs as a real process (`python -m runner apply`) against an
emulator on loopback; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.emulator import prompt_hash
from runner.store.cache import sha256_file

FULL = bool(os.environ.get("RUNNER_FULL_CAMPAIGNS"))


def spec_of(n: int, folder: Path, duration: int = 2) -> Path:
    spec = folder / "campaign.yaml"
    spec.write_text(f"version: 1\nname: c\ndefaults: {{model: gen4.5, ratio: '1280:720', duration: {duration}}}\n"
                    f"shots:\n  - id: 's{{{{ i }}}}'\n    prompt: 'shot {{{{ i }}}}'\n    matrix: {{i: {list(range(n))}}}\n")
    return spec


def env_for(emu, folder: Path) -> dict[str, str]:
    return {**os.environ, "RUNWAYML_BASE_URL": emu.base_url, "RUNWAYML_API_SECRET": "key_test_only",
            "RUNNER_CACHE_DIR": str(folder / "cache")}


def apply_cmd(spec: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "runner", "apply", str(spec), "--yes", "--poll-interval", "0.02", *extra]


def state_of(spec: Path) -> dict:
    return json.loads(spec.with_name("campaign.state.json").read_text())


def check_outputs(spec: Path, n: int) -> None:
    shots = state_of(spec)["shots"]
    assert len(shots) == n
    for shot in shots.values():
        assert shot["pending"] == [] and len(shot["takes"]) == 1
        take = shot["takes"][0]
        assert sha256_file(spec.parent / take["output"]) == take["sha256"]
    leftovers = list(spec.parent.glob(".tmp-*")) + list((spec.parent / "outputs").rglob(".tmp-*"))
    assert leftovers == []


def crash_campaign(make_emulator, folder: Path, *, shots: int, kills: int, seed: int) -> None:
    emu = make_emulator(time_scale=0.02, max_concurrent=5)  # a generation takes 0.4 s
    spec = spec_of(shots, folder)
    env = env_for(emu, folder)
    rng = random.Random(seed)
    for _ in range(kills):
        proc = subprocess.Popen(apply_cmd(spec), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))  # the interpreter needs ~0.3 s to start
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        json.loads(spec.with_name("campaign.state.json").read_text() if spec.with_name(
            "campaign.state.json").exists() else "{}")  # the state file always parses
    unknown = 0
    if spec.with_name("campaign.state.json").exists():
        unknown = sum(1 for s in state_of(spec)["shots"].values() for p in s["pending"] if not p["task_id"])
    final = subprocess.run(apply_cmd(spec, "--recreate-unknown", "--format", "json"), env=env,
                           capture_output=True, text=True, timeout=300, check=False)
    assert final.returncode == 0, final.stdout + final.stderr
    check_outputs(spec, shots)
    creates = emu.stats["creates_total"]
    # Every shot was created once, plus at most the creates the runner itself reported
    # as "may have been created" (an intent journaled, the kill before the task id).
    assert shots <= creates <= shots + unknown, (creates, unknown)
    print(f"\ncrash campaign: {shots} shots, {kills} SIGKILLs, {unknown} reported 'may have been created', "
          f"{creates} creates in all")


def test_crash_campaign_quick(make_emulator, tmp_path: Path) -> None:
    crash_campaign(make_emulator, tmp_path, shots=12, kills=4, seed=11)


@pytest.mark.slow
def test_crash_campaign_full(make_emulator, tmp_path: Path) -> None:
    crash_campaign(make_emulator, tmp_path, shots=30, kills=20, seed=2026)


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
        if not result.stdout.strip().startswith("{"):
            continue  # the plan or the account check met an injected fault: try again, as a user would
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
