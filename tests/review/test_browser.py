"""`runner review --no-open --port P` as a user meets it: the real command, Debian's Chromium
driven by Playwright, the keyboard; and the screenshots of docs/review.md, taken here so they
cannot go stale (RUNNER_UPDATE_SCREENSHOTS=1 writes them; otherwise they are compared)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from browser import CHROMIUM, FLAGS
from PIL import Image
from pixels import mad

ROOT = Path(__file__).resolve().parents[2]
DOCS_IMAGES = ROOT / "docs" / "images"
SHOTS = ("review-grid.png", "review-compare.png")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listeners(port: int) -> list[str]:
    """Local addresses listening on ``port`` (from /proc/net/tcp and tcp6: no traffic sent)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def _start(spec: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "runner", "review", spec.name, "--no-open", "--port", str(port)],
                            cwd=spec.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        pytest.fail(f"runner review did not start: {proc.stderr.read() if proc.stderr else ''}")
    url = line.split(" on ", 1)[1].strip()
    return proc, url


def _picks(spec: Path) -> dict:
    return yaml.safe_load(spec.with_name("spec.picks.yaml").read_text())["shots"]


def _until(page, script: str, timeout: float = 10_000) -> None:
    """Poll ``script`` in the page until it is true (the page's CSP refuses the eval that
    Playwright's wait_for_function uses; page.evaluate goes through the debugger protocol)."""
    _wait(lambda: page.evaluate(script), script, timeout / 1000)


