"""How `runner plan` scales: CPU time and peak memory of big plans.

First the goal's case: a new campaign of 5 matrix shots of 10,000 variants each (50,000
shots, no state, a fresh cache), planned by the `runner plan` command in a fresh process,
text to stdout and with ``--format json -o plan.json``; CPU-seconds (user + system) and peak
RSS of that process. Goal: ≤ 8 CPU-s and ≤ 300 MB.

Then, for each size N (a matrix spec of N gen4.5 text shots, all already generated):
- cold: a fresh process, empty cache, a state file that lists every shot (a CI runner's
  first plan after checkout) — must hash and fingerprint everything;
- warm: the same again with the cache filled (a laptop's second plan);
- baseline: the time to only parse the spec YAML and the state JSON in the same process,
  the floor any plan needs. Printed as ratios plan/baseline.
Each measurement runs in a child process so that peak RSS is the plan's own.

    python bench/plan_scale.py [--new 10000] [--sizes 1000,10000,50000] [--smoke]
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


def new_campaign(folder: Path, per_shot: int) -> Path:
    """5 matrix shots of ``per_shot`` variants each (a square matrix when it is a square), nothing generated."""
    a = int(per_shot ** 0.5)
    b = per_shot // a
    lines = ["version: 1", "name: new", "defaults: {model: gen4.5, ratio: '1280:720', duration: 5}", "shots:"]
    for k in range(5):
        lines += [f'  - id: "m{k}-{{{{ i }}}}-{{{{ j }}}}"', f'    prompt: "shot {k}: {{{{ i }}}} / {{{{ j }}}}"',
                  f"    matrix: {{i: {list(range(a))}, j: {list(range(b))}}}"]
    spec = folder / "new.yaml"
    spec.write_text("\n".join(lines) + "\n")
    return spec


def measure_command(args: list[str], cwd: Path, cache: Path) -> dict[str, float]:
    """CPU seconds (user + system), wall seconds and peak RSS of one `runner ARGS` process, imports included."""
    env = {**os.environ, "RUNNER_CACHE_DIR": str(cache)}
    code = ("import resource, runpy, sys\nsys.argv = ['runner', *sys.argv[1:]]\ntry:\n"
            "    runpy.run_module('runner', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "r = resource.getrusage(resource.RUSAGE_SELF)\n"
            "sys.stderr.write(f'\\n@@ {r.ru_utime + r.ru_stime} {r.ru_maxrss / 1024}\\n')\n")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0 or "\n@@ " not in done.stderr:
        raise SystemExit(f"runner {' '.join(args)} failed: {done.stderr[-800:]}")
    cpu, rss = (float(x) for x in done.stderr.rpartition("\n@@ ")[2].split())
    return {"cpu": cpu, "wall": wall, "rss_mb": rss}


def new_campaign_figures(per_shot: int) -> None:
    print(f"new campaign: 5 matrix shots × {per_shot:,} = {5 * per_shot:,} shots, no state, fresh cache "
          "(goal at 50,000: ≤ 8 CPU-s, ≤ 300 MB)")
    print(f"  {'command':<50} {'CPU s':>7} {'wall s':>7} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spec = new_campaign(folder, per_shot)
        for n, args in enumerate((["plan", spec.name], ["plan", spec.name, "--format", "json", "-o", "plan.json"])):
            got = measure_command(args, folder, folder / f"cache-{n}")
            print(f"  {'runner ' + ' '.join(args):<50} {got['cpu']:>7.2f} {got['wall']:>7.2f} {got['rss_mb']:>8.0f}")


def make_campaign(folder: Path, n: int) -> Path:
    """A spec of n shots and a state file saying all of them are done (files present)."""
    from runner.planner.fingerprint import canonical_request, fingerprint
    from runner.planner.make import output_name
    from runner.spec import load_spec
    from runner.store.cache import Hasher, sha256_file
    from runner.store.state import ShotState, State, Take, save_state

    entries = max(1, -(-n // 10_000))  # a matrix makes at most 10,000 variants
    a, b = 100, max(1, n // 100 // entries)
    spec = folder / "big.yaml"
    text = "version: 1\nname: big\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 5}\nshots:\n"
    for k in range(entries):
        text += (f'  - id: "s{k}-{{{{ i }}}}-{{{{ j }}}}"\n    prompt: "shot {k}: {{{{ i }}}} / {{{{ j }}}}"\n'
                 f"    matrix: {{i: {list(range(a))}, j: {list(range(b))}}}\n")
    spec.write_text(text)
    loaded = load_spec(spec)
    blob = folder / "blob.mp4"
    blob.write_bytes(b"\0" * 64)
    digest = sha256_file(blob)
    state = State(spec.with_name("big.state.json"))
    hasher = Hasher()
    for shot in loaded.shots:
        canon, _ = canonical_request(shot, folder, hasher)
        out = loaded.output_dir / output_name(shot.id, 1, shot.request)
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
    parser.add_argument("--new", type=int, default=10_000, help="variants per matrix shot of the new campaign")
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that the benchmark runs")
    args = parser.parse_args()
    if args.smoke:
        args.new, args.sizes = 100, "200"
    new_campaign_figures(args.new)
    print("campaign already generated (state and outputs present):")
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
