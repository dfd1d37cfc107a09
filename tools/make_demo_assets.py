"""Generate the small images, clips and sounds that specs/demo.yaml and examples/ use.

Run once; the outputs are checked in (specs/assets/). Deterministic: same bytes each run
for the PNGs; the MP4s are tiny H.264 clips of moving colour fields; line.mp3 is a 2-second
tone standing in for a spoken line (the voice examples dub, clean and re-voice it).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw

ASSETS = Path(__file__).resolve().parent.parent / "specs" / "assets"


Color = tuple[int, int, int]


def gradient(name: str, size: tuple[int, int], top: Color, bottom: Color, label: str) -> None:
    w, h = size
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    for y in range(h):
        t = y / max(h - 1, 1)
        draw.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    draw.rectangle([w // 3, h // 2, 2 * w // 3, h - h // 8], fill=(60, 40, 30))  # the cabin / product
    draw.polygon([(w // 3 - 10, h // 2), (w // 2, h // 3), (2 * w // 3 + 10, h // 2)], fill=(120, 50, 40))
    draw.text((12, 12), label, fill=(255, 255, 255))
    img.save(ASSETS / name, optimize=True)


def clip(name: str, size: tuple[int, int], seconds: int, fps: int = 12) -> None:
    w, h = size
    with av.open(str(ASSETS / name), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "40", "preset": "veryslow"}
        stream.time_base = Fraction(1, fps)
        for i in range(seconds * fps):
            t = i / (seconds * fps)
            img = Image.new("RGB", size, (int(40 + 150 * t), 90, int(200 - 120 * t)))
            ImageDraw.Draw(img).ellipse([int(t * (w - 120)), h // 2 - 60, int(t * (w - 120)) + 120, h // 2 + 60],
                                        fill=(240, 220, 180))
            frame = av.VideoFrame.from_image(img)
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def main() -> None:
    ASSETS.mkdir(parents=True, exist_ok=True)
    gradient("sneaker.png", (640, 360), (235, 235, 240), (180, 185, 200), "sneaker")
    gradient("day.png", (640, 360), (120, 180, 250), (200, 230, 255), "day")
    gradient("night.png", (640, 360), (10, 15, 50), (40, 40, 90), "night")
    gradient("cabin.png", (480, 480), (90, 140, 90), (200, 210, 180), "cabin")
    gradient("style.png", (480, 480), (250, 160, 90), (120, 40, 120), "style")
    gradient("hero.png", (360, 640), (200, 170, 150), (90, 70, 60), "hero")
    clip("clip.mp4", (1280, 720), 4)
    clip("actor.mp4", (640, 360), 4)
    line("line.mp3", 2.0)


def line(name: str, seconds: float) -> None:
    from runner.emulator.audio import render_audio

    (ASSETS / name).write_bytes(render_audio("a spoken line", seconds, "mp3"))


if __name__ == "__main__":
    main()
