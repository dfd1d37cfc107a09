"""How the review page scales: a 2,000-shot campaign opened in Chromium (Debian's, by Playwright).

A campaign of N image shots with 2 takes each, all generated (small PNG files and a state that
lists them; no emulator needed), is served by the review app on 127.0.0.1, and measured in
one run:

- server: the plan and the board (``Session.plan``), and the page's HTML (bytes, time);
- browser: navigation to "usable" (the page's script has run: rows, filters and keys live,
  the ``runner-ready`` performance mark), against a baseline: the same HTML without its script,
  loaded the same way (the floor for that many rows). Printed as a ratio;
- a filter (``unpicked``): the time for the grid to show the result;
- a pick by key: key press to the row re-rendered from the server's answer (the write, the
  plan made again, the rows rendered), against the page's first load of the plan.

Posters load lazily: only the visible ones are asked for (counted).

    python bench/review_scale.py [--shots 2000] [--smoke]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def make_campaign(folder: Path, n: int) -> Path:
    """A spec of n image shots of 2 takes, and a state saying every take is made (files present)."""
    import io

    from PIL import Image

    from runner.planner import make_plan
    from runner.spec import thaw
    from runner.store.cache import sha256_file
    from runner.store.state import ShotState, State, Take, save_state

    cities = max(1, n // 20)
    spec = folder / "big.yaml"
    spec.write_text(
        "version: 1\nname: big\ndefaults: {model: gen4_image, ratio: '1920:1080'}\nshots:\n"
        "  - id: \"s{{ city }}-{{ look }}\"\n    prompt: \"key art {{ look }} of city {{ city }}\"\n    takes: 2\n"
        f"    tags: [stills]\n    matrix: {{city: {list(range(cities))}, look: {list(range(20))}}}\n")
    plan = make_plan(spec)
    state = State(spec.with_name("big.state.json"))
    for i, sp in enumerate(plan.shots):
        takes = []
        for t in sp.takes:
            out = folder / t.output
            out.parent.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            Image.new("RGB", (192, 108), ((i * 37) % 255, (t.take * 90) % 255, 120)).save(buf, "PNG")
            out.write_bytes(buf.getvalue())
            takes.append(Take(t.take, t.fingerprint, t.output, sha256_file(out), out.stat().st_size, 8, None,
                              "2026-01-01T00:00:00Z"))
        state.shots[sp.id] = ShotState(sp.fingerprint, sp.model, sp.mode, thaw(sp.canonical), takes=takes)
    save_state(state)
    return spec


def _every_row(session: object, base: str) -> str:
    """The page with every row drawn by the server and no script (local files for CSS)."""
    from runner.review.app import _links
    from runner.review.page import arrange, context, static_file, templates

    plan, cards = session.plan()  # type: ignore[attr-defined]
    ctx = context(plan, cards, plan.picks, _links(), mode="live")
    groups = arrange(ctx["rows"])
    html = templates().get_template("review.html").render(
        **ctx, groups=groups, page=1, pages=1, query="", group="entry", show="all", model="", tag="", q="",
        token="x", notice=None, spec_href="/spec", picks_name="x")
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    css = static_file("review.css")
    return html.replace('<link rel="stylesheet" href="/static/review.css">', f"<style>{css}</style>").replace(
        'src="/poster', f'src="{base}/poster')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shots", type=int, default=2000)
    parser.add_argument("--smoke", action="store_true", help="40 shots, a few seconds")
    args = parser.parse_args(argv)
    n = 40 if args.smoke else args.shots
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    from runner.review.serve import running_review

    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["RUNNER_CACHE_DIR"] = str(Path(tmp) / "cache")
        t0 = time.perf_counter()
        spec = make_campaign(Path(tmp), n)
        setup = time.perf_counter() - t0
        with running_review(spec) as review, sync_playwright() as p:
            session = review.session
            t0 = time.perf_counter()
            session.plan(fresh=True)
            plan_s = time.perf_counter() - t0
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            tab = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            posters = []
            tab.on("request", lambda r: posters.append(r.url) if "/poster/" in r.url else None)
            tab.goto(review.url)  # warm: the cookie, and the plan made once
            tab.wait_for_selector("html[data-ready='1']")
            posters.clear()
            t0 = time.perf_counter()
            served = tab.request.get(review.base + "/")
            served_s, size = time.perf_counter() - t0, len(served.body())
            t0 = time.perf_counter()
            tab.goto(review.base + "/")
            tab.wait_for_selector("html[data-ready='1']")
            wall = time.perf_counter() - t0
            ready = tab.evaluate("performance.getEntriesByName('runner-ready')[0].startTime")
            visible_posters = len(posters)
            filter_ms = tab.evaluate("""() => { const t = performance.now();
                document.querySelector("input[name=show][value=unpicked]").click();
                document.body.offsetHeight; return performance.now() - t; }""")
            tab.evaluate("document.querySelector('input[name=show][value=all]').click()")
            tab.click(".row .take")
            t0 = time.perf_counter()
            tab.keyboard.press("2")
            tab.wait_for_selector(".row .take.picked")
            pick_s = time.perf_counter() - t0
            # the baseline: every row drawn by the server, no script (what a grid without windowing costs)
            base_file = Path(tmp) / "plain.html"
            base_file.write_text(_every_row(session, review.base))
            tab.goto(base_file.as_uri(), wait_until="domcontentloaded")
            baseline = tab.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
            browser.close()
    print(f"review_scale: {n} shots, {2 * n} takes (setup {setup:.1f} s)")
    print(f"  server: plan + board {plan_s * 1000:.0f} ms (once, at start); the page {served_s * 1000:.0f} ms, "
          f"{size / 1e6:.2f} MB")
    print(f"  browser: usable after {ready:.0f} ms (wall {wall * 1000:.0f} ms); every row in the DOM without the "
          f"windowing: {baseline:.0f} ms to parse; ratio {ready / max(baseline, 1):.2f}")
    print(f"  posters asked for on opening: {visible_posters} of {2 * n} (lazy)")
    print(f"  filter 'unpicked': {filter_ms:.0f} ms; pick by key to the row re-rendered: {pick_s * 1000:.0f} ms "
          f"(vs the plan {plan_s * 1000:.0f} ms: ratio {pick_s / max(plan_s, 1e-3):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
