"""Write ``schema/models/<model>.json`` from the installed runwayml SDK plus our overlay.

Run after upgrading ``runwayml``:  ``python tools/gen_models.py``

Each file holds:
- ``$defs/<endpoint>``: the exact request body of that endpoint for this model, converted
  from the SDK's request types (never edited by hand; the drift test regenerates it and
  compares);
- ``$defs/<mode>``: the body schema for one spec mode: the endpoint body plus the rules
  that the SDK states only in prose (durations, keyframe rules), from OVERLAY below;
- ``x-runway``: endpoint per mode, prices with their source, input limits, status.

Legacy models that the SDK no longer knows (gen4_aleph, veo3) are written from LEGACY:
they keep validating so that old specs still plan, and ``plan`` points to the replacement.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from media_models import MEDIA_MODES, MEDIA_OVERLAY, ONE_FILE_PER_TAKE, PRICE_UNITS, media_modes
from price_table import SDK_AS_OF, SDK_DOC, pricing_for
from sdk_schemas import sdk_bodies, sdk_version

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "schema" / "models"

MB = 1024 * 1024

# Surcharges in credits per second by outputFormat, as the SDK documents them on
# gen4.5 and aleph2. "over_4mp" applies to the 10-bit and deeper profiles when the
# output is larger than 4 megapixels.
TEN_BIT = [
    "hdr10",
    "hlg",
    "sdr_rec709_10bit",
    "hdr_pq_12bit_master",
    "hdr_prores",
    "hdr_png_sequence",
    "hdr_exr_sequence",
    "hdr_exr_acescg_sequence_1_3",
    "hdr_exr_acescg_sequence_2_0",
]


def _surcharges(formats: list[str]) -> dict[str, Any]:
    per: dict[str, int] = {}
    for f in formats:
        if f in ("prores", "png_sequence"):
            per[f] = 5
        elif f in TEN_BIT:
            per[f] = 20
    over = {f: 40 for f in formats if f in TEN_BIT}
    return {"per_second": per, "over_4mp_per_second": over, "source": SDK_DOC, "as_of": SDK_AS_OF}


LAST_NEEDS_FIRST = {
    "if": {
        "required": ["promptImage"],
        "properties": {
            "promptImage": {
                "type": "array",
                "contains": {"required": ["position"], "properties": {"position": {"const": "last"}}},
            }
        },
    },
    "then": {
        "properties": {
            "promptImage": {
                "contains": {"required": ["position"], "properties": {"position": {"const": "first"}}},
                "x-error": "a last frame needs a first frame: add frames.first",
            }
        }
    },
}

KEYFRAMES_OR_REFERENCES = {
    "properties": {
        "promptImage": {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"required": ["position"]}},
                {"type": "array", "items": {"not": {"required": ["position"]}}},
            ],
            "x-error": "keyframes (frames.first/last) and reference images cannot be mixed",
        }
    }
}


def _duration(lo: int, hi: int, auto: bool = False) -> dict[str, Any]:
    rule: dict[str, Any] = {"type": "integer", "minimum": lo, "maximum": hi}
    if auto:
        rule = {
            "anyOf": [rule, {"const": "auto"}],
            "x-error": f"must be {lo}–{hi} seconds or auto",
        }
    return {"properties": {"duration": rule}}


SEEDANCE = {
    "all": [_duration(4, 15, auto=True)],
    "image": [KEYFRAMES_OR_REFERENCES],
    "keyframes": [KEYFRAMES_OR_REFERENCES],
}

# Per model: request defaults that change the price, extra rules per mode ("all" for every
# mode), input limits. Prices and their sources are in tools/price_table.py.
OVERLAY: dict[str, dict[str, Any]] = {
    "gen4.5": {"defaults": {}},
    "gen4_turbo": {
        "defaults": {"duration": 10},
        "rules": {"all": [_duration(2, 10)]},
    },
    "seedance2": {
        "defaults": {"audio": True, "duration": 5},
        "auto_duration": 15,
        "rules": SEEDANCE,
        "limits": {"references": {"image": 9, "video": 3, "audio": 3}, "video_seconds_max": 15},
    },
    "veo3.1": {
        "defaults": {"audio": True, "duration": 8},
        "rules": {"image": [LAST_NEEDS_FIRST], "keyframes": [LAST_NEEDS_FIRST]},
    },
    "veo3.1_fast": {
        "defaults": {"audio": True, "duration": 8},
        "rules": {"image": [LAST_NEEDS_FIRST], "keyframes": [LAST_NEEDS_FIRST]},
    },
    "act_two": {
        "defaults": {},
        "limits": {"performance_seconds": [3, 30]},
    },
    "aleph2": {"defaults": {}},
}

for _name, _max in (("seedance2_fast", 15), ("seedance2_mini", 15), ("seedance2_5", 30)):
    OVERLAY[_name] = {"defaults": {"audio": True, "duration": 5}, "auto_duration": _max}

ONE_IMAGE_PER_TAKE = {
    "properties": {
        "outputCount": {"const": 1, "x-error": "a take is one image: leave outputCount out and use takes: N"},
    }
}
FORMAT_REQUIRED = {
    "required": ["outputFormat"],
    "x-error": "this model's default output is WebP: set output_format (png or webp) so the file is named for it",
}
NOT_RASTER = {
    "properties": {
        "model": {"not": {}, "x-error": "recraft_v4_1_vector makes SVG files, which runner cannot verify yet; "
                                         "choose a raster image model (runner models)"},
    }
}
IMAGE_OVERLAY: dict[str, dict[str, Any]] = {
    "recraft_v4_1_flash": {"defaults": {}, "rules": {"all": [FORMAT_REQUIRED]}},
    "recraft_v4_1_vector": {"defaults": {}, "rules": {"all": [NOT_RASTER]}},
}
OVERLAY.update(IMAGE_OVERLAY)

OVERLAY.update(MEDIA_OVERLAY)


# The SDK states the tag rule only in prose: "3-16 characters, start with a letter, and use
# only letters, digits, and underscores".
TAG_RULE = {
    "properties": {
        "referenceImages": {"items": {"properties": {"tag": {
            "pattern": "^[A-Za-z][A-Za-z0-9_]{2,15}$",
            "x-error": "a tag is 3-16 letters, digits or underscores, starting with a letter (no hyphens)",
        }}}},
    }
}


def _image_rules(bodies: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Rules every image mode gets: one image per take where the model could make several, and
    the SDK's prose rule for reference tags."""
    tti = bodies.get("text_to_image")
    if not tti:
        return []
    rules = [ONE_IMAGE_PER_TAKE] if "outputCount" in tti["properties"] else []
    items = tti["properties"].get("referenceImages", {}).get("items", {})
    if "tag" in items.get("properties", {}):
        rules.append(TAG_RULE)
    return rules


