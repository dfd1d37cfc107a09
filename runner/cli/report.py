"""A static HTML page of a campaign: cards for a small one, the review grid for a large one.

Both read the review's records (``runner.review.board``): a shot's status compares its takes
with what the spec asks for now, so a shot whose files were made from another request is
"out of date", never "done", and shows the prompt and settings its files were made from
beside the spec's; picks are shown on their takes; shots come in graph order.

Cards (the default up to ``GRID_FROM`` shots): one per shot, its takes side by side, linked
by relative path (a video as ``<video>``, an image as ``<img>``, audio as ``<audio controls>``),
each video's poster frame embedded as a small JPEG data URI, and no script at all. The grid
(``--layout grid``, the default from ``GRID_FROM`` shots): the review page's grid, groups and
filters as one static file, its script and style inline and allowed by hash in its CSP, the
posters written once per file content beside the page. It opens anywhere the outputs are, with
no server. Everything shown from the spec or the API is escaped: prompts are untrusted text.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runner.catalog.endpoints import OutputKind
from runner.inputs.paths import confine
from runner.review.board import ShotCard, build_board
from runner.spec import Shot, Spec, load_spec

GRID_FROM = 30
"""From this many shots the report is the review's grid, with filters (cards do not scale)."""


@dataclass(frozen=True)
class TakeView:
    take: int
    video: str | None  # path relative to the report
    poster: str | None  # data URI
    credits: int | None
    picked: bool = False
    rejected: bool = False
    current: bool = True


@dataclass(frozen=True)
class ShotView:
    card: ShotCard
    takes: tuple[TakeView, ...]

    @property
    def shot(self) -> Shot:
        return self.card.shot

    @property
    def status(self) -> str:
        return self.card.status

    @property
    def reason(self) -> str:
        return self.card.reason

    @property
    def planned(self) -> int | None:
        return None if self.card.planned is None else self.card.planned * self.shot.takes

    @property
    def charged(self) -> int:
        return sum(t.credits or 0 for t in self.takes)

    @property
    def kind(self) -> OutputKind:
        return self.card.kind


