"""Renderers: results (data) -> text, JSON or a rich table. Nothing here decides anything."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

from runner.bounded import escaped
from runner.catalog.endpoints import ENDPOINTS, PriceUnit
from runner.catalog.models import ModelInfo
from runner.catalog.pricing import source_label
from runner.errors import Problem
from runner.inputs.paths import display_path

if TYPE_CHECKING:
    from runner.spec import Spec


def problem_json(p: Problem) -> dict[str, Any]:
    return {
        "severity": p.severity,
        "path": p.location.path,
        "line": p.location.line,
        "column": p.location.column,
        "shot": p.shot,
        "field": p.field,
        "message": p.message,
    }


def validate_json(specs: list[Spec], problems: list[Problem]) -> str:
    doc = {
        "valid": not any(p.severity == "error" for p in problems),
        "specs": [
            {"path": s.display, "name": s.name, "shots": len(s.shots),
             "generations": sum(shot.takes for shot in s.shots)}
            for s in specs
        ],
        "problems": [problem_json(p) for p in problems],
    }
    return json.dumps(doc, indent=2)


def validate_text(specs: list[Spec]) -> str:
    lines = []
    for s in specs:
        models = sorted({shot.model for shot in s.shots})
        takes = sum(shot.takes for shot in s.shots)
        lines.append(escaped(  # a file or folder name may hold a newline
            f"{s.display}: valid — {len(s.shots)} shot{'s' if len(s.shots) != 1 else ''}, "
            f"{takes} generation{'s' if takes != 1 else ''}, models: {', '.join(models)}; "
            f"outputs go to {display_path(s.output_dir)}"
        ))
    return "\n".join(lines)


# How a price unit is written after a figure: 12 (per second), 8/image, 0.3/char.
_UNIT_SUFFIX: dict[PriceUnit, str] = {"second": "", "image": "/image", "character": "/char"}


def _units(info: ModelInfo) -> list[PriceUnit]:
    """What the model's prices are per, one unit per kind of endpoint it serves (seed_audio:
    seconds of sound and characters of speech)."""
    units: list[PriceUnit] = []
    for ep in info.modes.values():
        if ENDPOINTS[ep].price_unit not in units:
            units.append(ENDPOINTS[ep].price_unit)
    return units or ["second"]


def _kind(info: ModelInfo) -> str:
    """What the model makes (video / image / audio), from its endpoints' output kinds."""
    return "/".join(sorted({ENDPOINTS[ep].output for ep in info.modes.values()})) or "-"


def _price_text(info: ModelInfo) -> str:
    from runner.planner.charges import figure  # the planner package is not validate's to load

    p = info.pricing
    parts = []
    for unit in _units(info):
        base = p.get(f"credits_per_{unit}")
        if p.get("by_quality") and base is None:
            parts.append(" / ".join(f"{figure(v)}@{k}" for k, v in p["by_quality"].items()) + _UNIT_SUFFIX[unit])
            continue
        if p.get("by_quality_resolution") and base is None:
            parts.append(" / ".join(f"{figure(v)}@{q}-{t}" for q, tiers in p["by_quality_resolution"].items()
                                    for t, v in tiers.items()) + _UNIT_SUFFIX[unit])
            continue
        if p.get("credits_range") and base is None:
            low, high = p["credits_range"]
            parts.append(f"{figure(low)}-{figure(high)}/task")
            continue
        if base is None:
            parts.append("?" + _UNIT_SUFFIX[unit])
            continue
        text = figure(base)
        if p.get("credits_per_second_no_audio") is not None:
            text += f" ({figure(p['credits_per_second_no_audio'])} no audio)"
        for endpoint, rate in (p.get("by_endpoint") or {}).items():
            text += f" ({figure(rate)} on {endpoint})"
        tiers = p.get("by_resolution")
        if tiers:
            text = " / ".join(f"{figure(v)}@{k}" for k, v in tiers.items())
        parts.append(text + _UNIT_SUFFIX[unit])
    return "?" if all(x.startswith("?") for x in parts) else "; ".join(parts)


def _duration_text(info: ModelInfo, endpoint: str) -> str:
    ep = ENDPOINTS[endpoint]
    prop = info.properties(endpoint).get("duration", {})
    if ep.duration == "input" or (not prop and ep.duration_input):
        return f"from {ep.input_label}"
    for rule in info.document["$defs"].get(_first_mode(info, endpoint), {}).get("allOf", [])[1:]:
        override = rule.get("properties", {}).get("duration")
        if override:
            prop = override
    return _range_text(prop) or "-"


