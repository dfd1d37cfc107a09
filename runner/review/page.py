"""The review grid as template data: rows of shots × takes, counts, filters and details.

One builder for the live page (`runner review`, media and posters by URL) and the static
report (``runner report`` of a large campaign: files by relative path), so both show the
same grid with the same filters. Rows are plain dicts for a template that decides nothing;
the details a reviewer opens (prompt, seed, credits, task id per take) travel as one JSON
document the page's script reads.

"Changed since the last review": a shot with a take finished after the newest pick, reject
or note of the picks file (the last review round; every shot with takes before any pick).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from runner.catalog.pricing import CREDIT_USD
from runner.planner import Plan
from runner.planner.picks import Picks
from runner.review.board import ShotCard, TakeCard

HERE = Path(__file__).resolve().parent
FILTERS = (("all", "all"), ("unpicked", "unpicked"), ("picked", "picked"), ("rejected", "rejected"),
           ("failed", "failed"), ("outdated", "out of date"), ("changed", "changed since the last review"))
KEYS = (("← → ↑ ↓", "move between takes and shots"), ("1–9", "pick that take of the shot"),
        ("x", "reject the take"), ("n", "write a note on the shot"), ("c", "compare: mark a take, then another"),
        ("Enter", "open the take"), ("Esc", "close"), ("?", "this help"))


@dataclass(frozen=True)
class Links:
    """Where the page finds a take's file and poster, and the spec (live: URLs; static: paths)."""

    media: Callable[[ShotCard, TakeCard], str | None]
    poster: Callable[[ShotCard, TakeCard], str | None]
    spec: Callable[[int], str]


def static_file(name: str) -> str:
    """The text of a file of ``static/`` (the static report inlines them)."""
    return (HERE / "static" / name).read_text(encoding="utf-8")


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    return env


def last_review(picks: Picks) -> str | None:
    """When the picks file was last written by a review (its newest ``at``)."""
    times = [p.at for p in picks.shots.values() if p.at]
    return max(times) if times else None


def _pick_class(card: ShotCard) -> str:
    if card.pick_status == "picked":
        return "picked"
    if card.pick_status == "stale":
        return "stale"
    return "unpicked" if card.shot.takes > 1 else "single"


def more_takes(card: ShotCard, spec_display: str) -> dict[str, str]:
    """The command for one more take of the shot, and what it costs (the page never runs it)."""
    n = card.shot.takes + 1
    cost = "price unknown" if card.planned is None else \
        f"{card.planned} credits (${card.planned * CREDIT_USD:.2f})"
    return {"edit": f"set takes: {n} at {card.shot.location.path}:{card.shot.location.line}",
            "command": f"runner apply {spec_display} --select {card.id}", "cost": cost}


def row(card: ShotCard, links: Links, spec_display: str, since: str | None) -> dict[str, Any]:
    """One grid row: the shot's head and its take cells."""
    takes = []
    for t in card.takes:
        label = f"{t.take}" + (" ★" if t.picked else "") + (" ✕" if t.rejected else "")
        takes.append({"n": t.take, "picked": t.picked, "rejected": t.rejected, "current": t.current,
                      "src": links.media(card, t), "poster": links.poster(card, t), "label": label,
                      "missing": t.path is None})
    changed = bool(card.takes) and (since is None or any(t.finished > since for t in card.takes))
    pick = card.pick
    return {
        "id": card.id, "status": card.status, "status_class": card.status.replace(" ", "-"),
        "reason": card.reason, "model": card.shot.model, "mode": card.shot.mode, "kind": card.kind,
        "tags": list(card.shot.tags), "groups": dict(card.groups), "prompt": card.prompt or "",
        "prompt_made": card.prompt_made, "takes": takes, "wanted": card.shot.takes,
        "pick": _pick_class(card), "pick_take": pick.take if pick and card.pick_status == "picked" else None,
        "pick_why": card.pick_why, "note": pick.note if pick else None,
        "rejected": any(t.rejected for t in card.takes), "failed": card.status == "failed", "changed": changed,
        "outdated": card.status == "out of date", "line": card.shot.location.line,
        "location": f"{Path(card.shot.location.path).name}:{card.shot.location.line}",
        "spec_link": links.spec(card.shot.location.line),
    }


