"""The endpoint registry covers every media field the API bodies have.

``runner.catalog.endpoints.ENDPOINTS`` lists, per endpoint, the body fields that hold
media; only those go through the URL policy, the local-file checks and the upload path.
A body field that holds a URI but has no ``MediaSlot`` would let a spec (through
``params``) send any URL to the API unchecked. So this test reads every endpoint body of
every model file (the drift test keeps those equal to the installed SDK's request types)
and fails when a URI-holding field is not covered.

A body field holds a URI when it is a string and one of these is true:

- its ``format`` is ``uri`` / ``uri-reference`` / ``iri`` / ``iri-reference``;
- its name says so: ``uri`` / ``url``, a camelCase ``...Uri`` / ``...Url``, or
  ``promptImage`` / ``promptVideo`` / ``promptAudio``;
- its description (or, for a list item or an ``anyOf`` branch, its property's description)
  says ``URI``, ``URL`` or ``HTTPS`` as a word, in capitals as the API docs write them (a
  lower-case ``https://`` link in a description is not a media field);
- it is the string alternative of a "one or many" field whose list items hold a URI
  (``promptImage: "..." | [{uri, position}]``, klingO3's ``references``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from runner.catalog.endpoints import ENDPOINTS, MediaRef, media_refs
from runner.catalog.models import MODES, catalog, schema_dir
from runner.spec.compile import compile_request

MODEL_FILES = sorted((schema_dir() / "models").glob("*.json"))
URI_FORMATS = {"uri", "uri-reference", "iri", "iri-reference"}
URI_NAME = re.compile(r"^(uri|url)$|[a-z0-9](Uri|URI|Url|URL)$|^prompt(Image|Video|Audio)$")
URI_WORDS = re.compile(r"\b(URIs?|URLs?|HTTPS)\b")
ALTERNATIVES = ("anyOf", "oneOf", "allOf")

Path_ = tuple[str, ...]


def _is_string(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    if isinstance(kind, list):
        return "string" in kind
    return kind == "string" or (kind is None and node.get("format") in URI_FORMATS)


def _holds_uri(node: dict[str, Any], name: str | None, description: str) -> bool:
    return _is_string(node) and (
        node.get("format") in URI_FORMATS
        or bool(name and URI_NAME.search(name))
        or bool(URI_WORDS.search(description))
    )


def _one_or_many(node: dict[str, Any], defs: dict[str, Any]) -> bool:
    """A field that takes one string or a list whose items hold a URI: the string is a URI too."""
    branches = [b for key in ("anyOf", "oneOf") for b in node.get(key, []) if isinstance(b, dict)]
    has_string = any(_is_string(b) for b in branches)
    lists = [b for b in branches if b.get("type") == "array" and isinstance(b.get("items"), dict)]
    return has_string and any(uri_paths(b["items"], defs) for b in lists)


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**defs[ref.rsplit("/", 1)[1]], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _walk(node: dict[str, Any], defs: dict[str, Any], path: Path_, name: str | None,
          description: str, one_or_many: bool) -> Iterator[Path_]:
    node = _resolve(node, defs)
    description = str(node.get("description", description))
    one_or_many = one_or_many or _one_or_many(node, defs)
    if _holds_uri(node, name, description) or (one_or_many and _is_string(node)):
        yield path
    for key in ALTERNATIVES:
        for branch in node.get(key, []):
            yield from _walk(branch, defs, path, name, description, one_or_many)
    for key, sub in (node.get("properties") or {}).items():
        yield from _walk(sub, defs, (*path, key), key, "", False)
    if isinstance(node.get("items"), dict):  # a list of strings inherits its field's name and words
        yield from _walk(node["items"], defs, (*path, "*"), name, description, False)
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], defs, (*path, "<any key>"), None, "", False)


def uri_paths(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> set[Path_]:
    """Every body path in ``schema`` that holds a URI (``*`` for list items)."""
    return set(_walk(schema, defs or {}, (), None, "", False))


def endpoint_bodies() -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(model file, endpoint, body schema, $defs) for every endpoint body of every model file."""
    for path in MODEL_FILES:
        doc = json.loads(path.read_text(encoding="utf-8"))
        defs = doc["$defs"]
        for name, body in defs.items():
            if name not in MODES:
                yield path.name, name, body, defs


BODIES = list(endpoint_bodies())


