"""How `runner plan` scales: cold and warm plan time and peak memory at 1k / 10k / 50k shots.

For each size N (a matrix spec of N gen4.5 text shots, all already generated):
- cold: a fresh process, empty cache, a state file that lists every shot (a CI runner's
  first plan after checkout) — must hash and fingerprint everything;
- warm: the same again with the cache filled (a laptop's second plan);
- baseline: the time to only parse the spec YAML and the state JSON in the same process,
  the floor any plan needs. Printed as ratios plan/baseline.
Each measurement runs in a child process so that peak RSS is the plan's own.

    python bench/plan_scale.py [--sizes 1000,10000,50000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
if sys.argv[2] == "baseline":
    import yaml
    yaml.safe_load(Path(sys.argv[1]).read_text())
    json.loads(Path(sys.argv[1]).with_name("big.state.json").read_text())
else:
    from runner.planner.make import make_plan
    plan = make_plan(Path(sys.argv[1]))
    assert not plan.has_changes, "benchmark setup: every shot should be unchanged"
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_campaign(folder: Path, n: int) -> Path:
    """A spec of n shots and a state file saying all of them are done (files present)."""
    from runner.planner.make import canonical_request, fingerprint, output_path
    from runner.spec import load_spec
    from runner.store.cache import Hasher, sha256_file
    from runner.store.state import ShotState, State, Take, save_state

    a, b = 100, max(1, n // 100)
    spec = folder / "big.yaml"
    spec.write_text(
        "version: 1\nname: big\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 5}\nshots:\n"
        "  - id: \"s{{ i }}-{{ j }}\"\n    prompt: \"shot {{ i }} / {{ j }}\"\n"
        f"    matrix: {{i: {list(range(a))}, j: {list(range(b))}}}\n"
    )
    loaded = load_spec(spec)
    blob = folder / "blob.mp4"
    blob.write_bytes(b"\0" * 64)
    digest = sha256_file(blob)
    state = State(spec.with_name("big.state.json"))
    hasher = Hasher()
    for shot in loaded.shots:
        canon, _ = canonical_request(shot, folder, hasher)
        out = output_path(loaded, shot.id, 1, shot.request)
        out.parent.mkdir(parents=True, exist_ok=True)
        os.link(blob, out)
        state.shots[shot.id] = ShotState(
            fingerprint(shot.model, shot.request.endpoint, canon), shot.model, shot.mode, canon,
            takes=[Take(1, fingerprint(shot.model, shot.request.endpoint, canon, 1),
                        out.relative_to(folder).as_posix(), digest, 64, 60, None, "2026-01-01T00:00:00Z")],
        )
    save_state(state)
    return spec


def measure(spec: Path, mode: str, cache: Path) -> dict[str, float]:
    env = {**os.environ, "RUNNER_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(spec), mode], env=env, capture_output=True,
                         text=True, check=True)
    return dict(json.loads(out.stdout))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,50000")
    args = parser.parse_args()
    print(f"{'shots':>7} {'cold s':>7} {'warm s':>7} {'parse s':>8} {'cold/parse':>10} {'warm/parse':>10} "
          f"{'peak MB':>8}")
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            os.environ["RUNNER_CACHE_DIR"] = str(folder / "setup-cache")
            spec = make_campaign(folder, n)
            cache = folder / "cache"
            base = measure(spec, "baseline", cache)
            cold = measure(spec, "plan", cache)
            warm = measure(spec, "plan", cache)
            print(f"{n:>7} {cold['seconds']:>7.2f} {warm['seconds']:>7.2f} {base['seconds']:>8.2f} "
                  f"{cold['seconds'] / base['seconds']:>10.1f} {warm['seconds'] / base['seconds']:>10.1f} "
                  f"{max(cold['rss_mb'], warm['rss_mb']):>8.0f}")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(bench took {time.perf_counter() - started:.0f} s; peak RSS of this parent "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