def poster_data_uri(video: Path, width: int = 320) -> str | None:
    """The first frame as a JPEG data URI, or None when the file cannot be decoded."""
    import av

    try:
        with av.open(str(video)) as container:
            frame = next(container.decode(video=0))
            img = frame.to_image()  # type: ignore[no-untyped-call]
    except (OSError, ValueError, StopIteration, av.error.FFmpegError):
        return None
    img.thumbnail((width, width))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def collect(cards: list[ShotCard], report_dir: Path) -> list[ShotView]:
    """What each card of the page shows, from the review's records."""
    views = []
    for card in cards:
        takes = []
        for t in card.takes:
            rel = os.path.relpath(t.path, report_dir) if t.path is not None else None
            poster = poster_data_uri(t.path) if t.path is not None and card.kind == "video" else None
            takes.append(TakeView(t.take, rel, poster, t.charged, t.picked, t.rejected, t.current))
        views.append(ShotView(card, tuple(takes)))
    return views


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;background:#111;color:#eee}
h1{font-size:20px} .summary{color:#aaa;margin-bottom:16px}
.shot{background:#1c1c1c;border-radius:8px;padding:12px 16px;margin:0 0 16px}
.shot h2{font-size:16px;margin:0 0 4px} .meta{color:#aaa;font-size:12px}
.prompt{margin:8px 0;white-space:pre-wrap} .takes{display:flex;gap:12px;flex-wrap:wrap}
.take{width:320px} video,img{width:320px;max-height:320px;object-fit:contain;background:#000;border-radius:4px}
.status-done{color:#7c7} .status-failed{color:#f77} .status-pending,.status-partial{color:#fc6}
.status-not-generated{color:#999} .status-out-of-date,.status-waiting{color:#fc6} a{color:#8bf}
.made{margin:4px 0;color:#fc6;white-space:pre-wrap} .picked{color:#7c7;font-weight:600} .rejected{color:#f77}
.take.is-rejected video,.take.is-rejected img{opacity:.5}
.take.is-picked video,.take.is-picked img{outline:3px solid #5c5}
"""


def _video_element(take: TakeView) -> str:
    e = html.escape
    poster = f" poster=\"{e(take.poster)}\"" if take.poster else ""
    return f"<video controls preload=metadata{poster}><source src=\"{e(take.video or '')}\" type=video/mp4></video>"


def _image_element(take: TakeView) -> str:
    e = html.escape
    return f"<a href=\"{e(take.video or '')}\"><img src=\"{e(take.video or '')}\" alt=\"take {take.take}\"></a>"


def _audio_element(take: TakeView) -> str:
    e = html.escape
    return f"<audio controls preload=metadata src=\"{e(take.video or '')}\"></audio>"


# How a take is shown, by the output kind of its endpoint (catalog.endpoints).
_ELEMENTS: dict[OutputKind, Callable[[TakeView], str]] = {
    "video": _video_element, "image": _image_element, "audio": _audio_element}
# Plural of each kind in the "(N videos, M images, K audio)" count.
_PLURALS: dict[OutputKind, str] = {"video": "videos", "image": "images", "audio": "audio"}


def count_text(counts: dict[OutputKind, int]) -> str:
    """``3 videos, 2 images, 1 audio``: the kinds present, in that order (``0 videos`` when none).
    Always the plural form, so that scripts can match the words whatever the numbers."""
    parts = [f"{counts[k]} {_PLURALS[k]}" for k in _PLURALS if counts.get(k)]
    return ", ".join(parts) or "0 videos"


def _take_label(t: TakeView) -> str:
    parts = [f"take {t.take}"]
    if t.picked:
        parts.append("<span class=picked>picked ★</span>")
    if t.rejected:
        parts.append("<span class=rejected>rejected</span>")
    if not t.current:
        parts.append("made from another request")
    parts.append(f"{t.credits if t.credits is not None else '?'} credits")
    return " · ".join(parts)


def _settings_text(v: ShotView) -> str:
    """The settings that differ between the spec and the files (of an out-of-date shot)."""
    e = html.escape
    return "; ".join(f"{e(k)}: spec {e(json.dumps(now))}, files {e(json.dumps(then))}"
                     for k, now, then in v.card.settings() if now != then)


def _pick_meta(card: ShotCard) -> list[str]:
    if card.pick is None or card.pick_status == "unpicked":
        return []
    if card.pick_status == "picked":
        return [f"<span class=picked>picked take {card.pick.take}</span>"]
    return [f"pick of take {card.pick.take} is stale ({html.escape(card.pick_why)})"]


def _card(v: ShotView, spec_rel: str) -> list[str]:
    e = html.escape
    shot, body = v.shot, v.shot.request.body
    status_class = "status-" + v.status.replace(" ", "-")
    loc = shot.location
    out = [f"<section class=shot id=\"{e(shot.id)}\">",
           f"<h2>{e(shot.id)} <span class={status_class}>{e(v.status)}</span></h2>"]
    meta = [f"{e(shot.model)}", f"{e(shot.mode)} mode"]
    if body.get("ratio"):
        meta.append(f"ratio {e(str(body['ratio']))}")
    if body.get("duration") is not None:
        meta.append(f"{e(str(body['duration']))} s")
    meta.append(f"{shot.takes} take{'s' if shot.takes > 1 else ''}")
    meta.append(f"credits planned {'?' if v.planned is None else v.planned}, charged {v.charged}")
    card = v.card
    meta += _pick_meta(card)
    meta.append(f"<a href=\"{e(spec_rel)}\">{e(os.path.basename(loc.path))}:{loc.line}</a>")
    out.append(f"<div class=meta>{' · '.join(meta)}</div>")
    if body.get("promptText"):
        out.append(f"<div class=prompt>{e(str(body['promptText']))}</div>")
    if card.prompt_made is not None:
        out.append(f"<div class=made>files made from: {e(card.prompt_made)}</div>")
    settings = _settings_text(v)
    if settings:
        out.append(f"<div class=made>{settings}</div>")
    if card.pick is not None and card.pick.note:
        out.append(f"<div class=meta>note: {e(card.pick.note)}</div>")
    if v.reason:
        out.append(f"<div class=meta>{e(v.reason)}</div>")
    if v.takes:
        out.append("<div class=takes>")
        for t in v.takes:
            cls = "take" + (" is-picked" if t.picked else "") + (" is-rejected" if t.rejected else "")
            if t.video:
                out.append(f"<div class=\"{cls}\">{_ELEMENTS[v.kind](t)}<div class=meta>{_take_label(t)}</div></div>")
            else:
                out.append(f"<div class=\"{cls}\"><div class=meta>take {t.take}: file missing</div></div>")
        out.append("</div>")
    out.append("</section>")
    return out


def render_html(spec: Spec, views: list[ShotView], report_dir: Path) -> str:
    e = html.escape
    spec_rel = os.path.relpath(spec.path, report_dir)
    planned = sum(v.planned or 0 for v in views)
    charged = sum(v.charged for v in views)
    done = sum(1 for v in views if v.status == "done")
    stale = sum(1 for v in views if v.status == "out of date")
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        ("<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; img-src data: 'self' file:; "
         "media-src 'self' file:; style-src 'unsafe-inline'\">"),
        f"<title>{e(spec.name)} — runner report</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(spec.name)}</h1>",
        (f"<div class=summary>{done} of {len(views)} shots done" + (f", {stale} out of date" if stale else "")
         + f" · credits planned {planned}, charged {charged} "
         f"(${charged * 0.01:.2f}) · spec <a href=\"{e(spec_rel)}\">{e(spec.display)}</a></div>"),
    ]
    for v in views:
        out += _card(v, spec_rel)
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def default_report_path(spec_path: Path) -> Path:
    """``campaigns/spring.yaml`` -> ``campaigns/spring.report.html``."""
    return spec_path.with_name(f"{spec_path.stem}.report.html")


Layout = Literal["auto", "cards", "grid"]


def write_report(spec_path: Path, out: Path | None = None, *, store: str | None = None,
                 layout: Layout = "auto") -> tuple[Path, list[ShotView]]:
    """Write the page for ``spec_path`` to ``out`` (default ``<spec name>.report.html`` beside the
    spec, so two specs in one folder keep their own pages; inside the project); returns the path
    and what each shot shows. ``layout``: cards, the review's grid, or by the campaign's size."""
    from runner.planner.make import make_plan
    from runner.store.files import atomic_write

    spec = load_spec(spec_path)
    if out is None:
        out = default_report_path(spec.path)
    dest = confine(out, spec.root, what="-o/--out", hint="write the report inside the project, where it can "
                   "reach the videos")
    report_dir = dest.parent
    plan = make_plan(spec.path, store=store, spec=spec)
    cards = build_board(plan)
    grid = layout == "grid" or (layout == "auto" and len(cards) >= GRID_FROM)
    if grid:
        from runner.cli.report_grid import render_grid

        page = render_grid(plan, cards, dest)
        views = [ShotView(c, tuple(TakeView(t.take, None, None, t.charged, t.picked, t.rejected, t.current)
                                   for t in c.takes)) for c in cards]
    else:
        views = collect(cards, report_dir)
        page = render_html(spec, views, report_dir)
    atomic_write(dest, page, root=spec.root, what="-o/--out")
    return out, views


def credits_table(views: list[ShotView]) -> str:
    """Credits planned (the price of the shot's takes now) and charged (what its takes in the
    state cost) per shot and in total, for the terminal."""
    width = max([len(v.shot.id) for v in views] + [5])
    lines = [f"  {'shot':<{width}} {'planned':>8} {'charged':>8}"]
    for v in views:
        planned = "?" if v.planned is None else str(v.planned)
        lines.append(f"  {v.shot.id:<{width}} {planned:>8} {v.charged:>8}")
    unknown = " (some prices unknown)" if any(v.planned is None for v in views) else ""
    lines.append(f"  {'total':<{width}} {sum(v.planned or 0 for v in views):>8} {sum(v.charged for v in views):>8}"
                 + unknown)
    return "\n".join(lines)


def counts_by_kind(views: list[ShotView]) -> dict[OutputKind, int]:
    """How many files of each kind (video, image, audio) the page shows."""
    counts: dict[OutputKind, int] = {}
    for v in views:
        counts[v.kind] = counts.get(v.kind, 0) + sum(1 for t, c in zip(v.takes, v.card.takes, strict=True)
                                                     if t.video or c.path is not None)
    return counts
