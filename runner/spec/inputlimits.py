"""The limits of a model file (``x-runway.limits``) that JSON Schema cannot express, checked
at validate time against the compiled request and its local inputs.

- ``fields.<endpoint>.<key>``: what the SDK states only in prose, read from its docstrings by
  ``tools/gen_models.py``: ``max_items`` (reference counts), ``max_total_seconds`` (the
  combined length of reference videos or audio) and ``max_utf16`` (prompt length counted as
  the API counts it: UTF-16 code units, so a character outside the Basic Multilingual Plane,
  such as most emoji, counts twice — Python's ``len`` counts it once).
- ``references.{image,video,audio}``: reference counts of the integration guide.
- the input clip of the mode (the video of video-to-video, act_two's performance):
  ``video_seconds_max``, ``video_bytes_max``, ``video_short_side_min``, ``performance_seconds``.
- ``data_uri_bytes`` and ``url_chars`` against the model's own values (the inputs layer
  applies the API-wide ones first). ``upload_bytes`` is ``inputs.assets``' check of local
  files; ``*_url_bytes`` concern files the API fetches from a URL, which cannot be measured
  offline.

Local files are probed (PyAV reads the headers: length, size, resolution; remembered in the cache); remote inputs
cannot be measured offline and are left to the API. Every message names the limit and the
measured value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from runner.catalog.endpoints import Pointer, is_input_clip
from runner.catalog.models import ModelInfo
from runner.catalog.pricing import utf16_units
from runner.inputs.assets import resolve_local
from runner.inputs.media import MediaFacts, media_facts
from runner.spec.records import Input, Request

MB = 1024 * 1024
# Request keys that hold reference media, by the kind of the guide's ``references`` limit.
_REFERENCE_KEYS = {"image": ("references", "referenceImages"), "video": ("referenceVideos",),
                   "audio": ("referenceAudio",)}


@dataclass(frozen=True)
class LimitProblem:
    """A limit a shot breaks: the spec field to point at, and what to do."""

    field: str
    message: str


Probe = Callable[[Input], MediaFacts | None]


def limit_problems(info: ModelInfo, request: Request, origins: Mapping[Pointer, str],
                   spec_dir: Path) -> Iterator[LimitProblem]:
    """Every limit of ``info`` that ``request`` breaks; each field is reported once."""
    subject = f"{info.name} {request.mode} mode"
    probed: dict[str, MediaFacts | None] = {}

    def probe(item: Input) -> MediaFacts | None:
        if item.source != "local":
            return None
        if item.ref not in probed:
            path = resolve_local(item.ref, spec_dir)
            try:
                st = path.stat()
            except OSError:
                return None  # reported by the input checks
            probed[item.ref] = _probe(str(path), st.st_size, st.st_mtime_ns)
        return probed[item.ref]

    seen: set[str] = set()
    for problem in (*_field_limits(info, request, origins, subject, probe),
                    *_input_clip_limits(info, request, subject, probe),
                    *_reference_limits(info, request, subject)):
        if problem.field not in seen:
            seen.add(problem.field)
            yield problem


@lru_cache(maxsize=1024)
def _probe(path: str, size: int, mtime_ns: int) -> MediaFacts | None:
    """One probe per file version per process (the variants of a matrix shot share a clip), and
    one per file version on this machine (``media_facts`` remembers it in the cache)."""
    return media_facts(Path(path), size, mtime_ns)


def _origin(origins: Mapping[Pointer, str], key: str) -> str:
    return origins.get((key,), key)


def _item_limits(info: ModelInfo, request: Request) -> dict[str, int]:
    """The most items each list key of the body may hold (prose and guide limits, the lower)."""
    fields = (info.limits.get("fields") or {}).get(request.endpoint, {})
    out = {key: int(rules["max_items"]) for key, rules in fields.items() if "max_items" in rules}
    for kind, limit in (info.limits.get("references") or {}).items():
        keys = _REFERENCE_KEYS.get(kind, ())
        if kind == "image" and _unpositioned_images(request.body):
            keys = ("promptImage",)  # the SDK's reference-image form (see compile.image_references)
        for key in keys:
            out[key] = min(int(limit), out.get(key, int(limit)))
    return out


def _unpositioned_images(body: Mapping[str, Any]) -> bool:
    items = body.get("promptImage")
    return isinstance(items, list | tuple) and bool(items) and all(
        isinstance(i, Mapping) and "position" not in i for i in items)


def _field_limits(info: ModelInfo, request: Request, origins: Mapping[Pointer, str], subject: str,
                  probe: Probe) -> Iterator[LimitProblem]:
    body = request.body
    for key, limit in _item_limits(info, request).items():
        items = body.get(key)
        if isinstance(items, list | tuple) and len(items) > limit:
            what = "reference images" if key in ("promptImage", "references", "referenceImages") else f"{key} items"
            yield LimitProblem(_origin(origins, key), f"{len(items)} {what}; {subject} takes at most {limit}: "
                               "remove some")
    fields = (info.limits.get("fields") or {}).get(request.endpoint, {})
    for key, rules in fields.items():
        if "max_utf16" in rules and isinstance(body.get(key), str):
            yield from _prompt_length(body[key], int(rules["max_utf16"]), _origin(origins, key), subject)
        if "max_total_seconds" in rules:
            yield from _total_seconds(request, key, int(rules["max_total_seconds"]), _origin(origins, key),
                                      subject, probe)


def _prompt_length(text: str, limit: int, field: str, subject: str) -> Iterator[LimitProblem]:
    units = utf16_units(text)
    if units > limit >= len(text):  # over by code points is the schema's message already
        yield LimitProblem(field, f"{units:,} characters as the API counts them (UTF-16 code units: emoji and "
                           f"other characters outside the Basic Multilingual Plane count twice); {subject} "
                           f"allows at most {limit:,}: shorten it")


def _total_seconds(request: Request, key: str, limit: int, field: str, subject: str,
                   probe: Probe) -> Iterator[LimitProblem]:
    clips = [i for i in request.inputs if i.pointer and i.pointer[0] == key]
    lengths = [facts.seconds for facts in map(probe, clips) if facts is not None and facts.seconds is not None]
    total = sum(lengths)
    if total > limit:
        kind = {"referenceVideos": "reference videos", "referenceAudio": "reference audio clips"}.get(key, key)
        yield LimitProblem(field, f"the {kind} are {total:.1f} s long together; {subject} allows at most "
                           f"{limit} s combined: trim or drop some")


def _input_clip_limits(info: ModelInfo, request: Request, subject: str, probe: Probe) -> Iterator[LimitProblem]:
    limits = info.limits
    low, high = limits.get("performance_seconds") or (None, limits.get("video_seconds_max"))
    max_bytes, min_side = limits.get("video_bytes_max"), limits.get("video_short_side_min")
    for item in request.inputs:
        if not is_input_clip(request.endpoint, item.pointer):
            continue
        facts = probe(item)
        if facts is None:
            continue
        name = repr(item.ref)
        if facts.seconds is not None and high is not None and facts.seconds > high:
            yield LimitProblem(item.field, f"{name} is {facts.seconds:.1f} s long; {subject} takes a clip of at most "
                               f"{high} s: trim it")
        elif facts.seconds is not None and low is not None and facts.seconds < low:
            yield LimitProblem(item.field, f"{name} is {facts.seconds:.1f} s long; {subject} takes a clip of at "
                               f"least {low} s")
        elif max_bytes is not None and facts.bytes > max_bytes:
            yield LimitProblem(item.field, f"{name} is {facts.bytes / MB:.1f} MB; {subject} takes a clip of at most "
                               f"{max_bytes // MB} MB: compress or trim it")
        elif min_side is not None and facts.width and min(facts.width, facts.height) < min_side:
            yield LimitProblem(item.field, f"{name} is {facts.width}x{facts.height}; {subject} takes a clip of at "
                               f"least {min_side}p (its shorter side at least {min_side} pixels)")


def _reference_limits(info: ModelInfo, request: Request, subject: str) -> Iterator[LimitProblem]:
    """The model's own data-URI size (``data_uri_bytes``, per endpoint from the docstrings'
    "up to 5MB", else the model-wide one) and URL length (``url_chars``). The inputs layer
    already applies the API-wide 5 MB and 2048 characters; a model file may say less."""
    fields = (info.limits.get("fields") or {}).get(request.endpoint, {})
    max_data = (fields.get("*") or {}).get("data_uri_bytes", info.limits.get("data_uri_bytes"))
    max_url = info.limits.get("url_chars")
    for item in request.inputs:
        if item.source == "data" and max_data is not None:
            size = len(item.ref.partition(",")[2]) * 3 // 4  # base64: 4 characters hold 3 bytes
            if size > max_data:
                yield LimitProblem(item.field, f"the data URI holds about {_size(size)}; {subject} takes data URIs "
                                   f"of at most {_size(max_data)}: use a local file (it is uploaded)")
        elif item.source == "url" and max_url is not None and len(item.ref) > max_url:
            yield LimitProblem(item.field, f"the URL is {len(item.ref):,} characters; {subject} takes at most "
                               f"{max_url:,}")


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.1f} KB"
