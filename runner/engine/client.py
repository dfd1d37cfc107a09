"""The only module that talks HTTP: the Runway API through the official runwayml SDK.

- Creates are sent with ``max_retries=0``: the API has no idempotency key, so a retried
  create could bill twice. Reads (task status, organization) use the SDK's retries with
  exponential backoff and jitter, and its typed responses with strict validation: an
  answer that is not what the API documents (not JSON, an unknown status) is an
  ``ApiError``, never a crash or an endless poll.
- Every SDK error is translated into ``ApiError`` here (``from e``), with the HTTP status,
  the API's validation ``issues``, and whether the create might have happened anyway.
- The key comes from ``RUNWAYML_API_SECRET`` and is never part of a message.
- Outputs are downloaded with a plain streaming HTTP client (signed URLs need no key).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import math
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import httpx
import runwayml

from runner.bounded import parse_json
from runner.catalog.endpoints import ENDPOINTS
from runner.errors import ApiError, DownloadError, RunnerError
from runner.inputs.urlpolicy import check_url
from runner.store.documents import is_task_id, shown

if TYPE_CHECKING:
    from runwayml._response import AsyncAPIResponse

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.dev.runwayml.com"
READ_RETRIES = 5
MAX_DOWNLOAD_BYTES = 4 * 1024**3


@dataclass(frozen=True)
class Organization:
    balance: int
    tiers: dict[str, dict[str, int | None]]
    daily_used: dict[str, int]


@dataclass(frozen=True)
class TaskStatus:
    id: str
    status: str
    progress: float | None = None
    output: tuple[str, ...] = ()
    failure: str | None = None
    failure_code: str | None = None
    credits: int | None = None
    estimated: float | None = None
    cost_warning: str | None = None
    """Set when the answer's cost could not be a charge (negative); ``credits`` is then None."""


MAX_CREDITS = 100_000_000  # no single task costs a million dollars: a larger number is not a cost


def cost_value(value: object) -> float | None:
    """A cost the API reported, if it can be one: a finite number of credits, not negative, not
    absurdly large. Anything else is unknown, so that a broken or hostile answer never lowers
    (or inflates) a run's spend; the paid output is still kept."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value <= MAX_CREDITS:
        return None
    return value


@dataclass(frozen=True)
class Created:
    """A create's answer: the task id (checked), the estimate, and what else was odd about it
    (the task is paid and polled all the same; the task's own cost is what gets recorded)."""

    task_id: str
    estimated: float | None = None
    warning: str | None = None


def _estimate(doc: dict[str, Any]) -> tuple[float | None, str | None]:
    """(estimated credits, warning) of a create answer's ``estimatedCost`` (optional in the API)."""
    if "estimatedCost" not in doc:
        return None, None
    cost = doc["estimatedCost"]
    credits = cost.get("credits") if isinstance(cost, dict) else None
    estimated = None if isinstance(credits, bool) or not isinstance(credits, int | float) else cost_value(credits)
    if estimated is None:
        return None, f"estimatedCost {shown(cost)}, which is not a credit count; the estimate is unknown"
    return float(estimated), None


def _upload_answer(doc: object) -> tuple[str, str, dict[str, str]]:
    """(runway:// URI, storage URL, form fields) of a ``POST /v1/uploads`` answer, checked."""
    if not isinstance(doc, dict):
        raise ApiError(f"the API answered an upload with {shown(doc)}, not an object")
    uri, url, fields = doc.get("runwayUri"), doc.get("uploadUrl"), doc.get("fields")
    if not isinstance(uri, str) or not uri.startswith("runway://") or len(uri) > 2048 \
            or any(ord(c) < 0x20 for c in uri):
        raise ApiError(f"the API answered an upload with runwayUri {shown(uri)}, which is not a runway:// URI")
    if not isinstance(url, str):
        raise ApiError(f"the API answered an upload with uploadUrl {shown(url)}, which is not a URL")
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        raise ApiError(f"the API answered an upload with fields {shown(fields)}, which are not form fields")
    return uri, url, fields


def _task_problem(asked: str, answered: str) -> str | None:
    if answered != asked:
        return f"the answer is about task {shown(answered)}"
    return None


@dataclass(frozen=True)
class Connection:
    """Where to talk and with which key; ``loopback`` marks an emulator (http allowed)."""

    base_url: str
    api_key: str = field(repr=False)
    loopback: bool = False

    @property
    def account(self) -> str:
        """A short, non-reversible name of (base URL, key) for caching per account."""
        return hashlib.sha256(f"{self.base_url}\0{self.api_key}".encode()).hexdigest()[:16]


def connection_from_env(*, emulator_url: str | None = None) -> Connection:
    """Where the API is: an in-process emulator, ``RUNWAYML_BASE_URL``, or the real API."""
    if emulator_url:
        return Connection(emulator_url, "emulator", loopback=True)
    key = os.environ.get("RUNWAYML_API_SECRET", "")
    base = os.environ.get("RUNWAYML_BASE_URL", "") or DEFAULT_BASE_URL
    parts = urlsplit(base)
    host = parts.hostname or ""
    loopback = _is_loopback(host)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback and os.environ.get("RUNWAYML_BASE_URL")):
        raise RunnerError(f"RUNWAYML_BASE_URL {base!r}: only https, or http on a loopback address (an emulator)")
    if not key:
        raise RunnerError("no API key: set RUNWAYML_API_SECRET, or use --emulator to run against the built-in emulator")
    return Connection(base.rstrip("/"), key, loopback=loopback)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Undocumented(ValueError):
    """An answer the SDK's models would take but the API does not document: not JSON runner
    accepts (``runner.bounded.parse_json``: too deep, NaN), or ``true`` where a number belongs."""


