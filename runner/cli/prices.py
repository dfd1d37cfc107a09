"""`runner prices`: the price table (model, unit, figure, source), or with --observed the
per-unit prices the states' recorded charges imply, as a price file to review and commit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runner.cli.boundary import boundary
from runner.cli.options import PRICES, STORE, TRUST_PRICES
from runner.errors import RunnerError

if TYPE_CHECKING:
    from runner.catalog.endpoints import PriceUnit
    from runner.catalog.models import ModelInfo
    from runner.planner.charges import Charge

# The planner is imported where it is used: defining this command must not load it (every
# command is defined when runner starts, `runner validate` included; tests/test_startup.py).

_SUFFIX = {"second": "/s", "image": "/image", "character": "/char"}


def _units(info: ModelInfo) -> list[PriceUnit]:
    from runner.catalog.endpoints import ENDPOINTS

    units: list[PriceUnit] = []
    for ep in info.modes.values():
        if ENDPOINTS[ep].price_unit not in units:
            units.append(ENDPOINTS[ep].price_unit)
    return units


def _figure(p: dict[str, Any], unit: PriceUnit) -> str:
    """Every figure that prices one unit of the model: base, tiers, qualities, range, extras."""
    from runner.planner.charges import figure, per_unit

    suffix = _SUFFIX[unit]
    parts = []
    base = p.get(f"credits_per_{unit}")
    if p.get("credits_range") and base is None:
        low, high = p["credits_range"]
        parts.append(f"{figure(low)}-{figure(high)} a task (planned at {figure(high)})")
    elif p.get("by_quality") and base is None:
        parts.append(", ".join(f"{k} {figure(v)}" for k, v in p["by_quality"].items()) + suffix)
        if p.get("default_quality"):
            parts.append(f"default {p['default_quality']}")
        else:
            parts.append("no default documented: planned at the dearest")
        if p.get("default_quality_with_reference_images"):
            parts.append(f"{p['default_quality_with_reference_images']} with reference images")
    elif p.get("by_quality_resolution") and base is None:
        parts.append(", ".join(f"{q} " + " / ".join(f"{t} {figure(v)}" for t, v in tiers.items())
                               for q, tiers in p["by_quality_resolution"].items()) + suffix)
        parts.append(f"default {p['default_quality']}" if p.get("default_quality")
                     else "no default documented: planned at the dearest")
    elif p.get("by_resolution") and unit != "character":
        parts.append(", ".join(f"{k} {figure(v)}" for k, v in p["by_resolution"].items()) + suffix)
    elif base is not None:
        parts.append(per_unit(base, unit))
    else:
        return "?"
    parts.extend(_extras(p, unit, suffix))
    return "; ".join(parts)


def _extras(p: dict[str, Any], unit: PriceUnit, suffix: str) -> list[str]:
    """What is added to or bounds the base figure: no-audio and per-endpoint rates, per-image
    surcharges, minimums, ``auto``'s billed length, output-format surcharges."""
    from runner.planner.charges import figure

    parts = []
    if unit == "second" and p.get("credits_per_second_no_audio") is not None:
        parts.append(f"{figure(p['credits_per_second_no_audio'])}{suffix} without audio")
    for endpoint, rate in (p.get("by_endpoint") or {}).items():
        parts.append(f"{figure(rate)}{suffix} on {endpoint}")
    if p.get("per_reference_image"):
        parts.append(f"+{figure(p['per_reference_image'])} per reference image")
    if p.get("per_prompt_image"):
        parts.append(f"+{figure(p['per_prompt_image'])} per start frame")
    if p.get("minimum_credits"):
        parts.append(f"at least {figure(p['minimum_credits'])}")
    if unit == "second" and p.get("auto_duration_billed_seconds"):
        parts.append(f"auto billed as {figure(p['auto_duration_billed_seconds'])} s")
    formats = (p.get("output_format_surcharge") or {}).get("per_second") or {}
    if formats and unit == "second":
        parts.append(f"+{min(formats.values()):g}-{max(formats.values()):g}/s by output format")
    return parts


def _source(p: dict[str, Any]) -> str:
    from runner.catalog.pricing import source_label

    label = source_label(p)
    if label == "-":
        return "- (unpublished)"
    if label == "price file":
        return str(p.get("source"))
    extra = "".join(f"; {', '.join(o['fields'])}: copy*" for o in p.get("other_sources") or [] if o.get("copy"))
    return f"{label} {p.get('as_of', '')}{extra}".strip()