def _first_mode(info: ModelInfo, endpoint: str) -> str:
    return next((m for m, ep in info.modes.items() if ep == endpoint), "")


def _range_text(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return str(prop["const"])
    if "enum" in prop:
        return "/".join(str(v) for v in prop["enum"])
    if "minimum" in prop:
        return f"{prop['minimum']}-{prop['maximum']}"
    if "anyOf" in prop:
        return " or ".join(_range_text(b) for b in prop["anyOf"])
    return "any" if prop.get("type") in ("integer", "number") else ""


def _ratios(info: ModelInfo, endpoint: str) -> list[str]:
    prop = info.properties(endpoint).get("ratio", {})
    return [str(r) for r in prop.get("enum", [])] or (["any"] if prop else [])


def models_data(models: list[ModelInfo]) -> list[dict[str, Any]]:
    out = []
    for info in models:
        modes = []
        for mode, endpoint in info.modes.items():
            ep = ENDPOINTS[endpoint]
            modes.append({"mode": mode, "endpoint": endpoint, "output": ep.output, "price_unit": ep.price_unit,
                          "ratios": _ratios(info, endpoint), "duration": _duration_text(info, endpoint)})
        out.append({
            "model": info.name,
            "status": info.status,
            "replacement": info.replacement,
            "kind": _kind(info),
            "modes": modes,
            "pricing": info.pricing,
            "limits": info.limits,
        })
    return out


def kinds_legend(models: list[ModelInfo]) -> str:
    """Each kind of output with the endpoints that make it and what their prices are per."""
    used = {ep for info in models for ep in info.modes.values()}
    lines = []
    for kind in ("video", "image", "audio"):
        eps = [f"{name} (per {ep.price_unit})" for name, ep in ENDPOINTS.items() if ep.output == kind and name in used]
        if eps:
            lines.append(f"{kind}: {', '.join(eps)}")
    return "Endpoints by kind — " + "; ".join(lines)


def models_json(models: list[ModelInfo]) -> str:
    return json.dumps(models_data(models), indent=2)


def models_table(models: list[ModelInfo], *, detail: bool, color: bool, width: int | None = None) -> str:
    from rich.console import Console  # only `runner models` draws tables
    from rich.table import Table

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width or 120, soft_wrap=False)
    data = models_data(models)
    if detail:
        for item, info in zip(data, models, strict=True):
            status = item["status"] + (f" (use {item['replacement']} instead)" if item["replacement"] else "")
            console.print(f"[bold]{item['model']}[/bold]  {status}  makes {item['kind']}  credits: {_price_text(info)}")
            table = Table(show_lines=True)
            for col in ("mode", "endpoint", "makes", "priced per", "ratios", "duration (s)"):
                table.add_column(col, overflow="fold")
            for mode in item["modes"]:
                table.add_row(mode["mode"], mode["endpoint"], mode["output"], mode["price_unit"],
                              ", ".join(mode["ratios"]) or "-", mode["duration"])
            console.print(table)
            console.print(source_text(info.pricing))
            surcharge = info.pricing.get("output_format_surcharge")
            if surcharge:
                per = ", ".join(f"{k} +{v}" for k, v in surcharge["per_second"].items())
                console.print(f"output format surcharges (credits/s): {per}")
        return buf.getvalue().rstrip("\n")
    table = Table()
    table.add_column("model", no_wrap=True)  # the id people copy into a spec: never cut short
    for col in ("kind", "status", "modes", "ratios", "duration (s)", "credits", "source"):
        table.add_column(col, no_wrap=col == "status")  # "legacy → aleph2" names a model to copy
    for item, info in zip(data, models, strict=True):
        status = item["status"] + (f" → {item['replacement']}" if item["replacement"] else "")
        ratios = sorted({r for m in item["modes"] for r in m["ratios"]})
        durations = sorted({m["duration"] for m in item["modes"]})
        table.add_row(item["model"], item["kind"], status, ", ".join(m["mode"] for m in item["modes"]),
                      {0: "-", 1: ratios[0] if ratios == ["any"] else "1"}.get(len(ratios), str(len(ratios))),
                      "; ".join(durations), _price_text(info), source_label(info.pricing))
    console.print(table)
    console.print(kinds_legend(models))
    console.print("Prices are credits per second of output, per image (/image) or per character of the "
                  "prompt (/char) (1 credit = $0.01); "
                  "'?' = unknown, set it in a price file. Source: Runway = Runway's API reference, SDK = the "
                  "runwayml SDK's docstrings, copy* = a third-party copy of Runway's pricing page (unverified). "
                  "`runner models MODEL` shows every ratio and the source; `runner prices` the whole table.")
    return buf.getvalue().rstrip("\n")


