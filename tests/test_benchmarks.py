"""Every benchmark still runs: each bench/*.py with a main() is run with --smoke (tiny sizes, a
few seconds) and must exit 0 having printed its figures. The figures themselves are for people
(README, docs/performance.md); a timing is never asserted in a test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if re.search(r"^def main\(", p.read_text(encoding="utf-8"), re.M))


def test_every_benchmark_is_found() -> None:
    """The glob is the list: a benchmark with a main() cannot be left out of the smoke runs."""
    names = {p.stem for p in SCRIPTS}
    assert {"plan_scale", "startup", "apply_throughput", "validate_scale"} <= names, names
    assert "emulator_process" not in names  # a helper, not a benchmark


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_benchmark_runs_with_smoke(script: Path, tmp_path: Path) -> None:
    env = {**os.environ, "RUNNER_CACHE_DIR": str(tmp_path / "cache"), "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, str(script), "--smoke"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"{script.name} --smoke failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert re.search(r"\d", done.stdout), f"{script.name} --smoke printed no figures:\n{done.stdout}"
