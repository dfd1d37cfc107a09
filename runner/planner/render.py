"""Plan renderers: text (terminal and CI logs), JSON (CI), Markdown (a PR comment)."""

from __future__ import annotations

import json
from typing import Any

from runner.bounded import escaped
from runner.planner.budget import AccountCheck
from runner.planner.records import Plan, ShotPlan
from runner.planner.saved import plan_document

_COLORS = {"+": "\x1b[32m", "~": "\x1b[33m", "=": "\x1b[2m", ">": "\x1b[36m", "-": "\x1b[31m", "!": "\x1b[1;31m",
           "…": "\x1b[35m"}
_RESET = "\x1b[0m"


def _credits(s: ShotPlan) -> str:
    if s.credits is None:
        return "price unknown"
    if not s.creates:
        return "0 credits" if any(t.action == "reuse" for t in s.takes) else ""
    bound = "≤ " if s.upper_bound else ""
    n = s.creates
    return f"{bound}{s.credits} credits" + (f" ({n} takes)" if n > 1 else "")


def restored_from(s: ShotPlan) -> str:
    """Where a ``cached`` shot's output comes back from, in the words of its line's reason."""
    if any(t.action == "refetch" for t in s.takes):
        return "fetched again"
    if any(t.action == "restore" and t.cached and t.cached.get("from") == "store" for t in s.takes):
        return "from the store"
    return "from cache"


def summary_line(plan: Plan) -> str:
    if not plan.has_changes:
        return "No changes. Every shot is up to date."
    parts = []
    restored = [restored_from(s) for s in plan.shots if s.action == "cached"]
    for action, word in (("create", "to create"), ("regenerate", "to regenerate"), ("resume", "resuming"),
                         ("move", "moved"), ("blocked", "blocked"), ("wait", "waiting for a pick"),
                         ("cached", ""), ("unchanged", "unchanged"), ("remove", "removed")):
        if action == "cached":  # as each line says it: restored from cache, from the store, fetched again
            parts += [f"{restored.count(w)} {w}" for w in ("from cache", "from the store", "fetched again")
                      if w in restored]
            continue
        n = plan.count(action)
        if n or action in ("create", "unchanged"):
            parts.append(f"{n} {word}")
    text = f"Plan: {', '.join(parts)} — {_total(plan)} credits (${plan.usd:.2f})"
    if plan.unknown_cost:
        text += f"; {len(plan.unknown_cost)} shot(s) of unknown price, not counted"
    return text


def _total(plan: Plan) -> str:
    """The total as a bound when it is one: "≤ N" (``auto`` lengths), "at least N" (unknown prices)."""
    if plan.unknown_cost:
        return f"at least {plan.total_credits}"
    return f"{'≤ ' if plan.upper_bound else ''}{plan.total_credits}"


def budget_line(plan: Plan) -> str | None:
    if plan.max_credits is None:
        return None
    over = plan.over_budget_by
    if over is not None:
        return f"Over budget: {plan.total_credits} credits planned, budget {plan.max_credits:g} — {over} over"
    return f"Budget: {_total(plan)} of {plan.max_credits:g} credits"


def render_text(plan: Plan, *, color: bool = False) -> str:
    lines = [f"Plan for {escaped(plan.spec.display)} ({plan.spec.name})", ""]
    width = max((len(s.id) for s in plan.shots), default=10)
    what_width = max([22] + [len(f"{s.model} {s.mode}") for s in plan.shots])  # long model names stay in column
    for s in plan.shots:  # in graph order: upstreams first (the planner's order)
        what = f"{s.model} {s.mode}"
        detail = escaped("; ".join(s.reasons))  # a failure reason is the API's (or a state file's) text
        cost = _credits(s)
        line = f"  {s.symbol} {s.id:<{width}}  {what:<{what_width}} {cost:<18} {detail}".rstrip()
        if color:
            line = f"{_COLORS[s.symbol]}{line}{_RESET}"
        lines.append(line)
    lines.append("")
    lines.append(summary_line(plan))
    budget = budget_line(plan)
    if budget:
        lines.append(budget)
    return "\n".join(lines)


def render_json(plan: Plan) -> str:
    """The plan document as ``json.dumps(doc, indent=2, ensure_ascii=False)`` writes it. orjson
    writes the same text some 10 times faster and without the millions of pieces the standard
    encoder joins (a 50,000-shot plan's JSON is 36 MB); the one difference, a float below 1e-4
    or from 1e16 up in another form ("1.5e-7" or "1e16" for "1.5e-07" or "1e+16"), is the same
    number (plan floats are dollars and budgets). What orjson refuses (an integer past 64 bits, a lone surrogate in a
    path) is left to the standard encoder, as before."""
    import orjson

    doc = plan_document(plan)
    try:
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode("utf-8")
    except orjson.JSONEncodeError:
        return json.dumps(doc, indent=2, ensure_ascii=False)


def _md_escape(text: str) -> str:
    return escaped(text).replace("|", "\\|").replace("<", "&lt;")


def render_markdown(plan: Plan) -> str:
    doc: dict[str, Any] = plan_document(plan)
    out = [f"### runner plan: `{plan.spec.display}` ({plan.spec.name})", "", f"**{summary_line(plan)}**", ""]
    budget = budget_line(plan)
    if budget:
        icon = "❌" if plan.over_budget_by is not None else "✅"
        out += [f"{icon} {budget}", ""]
    cost = (f"Cost of this change: **+{plan.total_credits} credits (${plan.usd:.2f})**; "
            f"spent on this campaign so far: {plan.spent_credits} credits.")
    out += [cost, ""]
    # The PR comment is where reviewers look: warnings (a legacy model and its replacement)
    # belong there, not only on the CI log's stderr.
    for w in plan.spec.warnings:
        out.append(f"⚠️ warning: {_md_escape(str(w))}  ")
    if plan.spec.warnings:
        out.append("")
    changes = [s for s in plan.shots if s.action != "unchanged"]
    if changes:
        out += ["| | shot | model | mode | credits | why |", "|---|---|---|---|---:|---|"]
        for s in changes:
            cost = "?" if s.credits is None else (f"≤{s.credits}" if s.upper_bound else str(s.credits))
            out.append(f"| `{s.symbol}` | `{s.id}` | {s.model} | {s.mode} | {cost} | "
                       f"{_md_escape('; '.join(s.reasons))} |")
        out.append("")
    unchanged = [s.id for s in plan.shots if s.action == "unchanged"]
    out += ["<details><summary>Details</summary>", ""]
    if unchanged:
        out += [f"Unchanged ({len(unchanged)}): " + ", ".join(f"`{i}`" for i in unchanged), ""]
    out += [f"- price table: {doc['price_table']['source']} (`{doc['price_table']['sha256'][:12]}`)",
            f"- spec sha256: `{plan.spec_sha256[:12]}`; state: `{(plan.state_sha256 or 'none')[:12]}`", "",
            "</details>"]
    return "\n".join(out) + "\n"


def account_notes(plan: Plan, check: AccountCheck) -> list[str]:
    """What in the plan the account cannot do (balance, daily caps), and its concurrency."""
    notes = [f"account: {check.balance} credits"]
    if check.short_by is not None:
        notes.append(f"warning: the plan needs {plan.total_credits} credits; the account has {check.balance}")
    for m in check.models:
        if m.over_cap:
            notes.append(f"warning: {m.model}: {m.planned} generations planned, {m.left_today} left today "
                         f"(daily cap {m.daily_cap})")
        if m.concurrency:
            notes.append(f"{m.model}: {m.planned} generations, {m.concurrency} at a time on this account")
    return notes


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