def source_text(pricing: dict[str, Any]) -> str:
    """``price source: … (as of 2026-04-21)``, saying when it is a third-party copy, and the
    sources of fields priced by another document."""
    def one(entry: dict[str, Any]) -> str:
        text = str(entry.get("source"))
        if entry.get("as_of"):
            text += f" (as of {entry['as_of']})"
        if entry.get("copy"):
            text += "; a third-party copy of Runway's pricing page, not Runway's own"
        if entry.get("published"):
            text += f"; published as: {entry['published']}"
        return text

    lines = [f"price source: {one(pricing)}"]
    for other in pricing.get("other_sources") or []:
        lines.append(f"  {', '.join(other.get('fields', []))}: {one(other)}")
    if pricing.get("table_source"):
        lines.append(f"  (fields not in the price file: {pricing['table_source']})")
    return "\n".join(lines)


def waiting_lines(plan: Any) -> list[str]:
    """One line per shot the apply made nothing of because it waits for a pick."""
    return [f"  waiting: {s.id}: {s.reasons[0] if s.reasons else 'waits for a pick'}; nothing was made"
            for s in plan.waiting]


def apply_summary_data(result: Any, plan: Any = None) -> dict[str, Any]:
    """The JSON summary of an apply (``runner apply --format json``)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for o in result.outcomes:
        groups.setdefault(o.status, []).append(
            {"shot": o.shot, "take": o.take, "reason": o.reason or None, "output": o.output,
             "credits": o.credits, "code": o.code, "creates": o.creates}
        )
    return {
        "ok": result.ok,
        "counts": {k: len(v) for k, v in sorted(groups.items())},
        "outcomes": groups,
        "credits": {"planned": result.planned_credits, "charged": result.charged_credits,
                    "possibly_charged": result.possibly_charged, "from_table": result.table_credits},
        "drift": [d.to_dict() for d in result.drift],
        "unplanned": [u.to_dict() for u in result.unplanned],
        "creates": result.creates,
        "notes": result.notes,
        "waiting": [{"shot": s.id, "reason": s.reasons[0] if s.reasons else None}
                    for s in (plan.waiting if plan is not None else ())],
    }


def apply_summary_text(result: Any, output_dir: str) -> str:
    order = ["done", "cached", "moved", "kept", "failed", "unknown", "not_started"]
    counts = {k: len(result.by_status(k)) for k in order}
    lines = []
    for o in result.outcomes:
        if o.status in ("failed", "unknown", "not_started"):
            lines.append(f"  {o.status.replace('_', ' ')}: {o.shot} #{o.take}: {escaped(o.reason)}")
    shown = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n)
    lines.append(f"Apply: {shown or 'nothing to do'} — credits planned {result.planned_credits}, "
                 f"charged {result.charged_credits} ({result.creates} create call{'s' if result.creates != 1 else ''})"
                 + (f", possibly charged {result.possibly_charged} (creates of unknown outcome)"
                    if result.possibly_charged else ""))
    if result.table_credits:
        lines.append(f"  ({result.table_credits} of the credits charged are the price table's figures: the API "
                     "reported no cost for those takes)")
    lines += charge_lines(result.drift, result.unplanned)
    if counts["done"] or counts["cached"] or counts["moved"] or counts["kept"]:
        lines.append(f"Outputs are in {output_dir}")
    return "\n".join(lines)


def charge_lines(drift: list[Any], unplanned: list[Any]) -> list[str]:
    """What the API charged beyond or beside the plan: per model, the drift with the price-file
    line that fixes it, and the credits of unpriced models the plan did not count."""
    lines = []
    if drift:
        lines.append("Charged other than planned (the price table is off for these models):")
        for d in drift:
            lines.append(f"  {d.text()}")
            if d.fix:
                lines.append(f"    price file line that fixes it: {d.fix}")
    if unplanned:
        total = sum(u.charged for u in unplanned)
        lines.append(f"Spend beyond the plan: {total} credits for models without a known price, which the plan "
                     "did not count:")
        lines += [f"  {u.text()}" for u in unplanned]
    return lines
