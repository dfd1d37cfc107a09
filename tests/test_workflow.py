"""The GitHub Actions example: its shell steps run as written against the emulator.

GitHub itself is not involved: we read examples/github-actions/runner.yml and run each
step that calls runner (and the budget check) with bash, as the runner VM would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = yaml.safe_load((ROOT / "examples" / "github-actions" / "runner.yml").read_text())


def steps(job: str) -> list[dict]:
    return [s for s in WORKFLOW["jobs"][job]["steps"] if "run" in s and "runner" in s.get("name", "")
            or s.get("name", "").startswith("fail when")]


def run_step(step: dict, cwd: Path, env: dict[str, str], outputs: dict[str, str]) -> subprocess.CompletedProcess:
    script = re.sub(r"\$\{\{ steps\.plan\.outputs\.exit \}\}", outputs.get("exit", ""), step["run"])
    github_output = cwd / "github_output"
    github_output.write_text("")
    result = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env={**env, "GITHUB_OUTPUT": str(github_output)},
                            capture_output=True, text=True, timeout=120, check=False)
    for line in github_output.read_text().splitlines():
        key, _, value = line.partition("=")
        outputs[key] = value
    return result


def repo(tmp_path: Path, spec_text: str) -> tuple[Path, dict[str, str]]:
    (tmp_path / "campaigns").mkdir()
    shutil.copytree(ROOT / "specs" / "assets", tmp_path / "campaigns" / "assets")
    (tmp_path / "campaigns" / "launch.yaml").write_text(spec_text)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # `runner` of this env
    return tmp_path, {**os.environ, **WORKFLOW["env"], "PATH": path, "RUNNER_CACHE_DIR": str(tmp_path / "cache")}


GOOD = ("version: 1\nname: launch\nbudget: {max_credits: 500}\ndefaults: {model: gen4.5, ratio: '1280:720', "
        "duration: 5}\nshots:\n  - id: 'hero-{{ c }}'\n    prompt: 'shoe in {{ c }}'\n    matrix: {c: [a, b]}\n")


def test_pull_request_job_posts_a_plan_and_passes_within_budget(tmp_path: Path) -> None:
    cwd, env = repo(tmp_path, GOOD)
    outputs: dict[str, str] = {}
    for step in steps("plan"):
        result = run_step(step, cwd, env, outputs)
        assert result.returncode == 0, (step["name"], result.stdout, result.stderr)
    comment = (cwd / "plan.md").read_text()
    assert "### runner plan" in comment and "120 credits" in comment and "✅ Budget: 120 of 500" in comment
    assert outputs["exit"] == "2"  # changes, which is fine on a PR


def test_pull_request_job_fails_over_budget(tmp_path: Path) -> None:
    cwd, env = repo(tmp_path, GOOD.replace("max_credits: 500", "max_credits: 100"))
    outputs: dict[str, str] = {}
    results = [run_step(step, cwd, env, outputs) for step in steps("plan")]
    assert "❌ Over budget" in (cwd / "plan.md").read_text()
    assert results[-1].returncode != 0  # the check fails


def test_main_job_applies_and_leaves_state_and_report(tmp_path: Path, make_emulator) -> None:
    emu = make_emulator()
    cwd, env = repo(tmp_path, GOOD)
    env.update({"RUNWAYML_BASE_URL": emu.base_url, "RUNWAYML_API_SECRET": "key_test_only"})
    outputs: dict[str, str] = {}
    for step in steps("apply"):
        result = run_step(step, cwd, env, outputs)
        assert result.returncode == 0, (step["name"], result.stdout, result.stderr)
    assert (cwd / "campaigns" / "launch.state.json").is_file()
    assert (cwd / "campaigns" / "report.html").is_file()
    assert len(list((cwd / "campaigns" / "outputs").rglob("*.mp4"))) == 2
    assert emu.stats["creates_total"] == 2
    assert WORKFLOW["jobs"]["apply"]["concurrency"]["cancel-in-progress"] is False