def test_the_walk_finds_media_fields_in_every_shape() -> None:
    schema = {"type": "object", "properties": {
        "promptImage": {"anyOf": [{"type": "string"},
                                  {"type": "array", "items": {"type": "object", "properties": {
                                      "uri": {"type": "string"}, "position": {"enum": ["first"]}}}}]},
        "videoUri": {"type": "string"},
        "link": {"type": "string", "format": "uri"},
        "sourceClip": {"type": "string", "description": "A HTTPS URL of a video."},
        "styleImages": {"type": "array", "description": "Runway upload URIs of style images.",
                        "items": {"type": "string"}},
        "refs": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"$ref": "#/$defs/Ref"}}]},
        "promptText": {"type": "string", "description": "See https://docs.example.com for tips."},
        "draftTaskId": {"type": "string", "description": "The ID of a succeeded draft task."},
        "character": {"type": "object", "properties": {"type": {"const": "image"}, "uri": {"type": "string"}}},
    }}
    defs = {"Ref": {"type": "object", "properties": {"uri": {"type": "string"}}}}
    assert uri_paths(schema, defs) == {
        ("promptImage",), ("promptImage", "*", "uri"), ("videoUri",), ("link",), ("sourceClip",),
        ("styleImages", "*"), ("refs",), ("refs", "*", "uri"), ("character", "uri")}


def test_every_endpoint_body_is_in_the_registry() -> None:
    unknown = sorted({(model, endpoint) for model, endpoint, _, _ in BODIES if endpoint not in ENDPOINTS})
    assert not unknown, f"endpoint bodies without an entry in catalog/endpoints.py: {unknown}"


def test_every_endpoint_a_mode_uses_is_in_the_registry() -> None:
    for name, info in catalog().items():
        for mode, endpoint in info.modes.items():
            assert endpoint in ENDPOINTS, f"{name} {mode} mode uses {endpoint}, which the registry does not know"
            assert endpoint in info.document["$defs"], f"{name} {mode} mode: no body for {endpoint}"


@pytest.mark.parametrize(("model", "endpoint", "body", "defs"), BODIES,
                         ids=[f"{m.removesuffix('.json')}-{e}" for m, e, _, _ in BODIES])
def test_every_media_field_is_a_registry_slot(model: str, endpoint: str, body: dict[str, Any],
                                              defs: dict[str, Any]) -> None:
    slots = {slot.pattern for slot in ENDPOINTS[endpoint].media}
    found = uri_paths(body, defs)
    missing = sorted("/".join(p) for p in found - slots)
    assert not missing, (f"{model} {endpoint}: body fields holding a URI with no MediaSlot in "
                         f"catalog/endpoints.py (they would bypass the URL policy): {missing}")


def test_some_media_fields_are_found() -> None:
    """The walk is not vacuous: the fields we know of are found where they are."""
    found = {endpoint: set() for endpoint in ENDPOINTS}
    for _, endpoint, body, defs in BODIES:
        found[endpoint] |= uri_paths(body, defs)
    assert ("promptImage",) in found["image_to_video"]
    assert ("promptImage", "*", "uri") in found["image_to_video"]
    assert ("references", "*", "uri") in found["text_to_video"]
    assert ("keyframes", "*", "uri") in found["video_to_video"]
    assert {("character", "uri"), ("reference", "uri")} <= found["character_performance"]


def refs(endpoint: str, body: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str, str]]:
    return [(r.pointer, r.ref, r.kind) for r in media_refs(endpoint, body)]


MEDIA_REF_CASES = [
    ("string-prompt-image", "image_to_video", {"promptImage": "a.png", "promptText": "x.png"},
     [(("promptImage",), "a.png", "image")]),
    ("keyframe-list", "image_to_video",
     {"promptImage": [{"uri": "first.png", "position": "first"}, {"uri": "last.png", "position": "last"}]},
     [(("promptImage", 0, "uri"), "first.png", "image"), (("promptImage", 1, "uri"), "last.png", "image")]),
    ("references-of-three-kinds", "text_to_video",
     {"references": [{"uri": "r1.png"}, {"uri": "r2.png"}], "referenceVideos": [{"type": "video", "uri": "v.mp4"}],
      "referenceAudio": [{"type": "audio", "uri": "a.mp3"}]},
     [(("references", 0, "uri"), "r1.png", "image"), (("references", 1, "uri"), "r2.png", "image"),
      (("referenceVideos", 0, "uri"), "v.mp4", "video"), (("referenceAudio", 0, "uri"), "a.mp3", "audio")]),
    ("one-reference-as-a-string", "image_to_video", {"references": "r.png"}, [(("references",), "r.png", "image")]),
    ("character-image", "character_performance",
     {"character": {"type": "image", "uri": "hero.png"}, "reference": {"type": "video", "uri": "actor.mp4"}},
     [(("character", "uri"), "hero.png", "image"), (("reference", "uri"), "actor.mp4", "video")]),
    ("character-video", "character_performance",
     {"character": {"type": "video", "uri": "hero.mp4"}, "reference": {"type": "video", "uri": "actor.mp4"}},
     [(("character", "uri"), "hero.mp4", "video"), (("reference", "uri"), "actor.mp4", "video")]),
    ("character-of-unknown-type", "character_performance", {"character": {"type": "text", "uri": "x"}}, []),
    ("aleph2-keyframes", "video_to_video",
     {"model": "aleph2", "videoUri": "clip.mp4",
      "keyframes": [{"seconds": 0.5, "uri": "k1.png"}, {"at": 1.0, "uri": "https://cdn.example.com/k2.png"}]},
     [(("videoUri",), "clip.mp4", "video"), (("keyframes", 0, "uri"), "k1.png", "image"),
      (("keyframes", 1, "uri"), "https://cdn.example.com/k2.png", "image")]),
    ("prompt-video", "video_to_video", {"promptVideo": "clip.mp4"}, [(("promptVideo",), "clip.mp4", "video")]),
    ("values-that-are-not-strings", "image_to_video",
     {"promptImage": [{"uri": 5}, "bare.png"], "references": [{"url": "r.png"}]}, []),
]


