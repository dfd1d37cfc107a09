"""Credits for one generation, from the model catalog's ``x-runway.pricing`` data.

Used by ``plan`` (estimates), ``apply`` (budget checks) and the report. The emulator keeps
a price table of its own, so that a wrong price here shows up in tests as charged ≠ planned.
Rules, in order:
- seconds: where the endpoint registry says the length comes from (``catalog.endpoints``):
  the request's ``duration`` (``auto`` is billed at the model's
  ``auto_duration_billed_seconds``, an upper bound refunded after; a missing duration takes
  the model's ``request_defaults``), else the probed length of the input clip, else (a model
  that picks the length itself) ``unset_duration_billed_seconds``, its longest: an upper bound.
- rate per second: ``credits_per_second`` (or the ``by_endpoint`` figure of the request's
  endpoint: gemini_omni_flash bills video-to-video per second of its input at another rate),
  or ``credits_per_second_no_audio`` when the request turns audio off, or the
  ``by_resolution`` tier of the request's ``resolution`` field or of its ratio's pixel count;
  plus the ``outputFormat`` surcharge (the larger ``over_4mp`` figure above 4 megapixels).
- extras: ``per_reference_image`` credits per reference image (``references`` of a video
  request, ``referenceImages`` of an image one); ``per_prompt_image`` credits per image of
  ``promptImage`` (a start frame that grok_imagine_1_5 and gemini_omni_flash bill);
  ``minimum_credits`` floor.
- images (endpoints whose ``price_unit`` is ``image``): one unit per generation (a take is one
  image) at ``credits_per_image``, or the ``by_resolution`` tier that ``ratio_resolution``
  names for the request's ratio (image models sell sizes by a list, not by pixel count), or
  the ``by_quality`` figure of the request's ``quality``. Without a quality the model's
  default is used (``default_quality``, or ``default_quality_with_reference_images`` when the
  request has reference images and no ``preciseEdit``); a model that documents no default is
  priced at its dearest quality, as an upper bound. A model sold by quality *and* size
  (``by_quality_resolution``: quality -> size tier -> credits) takes the quality as above and
  the tier as ``by_resolution`` does; a size it cannot place is priced at the quality's dearest.
- a flat ``credits_range: [low, high]`` (a sound of "1-2 credits") is priced at ``high``, as an
  upper bound when the two differ, whatever the request's units, unless a rate per unit is
  set too (a price file's ``credits_per_second`` wins over the published range).
- characters (``text_to_speech``): the length of ``promptText`` in UTF-16 code units (as the
  SDK measures prompts) at ``credits_per_character``.
- A model that serves endpoints of two units (seed_audio: sound per second, speech per
  character) has one rate per unit; the endpoint of the request picks which.
1 credit = $0.01.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.catalog.endpoints import ENDPOINTS, PriceUnit
from runner.catalog.models import ModelInfo, catalog
from runner.catalog.pricefile import read_price_file

CREDIT_USD = 0.01


@dataclass(frozen=True)
class Cost:
    """Credits for one generation; ``credits`` is None when the price is unknown."""

    credits: int | None
    seconds: float | None
    """Units billed: seconds, images or characters, by the endpoint's price unit."""
    rate: float | None
    """Credits per unit, surcharges included."""
    upper_bound: bool = False
    note: str = ""
    field: str | None = dataclasses.field(default=None, compare=False)
    """The pricing field the rate comes from (``credits_per_second``, ``by_resolution.720p``,
    ``by_quality.high``, ``credits_range``): the one a price file sets to change it."""
    base: float | None = dataclasses.field(default=None, compare=False)
    """That field's figure (the rate before outputFormat surcharges)."""


def resolution_tier(ratio: str | None, resolution: str | None, tiers: dict[str, Any]) -> str | None:
    """Which ``by_resolution`` key applies: the request's ``resolution``, an ``auto_720p``
    style ratio, or the pixel count of a ``W:H`` size. None: use the base price."""
    if resolution and resolution.lower() in tiers:
        return resolution.lower()
    if not ratio:
        return None
    if ratio.startswith("auto_"):
        key = ratio[5:].lower()
        return key if key in tiers else None
    try:
        w, h = (int(x) for x in ratio.split(":", 1))
    except ValueError:
        return None
    pixels = w * h
    if pixels < 10_000:  # an aspect ratio like 16:9, not a size: the resolution is unknown
        return None
    for name, limit in (("480p", 500_000), ("720p", 1_100_000), ("1080p", 2_300_000)):
        if pixels <= limit and name in tiers:
            return name
    return "4k" if "4k" in tiers else None