async def _checked(raw: AsyncAPIResponse[T]) -> T:
    """The SDK's typed model of an answer, once its body passed the one bounded JSON parser
    (the SDK's own parse, and its models' walk of the result, would otherwise meet a document
    nested 100,000 levels deep and end in a RecursionError), and once no number in it was a
    JSON boolean (the SDK's models read ``{"credits": true}`` as a cost of 1)."""
    try:
        doc = parse_json(await raw.read())
    except json.JSONDecodeError:
        raise Undocumented("not JSON") from None
    except ValueError as e:
        raise Undocumented(str(e)) from None
    model = await raw.parse()
    where = _bool_as_number(model, doc)
    if where is not None:
        raise Undocumented(f"{where.lstrip('.') or 'the answer'} is true or false, not a number")
    return model


def _bool_as_number(model: Any, raw: Any) -> str | None:
    """The path of a JSON ``true``/``false`` that the SDK's models took for a number, or None."""
    if isinstance(raw, bool):
        return "" if isinstance(model, int | float) and not isinstance(model, bool) else None
    fields = getattr(type(model), "model_fields", None)
    pairs: list[tuple[str, Any, Any]] = []
    if isinstance(fields, dict) and isinstance(raw, dict):  # an SDK model: its fields under their JSON names
        for name, info in fields.items():
            key = getattr(info, "alias", None) or name
            if key in raw:
                pairs.append((f".{key}", getattr(model, name, None), raw[key]))
    elif isinstance(model, dict) and isinstance(raw, dict):
        pairs = [(f".{k}", v, raw[k]) for k, v in model.items() if k in raw]
    elif isinstance(model, list | tuple) and isinstance(raw, list):
        pairs = [(f"[{i}]", m, r) for i, (m, r) in enumerate(zip(model, raw, strict=False))]
    for step, inner, value in pairs:
        found = _bool_as_number(inner, value)
        if found is not None:
            return step + found
    return None


def _translate(e: Exception, *, creating: bool, what: str = "a create", task_id: str | None = None) -> ApiError:
    if isinstance(e, Undocumented):
        return ApiError(f"the API answered {what} with something it does not document ({e})",
                        maybe_created=creating, task_id=task_id)
    if isinstance(e, runwayml.APIResponseValidationError | ValueError):
        return ApiError(f"the API answered {what} with something it does not document ({type(e).__name__})",
                        maybe_created=creating, task_id=task_id)
    if isinstance(e, runwayml.APIStatusError):
        body = e.body if isinstance(e.body, dict) else {}
        message = str(body.get("error") or e.message)
        status = e.status_code
        retryable = status == 429 or status >= 500
        # A 5xx on a create may come after the task was made: its outcome is unknown.
        return ApiError(f"HTTP {status}: {message}", status=status, issues=list(body.get("issues") or []),
                        retryable=retryable, maybe_created=creating and status >= 500, rate_limited=status == 429,
                        task_id=task_id)
    if isinstance(e, runwayml.APIConnectionError):
        return ApiError(f"connection to the API failed: {type(e).__name__}", retryable=True, maybe_created=creating,
                        task_id=task_id)
    return ApiError(f"API call failed: {type(e).__name__}: {e}", maybe_created=creating, task_id=task_id)