def table_rows(models: dict[str, ModelInfo], names: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for name in names or tuple(sorted(models)):
        if name not in models:
            raise RunnerError(f"unknown model {name!r}; `runner models` lists them")
        info = models[name]
        for unit in _units(info):
            rows.append({"model": name, "unit": unit, "figure": _figure(info.pricing, unit),
                         "source": _source(info.pricing), "source_text": info.pricing.get("source"),
                         "as_of": info.pricing.get("as_of"), "copy": bool(info.pricing.get("copy"))})
    return rows


def observed_charges(specs: tuple[Path, ...], *, prices: Path | None, store: str | None,
                     trust: bool) -> tuple[list[Charge], list[str]]:
    """Each take the states record as charged by the API (its own ``cost.credits``) whose request
    is the spec's now, with the units the table bills for it; and the state files read."""
    from runner.catalog.endpoints import ENDPOINTS
    from runner.planner import make_plan
    from runner.planner.charges import Charge

    charges, read = [], []
    for spec in specs:
        plan = make_plan(spec, prices=prices, store=store, trust_prices=trust)
        read.append(str(plan.state.path))
        for sp in plan.shots:
            entry = plan.state.shots.get(sp.moved_from or sp.id)
            if entry is None or sp.shot is None or sp.price is None:
                continue
            unit = ENDPOINTS[sp.shot.request.endpoint].price_unit
            for tp in sp.takes:
                done = entry.take(tp.take)
                if done is None or done.fingerprint != tp.fingerprint or done.source != "api" \
                        or done.credits is None or done.credits_from is not None:
                    continue
                p = sp.price
                charges.append(Charge(sp.id, tp.take, sp.model, unit, p.credits, done.credits, p.seconds, p.rate,
                                      p.field, p.base))
    return charges, read


@click.command()
@click.argument("names", nargs=-1, metavar="[MODEL…|SPEC…]")
@click.option("--observed", is_flag=True,
              help="NAMES are specs: print the per-unit prices their states' recorded charges imply, as a price file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@PRICES
@TRUST_PRICES
@STORE
@boundary
def prices(names: tuple[str, ...], observed: bool, fmt: str, prices: Path | None, trust_prices: bool,
           store: str | None) -> object:
    """Print the price table: per model and unit, the figure and where it comes from.

    Sources: Runway = Runway's API reference (github.com/runwayml/skills), SDK = the runwayml
    SDK's request-type docstrings, copy* = a third-party copy of Runway's pricing page. A
    model without a published price shows '?': it is refused under a budget cap until a
    price file prices it. With --prices, the file's figures replace the table's.

    With --observed SPEC…, derive from the takes the states record as charged by the API
    (the task's own cost) what each model cost per unit billed, and print it as a price
    file. Nothing is changed: review it, commit it, and pass it with --prices.

    \b
    Examples:
      runner prices
      runner prices gen4.5 eleven_multilingual_v2 --format json
      runner prices --observed specs/demo.yaml > prices.yaml
    """
    from runner.catalog.pricing import load_prices
    from runner.planner.charges import observed as derive

    if observed:
        if not names:
            raise RunnerError("--observed needs one or more specs whose states record charges")
        charges, read = observed_charges(tuple(Path(n) for n in names), prices=prices, store=store,
                                         trust=trust_prices)
        found = derive(charges)
        if fmt == "json":
            click.echo(json.dumps([vars(o) | {"line": o.line()} for o in found], indent=2))
            return found
        day = datetime.now(UTC).date().isoformat()
        click.echo(f"# Per-unit prices the API charged, from {len(charges)} take(s) in {', '.join(read)} ({day}).")
        click.echo("# Review before committing; use it with --prices (the built-in table is unchanged).")
        for o in found:
            click.echo(o.line())
        if not found:
            click.echo("# (no take recorded with the API's own cost and the spec's current request)")
        return found
    models, _ = load_prices(prices, trust=trust_prices)
    rows = table_rows(models, names)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return rows
    width = max(len(r["model"]) for r in rows)
    click.echo(f"{'model':<{width}}  {'unit':<9}  {'figure (credits)':<48}  source")
    for r in rows:
        click.echo(f"{r['model']:<{width}}  {r['unit']:<9}  {r['figure']:<48}  {r['source']}".rstrip())
    click.echo("1 credit = $0.01. Runway: Runway's API reference; SDK: runwayml 5.24 docstrings; copy*: a third-party "
               "copy of Runway's pricing page (unverified); ?: unpublished. `runner models MODEL` gives each source "
               "in full.")
    return rows