def _pixels(ratio: Any) -> int:
    try:
        w, h = (int(x) for x in str(ratio).split(":", 1))
    except ValueError:
        return 0
    return w * h


def generation_seconds(info: ModelInfo, endpoint: str, body: Mapping[str, Any],
                       input_seconds: float | None) -> tuple[float | None, bool]:
    """Billed seconds and whether they are an upper bound."""
    if ENDPOINTS[endpoint].duration == "input":
        return input_seconds, False
    duration = body.get("duration", info.request_defaults.get("duration"))
    if duration == "auto":
        auto = info.pricing.get("auto_duration_billed_seconds")
        return (float(auto) if auto is not None else None), True
    if isinstance(duration, (int, float)) and not isinstance(duration, bool):
        return float(duration), False
    if duration is None and input_seconds is not None:  # e.g. video-to-video: the output follows the input
        return input_seconds, False
    if duration is None and (most := info.pricing.get("unset_duration_billed_seconds")) is not None:
        return float(most), True  # the model picks the length, at most this long: priced at the most
    return None, False


# How many price units one generation bills, by the endpoint's price unit (catalog.endpoints):
# an endpoint priced per image or per character adds its counter here.
def one_image(info: ModelInfo, endpoint: str, body: Mapping[str, Any],
              input_seconds: float | None) -> tuple[float | None, bool]:
    """An image endpoint bills one image per task: the schema refuses ``outputCount`` above 1."""
    return 1.0, False


def utf16_units(text: str) -> int:
    """Length as the API counts it (UTF-16 code units): a character outside the Basic
    Multilingual Plane, such as most emoji, counts twice; Python's ``len`` counts it once."""
    return len(text.encode("utf-16-le")) // 2


def prompt_characters(info: ModelInfo, endpoint: str, body: Mapping[str, Any],
                      input_seconds: float | None) -> tuple[float | None, bool]:
    """Speech from text bills the prompt's characters, counted as UTF-16 code units."""
    text = body.get("promptText")
    return (float(utf16_units(text)) if isinstance(text, str) else None), False


_UNITS: dict[PriceUnit, Callable[[ModelInfo, str, Mapping[str, Any], float | None], tuple[float | None, bool]]] = {
    "second": generation_seconds,
    "image": one_image,
    "character": prompt_characters,
}


def billed_units(info: ModelInfo, endpoint: str, body: Mapping[str, Any],
                 input_seconds: float | None) -> tuple[float | None, bool]:
    """Units billed (seconds of output, today) and whether they are an upper bound."""
    return _UNITS[ENDPOINTS[endpoint].price_unit](info, endpoint, body, input_seconds)


REFERENCE_FIELDS = ("references", "referenceImages")
"""Body fields whose items ``per_reference_image`` counts (video references, image references)."""


def quality_rate(pricing: Mapping[str, Any], body: Mapping[str, Any]) -> tuple[float | None, bool]:
    """The ``by_quality`` figure of the request (or of the model's default quality), and whether
    it is an upper bound (no quality asked, no default documented: the dearest)."""
    tiers = pricing.get("by_quality") or {}
    if not tiers:
        return None, False
    quality = body.get("quality")
    if quality is None:
        refs = body.get("referenceImages")
        with_refs = pricing.get("default_quality_with_reference_images")
        quality = with_refs if refs and with_refs and not body.get("preciseEdit") else pricing.get("default_quality")
    if quality in tiers:
        return tiers[quality], False
    return max(tiers.values()), True


def grid_rate(pricing: Mapping[str, Any], body: Mapping[str, Any]) -> tuple[float, bool, str] | None:
    """The ``by_quality_resolution`` figure of the request, whether it is an upper bound, and its
    field (``by_quality_resolution.high.4k``); None for a model not sold by quality and size."""
    grid = pricing.get("by_quality_resolution") or {}
    if not grid:
        return None
    quality = body.get("quality") or pricing.get("default_quality")
    upper = quality not in grid
    if upper:  # no quality asked and none documented, or one the table does not know: the dearest
        quality = max(grid, key=lambda q: max(grid[q].values()))
    tiers = grid[quality]
    listed = (pricing.get("ratio_resolution") or {}).get(str(body.get("ratio")))
    tier = listed if listed in tiers else resolution_tier(body.get("ratio"), body.get("resolution"), tiers)
    if tier is None:
        tier, upper = max(tiers, key=lambda t: tiers[t]), True
    return tiers[tier], upper, f"by_quality_resolution.{quality}.{tier}"


