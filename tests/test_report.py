"""runner report: a static gallery, checked in a real headless Chromium (Debian's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import CHROMIUM, FLAGS, REQUIRED

ROOT = Path(__file__).resolve().parent.parent



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


STORY = """
version: 1
name: story
shots:
  - id: motion
    model: gen4.5
    image: {from: keyart, take: picked}
    prompt: slow push in
    ratio: "1280:720"
    duration: 2
  - id: keyart
    model: gen4_image
    prompt: key art of a cabin
    ratio: "1920:1080"
    takes: 2
"""


def _sections(page: str) -> list[tuple[str, str]]:
    import re

    return re.findall(r'<section class=shot id="([^"]+)">\n<h2>[^<]+ <span class=status-[a-z-]+>([^<]+)</span>', page)


def test_a_prompt_edited_and_not_applied_is_out_of_date_never_done(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec(STORY)
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02"]).exit_code == 0
    assert run(["pick", str(spec), "keyart", "2"]).exit_code == 0
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02"]).exit_code == 0
    assert run(["report", str(spec)]).exit_code == 0
    page = spec.with_name("spec.report.html").read_text()
    assert _sections(page) == [("keyart", "done"), ("motion", "done")]  # graph order: upstream first
    assert "<span class=picked>picked take 2</span>" in page and "take 2 · <span class=picked>picked ★</span>" in page
    spec.write_text(spec.read_text().replace("key art of a cabin", "rainy key art of a cabin"))
    assert run(["report", str(spec)]).exit_code == 0
    page = spec.with_name("spec.report.html").read_text()
    # the whole chain is out of date, and says what its files were made from
    assert _sections(page) == [("keyart", "out of date"), ("motion", "out of date")]
    assert "<div class=prompt>rainy key art of a cabin</div>" in page
    assert "<div class=made>files made from: key art of a cabin</div>" in page
    assert "pick of take 2 is stale (keyart changed since take 2 was picked)" in page
    assert "waits for a pick of keyart (runner review): the pick of take 2 is stale" in page
    assert "0 of 2 shots done, 2 out of date" in page
    spec.write_text(spec.read_text().replace('ratio: "1280:720"', 'ratio: "720:1280"'))
    assert run(["report", str(spec)]).exit_code == 0
    page = spec.with_name("spec.report.html").read_text()
    assert "ratio: spec &quot;720:1280&quot;, files &quot;1280:720&quot;" in page


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_a_large_campaign_gets_the_review_grid_as_a_static_page(write_spec, run, api, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    api()
    cities = ", ".join(f"c{n:02d}" for n in range(30))
    spec = write_spec(f"""
        version: 1
        name: big
        shots:
          - id: "still-{{{{ city }}}}"
            model: gen4_image
            prompt: "key art of {{{{ city }}}}"
            ratio: "1920:1080"
            matrix: {{city: [{cities}]}}
          - id: "clip-{{{{ city }}}}"
            model: gen4.5
            prompt: "{{{{ city }}}} at dawn"
            ratio: "1280:720"
            duration: 2
            tags: [clip]
            matrix: {{city: [c00, c01]}}
            takes: 2
        """)
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--select", "still-c0*",
                "--select", "clip-*"]).exit_code == 0
    result = run(["report", str(spec), "-o", str(tmp_path / "site" / "report.html")])
    assert result.exit_code == 0, result.stderr
    page = (tmp_path / "site" / "report.html").read_text()
    assert 'data-mode="static"' in page and page.count('class="row ') == 32  # 32 shots: the grid, not cards
    import html

    assert "script-src 'sha256-" in html.unescape(page) and "unsafe-inline" not in page
    assert '<meta name="runner-token"' not in page  # no token, no writes
    posters = sorted((tmp_path / "site").glob("report.posters/*.jpg"))
    assert len(posters) == 4  # one per video take's file; the images are their own posters
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        tab = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: problems.append(str(e)))
        tab.goto((tmp_path / "site" / "report.html").as_uri())
        tab.wait_for_selector("html[data-ready='1']")  # the inline script ran: its hash is allowed
        tab.select_option("#tag", "clip")
        assert tab.inner_text("#shown") == "2 shown"
        tab.select_option("#tag", "")
        tab.click("label.chip:has-text('unpicked')")
        assert tab.evaluate("[...document.querySelectorAll('.row:not(.hidden)')].map(r => r.dataset.shot)") == \
            ["clip-c00", "clip-c01"]
        tab.click("#shot-clip-c00 .take[data-take='1']")
        tab.keyboard.press("1")
        assert "read-only" in tab.inner_text("#toast")
        tab.keyboard.press("Enter")
        tab.wait_for_selector("#lightbox[open] video")
        ready = tab.evaluate("new Promise(r => { const v = document.querySelector('#lightbox video'); "
                             "v.readyState >= 1 ? r(v.duration) : v.addEventListener('loadedmetadata', "
                             "() => r(v.duration)); })")
        browser.close()
    assert problems == [] and ready > 0
    assert not spec.with_name("spec.picks.yaml").exists()
