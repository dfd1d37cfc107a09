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
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import runwayml

from runner.catalog.endpoints import ENDPOINTS
from runner.errors import ApiError, DownloadError, RunnerError
from runner.inputs.urlpolicy import check_url

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


def cost_value(value: object) -> float | None:
    """A cost the API reported, if it can be one: a finite number of credits, not negative.
    Anything else is unknown, so that a broken or hostile answer never lowers a run's spend."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return value


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


def _translate(e: Exception, *, creating: bool, what: str = "a create", task_id: str | None = None) -> ApiError:
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
            org = await self._sdk.organization.retrieve()
        except (runwayml.RunwayMLError, ValueError) as e:
            raise _translate(e, creating=False, what="GET /v1/organization") from e
        tiers = {m: {"concurrency": t.max_concurrent_generations, "daily": t.max_daily_generations}
                 for m, t in org.tier.models.items()}
        used = {m: u.daily_generations for m, u in org.usage.models.items()}
        return Organization(org.credit_balance, tiers, used)

    async def upload(self, path: Path) -> str:
        try:
            result = await self._sdk.uploads.create_ephemeral(file=path)
        except (runwayml.RunwayMLError, ValueError) as e:
            raise _translate(e, creating=False, what="an upload") from e
        return str(result.uri)

    async def create(self, endpoint: str, body: dict[str, Any]) -> tuple[str, float | None]:
        """POST a generation to ``endpoint`` once (never retried). Returns (task id, estimated credits)."""
        try:
            response = await self._creates.post(f"/v1/{ENDPOINTS[endpoint].name}", body=body, cast_to=httpx.Response)
            doc = response.json()
        except runwayml.RunwayMLError as e:
            raise _translate(e, creating=True) from e
        except ValueError as e:
            raise ApiError("the API answered a create with something that is not JSON", maybe_created=True) from e
        task_id = doc.get("id") if isinstance(doc, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise ApiError("the API answered a create without a task id", maybe_created=True)
        quoted = doc.get("estimatedCost")
        estimated = cost_value(quoted.get("credits")) if isinstance(quoted, dict) else None
        return task_id, None if estimated is None else float(estimated)

    async def task(self, task_id: str) -> TaskStatus:
        """The task's status, read through the SDK's typed (and validated) task models."""
        try:
            task = await self._sdk.tasks.retrieve(task_id)
        except (runwayml.RunwayMLError, ValueError) as e:
            raise _translate(e, creating=False, what=f"GET /v1/tasks/{task_id}", task_id=task_id) from e
        cost = getattr(task, "cost", None)
        estimated = getattr(task, "estimated_cost", None)
        charged = cost_value(cost.credits) if cost is not None else None
        warning = None
        if cost is not None and charged is None:
            warning = (f"the API reported a cost of {cost.credits!r} credits, which cannot be a charge; "
                       "recorded as unknown")
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
        try:
            await self._sdk.tasks.delete(task_id)
        except (runwayml.RunwayMLError, ValueError) as e:
            raise _translate(e, creating=False, what=f"DELETE /v1/tasks/{task_id}", task_id=task_id) from e

    def output_url_problem(self, url: str) -> str | None:
        """Outputs come over https from public hosts, or from the emulator we talk to."""
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
                if declared > max_bytes:
                    raise DownloadError(f"output is {declared} bytes, over the {max_bytes} byte limit")
                with dest.open("wb") as f:
                    async for chunk in response.aiter_bytes(1024 * 1024):
                        size += len(chunk)
                        if size > max_bytes:
                            raise DownloadError(f"output is over the {max_bytes} byte limit")
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
