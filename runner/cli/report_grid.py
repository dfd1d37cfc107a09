"""The report of a large campaign: the review page's grid, groups and filters, as one static file.

The review's own template and script (``runner.review``), in their static mode: no token, no
writes (the keys that pick say to use `runner review`), files linked by relative path, each
video's poster written once per file content into ``<report>.posters/`` beside the page (a
2,000-shot page of data-URI posters would weigh tens of megabytes), and the script and style
inline, allowed by their sha256 in the page's Content-Security-Policy, so nothing else can run.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from runner.planner import Plan
from runner.planner.picks import picks_path
from runner.review.board import ShotCard, TakeCard
from runner.review.page import Links, arrange, context, paginate, static_file, templates
from runner.review.posters import make_poster
from runner.store.files import atomic_write


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def render_grid(plan: Plan, cards: list[ShotCard], dest: Path) -> str:
    """The page's HTML (its posters written beside ``dest``)."""
    spec = plan.spec
    folder = dest.parent
    posters = folder / f"{dest.stem}.posters"

    def media(card: ShotCard, take: TakeCard) -> str | None:
        return os.path.relpath(take.path, folder) if take.path is not None else None

    def poster(card: ShotCard, take: TakeCard) -> str | None:
        if take.path is None or card.kind == "audio":
            return None
        if card.kind == "image":
            return os.path.relpath(take.path, folder)
        target = posters / f"{take.sha256}.jpg"
        if not target.is_file():
            data = make_poster(take.path, card.kind)
            if data is None:
                return None
            atomic_write(target, data, root=spec.root, what="report poster")
        return os.path.relpath(target, folder)

    spec_rel = os.path.relpath(spec.path, folder)
    links = Links(media, poster, lambda line: spec_rel)
    picks = plan.picks
    assert picks is not None
    ctx = context(plan, cards, picks, links, mode="static")
    css, js = static_file("review.css"), static_file("review.js")
    if "</" in js or "</" in css:  # pragma: no cover - our own files; an end tag would close the element
        raise AssertionError("review.js and review.css must not hold '</'")
    csp = (f"default-src 'none'; script-src {_hash(js)}; style-src {_hash(css)}; img-src 'self' file:; "
           "media-src 'self' file:; base-uri 'none'; form-action 'none'")
    return templates().get_template("review.html").render(
        **ctx, groups=paginate(arrange(ctx["rows"]), 1)[0], page=1, pages=1, query="",
        group="entry", show="all", model="", tag="", q="", token=None,
        notice=None, spec_href=spec_rel, picks_name=picks_path(spec.path).name, css=css, js=js, csp=csp)
