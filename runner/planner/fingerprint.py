"""Fingerprints: what makes two generations the same, so that nothing is paid for twice.

sha256 of the canonical JSON of model, endpoint and the compiled body with every local file
replaced by ``sha256:<its content hash>``, plus the take number and ``FINGERPRINT_VERSION``.
Shot ids, tags and output paths are not part of it: renaming a shot is a move.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from runner.catalog.endpoints import Pointer
from runner.inputs.assets import resolve_local
from runner.inputs.paths import relative_to
from runner.spec import BODY_TO_FIELD, Shot, thaw
from runner.store import cache as cache_mod

FINGERPRINT_VERSION = 1
UPSTREAM = "upstream:"


def _set(body: Any, pointer: tuple[str | int, ...], value: Any) -> None:
    for key in pointer[:-1]:
        body = body[key]
    body[pointer[-1]] = value


def canonical_request(shot: Shot, spec_dir: Path, hasher: cache_mod.Hasher,
                      upstream: Mapping[tuple[str, int], str] | None = None,
                      ) -> tuple[Mapping[str, Any], dict[str, str]]:
    """The body with each local file replaced by ``sha256:<hex>`` and each other shot's output
    by ``upstream:<that take's fingerprint>`` (from ``upstream``); and path -> hash."""
    if not any(item.source in ("local", "shot") for item in shot.request.inputs):
        return shot.request.body, {}
    body = thaw(shot.request.body)
    hashes: dict[str, str] = {}
    takes = {u.pointer: (u.shot, u.take) for u in shot.upstreams}
    for item in shot.request.inputs:
        if item.source == "local":
            path = resolve_local(item.ref, spec_dir)
            digest = hasher.sha256(path)
            hashes[relative_to(spec_dir, path)] = digest
            _set(body, item.pointer, f"sha256:{digest}")
        elif item.source == "shot":
            # An upstream in a cycle or unknown never gets here: the spec refused it.
            _set(body, item.pointer, f"{UPSTREAM}{(upstream or {}).get(takes[item.pointer], 'unknown')}")
    return body, hashes


def fingerprint(model: str, endpoint: str, body: Mapping[str, Any], take: int | None = None) -> str:
    """sha256 of the canonical JSON ``{body, endpoint, model, [take], v}`` (sorted keys)."""
    return fingerprints(model, endpoint, body, [take])[0]


def fingerprints(model: str, endpoint: str, body: Mapping[str, Any], takes: list[int | None]) -> list[str]:
    """``fingerprint`` for several takes, serializing the body once."""
    head = json.dumps({"body": body, "endpoint": endpoint, "model": model}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)[:-1]
    out = []
    for take in takes:
        tail = (f',"take":{take}' if take is not None else "") + f',"v":{FINGERPRINT_VERSION}}}'
        out.append(hashlib.sha256((head + tail).encode("utf-8")).hexdigest())
    return out


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any], shot: Shot) -> list[str]:
    """Spec field names whose request values differ, e.g. ``prompt``, ``frames.first (content changed)``,
    or ``input keyart`` for another shot's output whose request changed."""
    by_pointer = {item.pointer: item.field for item in shot.request.inputs}
    upstream = {u.pointer: u.shot for u in shot.upstreams}
    out: list[str] = []
    for path, a, b in _differences(old, new, ()):
        label = _field_name(path, by_pointer) if path else "request"
        if isinstance(a, str) and isinstance(b, str) and a.startswith("sha256:") and b.startswith("sha256:"):
            label += " (content changed)"
        if path in upstream and isinstance(a, str) and a.startswith(UPSTREAM):
            label = f"input {upstream[path]}"  # the same upstream field, whose request changed
        if label not in out:
            out.append(label)
    return out


def _differences(a: Any, b: Any, path: Pointer) -> Iterator[tuple[Pointer, Any, Any]]:
    """The innermost places where two JSON values differ."""
    if a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            yield from _differences(a.get(k), b.get(k), (*path, k))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _differences(x, y, (*path, i))
    else:
        yield path, a, b


def _field_name(path: Pointer, by_pointer: Mapping[Pointer, str]) -> str:
    """The spec field a user edits to change the body value at ``path``."""
    for n in range(len(path), 0, -1):
        if path[:n] in by_pointer:
            return by_pointer[path[:n]]
    key = str(path[0])
    if key in BODY_TO_FIELD:
        return BODY_TO_FIELD[key]
    return f"params.{key}" if key != "model" else "model"