@pytest.mark.parametrize(("endpoint", "body", "expected"), [c[1:] for c in MEDIA_REF_CASES],
                         ids=[c[0] for c in MEDIA_REF_CASES])
def test_media_refs_finds_exactly_the_media(endpoint: str, body: dict[str, Any], expected: list[Any]) -> None:
    assert refs(endpoint, body) == expected


def test_media_refs_are_records() -> None:
    assert media_refs("image_to_video", {"promptImage": "a.png"}) == [MediaRef(("promptImage",), "a.png", "image")]


def test_media_in_params_becomes_an_input_named_by_its_spec_field() -> None:
    info = catalog()["aleph2"]
    fields = {"video": "clip.mp4", "prompt": "snow",
              "params": {"keyframes": [{"seconds": 0.5, "uri": "assets/k.png"}]}}
    request, _ = compile_request(info, "video", fields)
    assert [(i.pointer, i.ref, i.kind, i.field, i.source) for i in request.inputs] == [
        (("videoUri",), "clip.mp4", "video", "video", "local"),
        (("keyframes", 0, "uri"), "assets/k.png", "image", "params.keyframes[0].uri", "local"),
    ]


def test_every_registry_entry_has_bodies() -> None:
    assert {endpoint for _, endpoint, _, _ in BODIES} == set(ENDPOINTS)


def _sdk_bodies() -> list[tuple[str, str, dict[str, Any]]]:
    from sdk_schemas import sdk_bodies

    return [(model, endpoint, body) for model, bodies in sorted(sdk_bodies().items())
            for endpoint, body in sorted(bodies.items())]


SDK_BODIES = _sdk_bodies()


@pytest.mark.parametrize(("model", "endpoint", "body"), SDK_BODIES, ids=[f"{m}-{e}" for m, e, _ in SDK_BODIES])
def test_every_media_field_of_the_installed_sdk_is_a_registry_slot(model: str, endpoint: str,
                                                                   body: dict[str, Any]) -> None:
    """Straight from the installed runwayml SDK's request types (not through our model files):
    a new SDK field holding a URI, in a named field or nested in a list or object that a
    spec can only reach through ``params``, fails here until the registry lists it."""
    assert endpoint in ENDPOINTS, f"the SDK has a {endpoint} endpoint the registry does not know"
    slots = {slot.pattern for slot in ENDPOINTS[endpoint].media}
    missing = sorted("/".join(p) for p in uri_paths(body) - slots)
    assert not missing, f"{model} {endpoint}: SDK fields holding a URI with no MediaSlot: {missing}"


def _body_at(path: tuple[str, ...], value: str) -> Any:
    """The smallest body holding ``value`` at ``path`` (``*`` is a one-item list)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    inner = _body_at(rest, value)
    if head == "*":
        return [inner]
    return {head: inner, "type": "image"} if head == "uri" else {head: inner}


@pytest.mark.parametrize(("model", "endpoint", "body"), SDK_BODIES, ids=[f"{m}-{e}" for m, e, _ in SDK_BODIES])
def test_media_refs_finds_a_uri_in_every_sdk_media_field(model: str, endpoint: str, body: dict[str, Any]) -> None:
    """Every URI-holding field of the SDK body, filled with a metadata-service URL, is found
    by ``media_refs`` — so the URL policy, ``allowed_hosts`` and the upload path see it."""
    url = "https://169.254.169.254/latest/meta-data/"
    for path in uri_paths(body):
        found = media_refs(endpoint, _body_at(path, url))
        assert [r.ref for r in found] == [url], f"{model} {endpoint}: {'/'.join(path)} holds a URI media_refs misses"