COMMON_LIMITS = {
    "image_url_bytes": 16 * MB,
    "data_uri_bytes": 5 * MB,
    "video_url_bytes": 32 * MB,
    "audio_url_bytes": 32 * MB,
    "upload_bytes": 200 * MB,
    "url_chars": 2048,
}


def _position_values(body: dict[str, Any]) -> list[str]:
    prompt_image = body.get("properties", {}).get("promptImage", {})
    for branch in prompt_image.get("anyOf", []):
        pos = branch.get("items", {}).get("properties", {}).get("position", {})
        if pos:
            return list(pos.get("enum", [pos.get("const")]))
    return []


def modes_for(bodies: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Which spec modes a model supports, and the endpoint each one compiles to."""
    modes: dict[str, str] = {}
    ttv = bodies.get("text_to_video")
    if ttv:
        props = ttv["properties"]
        if "promptText" in props:
            modes["text"] = "text_to_video"
        if {"references", "referenceVideos", "referenceAudio"} & set(props):
            modes["reference"] = "text_to_video"
    itv = bodies.get("image_to_video")
    if itv:
        modes["image"] = "image_to_video"
        positions = _position_values(itv)
        items = itv["properties"]["promptImage"].get("anyOf", [{}])[-1].get("items")
        if "last" in positions or items == {}:
            modes["keyframes"] = "image_to_video"
    if "video_to_video" in bodies:
        modes["video"] = "video_to_video"
    if "character_performance" in bodies:
        modes["performance"] = "character_performance"
    modes.update(media_modes(bodies))
    tti = bodies.get("text_to_image")
    if tti:
        # An image from a prompt (text), or from a prompt plus reference images (reference);
        # a model that requires reference images has only the reference mode.
        if "referenceImages" not in tti.get("required", []):
            modes["text"] = "text_to_image"
        if "referenceImages" in tti["properties"]:
            modes["reference"] = "text_to_image"
    return modes


def model_file(name: str, bodies: dict[str, dict[str, Any]], *, status: str = "current",
               replacement: str | None = None, source: str | None = None) -> dict[str, Any]:
    over = OVERLAY.get(name, {"defaults": {}})
    modes = modes_for(bodies)
    defs: dict[str, Any] = {ep: body for ep, body in sorted(bodies.items())}
    rules = over.get("rules", {})
    for mode, endpoint in modes.items():
        extra = list(rules.get("all", [])) + list(rules.get(mode, []))
        if endpoint == "text_to_image":
            extra += _image_rules(bodies)
        if "numVariants" in bodies[endpoint]["properties"]:
            extra.append(ONE_FILE_PER_TAKE)
        defs[mode] = {"allOf": [{"$ref": f"#/$defs/{endpoint}"}, *extra]}
    formats: list[str] = []
    for endpoint, body in bodies.items():
        if endpoint in MEDIA_MODES:  # ruby bills every HDR profile alike; audio formats cost nothing extra
            continue
        fmt = body["properties"].get("outputFormat", {})
        formats += [f for f in fmt.get("enum", []) if f not in formats]
    units = sorted({PRICE_UNITS.get(ep, "second") for ep in modes.values()},
                   key=["second", "image", "character"].index)
    extra = dict(over.get("price_extra", {}))
    if "auto_duration" in over:
        extra["auto_duration_billed_seconds"] = over["auto_duration"]
    pricing = pricing_for(name, units, extra)
    if formats:
        pricing["output_format_surcharge"] = _surcharges(formats)
    meta: dict[str, Any] = {
        "model": name,
        "status": status,
        "replacement": replacement,
        "bodies_source": source or f"runwayml {sdk_version()}",
        "modes": {m: {"endpoint": ep} for m, ep in modes.items()},
        "request_defaults": over.get("defaults", {}),
        "pricing": pricing,
        "limits": limits_for(name, bodies, over),
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://runner.invalid/schema/models/{name}.json",
        "title": name,
        "description": f"Runway model {name}: request bodies per endpoint and per spec mode.",
        "x-runway": meta,
        "$defs": defs,
    }


# --- limits the SDK states only in prose ------------------------------------------------
# Read from the request types' docstrings (kept in each body's "description") by the
# patterns below, per endpoint and body key; PROSE_FALLBACK adds what no pattern can read.
# runner/spec/inputlimits.py enforces them at validate time.
_COUNT = re.compile(r"\bup to (\d+)\b(?!\s*(?:MB|characters|seconds|,\d))", re.IGNORECASE)
_TOTAL_SECONDS = re.compile(r"(?:must not exceed|together at most) (\d+) seconds", re.IGNORECASE)
_CHARS = re.compile(r"\bup to ([\d,]+) characters", re.IGNORECASE)
_DATA_URI_MB = re.compile(r"base64,\.\.\.`, up to (\d+)MB\)")
PROSE_FALLBACK: dict[str, dict[str, dict[str, dict[str, int]]]] = {}


def _is_list(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "array" or any(b.get("type") == "array" for b in prop.get("anyOf", []))


def _data_uri_mb(body: dict[str, Any]) -> int | None:
    """The data-URI size the docstrings state for this endpoint's media fields (the smallest)."""
    found = [int(m) for m in _DATA_URI_MB.findall(json.dumps(body).replace("\\n", " "))]
    return min(found) if found else None


def prose_limits(name: str, bodies: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, int]]]:
    """Per endpoint and body key: ``max_items`` ("up to 9"), ``max_total_seconds`` (combined
    duration "must not exceed 15 seconds") and ``max_utf16`` (prompt "up to 3500 characters",
    which the API counts in UTF-16 code units), plus ``data_uri_bytes`` per endpoint."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for endpoint, body in sorted(bodies.items()):
        found: dict[str, dict[str, int]] = {}
        for key, prop in body.get("properties", {}).items():
            text = " ".join(str(prop.get("description", "")).split())
            rules: dict[str, int] = {}
            if key == "promptText" and (m := _CHARS.search(text)):
                rules["max_utf16"] = int(m.group(1).replace(",", ""))
            if _is_list(prop) and (m := _COUNT.search(text)):
                rules["max_items"] = int(m.group(1))
            if _is_list(prop) and (m := _TOTAL_SECONDS.search(text)):
                rules["max_total_seconds"] = int(m.group(1))
            if rules:
                found[key] = rules
        mb = _data_uri_mb(body)
        if mb is not None:
            found["*"] = {"data_uri_bytes": mb * MB}
        for key, rules in PROSE_FALLBACK.get(name, {}).get(endpoint, {}).items():
            found[key] = {**found.get(key, {}), **rules}
        if found:
            out[endpoint] = found
    return out


# Input-clip limits of the integration guide that no docstring states: seedance2
# video-to-video takes a clip of at most 15 s, 32 MB, and at least 720p.
INPUT_CLIP_LIMITS: dict[str, dict[str, int]] = {
    "seedance2": {"video_bytes_max": 32 * MB, "video_short_side_min": 720},
}


def limits_for(name: str, bodies: dict[str, dict[str, Any]], over: dict[str, Any]) -> dict[str, Any]:
    """A model file's ``x-runway.limits``: the common ones, the overlay's, the guide's input-clip
    limits and the SDK's prose limits per endpoint (``fields``)."""
    limits: dict[str, Any] = {**COMMON_LIMITS, **over.get("limits", {}), **INPUT_CLIP_LIMITS.get(name, {})}
    fields = prose_limits(name, bodies)
    if fields:
        limits["fields"] = fields
    return limits


