"""The bucket-store GitHub Actions example: its shell steps, run as written, against the
emulator and moto's S3 server. Main applies into the store; a pull request's fresh checkout
then plans 0 credits, and nothing is committed or written back by the plan."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from runner.store.objects import open_store

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = yaml.safe_load((ROOT / "examples" / "github-actions" / "runner-bucket.yml").read_text())
SPEC = ("version: 1\nname: launch\nbudget: {max_credits: 500}\ndefaults: {model: gen4.5, ratio: '1280:720', "
        "duration: 5}\nshots:\n  - id: 'hero-{{ c }}'\n    prompt: 'shoe in {{ c }}'\n    matrix: {c: [a, b]}\n")


def steps(job: str) -> list[dict]:
    return [s for s in WORKFLOW["jobs"][job]["steps"] if "run" in s and "runner" in s.get("name", "")]


def checkout(folder: Path, store: str) -> tuple[Path, dict[str, str]]:
    (folder / "campaigns").mkdir(parents=True)
    shutil.copytree(ROOT / "specs" / "assets", folder / "campaigns" / "assets")
    (folder / "campaigns" / "launch.yaml").write_text(SPEC)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, **WORKFLOW["env"], "PATH": path, "RUNNER_CACHE_DIR": str(folder / "cache"),
           "RUNNER_STORE": store, "GITHUB_OUTPUT": str(folder / "github_output")}
    return folder, env


def run_step(step: dict, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = re.sub(r"\$\{\{ steps\.plan\.outputs\.exit \}\}", "0", step["run"])
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def test_main_applies_into_the_bucket_and_a_pull_request_plans_zero(tmp_path: Path, bucket_url: str,
                                                                     make_emulator) -> None:
    emu = make_emulator()
    main, env = checkout(tmp_path / "main", bucket_url)
    env.update({"RUNWAYML_BASE_URL": emu.base_url, "RUNWAYML_API_SECRET": "key_test_only"})
    for step in steps("apply"):
        result = run_step(step, main, env)
        assert result.returncode == 0, (step["name"], result.stdout, result.stderr)
    assert emu.stats["creates_total"] == 2
    assert not (main / "campaigns" / "launch.state.json").exists()  # nothing to commit back
    assert WORKFLOW["jobs"]["apply"]["permissions"]["contents"] == "read"

    store = open_store(bucket_url)
    before = {key: store.read(key) for key in store.keys("")}
    pr, env = checkout(tmp_path / "pr", bucket_url)
    for step in steps("plan"):
        result = run_step(step, pr, env)
        assert result.returncode == 0, (step["name"], result.stdout, result.stderr)
    comment = (pr / "plan.md").read_text()
    assert "0 credits" in comment and "to create" not in comment.replace("0 to create", ""), comment
    assert {key: store.read(key) for key in store.keys("")} == before  # the plan wrote nothing
    assert emu.stats["creates_total"] == 2