def size_rate(pricing: Mapping[str, Any], body: Mapping[str, Any]) -> tuple[float, bool, str] | None:
    """The figure of the request's size tier (``by_quality_resolution``, else ``by_resolution``):
    rate, upper bound, field; None when the model has no tier for it (the base price holds)."""
    grid = grid_rate(pricing, body)
    if grid is not None:
        return grid
    tiers = pricing.get("by_resolution") or {}
    if not tiers:
        return None
    listed = (pricing.get("ratio_resolution") or {}).get(str(body.get("ratio")))
    tier = listed if listed in tiers else resolution_tier(body.get("ratio"), body.get("resolution"), tiers)
    return None if tier is None else (tiers[tier], False, f"by_resolution.{tier}")


def reference_count(body: Mapping[str, Any]) -> int:
    """Reference images a request sends (a non-list value counts as one)."""
    total = 0
    for key in REFERENCE_FIELDS:
        refs = body.get(key)
        if refs:
            total += len(refs) if isinstance(refs, list) else 1
    return total


def prompt_image_count(body: Mapping[str, Any]) -> int:
    """Images a request sends as ``promptImage``: a start frame (one URI) or a list of frames."""
    images = body.get("promptImage")
    if isinstance(images, list):
        return len(images)
    return 1 if images else 0


def cost_of(info: ModelInfo, body: Mapping[str, Any], *, endpoint: str | None = None,
            input_seconds: float | None = None) -> Cost:
    """Credits for one generation of ``body`` sent to ``endpoint`` (default: the model's first
    endpoint) on ``info``'s model; ``input_seconds`` is the length of the input clip, if any."""
    pricing = info.pricing
    endpoint = endpoint or next(iter(info.modes.values()))
    span = pricing.get("credits_range")
    # a rate per unit (a price file's) wins over the published range
    if span and pricing.get(f"credits_per_{ENDPOINTS[endpoint].price_unit}") is None:
        low, high = min(span), max(span)
        return Cost(math.ceil(high - 1e-9), None, None, low != high, field="credits_range", base=high)
    seconds, upper = billed_units(info, endpoint, body, input_seconds)
    field = f"credits_per_{ENDPOINTS[endpoint].price_unit}"
    rate = pricing.get(field)
    by_endpoint = pricing.get("by_endpoint") or {}
    if endpoint in by_endpoint:
        rate, field = by_endpoint[endpoint], f"by_endpoint.{endpoint}"
    by_quality, dearest = quality_rate(pricing, body)
    if by_quality is not None:
        rate, upper = by_quality, upper or dearest
        field = "by_quality." + next(q for q, v in pricing["by_quality"].items() if v == by_quality)
    audio = body.get("audio", info.request_defaults.get("audio", True))
    if audio is False and pricing.get("credits_per_second_no_audio") is not None:
        rate, field = pricing["credits_per_second_no_audio"], "credits_per_second_no_audio"
    sized = size_rate(pricing, body)
    if sized is not None:
        rate, dearest, field = sized
        upper = upper or dearest
    if rate is None:
        return Cost(None, seconds, None, upper, f"no known price for {info.name}; set one in a price file",
                    field=field)
    base = rate
    if seconds is None:
        label = ENDPOINTS[endpoint].input_label
        why = (f"length of the {label} input is unknown" if label
               else "the model picks the output's length: set duration to price it")
        return Cost(None, None, rate, upper, why, field=field, base=base)
    fmt = body.get("outputFormat")
    surcharge = pricing.get("output_format_surcharge") or {}
    if fmt and fmt in surcharge.get("per_second", {}):
        over = surcharge.get("over_4mp_per_second", {})
        big = _pixels(body.get("ratio")) > 4_000_000
        rate = rate + (over[fmt] if big and fmt in over else surcharge["per_second"][fmt])
    credits = rate * seconds
    extra = pricing.get("per_reference_image")
    if extra:
        credits += extra * reference_count(body)
    per_frame = pricing.get("per_prompt_image")
    if per_frame:
        credits += per_frame * prompt_image_count(body)
    credits = max(credits, pricing.get("minimum_credits") or 0)
    return Cost(math.ceil(credits - 1e-9), seconds, rate, upper, field=field, base=base)


