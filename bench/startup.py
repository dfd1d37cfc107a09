"""How long the light commands take to start, against the import floor, measured in one run.

The floor is ``python -c "import yaml, jinja2, jsonschema, click"``: what any validate must
load. Each command runs in a fresh process (the console script's own interpreter), rounds
interleaved so that the load of a shared machine falls on all of them alike; the figure of a
command is its fastest round (the least disturbed), in wall time and in CPU time (user +
system, which the load of other processes disturbs less), and each ratio divides it by the
floor's.
Goals: ``validate specs/demo.yaml`` ≤ 1.5 × the floor, ``plan specs/demo.yaml`` ≤ 2 ×,
``--version`` about the floor. The caches are warm (one run of each first: runner's cache and
Python's compiled modules), as on a laptop or in pre-commit after the first commit.

    python bench/startup.py [--rounds 15] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR = [sys.executable, "-c", "import yaml, jinja2, jsonschema, click"]
COMMANDS = {
    "--version": ["--version"],
    "validate": ["validate", "specs/demo.yaml"],
    "plan": ["plan", "specs/demo.yaml"],
}
GOALS = {"validate": 1.5, "plan": 2.0}


def runner_command(args: list[str]) -> list[str]:
    """The console script beside this interpreter (as a user runs it), else ``python -m runner``."""
    script = Path(sys.executable).with_name("runner")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "runner", *args]


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--smoke", action="store_true", help="1 round: checks that the benchmark runs")
    args = parser.parse_args()
    rounds = 1 if args.smoke else args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        # A copy of the demo, so that plan's files (none: plan writes nothing) and the cache stay here.
        project = Path(tmp) / "project"
        shutil.copytree(ROOT / "specs", project / "specs")
        (project / ".git").mkdir()  # the project root, as in a checkout
        env = {**os.environ, "RUNNER_CACHE_DIR": str(Path(tmp) / "cache"), "NO_COLOR": "1"}
        # As on a user's machine, Python keeps the compiled modules (__pycache__): a shell that
        # sets PYTHONDONTWRITEBYTECODE would measure compiling runner's sources on every start.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        commands = {"floor": FLOOR, **{name: runner_command(a) for name, a in COMMANDS.items()}}
        for cmd in commands.values():  # warm: the OS's file cache, runner's probe cache
            timed(cmd, project, env)
        wall = dict.fromkeys(commands, float("inf"))
        cpu = dict.fromkeys(commands, float("inf"))
        for _ in range(rounds):
            for name, cmd in commands.items():
                w, c = timed(cmd, project, env)
                wall[name], cpu[name] = min(wall[name], w), min(cpu[name], c)
    print(f"fastest of {rounds} interleaved rounds; CPU = user + system of the process")
    print(f"{'command':<33} {'wall':>7} {'/ floor':>8} {'CPU':>7} {'/ floor':>8}  goal")
    for name in commands:
        label = "import floor" if name == "floor" else f"runner {' '.join(COMMANDS[name])}"
        goal = f"≤ {GOALS[name]:g}" if name in GOALS else ""
        print(f"{label:<33} {wall[name] * 1000:>4.0f} ms {wall[name] / wall['floor']:>8.2f} "
              f"{cpu[name] * 1000:>4.0f} ms {cpu[name] / cpu['floor']:>8.2f}  {goal}")
    print(f"(load average when done: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
