"""What a large apply costs the runner itself, and whether that cost per take stays flat as the
campaign grows.

An emulator (`runner emulate`, its own process) gives every task a fixed generation time
T and the account a concurrency C. For each campaign size N, `runner apply` of N fresh
text-to-video shots runs against it (its own process; CPU time measured with getrusage),
then the same apply once more, which finds nothing to do: its CPU is what does not depend
on the number of takes created (start-up, imports, loading and planning N shots). Printed
per size: wall time, ours / ideal (ideal = ceil(N / C) * T), CPU per take (all of it, and
the part above the no-op apply), and the ratio of CPU per take between the largest size and
the smallest — flat is 1.0; the goal is at most 1.3.

With `--baseline-rev REV` the same applies also run from that git revision (checked out into
a temp folder with `git worktree`), e.g. 9c0f9ab, whose journal rewrote the whole state file
on the event loop after every step.

    python bench/apply_scale.py [--sizes 250,2000] [--with-10k] [--c 100] [--t 2] [--baseline-rev REV] [--smoke]
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
from dataclasses import dataclass
from pathlib import Path

from emulator_process import emulator_process

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    n: int
    wall: float  # seconds of the apply that creates every take
    cpu: float  # CPU seconds of that apply
    noop_cpu: float  # CPU seconds of the apply after it, which has nothing to do

    def per_take(self) -> float:
        return self.cpu * 1000 / self.n

    def marginal(self) -> float:
        return (self.cpu - self.noop_cpu) * 1000 / self.n


def _apply(code: Path, spec: Path, base: str, c: int, poll: float) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the apply process)."""
    env = {**os.environ, "RUNWAYML_BASE_URL": base, "RUNWAYML_API_SECRET": "bench",
           "RUNNER_CACHE_DIR": str(spec.parent / "cache"), "PYTHONPATH": str(code)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "runner", "apply", str(spec), "--yes", "--parallelism", str(c),
                    "--poll-interval", str(poll)], env=env, check=True, cwd=spec.parent,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_size(code: Path, folder: Path, base: str, n: int, c: int, poll: float) -> Run:
    """One apply of n fresh shots, then the same apply again (nothing to do)."""
    folder.mkdir()
    spec = folder / "bench.yaml"
    spec.write_text("version: 1\nname: bench\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 2}\n"
                    f"shots:\n  - id: 's{{{{ i }}}}'\n    prompt: 'scale shot {{{{ i }}}} {folder.name}'\n"
                    f"    matrix: {{i: {list(range(n))}}}\n")
    wall, cpu = _apply(code, spec, base, c, poll)
    _, noop = _apply(code, spec, base, c, poll)
    return Run(n, wall, cpu, noop)


def report(label: str, runs: list[Run], c: int, t: float) -> None:
    print(f"\n{label}")
    print(f"{'shots':>7} {'wall s':>8} {'ideal s':>8} {'ours/ideal':>10} {'CPU ms/take':>12} "
          f"{'above no-op':>12} {'no-op CPU s':>12}")
    for r in runs:
        ideal = math.ceil(r.n / c) * t
        print(f"{r.n:>7} {r.wall:>8.1f} {ideal:>8.0f} {r.wall / ideal:>10.2f} {r.per_take():>12.1f} "
              f"{r.marginal():>12.1f} {r.noop_cpu:>12.2f}")
    small = runs[0]
    for large in runs[1:]:
        print(f"CPU per take, {large.n} vs {small.n} shots: {large.per_take() / small.per_take():.2f} "
              f"(above the no-op apply: {large.marginal() / small.marginal():.2f}); flat is 1.00, goal <= 1.3")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="250,2000", help="campaign sizes, smallest first")
    parser.add_argument("--with-10k", action="store_true", help="also 10,000 shots (takes minutes)")
    parser.add_argument("--c", type=int, default=100)
    parser.add_argument("--t", type=float, default=2.0, help="generation seconds per task")
    parser.add_argument("--poll-interval", type=float, default=0.5)
    parser.add_argument("--baseline-rev", default="", help="git revision to compare with ('' = none)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds: checks that it runs")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.with_10k, args.c, args.t, args.poll_interval = "5,10", False, 5, 0.2, 0.05
    sizes = [int(s) for s in args.sizes.split(",")] + ([10_000] if args.with_10k else [])
    c, t = args.c, args.t
    settings = {"time_scale": 1.0, "pending_seconds": 0.0, "generation_seconds": t, "max_concurrent": c,
                "max_daily": 1_000_000, "video_max_side": 32, "video_fps": 1}
    results: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        codes = {"this checkout": ROOT}
        if args.baseline_rev:
            codes[args.baseline_rev] = folder / "baseline"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(codes[args.baseline_rev]),
                            args.baseline_rev], check=True, capture_output=True)
        try:
            with emulator_process(settings) as base:
                for i, (label, code) in enumerate(codes.items()):
                    results[label] = [run_size(code, folder / f"{i}-{n}", base, n, c, args.poll_interval)
                                      for n in sizes]
        finally:
            if args.baseline_rev:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder / "baseline")],
                               check=False, capture_output=True)
                shutil.rmtree(folder / "baseline", ignore_errors=True)
    print(f"C={c} concurrent, T={t:g} s per generation, poll {args.poll_interval:g} s; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for label, runs in results.items():
        report(f"runner apply ({label})", runs, c, t)


if __name__ == "__main__":
    main()
