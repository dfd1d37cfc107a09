"""A static HTML gallery of a campaign: one card per shot, its takes side by side.

The page links to the videos, images and sounds in the output folder by relative path (page
+ files; a video shows as ``<video>``, an image as ``<img>``, audio as ``<audio controls>``),
and embeds each video take's poster frame as a small JPEG data URI, so it opens anywhere the
outputs are, with no server. Everything shown from the spec or the API is escaped, and a
Content-Security-Policy forbids scripts: prompts are untrusted text.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runner.catalog.endpoints import ENDPOINTS, OutputKind
from runner.catalog.models import catalog
from runner.inputs.paths import confine
from runner.planner import estimate
from runner.spec import Shot, Spec, load_spec
from runner.store.cache import Hasher
from runner.store.state import ShotState, State, load_state, state_path


@dataclass(frozen=True)
class TakeView:
    take: int
    video: str | None  # path relative to the report
    poster: str | None  # data URI
    credits: int | None


@dataclass(frozen=True)
class ShotView:
    shot: Shot
    status: str
    reason: str
    planned: int | None
    charged: int
    takes: tuple[TakeView, ...]

    @property
    def kind(self) -> OutputKind:
        return ENDPOINTS[self.shot.request.endpoint].output


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


def _status(shot: Shot, entry: ShotState | None) -> tuple[str, str]:
    if entry is None:
        return "not generated", "run `runner apply`"
    if entry.failure:  # the code and the API's reason, as apply printed them
        first = next(iter(entry.failure.values()))
        code, reason = str(first.get("code")), str(first.get("reason") or "")
        return "failed", reason if reason.startswith(code) else f"{code}: {reason}".rstrip(": ")
    have = {t.take for t in entry.takes}
    if entry.pending:
        return "pending", f"{len(entry.pending)} task(s) in the journal; run `runner apply` to finish them"
    if all(n in have for n in range(1, shot.takes + 1)):
        return "done", ""
    return "partial", f"{len(have)} of {shot.takes} takes"


def collect(spec: Spec, report_dir: Path, state: State | None = None) -> list[ShotView]:
    state = state if state is not None else load_state(state_path(spec.path), layout=spec.outputs)
    hasher = Hasher()
    views = []
    for shot in spec.shots:
        entry = state.shots.get(shot.id)
        status, reason = _status(shot, entry)
        takes = []
        for t in sorted(entry.takes if entry else [], key=lambda t: t.take):
            path = spec.path.parent / t.output
            # load_state refused paths that are not the take's own file; a symlink made since is not followed either
            exists = spec.outputs.problem(t.output, shot_id=shot.id, take=t.take) is None and path.is_file()
            rel = os.path.relpath(path, report_dir) if exists else None
            poster = poster_data_uri(path) if exists and ENDPOINTS[shot.request.endpoint].output == "video" else None
            takes.append(TakeView(t.take, rel, poster, t.credits))
        cost = estimate(shot, spec.path.parent, catalog()[shot.model], hasher)
        planned = None if cost.credits is None else cost.credits * shot.takes
        views.append(ShotView(shot, status, reason, planned, sum(t.credits or 0 for t in takes), tuple(takes)))
    return views


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;background:#111;color:#eee}
h1{font-size:20px} .summary{color:#aaa;margin-bottom:16px}
.shot{background:#1c1c1c;border-radius:8px;padding:12px 16px;margin:0 0 16px}
.shot h2{font-size:16px;margin:0 0 4px} .meta{color:#aaa;font-size:12px}
.prompt{margin:8px 0;white-space:pre-wrap} .takes{display:flex;gap:12px;flex-wrap:wrap}
.take{width:320px} video,img{width:320px;max-height:320px;object-fit:contain;background:#000;border-radius:4px}
.status-done{color:#7c7} .status-failed{color:#f77} .status-pending,.status-partial{color:#fc6}
.status-not-generated{color:#999} a{color:#8bf}
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


def render_html(spec: Spec, views: list[ShotView], report_dir: Path) -> str:
    e = html.escape
    spec_rel = os.path.relpath(spec.path, report_dir)
    planned = sum(v.planned or 0 for v in views)
    charged = sum(v.charged for v in views)
    done = sum(1 for v in views if v.status == "done")
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        ("<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; img-src data: 'self' file:; "
         "media-src 'self' file:; style-src 'unsafe-inline'\">"),
        f"<title>{e(spec.name)} — runner report</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(spec.name)}</h1>",
        (f"<div class=summary>{done} of {len(views)} shots done · credits planned {planned}, charged {charged} "
         f"(${charged * 0.01:.2f}) · spec <a href=\"{e(spec_rel)}\">{e(spec.display)}</a></div>"),
    ]
    for v in views:
        shot, body = v.shot, v.shot.request.body
        status_class = "status-" + v.status.replace(" ", "-")
        loc = shot.location
        out.append(f"<section class=shot id=\"{e(shot.id)}\">")
        out.append(f"<h2>{e(shot.id)} <span class={status_class}>{e(v.status)}</span></h2>")
        meta = [f"{e(shot.model)}", f"{e(shot.mode)} mode"]
        if body.get("ratio"):
            meta.append(f"ratio {e(str(body['ratio']))}")
        if body.get("duration") is not None:
            meta.append(f"{e(str(body['duration']))} s")
        meta.append(f"{shot.takes} take{'s' if shot.takes > 1 else ''}")
        meta.append(f"credits planned {'?' if v.planned is None else v.planned}, charged {v.charged}")
        meta.append(f"<a href=\"{e(spec_rel)}\">{e(os.path.basename(loc.path))}:{loc.line}</a>")
        out.append(f"<div class=meta>{' · '.join(meta)}</div>")
        if body.get("promptText"):
            out.append(f"<div class=prompt>{e(str(body['promptText']))}</div>")
        if v.reason:
            out.append(f"<div class=meta>{e(v.reason)}</div>")
        if v.takes:
            out.append("<div class=takes>")
            for t in v.takes:
                if t.video:
                    out.append(f"<div class=take>{_ELEMENTS[v.kind](t)}"
                               f"<div class=meta>take {t.take} · {t.credits if t.credits is not None else '?'} credits"
                               "</div></div>")
                else:
                    out.append(f"<div class=take><div class=meta>take {t.take}: file missing</div></div>")
            out.append("</div>")
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def default_report_path(spec_path: Path) -> Path:
    """``campaigns/spring.yaml`` -> ``campaigns/spring.report.html``."""
    return spec_path.with_name(f"{spec_path.stem}.report.html")


def write_report(spec_path: Path, out: Path | None = None, *, store: str | None = None) -> tuple[Path, list[ShotView]]:
    """Write the gallery for ``spec_path`` to ``out`` (default ``<spec name>.report.html``
    beside the spec, so two specs in one folder keep their own pages; inside the project);
    returns the path and what each shot's card shows."""
    from runner.planner.make import place_for
    from runner.store.files import atomic_write

    spec = load_spec(spec_path)
    if out is None:
        out = default_report_path(spec.path)
    dest = confine(out, spec.root, what="-o/--out", hint="write the report inside the project, where it can "
                   "reach the videos")
    report_dir = dest.parent
    views = collect(spec, report_dir, place_for(spec, store).load_state())
    atomic_write(dest, render_html(spec, views, report_dir), root=spec.root, what="-o/--out")
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
        counts[v.kind] = counts.get(v.kind, 0) + sum(1 for t in v.takes if t.video)
    return counts