def details(card: ShotCard, spec_display: str) -> dict[str, Any]:
    """What the page shows of a shot and its takes when one is opened (the JSON document)."""
    return {
        "prompt": card.prompt, "prompt_made": card.prompt_made, "model": card.shot.model, "mode": card.shot.mode,
        "status": card.status, "reason": card.reason, "planned": card.planned, "charged": card.charged,
        "settings": [[k, now, then] for k, now, then in card.settings()],
        "location": str(card.shot.location), "more": more_takes(card, spec_display),
        "pick": None if card.pick is None else {"take": card.pick.take, "status": card.pick_status,
                                                "why": card.pick_why, "note": card.pick.note,
                                                "by": card.pick.by, "at": card.pick.at},
        "takes": {str(t.take): {"charged": t.charged, "planned": card.planned, "seed": t.seed, "prompt": t.prompt,
                                "task_id": t.task_id, "finished": t.finished, "sha256": t.sha256,
                                "current": t.current, "picked": t.picked, "rejected": t.rejected,
                                "file": t.output} for t in card.takes},
    }


def context(plan: Plan, cards: list[ShotCard], picks: Picks, links: Links, *, mode: str) -> dict[str, Any]:
    """Everything ``review.html`` shows, for the live page (``mode="live"``) or the static report."""
    spec = plan.spec
    since = last_review(picks)
    rows = [row(c, links, spec.display, since) for c in cards]
    counts = Counter(r["pick"] for r in rows)
    statuses = Counter(r["status"] for r in rows)
    group_keys = sorted({k for r in rows for k in r["groups"] if k.startswith("matrix.")})
    planned = sum((c.planned or 0) * c.shot.takes for c in cards)
    return {
        "mode": mode, "spec": spec, "rows": rows, "filters": FILTERS, "keys": KEYS,
        "models": sorted({r["model"] for r in rows}), "tags": sorted({t for r in rows for t in r["tags"]}),
        "groupings": [("entry", "spec entry"), *((k, k.removeprefix("matrix.")) for k in group_keys),
                      ("tag", "tag"), ("none", "none")],
        "counts": {"shots": len(rows), "picked": counts["picked"], "unpicked": counts["unpicked"],
                   "stale": counts["stale"], "statuses": dict(sorted(statuses.items())),
                   "charged": sum(c.charged for c in cards), "planned": planned},
        "details": {"spec": spec.display, "shots": {c.id: details(c, spec.display) for c in cards}},
        "picks_sha256": picks.sha256, "since": since,
    }


_SHOW: dict[str, Callable[[dict[str, Any]], bool]] = {
    "all": lambda r: True,
    "unpicked": lambda r: r["pick"] in ("unpicked", "stale"),
    "picked": lambda r: r["pick"] == "picked",
    "rejected": lambda r: r["rejected"],
    "failed": lambda r: r["failed"],
    "outdated": lambda r: r["outdated"],
    "changed": lambda r: r["changed"],
}


def arrange(rows: list[dict[str, Any]], *, group: str = "entry", show: str = "all", model: str = "", tag: str = "",
            q: str = "") -> list[tuple[str, list[dict[str, Any]]]]:
    """The rows a query asks for, in groups (the same choices as the page's script makes, for a
    browser without it): ``group`` names a row key (``entry``, ``matrix.city``, ``tag``) or ``none``."""
    keep: Callable[[dict[str, Any]], bool] = _SHOW.get(show, _SHOW["all"])
    chosen = [r for r in rows if keep(r) and (not model or r["model"] == model) and (not tag or tag in r["tags"])
              and (not q or q.lower() in r["id"])]
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in chosen:
        groups.setdefault("" if group == "none" else r["groups"].get(group, ""), []).append(r)
    return list(groups.items())


PAGE = 100
"""Rows the server draws itself (for a browser without script); the script draws the rest."""


def paginate(groups: list[tuple[str, list[dict[str, Any]]]], page: int,
             size: int = PAGE) -> tuple[list[tuple[str, list[dict[str, Any]]]], int]:
    """The groups of rows of page ``page`` (from 1), and how many pages there are."""
    total = sum(len(members) for _, members in groups)
    pages = max(1, -(-total // size))
    start, end = (min(max(page, 1), pages) - 1) * size, min(max(page, 1), pages) * size
    out, at = [], 0
    for name, members in groups:
        part = members[max(0, start - at):max(0, end - at)]
        if part:
            out.append((name, part))
        at += len(members)
    return out, pages