def _legacy(bodies: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """gen4_aleph and veo3 are gone from the SDK; keep them from their successors' shape."""
    out: dict[str, dict[str, Any]] = {}

    aleph = copy.deepcopy(bodies["aleph2"]["video_to_video"])
    aleph["properties"]["model"] = {"const": "gen4_aleph"}
    aleph["properties"]["ratio"] = {
        "enum": ["1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672", "848:480", "640:480"]
    }
    for key in ("outputFormat", "proresProfile", "targetAspectRatio", "keyframes"):
        aleph["properties"].pop(key, None)
    OVERLAY["gen4_aleph"] = {"defaults": {}}
    out["gen4_aleph"] = model_file(
        "gen4_aleph", {"video_to_video": aleph}, status="legacy", replacement="aleph2",
        source="hand-written from the integration guide (not in the SDK)",
    )

    veo: dict[str, dict[str, Any]] = {}
    for ep in ("text_to_video", "image_to_video"):
        body = copy.deepcopy(bodies["veo3.1"][ep])
        body["properties"]["model"] = {"const": "veo3"}
        body["properties"]["duration"] = {"description": "veo3 generates 8 seconds only.", "const": 8}
        body["properties"]["ratio"]["enum"] = ["1280:720", "720:1280"]
        body["properties"].pop("audio", None)
        if ep == "image_to_video":
            body["properties"]["promptImage"] = {"type": "string"}
        veo[ep] = body
    OVERLAY["veo3"] = {"defaults": {"duration": 8}}
    out["veo3"] = model_file(
        "veo3", veo, status="legacy", replacement="veo3.1",
        source="hand-written from the integration guide (not in the SDK)",
    )
    return out


def build() -> dict[str, dict[str, Any]]:
    bodies = sdk_bodies()
    files = {name: model_file(name, eps) for name, eps in sorted(bodies.items())}
    files.update(_legacy(bodies))
    return files


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    files = build()
    for old in OUT.glob("*.json"):
        if old.stem not in files:
            old.unlink()
    for name, doc in files.items():
        path = OUT / f"{name}.json"
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(files)} model files to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
