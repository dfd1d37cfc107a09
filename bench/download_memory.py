"""Peak memory of `runner apply` while downloading large outputs: flat, not proportional.

The emulator (its own process) pads each output MP4 to a given size. We apply K shots
with small outputs, then K shots with large outputs, each apply in its own process, and
read that process's peak RSS (wait4). Streaming downloads keep the two peaks close; a
client that buffered whole files would grow by the file size.

    python bench/download_memory.py [--small-mb 1] [--large-mb 200] [--shots 3] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emulator_process import emulator_process


def apply_peak_mb(folder: Path, name: str, size: int, shots: int, env: dict[str, str]) -> tuple[float, float]:
    spec = folder / f"{name}.yaml"
    spec.write_text(f"version: 1\nname: {name}\ndefaults: {{model: gen4.5, ratio: '1280:720', duration: 2}}\n"
                    f"shots:\n  - id: 's{{{{ i }}}}'\n    prompt: '{name} {{{{ i }}}} [[size:{size}]]'\n"
                    f"    matrix: {{i: {list(range(shots))}}}\n")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "runner", "apply", str(spec), "--yes", "--poll-interval", "0.1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"apply failed ({proc.returncode})")
    outputs = list((folder / "outputs" / name).rglob("*.mp4"))
    assert len(outputs) == shots and all(p.stat().st_size == size for p in outputs)
    return usage.ru_maxrss / 1024, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small-mb", type=float, default=1)
    parser.add_argument("--large-mb", type=float, default=200)
    parser.add_argument("--shots", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds: checks that it runs")
    args = parser.parse_args()
    if args.smoke:
        args.small_mb, args.large_mb, args.shots = 0.1, 2, 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with emulator_process({"time_scale": 0.01}) as base:
            env = {**os.environ, "RUNWAYML_BASE_URL": base, "RUNWAYML_API_SECRET": "bench",
                   "RUNNER_CACHE_DIR": str(folder / "cache")}
            small = apply_peak_mb(folder, "small", int(args.small_mb * 2**20), args.shots, env)
            large = apply_peak_mb(folder, "large", int(args.large_mb * 2**20), args.shots, env)
    print(f"{args.shots} shots each; peak RSS of the apply process:")
    print(f"  outputs of {args.small_mb:g} MB: {small[0]:6.0f} MB  ({small[1]:.1f} s)")
    print(f"  outputs of {args.large_mb:g} MB: {large[0]:6.0f} MB  ({large[1]:.1f} s)")
    print(f"  large/small peak: {large[0] / small[0]:.2f} (file size ratio {args.large_mb / args.small_mb:g})")


if __name__ == "__main__":
    main()
