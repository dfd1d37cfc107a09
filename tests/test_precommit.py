"""The pre-commit hook (.pre-commit-hooks.yaml) in a temporary git repository.

pre-commit installs this repository as the hook's environment (pip install), so this
test takes a while and needs the package index; it runs in the default suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_runner_validate_hook_passes_good_and_fails_bad_specs(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    hook_repo = tmp_path / "hook-repo"  # a committed copy of this working tree
    shutil.copytree(ROOT, hook_repo, ignore=shutil.ignore_patterns(".venv", ".git", "outputs", "__pycache__",
                                                                    "*.egg-info", ".pytest_cache", ".mypy_cache",
                                                                    "node_modules"))
    git("init", "-q", cwd=hook_repo)
    git("add", "-A", cwd=hook_repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "hook", cwd=hook_repo)
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=hook_repo, capture_output=True, text=True,
                         check=True).stdout.strip()

    project = tmp_path / "project"
    (project / "campaigns").mkdir(parents=True)
    git("init", "-q", cwd=project)
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_repo}\n    rev: {rev}\n    hooks:\n      - id: runner-validate\n")
    good = "version: 1\nname: ok\nshots:\n  - id: a\n    model: gen4.5\n    prompt: x\n    ratio: '1280:720'\n" \
           "    duration: 5\n"
    (project / "campaigns" / "good.yaml").write_text(good)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    env.pop("VIRTUAL_ENV", None)
    cmd = [sys.executable, "-m", "pre_commit", "run", "--all-files"]
    git("add", "-A", cwd=project)
    ok = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "runner validate" in ok.stdout and "Passed" in ok.stdout

    (project / "campaigns" / "bad.yaml").write_text(good.replace("duration: 5", "duration: 12"))
    git("add", "-A", cwd=project)
    bad = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert bad.returncode == 1
    expected = "campaigns/bad.yaml:8:15: shot a: duration: 12 is above gen4.5 text mode's maximum of 10 seconds"
    assert expected in bad.stdout
