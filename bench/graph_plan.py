"""Plan time of a 1,000-node generation graph against 1,000 independent shots, in one run.

Three specs of 1,000 shots each, planned in this process with an empty state (everything
is "+ create", so every fingerprint and cost is computed):
- independent: 1,000 gen4.5 text shots;
- chain: keyart (an image) -> s1 (gen4.5, animating it) -> s2 -> ... (each an aleph2
  video-to-video of the previous video);
- fan-out: one key art image feeding 999 gen4.5 image shots.
Printed: each time and its ratio to the independent spec. A graph should plan in about the
time of the same number of independent shots (ratio near 1): fingerprints are computed once
per shot, upstreams first, and checking the graph is linear.

    python bench/graph_plan.py [--shots 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from runner.planner import make_plan

HEAD = "version: 1\nname: bench\ndefaults: {ratio: \"1280:720\", duration: 5}\nshots:\n"
KEYART = "  - {id: keyart, model: gen4_image, prompt: key art, ratio: \"1920:1080\"}\n"


def independent(n: int) -> str:
    return HEAD + "".join(f"  - {{id: s{i}, model: gen4.5, prompt: \"shot {i}\"}}\n" for i in range(n))


def chain(n: int) -> str:
    lines = [KEYART, "  - {id: s1, model: gen4.5, image: {from: keyart}, prompt: \"shot 1\"}\n"]
    lines += [f"  - {{id: s{i}, model: aleph2, video: {{from: s{i - 1}}}, prompt: \"shot {i}\"}}\n"
              for i in range(2, n)]
    return HEAD + "".join(lines)


def fan_out(n: int) -> str:
    return HEAD + KEYART + "".join(f"  - {{id: s{i}, model: gen4.5, image: {{from: keyart}}, prompt: \"shot {i}\"}}\n"
                                   for i in range(1, n))


def timed(folder: Path, name: str, text: str, repeat: int) -> float:
    path = folder / f"{name}.yaml"
    path.write_text(text)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        plan = make_plan(path)
        best = min(best, time.perf_counter() - start)
    assert len(plan.shots) == text.count("  - {id:"), name
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = timed(folder, "independent", independent(args.shots), args.repeat)
        print(f"independent {args.shots:>6} shots: {base:.3f} s")
        for name, text in (("chain", chain(args.shots)), ("fan-out", fan_out(args.shots))):
            took = timed(folder, name, text, args.repeat)
            print(f"{name:<11} {args.shots:>6} shots: {took:.3f} s  ratio {took / base:.2f}")


if __name__ == "__main__":
    main()
