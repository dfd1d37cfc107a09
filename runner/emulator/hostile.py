"""Hostile-API mode: answers a broken proxy or a compromised API could give, on demand.

Per task, by a marker in the create request's ``promptText``:

- ``[[create:NAME]]`` — the create answer is replaced by ``CREATE_ANSWERS[NAME]`` (the task
  is made and billed all the same): a task id that is not one (``id-traversal`` is
  ``../organization``), or a bad ``estimatedCost``.
- ``[[task:NAME]]`` — every read of the task is changed by ``TASK_ANSWERS[NAME]``: a status
  the API does not have, a task that never finishes, a cost that is not a number, an output
  URL with a CRLF in it, …

For the whole emulator, by setting: ``broken_organization`` / ``broken_upload`` /
``broken_usage`` name an entry of ``ORGANIZATION_ANSWERS`` / ``UPLOAD_ANSWERS`` /
``USAGE_ANSWERS``. A ``deep`` answer nests a field 100,000 levels down (``Raw`` text: no
encoder writes it); ``reply`` turns any answer into its HTTP response.

All of it (and the older ``[[task-html]]``, ``[[task-weird]]`` markers) is in force only
while the setting ``hostile`` is true (the default). Set it false — ``POST
/_emulator/config {"hostile": false}`` — and the same tasks answer as a healthy API would:
that is how a test checks that nothing paid was lost once the API behaves again.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response

Doc = dict[str, Any]
DEEP = 100_000
"""Levels of nesting of the ``deep`` answers: far past any parser's recursion limit."""


@dataclass(frozen=True)
class Raw:
    """An answer sent as this JSON text, which no encoder would write from a document."""

    text: str


def _deep(doc: Any) -> Raw:
    """The answer with a field nested ``DEEP`` levels down (valid JSON, 200 KB)."""
    import json

    body = json.dumps(doc) if isinstance(doc, dict) else "{}"
    return Raw(body[:-1] + (", " if len(body) > 2 else "") + '"nested": ' + "[" * DEEP + "]" * DEEP + "}")


def reply(value: Any, status_code: int = 200) -> Response:
    """The HTTP answer of a (possibly hostile) answer document."""
    if isinstance(value, Raw):
        return Response(value.text, status_code=status_code, media_type="application/json")
    return JSONResponse(value, status_code=status_code)
CRLF = "\r\nX-Injected: 1"
OTHER_TASK = "00000000-0000-4000-8000-000000000000"


def _with(key: str, value: Any) -> Callable[[Doc], Doc]:
    def change(doc: Doc) -> Doc:
        return {**doc, key: value}

    return change


def _without(key: str) -> Callable[[Doc], Doc]:
    def change(doc: Doc) -> Doc:
        return {k: v for k, v in doc.items() if k != key}

    return change


def _id(make: Callable[[str], Any]) -> Callable[[Doc], Doc]:
    def change(doc: Doc) -> Doc:
        return {**doc, "id": make(doc["id"])}

    return change


CREATE_ANSWERS: dict[str, Callable[[Doc], Any]] = {
    "id-traversal": _with("id", "../organization"),
    "id-absolute": _with("id", "/v1/organization"),
    "id-query": _id(lambda real: f"{real}?x=1"),
    "id-crlf": _id(lambda real: real + CRLF),
    "id-newline": _id(lambda real: real + "\n"),
    "id-uppercase": _id(str.upper),
    "id-number": _with("id", 12345),
    "id-null": _with("id", None),
    "id-empty": _with("id", ""),
    "id-long": _with("id", "a" * 100_000),
    "id-missing": _without("id"),
    "not-an-object": lambda doc: [doc],
    "estimate-text": _with("estimatedCost", {"credits": "free"}),
    "estimate-string": _with("estimatedCost", "free"),
    "estimate-negative": _with("estimatedCost", {"credits": -50}),
    "estimate-huge": _with("estimatedCost", {"credits": 1e300}),
    "deep": _deep,
}


def _never_finish(doc: Doc) -> Doc:
    """RUNNING forever, whatever the task really did."""
    out = {k: v for k, v in doc.items() if k not in ("cost", "output", "failure", "failureCode")}
    return {**out, "status": "RUNNING", "progress": 0.5, "estimatedCost": doc.get("estimatedCost") or {"credits": 1}}


