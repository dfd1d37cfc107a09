"""Outputs in image-sequence formats (``png_sequence`` and the HDR sequences) arrive as a
zip of frames: runner accepts a zip of images and refuses anything else under that name."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from runner.emulator.media import render_png_sequence, render_video
from runner.inputs.media import verify_output


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 9), (10, 20, 30)).save(buf, format="PNG")
    return buf.getvalue()


def zipped(*entries: tuple[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries:
            z.writestr(name, data)
    return buf.getvalue()


EXR = b"\x76\x2f\x31\x01" + b"\0" * 60

GOOD = [
    pytest.param(lambda: render_png_sequence("x", "1280:720", 1, fps=4), id="emulator-png-sequence"),
    pytest.param(lambda: zipped(("frame.0001.png", png()), ("colorimetry.json", b"{}")), id="png-and-sidecar"),
    pytest.param(lambda: zipped(("seq/frame.0001.exr", EXR), ("seq/frame.0002.exr", EXR)), id="exr-frames"),
]


@pytest.mark.parametrize("data", GOOD)
def test_a_zip_of_frames_is_a_valid_sequence_output(data, tmp_path: Path) -> None:
    path = tmp_path / "tmp-download"
    path.write_bytes(data())
    assert verify_output(path, "video", content_type="application/zip", suffix=".zip") is None


BAD = [
    pytest.param(lambda: render_video("x", "1280:720", 1, fps=4), "not a readable zip archive", id="a-video"),
    pytest.param(lambda: b"PK\x03\x04 and then garbage", "not a readable zip archive", id="zip-magic-only"),
    pytest.param(lambda: zipped(), "holds no image frames", id="empty-zip"),
    pytest.param(lambda: zipped(("colorimetry.json", b"{}")), "holds no image frames", id="only-a-sidecar"),
    pytest.param(lambda: zipped(("frame.0001.png", b"#!/bin/sh\nrm -rf /\n")), "not a PNG or EXR frame",
                 id="script-as-frame"),
    pytest.param(lambda: zipped(("frame.0001.png", png()), ("run.exe", b"MZ\x90\0")), "'run.exe', which is not",
                 id="executable-among-frames"),
    pytest.param(lambda: zipped(("../../evil.png", png())), "unsafe entry name '../../evil.png'", id="traversal"),
    pytest.param(lambda: zipped(("/etc/evil.png", png())), "unsafe entry name", id="absolute-name"),
    pytest.param(lambda: zipped(("frame.0001.png", png()[:20] + b"\0" * 40)), "not a readable PNG",
                 id="broken-png-frame"),
]


@pytest.mark.parametrize(("data", "fragment"), BAD)
def test_anything_else_named_zip_is_refused(data, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "tmp-download"
    path.write_bytes(data())
    why = verify_output(path, "video", content_type="application/zip", suffix=".zip")
    assert why is not None and fragment in why


def test_a_zip_is_not_accepted_where_a_video_is_expected(tmp_path: Path) -> None:
    path = tmp_path / "1.mp4"
    path.write_bytes(render_png_sequence("x", "1280:720", 1, fps=4))
    assert verify_output(path, "video", content_type="video/mp4") == "the output is not a readable video or image"