def is_priced(pricing: Mapping[str, Any]) -> bool:
    """Whether any figure of the entry prices a generation (a rate, a tier, a quality or a range)."""
    rates = [v for k, v in pricing.items() if k.startswith("credits_per_")]
    return any(v is not None for v in rates) or any(bool(pricing.get(k)) for k in (
        "by_quality", "by_quality_resolution", "credits_range"))


def source_label(pricing: Mapping[str, Any]) -> str:
    """Where an entry's prices come from, in a word or two: ``Runway``, ``SDK``, ``copy*`` (a
    third-party copy of Runway's pages), ``price file`` or ``-`` (unpublished)."""
    source = str(pricing.get("source") or "")
    if source.startswith("price file"):
        return "price file"
    if not is_priced(pricing):
        return "-"
    if pricing.get("copy"):
        return "copy*"
    return "SDK" if "docstrings" in source else "Runway"


RATE_FIELDS = ("credits_per_second", "credits_per_image", "credits_per_character")
"""The rate of each price unit (``credits_per_<unit>``)."""

METADATA = ("source", "as_of", "copy", "published", "other_sources", "table_source", "from_price_file")
"""Pricing fields that say where a figure comes from: not prices (the table's hash leaves them out)."""


def published_floors(models: Mapping[str, ModelInfo]) -> dict[str, dict[str, float]]:
    """model -> rate field -> the built-in table's figure, for the price-file floor
    (``catalog.pricefile.FLOOR``): every published rate, tier and flat range's top."""
    floors: dict[str, dict[str, float]] = {}
    for name, info in models.items():
        p = info.pricing
        found: dict[str, float] = {}
        for field in (*RATE_FIELDS, "credits_per_second_no_audio"):
            if isinstance(p.get(field), int | float):
                found[field] = float(p[field])
        for table in ("by_resolution", "by_quality", "by_endpoint"):
            for tier, rate in (p.get(table) or {}).items():
                found[f"{table}.{tier}"] = float(rate)
        for quality, tiers in (p.get("by_quality_resolution") or {}).items():
            for tier, rate in tiers.items():
                found[f"by_quality_resolution.{quality}.{tier}"] = float(rate)
        if p.get("credits_range"):
            found["credits_range"] = float(max(p["credits_range"]))
        if found:
            floors[name] = found
    return floors


def _merged(table: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The table's pricing with a price file's fields on top, tier by tier: a file that sets
    ``by_resolution: {1080p: 44}`` keeps the other tiers' figures."""
    out = dict(table)
    for key, value in fields.items():
        old = out.get(key)
        out[key] = _merged(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


def load_prices(path: Path | None, *, trust: bool = False) -> tuple[dict[str, ModelInfo], dict[str, str]]:
    """The catalog with a user price file applied, and a record of which table that is.

    A price file maps model id -> pricing fields to override, e.g.
    ``{gen4.5: {credits_per_second: 14}, kling3.0_pro: {credits_per_second: 20}}``; it is
    checked by ``catalog.pricefile`` (every problem at once, with file:line:col), and a rate
    below a tenth of the published one is refused unless ``trust`` (``--trust-prices``).
    """
    models = dict(catalog())
    source = "built-in"
    if path is not None:
        floors = None if trust else published_floors(models)
        for name, fields in read_price_file(path, models, floors).items():
            old = models[name].pricing
            kept = {k: v for k, v in old.items() if k not in ("copy", "published", "as_of", "other_sources")}
            pricing = {**_merged(kept, fields), "source": f"price file {path}", "table_source": old.get("source"),
                       "from_price_file": sorted(k for k in fields if k not in METADATA)}
            models[name] = dataclasses.replace(models[name], pricing=pricing)
        source = str(path)
    # The hash is of the prices alone, so the same file named by another path is the same table.
    prices = {n: {k: v for k, v in m.pricing.items() if k not in METADATA} for n, m in sorted(models.items())}
    table = json.dumps(prices, sort_keys=True, default=str)
    return models, {"source": source, "sha256": hashlib.sha256(table.encode()).hexdigest()}