class Client:
    """Async Runway API client for apply."""

    def __init__(self, connection: Connection, *, timeout: float = 60.0) -> None:
        self.connection = connection
        self._sdk = runwayml.AsyncRunwayML(api_key=connection.api_key, base_url=connection.base_url,
                                           max_retries=READ_RETRIES, timeout=timeout,
                                           _strict_response_validation=True)
        self._creates = self._sdk.with_options(max_retries=0)
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10.0), follow_redirects=False)

    async def close(self) -> None:
        await self._sdk.close()
        await self._http.aclose()

    async def organization(self) -> Organization:
        try:
            org = await _checked(await self._sdk.organization.with_raw_response.retrieve())
        except (runwayml.RunwayMLError, ValueError) as e:
            raise _translate(e, creating=False, what="GET /v1/organization") from e
        tiers = {m: {"concurrency": t.max_concurrent_generations, "daily": t.max_daily_generations}
                 for m, t in org.tier.models.items()}
        used = {m: u.daily_generations for m, u in org.usage.models.items()}
        return Organization(org.credit_balance, tiers, used)

    async def usage(self, start: date, before: date) -> dict[tuple[str, str], int]:
        """Credits the account spent, (UTC day, model) -> amount, for start <= day < before
        (``POST /v1/organization/usage``; at most 90 days a call)."""
        try:
            answer = await _checked(await self._sdk.organization.with_raw_response.retrieve_usage(
                start_date=start, before_date=before))
        except (runwayml.RunwayMLError, ValueError) as e:
            raise _translate(e, creating=False, what="POST /v1/organization/usage") from e
        spent: dict[tuple[str, str], int] = {}
        for day in answer.results:
            for used in day.used_credits:
                key = (day.date.isoformat(), str(used.model))
                spent[key] = spent.get(key, 0) + int(used.amount)
        return spent

    async def upload(self, path: Path) -> str:
        """Upload a local input (``POST /v1/uploads``, then the file to the storage URL the
        answer names) and return its ``runway://`` URI.

        Done here rather than by the SDK's ``create_ephemeral`` so that the answer is
        checked before it is used: the storage URL passes the same policy as output URLs
        (a hostile answer cannot make us post a file to an internal address), and the
        URI must be a ``runway://`` URI.
        """
        try:
            started = await self._sdk.post("/v1/uploads", body={"filename": path.name, "type": "ephemeral"},
                                           cast_to=httpx.Response)
            doc = parse_json(started.content)
        except runwayml.RunwayMLError as e:
            raise _translate(e, creating=False, what="an upload") from e
        except ValueError as e:
            raise ApiError(f"the API answered an upload with something that is not JSON runner accepts ({e})") from e
        uri, url, fields = _upload_answer(doc)
        why = self.output_url_problem(url)
        if why:
            raise ApiError(f"refusing to upload to the storage URL the API answered with: {why}")
        try:
            content = await asyncio.to_thread(path.read_bytes)
            response = await self._http.post(url, data=fields, files={"file": (path.name, content)})
        except httpx.HTTPError as e:
            raise ApiError(f"uploading {path.name} broke off: {type(e).__name__}", retryable=True) from e
        if response.status_code >= 300:
            raise ApiError(f"uploading {path.name} failed with HTTP {response.status_code}",
                           status=response.status_code)
        return uri

    async def create(self, endpoint: str, body: dict[str, Any]) -> Created:
        """POST a generation to ``endpoint`` once (never retried).

        Only the task id is checked here, and it is checked first: once it is known to be a
        task id, the caller journals it before ``Created.problem`` (anything else wrong with
        the answer) is looked at, so a paid task is never lost because another field was bad.
        """
        try:
            response = await self._creates.post(f"/v1/{ENDPOINTS[endpoint].name}", body=body, cast_to=httpx.Response)
            doc = parse_json(response.content)
        except runwayml.RunwayMLError as e:
            raise _translate(e, creating=True) from e
        except ValueError as e:
            raise ApiError(f"the API answered a create with something that is not JSON runner accepts ({e})",
                           maybe_created=True) from e
        task_id = doc.get("id") if isinstance(doc, dict) else None
        if not is_task_id(task_id):
            found = "no task id" if task_id is None else f"the task id {shown(task_id)}, which is not one"
            raise ApiError(f"the API answered a create with {found} (task ids are UUIDs), so the task cannot be "
                           "polled", maybe_created=True)
        assert isinstance(task_id, str)
        return Created(task_id, *_estimate(doc))

    async def task(self, task_id: str) -> TaskStatus:
        """The task's status, read through the SDK's typed (and validated) task models."""
        what = f"GET /v1/tasks/{task_id}"
        if not is_task_id(task_id):  # never let a state file, a plan or an answer choose the URL path
            raise ApiError(f"refusing to read task {shown(task_id)}: not a Runway task id (a UUID)", task_id=task_id)
        try:
            task = await _checked(await self._sdk.tasks.with_raw_response.retrieve(task_id))
        except (runwayml.RunwayMLError, ValueError) as e:
            raise _translate(e, creating=False, what=what, task_id=task_id) from e
        cost = getattr(task, "cost", None)
        estimated = getattr(task, "estimated_cost", None)
        credits = cost.credits if cost is not None else None
        problem = _task_problem(task_id, task.id)
        if problem:
            raise ApiError(f"the API answered {what} with something it does not document ({problem})",
                           task_id=task_id)
        charged = cost_value(credits) if credits is not None else None
        warning = None
        if credits is not None and charged is None:
            warning = (f"the API reported a cost of {shown(credits)} credits, which cannot be a charge; "
                       "the price table's figure is recorded instead (credits_from: table)")
        return TaskStatus(
            id=task.id,
            status=task.status,
            progress=getattr(task, "progress", None),
            output=tuple(getattr(task, "output", None) or ()),
            failure=getattr(task, "failure", None),
            failure_code=getattr(task, "failure_code", None),
            credits=None if charged is None else int(charged),
            estimated=None if estimated is None else cost_value(estimated.credits),
            cost_warning=warning,
        )

    async def cancel(self, task_id: str) -> None:
        if not is_task_id(task_id):
            raise ApiError(f"refusing to cancel task {shown(task_id)}: not a Runway task id (a UUID)", task_id=task_id)
        try:
            await self._sdk.tasks.delete(task_id)
        except (runwayml.RunwayMLError, ValueError) as e:
            raise _translate(e, creating=False, what=f"DELETE /v1/tasks/{task_id}", task_id=task_id) from e

    def output_url_problem(self, url: str) -> str | None:
        """Outputs come over https from public hosts, or from the emulator we talk to; a URL
        with control characters (a CRLF could smuggle a header) or spaces is never used."""
        if any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in url):
            return f"the output URL {shown(url)} contains control characters or spaces"
        if self.connection.loopback:
            mine = urlsplit(self.connection.base_url)
            theirs = urlsplit(url)
            if (theirs.scheme, theirs.netloc) == (mine.scheme, mine.netloc):
                return None
        return check_url(url, offline_ok=False)

    async def download(self, url: str, dest: Path, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> tuple[str, int, str]:
        """Stream ``url`` into ``dest`` (not yet durable: the caller commits it); returns
        (sha256, bytes, content type)."""
        # The check resolves the host (DNS may take seconds): off the loop, so other shots keep going.
        why = await asyncio.to_thread(self.output_url_problem, url)
        if why:
            raise DownloadError(f"refusing to download the output: {why}", refused=True)
        digest = hashlib.sha256()
        size = 0
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code in (401, 403):
                    raise DownloadError(f"output URL refused ({response.status_code}); it may have expired",
                                        expired=True)
                if response.status_code != 200:
                    raise DownloadError(f"output download failed with HTTP {response.status_code}")
                ctype = response.headers.get("content-type", "")
                declared = _content_length(response.headers.get("content-length"))
                # Over the limit is the file's size, not a broken transfer: refused once, never retried.
                if declared > max_bytes:
                    raise DownloadError(f"output is {declared} bytes, over the {max_bytes} byte limit "
                                        "(--max-output-mb); not retried", refused=True)
                with dest.open("wb") as f:
                    async for chunk in response.aiter_bytes(1024 * 1024):
                        size += len(chunk)
                        if size > max_bytes:
                            raise DownloadError(f"output is over the {max_bytes} byte limit (--max-output-mb); "
                                                "not retried", refused=True)
                        digest.update(chunk)
                        # Written by a worker thread: a slow disk must not stall the event loop.
                        await asyncio.to_thread(f.write, chunk)
        except httpx.HTTPError as e:
            raise DownloadError(f"output download broke off: {type(e).__name__}") from e
        if declared and size != declared:
            raise DownloadError(f"output download truncated: {size} of {declared} bytes")
        return digest.hexdigest(), size, ctype


def _content_length(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        raise DownloadError(f"the output's Content-Length {value!r} is not a number") from None
