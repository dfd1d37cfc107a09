"""Two checkouts, one store: what one machine paid for, another never pays for again."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.store.lease import acquire
from runner.store.objects import open_store

ROOT = Path(__file__).resolve().parents[2]

SPEC = """\
version: 1
name: launch
shots:
  - id: "city-{{ time }}"
    model: gen4.5
    prompt: "a city at {{ time }}"
    ratio: "1280:720"
    duration: 4
    matrix:
      time: [dawn, dusk]
"""


def checkout(root: Path, name: str, text: str = SPEC) -> Path:
    """A fresh clone: the spec and nothing else (no state file, no outputs)."""
    folder = root / name
    folder.mkdir()
    (folder / ".git").mkdir()  # the project root, as in a real clone
    spec = folder / "spec.yaml"
    spec.write_text(text)
    return spec


def fresh_cache(monkeypatch: pytest.MonkeyPatch, root: Path, name: str) -> None:
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(root / f"cache-{name}"))


def outputs(spec: Path) -> dict[str, str]:
    folder = spec.parent / "outputs" / "launch"
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.mp4"))}


def test_a_fresh_checkout_plans_zero_credits_and_gets_the_files_from_the_store(
        store_url: str, tmp_path: Path, run, api, monkeypatch: pytest.MonkeyPatch) -> None:
    emu = api()
    a = checkout(tmp_path, "a")
    fresh_cache(monkeypatch, tmp_path, "a")
    assert run(["apply", str(a), "--yes", "--poll-interval", "0.02", "--store", store_url]).exit_code == 0
    assert emu.stats["creates_total"] == 2
    assert not a.with_name("spec.state.json").exists()  # the state lives in the store

    b = checkout(tmp_path, "b")
    fresh_cache(monkeypatch, tmp_path, "b")
    plan = run(["plan", str(b), "--format", "json", "--store", store_url])
    doc = json.loads(plan.stdout)
    assert plan.exit_code == 0 and doc["summary"]["credits"] == 0
    assert {s["action"] for s in doc["shots"]} == {"cached"}
    text = run(["plan", str(b), "--store", store_url]).stdout  # the summary says what each line says
    assert text.count("restored from the store") == 2 and "Plan: 0 to create, 2 from the store," in text
    assert run(["apply", str(b), "--yes", "--poll-interval", "0.02", "--store", store_url]).exit_code == 0
    assert emu.stats["creates_total"] == 2
    assert outputs(b) == outputs(a) and len(outputs(b)) == 2

    c = checkout(tmp_path, "c")
    fresh_cache(monkeypatch, tmp_path, "c")
    requests_before = emu.stats["requests"]
    pulled = run(["pull", str(c), "--store", store_url])
    assert pulled.exit_code == 0, pulled.stderr
    assert "Pulled 2 outputs" in pulled.stdout
    assert outputs(c) == outputs(a)
    assert emu.stats["requests"] == requests_before  # not one API call


def test_the_store_named_in_the_spec_or_the_environment_is_used(bucket_url: str, tmp_path: Path, run, api,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    emu = api()
    a = checkout(tmp_path, "a", SPEC.replace("name: launch\n", f"name: launch\nstore: {bucket_url}\n"))
    assert run(["apply", str(a), "--yes", "--poll-interval", "0.02"]).exit_code == 0
    b = checkout(tmp_path, "b")
    fresh_cache(monkeypatch, tmp_path, "b")
    monkeypatch.setenv("RUNNER_STORE", bucket_url)
    plan = run(["plan", str(b), "--format", "json"])
    assert json.loads(plan.stdout)["summary"]["credits"] == 0
    assert emu.stats["creates_total"] == 2


def test_two_machines_applying_one_changed_prompt_at_once_pay_once(bucket_url: str, tmp_path: Path, api) -> None:
    emu = api()
    changed = SPEC.replace("a city at", "a harbour at")
    env = {**os.environ, "RUNWAYML_BASE_URL": emu.base_url, "RUNWAYML_API_SECRET": "key_test_only"}
    procs = []
    for name in ("a", "b"):
        spec = checkout(tmp_path, name, changed)
        cache_env = {**env, "RUNNER_CACHE_DIR": str(tmp_path / f"cache-{name}")}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "runner", "apply", str(spec), "--yes", "--poll-interval", "0.02",
             "--store", bucket_url, "--lock-timeout", "120"],
            env=cache_env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out + err
    assert emu.stats["creates_total"] == 2  # two shots, made once between both machines
    assert outputs(tmp_path / "a" / "spec.yaml") == outputs(tmp_path / "b" / "spec.yaml")


def test_a_dead_applys_lock_refuses_with_its_id_until_unlocked(bucket_url: str, tmp_path: Path, run, api) -> None:
    emu = api()
    spec = checkout(tmp_path, "a")
    dead = acquire(open_store(bucket_url), "locks/launch.json", "spec.yaml")  # its process then died
    refused = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--store", bucket_url])
    assert refused.exit_code == 1
    assert f"lock id {dead.lock_id}" in refused.stderr and f"runner state unlock {dead.lock_id}" in refused.stderr
    assert emu.stats["creates_total"] == 0

    wrong = run(["state", "unlock", "not-the-id", str(spec), "--store", bucket_url])
    assert wrong.exit_code == 1 and "does not match" in wrong.stderr
    unlocked = run(["state", "unlock", dead.lock_id, str(spec), "--store", bucket_url])
    assert unlocked.exit_code == 0 and f"pid {os.getpid()}" in unlocked.stdout
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--store", bucket_url]).exit_code == 0
    assert emu.stats["creates_total"] == 2


def test_an_existing_state_file_moves_into_a_new_store_without_paying(bucket_url: str, tmp_path: Path, run, api,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    emu = api()
    a = checkout(tmp_path, "a")
    assert run(["apply", str(a), "--yes", "--poll-interval", "0.02"]).exit_code == 0  # local default
    assert run(["push", str(a), "--store", bucket_url]).exit_code == 0  # seed the store with the files

    b = checkout(tmp_path, "b")
    shutil.copy(a.with_name("spec.state.json"), b.with_name("spec.state.json"))  # committed to git
    fresh_cache(monkeypatch, tmp_path, "b")
    assert run(["apply", str(b), "--yes", "--poll-interval", "0.02", "--store", bucket_url]).exit_code == 0
    assert emu.stats["creates_total"] == 2
    assert outputs(b) == outputs(a)


def test_an_input_uploaded_by_one_machine_is_not_uploaded_again_by_another(
        bucket_url: str, tmp_path: Path, run, api, monkeypatch: pytest.MonkeyPatch) -> None:
    emu = api()
    image_spec = ("version: 1\nname: launch\nshots:\n  - id: hero\n    model: gen4.5\n    prompt: '{prompt}'\n"
                  "    image: assets/hero.png\n    ratio: '1280:720'\n    duration: 4\n")
    a = checkout(tmp_path, "a", image_spec.format(prompt="a slow push in"))
    (a.parent / "assets").mkdir()
    shutil.copy(ROOT / "specs" / "assets" / "hero.png", a.parent / "assets" / "hero.png")
    fresh_cache(monkeypatch, tmp_path, "a")
    assert run(["apply", str(a), "--yes", "--poll-interval", "0.02", "--store", bucket_url]).exit_code == 0
    assert emu.stats["uploads"] == 1

    b = checkout(tmp_path, "b", image_spec.format(prompt="a slow pull out"))  # a new generation, same image
    (b.parent / "assets").mkdir()
    shutil.copy(ROOT / "specs" / "assets" / "hero.png", b.parent / "assets" / "hero.png")
    fresh_cache(monkeypatch, tmp_path, "b")
    assert run(["apply", str(b), "--yes", "--poll-interval", "0.02", "--store", bucket_url]).exit_code == 0
    assert emu.stats["creates_total"] == 2 and emu.stats["uploads"] == 1  # the upload was shared


def test_an_input_clips_length_probed_by_one_machine_is_read_by_another(
        bucket_url: str, tmp_path: Path, run, api, monkeypatch: pytest.MonkeyPatch) -> None:
    # aleph2 is priced by its input clip's length: the plan needs it. A machine that applied
    # keeps it in the store; another plan reads it there (and a plan never writes the store).
    api()
    clip_spec = ("version: 1\nname: launch\nshots:\n  - id: restyle\n    model: aleph2\n"
                 "    prompt: 'make it snow'\n    video: assets/clip.mp4\n    ratio: '1280:720'\n")
    a = checkout(tmp_path, "a", clip_spec)
    (a.parent / "assets").mkdir()
    shutil.copy(ROOT / "specs" / "assets" / "clip.mp4", a.parent / "assets" / "clip.mp4")
    fresh_cache(monkeypatch, tmp_path, "a")
    store = open_store(bucket_url)
    assert run(["plan", str(a), "--store", bucket_url]).exit_code == 0
    assert store.keys("probes") == []  # plan read it locally and wrote nothing
    assert run(["apply", str(a), "--yes", "--poll-interval", "0.02", "--store", bucket_url]).exit_code == 0
    (key,) = store.keys("probes")
    digest = hashlib.sha256((a.parent / "assets" / "clip.mp4").read_bytes()).hexdigest()
    assert key == f"probes/{digest}.json"

    plan_a = json.loads(run(["plan", str(a), "--format", "json", "--store", bucket_url, "--replace", "restyle"]).stdout)
    store.write(key, b'{"seconds": 10.0}')  # what another machine found (here: longer than the file)
    fresh_cache(monkeypatch, tmp_path, "b")
    b = checkout(tmp_path, "b", clip_spec.replace("make it snow", "make it rain"))
    (b.parent / "assets").mkdir()
    shutil.copy(ROOT / "specs" / "assets" / "clip.mp4", b.parent / "assets" / "clip.mp4")
    plan_b = json.loads(run(["plan", str(b), "--format", "json", "--store", bucket_url]).stdout)
    assert plan_b["summary"]["credits"] > plan_a["summary"]["credits"]  # priced from the store's length
