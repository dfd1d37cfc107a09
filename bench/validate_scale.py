"""How long `runner validate` takes on a large matrix spec.

Generates a spec with one matrix shot of N = A x B variants (default 5,000), then times,
in one run: (1) the full validate pipeline (load with positions, schema, expansion,
rendering, compile, per-model validation); (2) a baseline that only does PyYAML's
C-free safe_load of the same file plus one jsonschema validation of each compiled body
(the least any validator must do). Prints both and the ratio.

    python bench/validate_scale.py [--shots 5000] [--smoke]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from runner.catalog.models import catalog
from runner.spec.build import load_spec


def make_spec(folder: Path, shots: int) -> Path:
    cities = [f"city{i}" for i in range(100)]
    looks = [f"look{i}" for i in range(max(1, shots // 100))]
    spec = folder / "big.yaml"
    spec.write_text(
        "version: 1\nname: big\nvars: {product: sneaker}\n"
        "defaults: {model: gen4.5, ratio: '1280:720', duration: 5}\n"
        "shots:\n"
        "  - id: \"{{ city }}-{{ look }}\"\n"
        "    prompt: \"{{ product }} in {{ city | title }}, {{ look }} style\"\n"
        f"    matrix:\n      city: {cities}\n      look: {looks}\n"
    )
    return spec


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shots", type=int, default=5000)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds: checks that it runs")
    args = parser.parse_args()
    if args.smoke:
        args.shots = 100
    with tempfile.TemporaryDirectory() as tmp:
        path = make_spec(Path(tmp), args.shots)
        catalog()  # model files are read once per process; not part of either measurement

        t0 = time.perf_counter()
        spec = load_spec(path)
        ours = time.perf_counter() - t0

        t0 = time.perf_counter()
        yaml.safe_load(path.read_text())
        validator = catalog()["gen4.5"].validator("text")
        for shot in spec.shots:
            for _ in validator.iter_errors(shot.request.body):
                pass
        baseline = time.perf_counter() - t0

    print(f"shots: {len(spec.shots)}")
    print(f"runner validate pipeline: {ours:.2f} s")
    print(f"baseline (safe_load + body validation only): {baseline:.2f} s")
    print(f"ratio ours/baseline: {ours / baseline:.2f}")


if __name__ == "__main__":
    main()