def _terminal(change: Callable[[Doc], Doc]) -> Callable[[Doc], Doc]:
    """Change the answer of a task that has ended (the fields only terminal answers have)."""

    def apply(doc: Doc) -> Doc:
        return change(doc) if "cost" in doc else doc

    return apply


def _output(make: Callable[[str], Any]) -> Callable[[Doc], Doc]:
    def change(doc: Doc) -> Doc:
        return {**doc, "output": make(doc["output"][0])} if doc.get("output") else doc

    return change


TASK_ANSWERS: dict[str, Callable[[Doc], Any]] = {
    "status-unknown": _with("status", "WEIRD"),
    "status-lowercase": lambda doc: {**doc, "status": str(doc["status"]).lower()},
    "status-missing": _without("status"),
    "never-finish": _never_finish,
    "other-task": _with("id", OTHER_TASK),
    "cost-text": _terminal(_with("cost", {"credits": "lots"})),
    "cost-string": _terminal(_with("cost", "lots")),
    "cost-negative": _terminal(_with("cost", {"credits": -500})),
    "cost-huge": _terminal(_with("cost", {"credits": 10**30})),
    "estimate-text": lambda doc: {**doc, "estimatedCost": {"credits": "free"}} if "estimatedCost" in doc else doc,
    "output-crlf": _output(lambda url: [url + CRLF]),
    "output-tab": _output(lambda url: [url.replace("?", "\t?", 1)]),
    "output-nul": _output(lambda url: [url + "\x00"]),
    "output-not-a-list": _output(lambda url: url),
    "deep": _deep,
    "cost-bool": _terminal(_with("cost", {"credits": True})),
    "estimate-bool": lambda doc: {**doc, "estimatedCost": {"credits": True}} if "estimatedCost" in doc else doc,
    "failure-newlines": lambda doc: {**doc, "failure": "Task failed\n::error::FORGED line\r\x1b[2Kgone"}
    if doc.get("status") == "FAILED" else doc,
}

ORGANIZATION_ANSWERS: dict[str, Callable[[Doc], Any]] = {
    "balance-text": _with("creditBalance", "plenty"),
    "tier-missing": _without("tier"),
    "not-an-object": lambda doc: [doc],
    "deep": _deep,
    "balance-bool": _with("creditBalance", True),
}

USAGE_ANSWERS: dict[str, Callable[[Doc], Any]] = {
    "deep": _deep,
    "amount-bool": lambda doc: {**doc, "results": [{"date": "2026-01-01", "usedCredits": [
        {"model": "gen4.5", "amount": True}]}]},
}

UPLOAD_ANSWERS: dict[str, Callable[[Doc], Any]] = {
    "uri-missing": _without("runwayUri"),
    "uri-number": _with("runwayUri", 7),
    "fields-text": _with("fields", "none"),
    "url-internal": _with("uploadUrl", "http://169.254.169.254/latest/meta-data/"),
    "url-other-port": _with("uploadUrl", "http://127.0.0.1:9/upload"),
    "url-crlf": lambda doc: {**doc, "uploadUrl": doc["uploadUrl"] + CRLF},
    "deep": _deep,
}

TABLES: dict[str, dict[str, Callable[[Doc], Any]]] = {
    "create": CREATE_ANSWERS, "task": TASK_ANSWERS,
    "organization": ORGANIZATION_ANSWERS, "upload": UPLOAD_ANSWERS, "usage": USAGE_ANSWERS,
}


def markers(prompt: str, kind: str) -> list[str]:
    """Names of the ``[[kind:NAME]]`` markers in ``prompt`` (unknown names are ignored)."""
    found = []
    for piece in prompt.split(f"[[{kind}:")[1:]:
        name = piece.split("]]", 1)[0]
        if name in TABLES[kind]:
            found.append(name)
    return found


def answer(kind: str, names: list[str] | str | None, doc: Doc) -> Any:
    """``doc`` as the named hostile answers of ``kind`` change it (a copy; ``doc`` is kept)."""
    out: Any = copy.deepcopy(doc)
    for name in [names] if isinstance(names, str) else names or []:
        out = TABLES[kind][name](out)
    return out
