"""What a large apply costs the runner itself: wall time against the ideal, and CPU per take.

An emulator (`runner emulate`, its own process) gives every task a fixed generation time
T and the account a concurrency C. `runner apply` of N text-to-video shots runs against
it (its own process, CPU time measured with getrusage), then, in the same run, the same
apply of a baseline revision of runner (`--baseline-rev`, checked out into a temp folder
with `git worktree`; default: the commit before the architecture rework, whose journal
rewrote the whole state file on the event loop after every step).

Printed: wall time, ours / ideal (ideal = ceil(N / C) * T), CPU ms per take, and
baseline / ours for both.

    python bench/apply_scale.py [--n 2000] [--c 100] [--t 2] [--baseline-rev 9c0f9ab]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emulator_process import emulator_process

ROOT = Path(__file__).resolve().parent.parent


def run_apply(code: Path, folder: Path, base: str, n: int, c: int, poll: float) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the apply process) for one apply of n fresh shots."""
    folder.mkdir()
    spec = folder / "bench.yaml"
    spec.write_text("version: 1\nname: bench\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 2}\n"
                    f"shots:\n  - id: 's{{{{ i }}}}'\n    prompt: 'scale shot {{{{ i }}}} {folder.name}'\n"
                    f"    matrix: {{i: {list(range(n))}}}\n")
    env = {**os.environ, "RUNWAYML_BASE_URL": base, "RUNWAYML_API_SECRET": "bench",
           "RUNNER_CACHE_DIR": str(folder / "cache"), "PYTHONPATH": str(code)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "runner", "apply", str(spec), "--yes", "--parallelism", str(c),
                    "--poll-interval", str(poll)], env=env, check=True, cwd=folder,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--c", type=int, default=100)
    parser.add_argument("--t", type=float, default=2.0, help="generation seconds per task")
    parser.add_argument("--poll-interval", type=float, default=0.5)
    parser.add_argument("--baseline-rev", default="9c0f9ab", help="git revision to compare with ('' = none)")
    args = parser.parse_args()
    n, c, t = args.n, args.c, args.t
    ideal = math.ceil(n / c) * t
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        baseline = folder / "baseline"
        if args.baseline_rev:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), args.baseline_rev],
                           check=True, capture_output=True)
        settings = {"time_scale": 1.0, "pending_seconds": 0.0, "generation_seconds": t, "max_concurrent": c,
                    "max_daily": 1_000_000, "video_max_side": 32, "video_fps": 1}
        try:
            with emulator_process(settings) as base:
                ours = run_apply(ROOT, folder / "ours", base, n, c, args.poll_interval)
                theirs = run_apply(baseline, folder / "theirs", base, n, c, args.poll_interval) \
                    if args.baseline_rev else None
        finally:
            if args.baseline_rev:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                               check=False, capture_output=True)
                shutil.rmtree(baseline, ignore_errors=True)

    print(f"N={n} shots, C={c} concurrent, T={t:g} s per generation; ideal = ceil(N/C)*T = {ideal:g} s")
    print(f"runner apply (this checkout): {ours[0]:7.1f} s wall, ours/ideal = {ours[0] / ideal:.2f}, "
          f"CPU {ours[1] * 1000 / n:.1f} ms per take")
    if theirs is not None:
        print(f"runner apply ({args.baseline_rev}):      {theirs[0]:7.1f} s wall, baseline/ideal = "
              f"{theirs[0] / ideal:.2f}, CPU {theirs[1] * 1000 / n:.1f} ms per take")
        print(f"baseline/ours: wall {theirs[0] / ours[0]:.2f}, CPU per take {theirs[1] / ours[1]:.2f}")


if __name__ == "__main__":
    main()