def _wait(check, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_review_in_chromium_picks_with_the_keyboard(campaign: Path, run, tmp_path: Path, monkeypatch) -> None:
    from playwright.sync_api import sync_playwright

    # who picks, without this machine's git identity (the screenshots show it)
    for key, value in {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "user.name", "GIT_CONFIG_VALUE_0": "Ana"}.items():
        monkeypatch.setenv(key, value)
    port = _free_port()
    proc, url = _start(campaign, port)
    problems: list[str] = []
    try:
        assert url.startswith(f"http://127.0.0.1:{port}/?token=")
        assert _listeners(port) == ["0100007F"]  # 127.0.0.1, and no other address (IPv4 or IPv6)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_context(viewport={"width": 1400, "height": 860}).new_page()
            # the one error expected: the 409 of a write based on an older picks file
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "409" not in m.text
                    else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(url)
            page.wait_for_selector("html[data-ready='1']")
            assert "token=" not in page.url  # traded for a cookie at once

            # Pick with the keyboard: the first take of the first row, one to the right, "2".
            page.keyboard.press("ArrowDown")
            page.keyboard.press("ArrowRight")
            assert page.evaluate("document.querySelector('.take.cursor').closest('.row').dataset.shot") == "keyart"
            page.keyboard.press("2")
            page.wait_for_selector("#shot-keyart .take.picked[data-take='2']")
            assert _picks(campaign)["keyart"]["take"] == 2
            assert _picks(campaign)["keyart"]["by"] == "Ana"
            page.reload()
            page.wait_for_selector("html[data-ready='1']")
            assert page.inner_text("#shot-keyart .badge.picked") == "picked 2"  # a reload shows it
            assert page.inner_text("#shot-motion .reason") == "run `runner apply`"  # motion waits no more

            # x rejects the take under the cursor, n writes a note.
            page.keyboard.press("ArrowDown")  # keyart take 1
            page.keyboard.press("x")
            page.wait_for_selector("#shot-keyart .take.rejected[data-take='1']")
            page.keyboard.press("n")
            page.wait_for_selector("#note[open]")
            page.keyboard.type("warmest light")
            page.keyboard.press("Enter")
            _wait(lambda: _picks(campaign)["keyart"].get("note") == "warmest light", "the note")
            assert [r["take"] for r in _picks(campaign)["keyart"]["rejects"]] == [1]

            # Filters: unpicked leaves the two city clips; a tag, a search.
            page.click("label.chip:has-text('unpicked')")
            shown = page.evaluate("[...document.querySelectorAll('.row:not(.hidden)')].map(r => r.dataset.shot)")
            assert shown == ["clip-tokyo", "clip-lima"]
            page.click("label.chip:has-text('picked') >> nth=1")
            assert page.evaluate("[...document.querySelectorAll('.row:not(.hidden)')].map(r => r.dataset.shot)") \
                == ["keyart"]
            page.click("label.chip:has-text('all')")
            page.select_option("#tag", "city")
            assert page.inner_text("#shown") == "2 shown"
            page.select_option("#tag", "")
            page.select_option("#group", "matrix.city")
            groups = page.evaluate("[...document.querySelectorAll('.group')].map(g => g.dataset.group)")
            assert groups == ["", "Tokyo", "Lima"]

            # The help, the lightbox.
            page.keyboard.press("?")
            assert page.is_visible("#help")
            page.keyboard.press("Escape")
            page.click("#shot-clip-tokyo .take[data-take='1']")
            page.keyboard.press("Enter")
            page.wait_for_selector("#lightbox[open] video")
            page.keyboard.press("Escape")

            # Compare with synchronized playback: c on take 1, → , c on take 2.
            page.keyboard.press("c")
            page.keyboard.press("ArrowRight")
            page.keyboard.press("c")
            page.wait_for_selector("#compare[open]")
            _until(page, "[...document.querySelectorAll('#compare video')].every(v => v.readyState >= 2)",
                                   timeout=20_000)
            _until(page, "[...document.querySelectorAll('#compare video')].every(v => !v.paused && "
                                   "v.currentTime > 0.3)", timeout=20_000)
            times = page.evaluate("[...document.querySelectorAll('#compare video')].map(v => v.currentTime)")
            assert abs(times[0] - times[1]) < 0.35, times
            page.evaluate("document.querySelector('#compare .side.a video').pause()")
            assert page.evaluate("document.querySelector('#compare .side.b video').paused")
            page.evaluate("document.querySelector('#compare .side.a video').currentTime = 1.25")
            _until(page, "Math.abs(document.querySelector('#compare .side.b video').currentTime - 1.25) "
                                   "< 0.05")
            page.evaluate("document.querySelector('#compare .side.a video').currentTime = 0.5")
            _until(page, "Math.abs(document.querySelector('#compare .side.b video').currentTime - 0.5) "
                                   "< 0.05")
            page.screenshot(path=str(tmp_path / "review-compare.png"))
            page.keyboard.press("Escape")

            # A pick made elsewhere meanwhile is never overwritten: the page reloads and says so.
            assert run(["pick", str(campaign), "clip-lima", "1"]).exit_code == 0
            page.keyboard.press("1")  # the cursor is still on clip-tokyo's take 2
            page.wait_for_selector(".notice")
            assert "changed on disk" in page.inner_text(".notice")
            assert "clip-tokyo" not in _picks(campaign) and _picks(campaign)["clip-lima"]["take"] == 1
            page.wait_for_selector("html[data-ready='1']")
            page.click("#shot-clip-tokyo .take[data-take='2']")
            page.keyboard.press("1")
            page.wait_for_selector("#shot-clip-tokyo .take.picked[data-take='1']")

            # The screenshot of the docs: the grid, a take selected.
            page.goto(url.split("?")[0])
            page.wait_for_selector("html[data-ready='1']")
            _until(page, "[...document.images].every(i => i.complete && i.naturalWidth > 0)")
            page.click("#shot-keyart .take[data-take='2']")
            page.wait_for_selector("#detail h3")  # its details come from the server
            page.screenshot(path=str(tmp_path / "review-grid.png"))
            browser.close()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # and close its pipes
    assert problems == []
    _docs_screenshots(tmp_path)


def _docs_screenshots(taken: Path) -> None:
    """docs/review.md shows what this test sees: write the images (RUNNER_UPDATE_SCREENSHOTS=1), or
    check that the committed ones are this page, as it looks now."""
    if os.environ.get("RUNNER_UPDATE_SCREENSHOTS"):
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        for name in SHOTS:
            shutil.copyfile(taken / name, DOCS_IMAGES / name)
    for name in SHOTS:
        committed = DOCS_IMAGES / name
        assert committed.is_file(), f"{committed} is missing: run this test with RUNNER_UPDATE_SCREENSHOTS=1"
        now, then = Image.open(taken / name), Image.open(committed)
        assert now.size == then.size and mad(now, then) < 4.0, (
            f"{name} no longer shows the page: run this test with RUNNER_UPDATE_SCREENSHOTS=1 and review the images")
    assert all(f"images/{name}" in (ROOT / "docs" / "review.md").read_text() for name in SHOTS)
