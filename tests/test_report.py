"""runner report: a static gallery, checked in a real headless Chromium (Debian's)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or \
    next((p for p in ("/usr/bin/chromium", "/usr/lib/chromium/chromium") if Path(p).is_file()), None)
# .ci/run sets this: there the browser test must run, never skip
REQUIRED = os.environ.get("RUNNER_TEST_REQUIRE_CHROMIUM") == "1"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]



def test_report_lists_every_shot_and_escapes_prompts(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n"
                      "    prompt: '<script>alert(1)</script> & friends'\n    ratio: '1280:720'\n    duration: 5\n"
                      "  - id: b\n    model: gen4.5\n    prompt: later\n    ratio: '1280:720'\n    duration: 5\n")
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--select", "a"]).exit_code == 0
    out = tmp_path / "site" / "report.html"
    result = run(["report", str(spec), "-o", str(out)])
    assert result.exit_code == 0 and "(1 videos)" in result.stdout
    page = out.read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in page
    assert "Content-Security-Policy" in page
    assert 'src="../outputs/t/a/1.mp4"' in page
    assert "not generated" in page and "credits planned 60, charged 60" in page
    table = result.stdout.splitlines()
    assert table[1].split() == ["a", "60", "60"] and table[2].split() == ["b", "60", "0"]
    assert table[3].split() == ["total", "120", "60"]


def test_browser_test_runs_where_ci_requires_it() -> None:
    assert CHROMIUM is not None or not REQUIRED, "RUNNER_TEST_REQUIRE_CHROMIUM=1 but no chromium: install it"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_in_headless_chromium(demo: Path, run, api, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    api()
    assert run(["apply", str(demo), "--yes", "--poll-interval", "0.02"]).exit_code == 0
    out = tmp_path / "report.html"
    assert run(["report", str(demo), "-o", str(out)]).exit_code == 0
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 1200}).new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(out.as_uri())
        page.wait_for_function("[...document.querySelectorAll('video')].every(v => v.readyState >= 1 || v.error)",
                               timeout=20_000)
        videos = page.evaluate("[...document.querySelectorAll('video')].map(v => "
                               "({ready: v.readyState, error: v.error && v.error.code, duration: v.duration, "
                               "poster: v.poster.startsWith('data:image/jpeg')}))")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert problems == []
    assert len(videos) == 10  # nine shots, the turntable with two takes
    assert all(v["ready"] >= 1 and v["error"] is None and v["duration"] > 0 and v["poster"] for v in videos)
    assert (tmp_path / "report.png").stat().st_size > 50_000
