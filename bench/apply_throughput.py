"""Throughput of `runner apply` against two baselines written the way Runway's guide shows.

An emulator (`runner emulate`, its own process) gives every task a fixed generation time
T and the account a concurrency C per model. In the same run we time:

- ours: `runner apply` of N text-to-video shots (its own process);
- baseline (a): a sequential loop of
  `client.text_to_video.create(...).wait_for_task_output()` (the SDK polls every 6 ± 1.5 s);
  with --sequential-n smaller than N it runs that many and scales up, and says so;
- baseline (b): the same calls in a thread pool of C workers.

Printed: wall times, ours / ideal where ideal = ceil(N / C) * T, and baseline / ours.

    python bench/apply_throughput.py [--n 60] [--c 10] [--t 5] [--sequential-n 10] [--smoke]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from emulator_process import emulator_process
from runwayml import RunwayML


def one_call(client: RunwayML, i: int) -> None:
    task = client.text_to_video.create(model="gen4.5", prompt_text=f"baseline shot {i}", ratio="1280:720",
                                       duration=2).wait_for_task_output()
    httpx.get(task.output[0]).raise_for_status()  # the guide downloads the result too


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--c", type=int, default=10)
    parser.add_argument("--t", type=float, default=5.0, help="generation seconds per task")
    parser.add_argument("--sequential-n", type=int, default=10)
    parser.add_argument("--poll-interval", type=float, default=0.25)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds: checks that it runs")
    args = parser.parse_args()
    if args.smoke:
        args.n, args.c, args.t, args.sequential_n, args.poll_interval = 4, 2, 0.3, 2, 0.05
    n, c, t = args.n, args.c, args.t
    ideal = math.ceil(n / c) * t
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = {"time_scale": 1.0, "pending_seconds": 0.0, "generation_seconds": t, "max_concurrent": c,
                    "max_daily": 100000, "video_max_side": 64, "video_fps": 2}
        with emulator_process(settings) as base:
            spec = folder / "bench.yaml"
            spec.write_text("version: 1\nname: bench\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 2}\n"
                            f"shots:\n  - id: 's{{{{ i }}}}'\n    prompt: 'bench shot {{{{ i }}}}'\n"
                            f"    matrix: {{i: {list(range(n))}}}\n")
            env = {**os.environ, "RUNWAYML_BASE_URL": base, "RUNWAYML_API_SECRET": "bench",
                   "RUNNER_CACHE_DIR": str(folder / "cache")}
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "runner", "apply", str(spec), "--yes", "--parallelism", str(c),
                            "--poll-interval", str(args.poll_interval)], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ours = time.perf_counter() - started
            creates = httpx.get(f"{base}/_emulator/stats").json()["creates_total"]
            assert creates == n, f"runner made {creates} creates for {n} shots"

            pooled = sequential = 0.0
            seq_n = min(args.sequential_n, n)
            if not args.smoke:  # the SDK's waiter polls every 6 s: not a few seconds
                httpx.post(f"{base}/_emulator/reset")
                with RunwayML(api_key="bench", base_url=base) as client:
                    started = time.perf_counter()
                    with ThreadPoolExecutor(max_workers=c) as pool:
                        list(pool.map(lambda i: one_call(client, i), range(n)))
                    pooled = time.perf_counter() - started

                    started = time.perf_counter()
                    for i in range(seq_n):
                        one_call(client, i)
                    sequential = (time.perf_counter() - started) * n / seq_n

    print(f"N={n} shots, C={c} concurrent per model, T={t:g} s per generation; ideal = ceil(N/C)*T = {ideal:g} s")
    print(f"runner apply (poll {args.poll_interval:g} s):   {ours:7.1f} s   ours/ideal = {ours / ideal:.2f}")
    if args.smoke:
        print("baselines skipped with --smoke (the SDK's wait_for_task_output polls every 6 s)")
    else:
        print(f"thread pool of {c} + wait_for_task_output: {pooled:7.1f} s   baseline/ours = {pooled / ours:.2f}")
        scaled = "" if seq_n == n else f" (measured on {seq_n}, scaled to {n})"
        print(f"sequential loop{scaled}: {sequential:7.1f} s   baseline/ours = {sequential / ours:.2f}")
    target = 1.1 * ideal + args.poll_interval
    print(f"target ours <= 1.1 * ideal + one poll = {target:.1f} s: {'met' if ours <= target else 'NOT met'}")


if __name__ == "__main__":
    main()
