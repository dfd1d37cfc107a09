"""Plan time of a 1,000-node generation graph against 1,000 independent shots, in one run.

Each graph is timed against independent shots of the same models (validation costs differ
by model, so a fair baseline has the same mix), planned in this process with an empty
state (everything is "+ create", so every fingerprint and cost is computed):
- chain: s0 (a gen4_image) -> s1 -> s2 -> ... (each a gen4_image taking the previous image
  as its reference), against the same 1,000 shots each taking a local reference image;
- clip chain: a 5 s gen4.5 text clip -> 999 aleph2 video-to-video shots, each restyling the
  previous clip (priced by the first clip's length, followed up the chain), against the
  same 1,000 shots reading one local clip;
- fan-out: one key art image feeding 999 gen4.5 image shots, against the same 999 shots
  each taking a local image.
Printed: each time and its ratio to its baseline. A graph should plan in about the
time of the same number of independent shots (ratio near 1): fingerprints are computed once
per shot, upstreams first, and checking the graph is linear.

    python bench/graph_plan.py [--shots 1000] [--repeat 3] [--smoke]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from runner.planner import make_plan

HEAD = "version: 1\nname: bench\ndefaults: {ratio: \"1280:720\", duration: 5}\nshots:\n"
KEYART = "  - {id: keyart, model: gen4_image, prompt: key art, ratio: \"1920:1080\"}\n"


def _spec(lines: list[str]) -> str:
    return HEAD + "".join(lines)


def image_chain(n: int, linked: bool) -> str:
    ref = (lambda i: f", references: [{{image: {{from: s{i - 1}}}}}]") if linked else (
        lambda i: ", references: [{image: key.png}]")
    head = "model: gen4_image, ratio: \"1920:1080\""
    return _spec([f"  - {{id: s{i}, {head}, prompt: \"shot {i}\"{ref(i) if i else ''}}}\n" for i in range(n)])


def clip_chain(n: int, linked: bool) -> str:
    lines = ["  - {id: s0, model: gen4.5, prompt: \"shot 0\"}\n"]
    lines += [f"  - {{id: s{i}, model: aleph2, video: {{from: s{i - 1}}}, prompt: \"shot {i}\"}}\n" if linked
              else f"  - {{id: s{i}, model: aleph2, video: clip.mp4, prompt: \"shot {i}\"}}\n" for i in range(1, n)]
    return _spec(lines)


def fan_out(n: int, linked: bool) -> str:
    source = "{from: keyart}" if linked else "key.png"
    return _spec([KEYART] + [f"  - {{id: s{i}, model: gen4.5, image: {source}, prompt: \"shot {i}\"}}\n"
                             for i in range(1, n)])


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


def _assets(folder: Path) -> None:
    """The local inputs of the baselines: one image, one 5 s clip (probed once, then cached)."""
    import av
    from PIL import Image

    Image.new("RGB", (64, 36), (90, 120, 150)).save(folder / "key.png")
    with av.open(str(folder / "clip.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=4)
        stream.width, stream.height, stream.pix_fmt = 64, 36, "yuv420p"
        for _ in range(20):
            frame = av.VideoFrame.from_image(Image.new("RGB", (64, 36), (10, 20, 30)))
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds: checks that it runs")
    args = parser.parse_args()
    if args.smoke:
        args.shots, args.repeat = 20, 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _assets(folder)
        for name, make in (("chain", image_chain), ("clip chain", clip_chain), ("fan-out", fan_out)):
            base = timed(folder, "independent", make(args.shots, False), args.repeat)
            took = timed(folder, "graph", make(args.shots, True), args.repeat)
            print(f"{name:<10} {args.shots:>6} shots: graph {took:.3f} s, independent {base:.3f} s, "
                  f"ratio {took / base:.2f}")


if __name__ == "__main__":
    main()
