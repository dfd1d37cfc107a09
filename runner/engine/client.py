"""The only module that talks HTTP: the Runway API through the official runwayml SDK.

- Creates are sent with ``max_retries=0``: the API has no idempotency key, so a retried
  create could bill twice. Reads (task status, organization) use the SDK's retries with
  exponential backoff and jitter.
- Every SDK error is translated into ``ApiError`` here (``from e``), with the HTTP status,
  the API's validation ``issues``, and whether the create might have happened anyway.
- The key comes from ``RUNWAYML_API_SECRET`` and is never part of a message.
- Outputs are downloaded with a plain streaming HTTP client (signed URLs need no key).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import runwayml

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


@dataclass(frozen=True)
class Endpoint:
    """Where to talk and with which key; ``loopback`` marks an emulator (http allowed)."""

    base_url: str
    api_key: str = field(repr=False)
    loopback: bool = False

    @property
    def account(self) -> str:
        """A short, non-reversible name of (base URL, key) for caching per account."""
        return hashlib.sha256(f"{self.base_url}\0{self.api_key}".encode()).hexdigest()[:16]


def endpoint_from_env(*, emulator_url: str | None = None) -> Endpoint:
    """The API endpoint: an in-process emulator, ``RUNWAYML_BASE_URL``, or the real API."""
    if emulator_url:
        return Endpoint(emulator_url, "emulator", loopback=True)
    key = os.environ.get("RUNWAYML_API_SECRET", "")
    base = os.environ.get("RUNWAYML_BASE_URL", "") or DEFAULT_BASE_URL
    parts = urlsplit(base)
    host = parts.hostname or ""
    loopback = _is_loopback(host)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback and os.environ.get("RUNWAYML_BASE_URL")):
        raise RunnerError(f"RUNWAYML_BASE_URL {base!r}: only https, or http on a loopback address (an emulator)")
    if not key:
        raise RunnerError("no API key: set RUNWAYML_API_SECRET, or use --emulator to run against the built-in emulator")
    return Endpoint(base.rstrip("/"), key, loopback=loopback)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _translate(e: Exception, *, creating: bool) -> ApiError:
    if isinstance(e, runwayml.APIStatusError):
        body = e.body if isinstance(e.body, dict) else {}
        message = str(body.get("error") or e.message)
        status = e.status_code
        retryable = status == 429 or status >= 500
        # A 5xx on a create may come after the task was made: its outcome is unknown.
        return ApiError(f"HTTP {status}: {message}", status=status, issues=list(body.get("issues") or []),
                        retryable=retryable, maybe_created=creating and status >= 500, rate_limited=status == 429)
    if isinstance(e, runwayml.APIConnectionError):
        return ApiError(f"connection to the API failed: {type(e).__name__}", retryable=True, maybe_created=creating)
    return ApiError(f"API call failed: {type(e).__name__}: {e}", maybe_created=creating)


class Client:
    """Async Runway API client for apply."""

    def __init__(self, endpoint: Endpoint, *, timeout: float = 60.0) -> None:
        self.endpoint = endpoint
        self._sdk = runwayml.AsyncRunwayML(api_key=endpoint.api_key, base_url=endpoint.base_url,
                                           max_retries=READ_RETRIES, timeout=timeout)
        self._creates = self._sdk.with_options(max_retries=0)
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10.0), follow_redirects=False)

    async def close(self) -> None:
        await self._sdk.close()
        await self._http.aclose()

    async def organization(self) -> Organization:
        try:
            org = await self._sdk.organization.retrieve()
        except runwayml.RunwayMLError as e:
            raise _translate(e, creating=False) from e
        tiers = {m: {"concurrency": t.max_concurrent_generations, "daily": t.max_daily_generations}
                 for m, t in org.tier.models.items()}
        used = {m: u.daily_generations for m, u in org.usage.models.items()}
        return Organization(org.credit_balance, tiers, used)

    async def upload(self, path: Path) -> str:
        try:
            result = await self._sdk.uploads.create_ephemeral(file=path)
        except runwayml.RunwayMLError as e:
            raise _translate(e, creating=False) from e
        return str(result.uri)

    async def create(self, endpoint: str, body: dict[str, Any]) -> tuple[str, float | None]:
        """POST a generation once (never retried). Returns (task id, estimated credits)."""
        try:
            response = await self._creates.post(f"/v1/{endpoint}", body=body, cast_to=httpx.Response)
            doc = response.json()
        except runwayml.RunwayMLError as e:
            raise _translate(e, creating=True) from e
        except ValueError as e:
            raise ApiError("the API answered a create with something that is not JSON", maybe_created=True) from e
        task_id = doc.get("id") if isinstance(doc, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise ApiError("the API answered a create without a task id", maybe_created=True)
        estimated = (doc.get("estimatedCost") or {}).get("credits")
        return task_id, float(estimated) if isinstance(estimated, (int, float)) else None

    async def task(self, task_id: str) -> TaskStatus:
        try:
            response = await self._sdk.get(f"/v1/tasks/{task_id}", cast_to=httpx.Response)
            doc = response.json()
        except runwayml.RunwayMLError as e:
            raise _translate(e, creating=False) from e
        cost = doc.get("cost") or {}
        estimated = doc.get("estimatedCost") or {}
        return TaskStatus(
            id=str(doc.get("id", task_id)),
            status=str(doc.get("status", "")),
            progress=doc.get("progress"),
            output=tuple(str(u) for u in doc.get("output") or ()),
            failure=doc.get("failure"),
            failure_code=doc.get("failureCode"),
            credits=cost.get("credits") if isinstance(cost.get("credits"), int) else None,
            estimated=estimated.get("credits"),
        )

    async def cancel(self, task_id: str) -> None:
        try:
            await self._sdk.delete(f"/v1/tasks/{task_id}", cast_to=httpx.Response)
        except runwayml.RunwayMLError as e:
            raise _translate(e, creating=False) from e

    def output_url_problem(self, url: str) -> str | None:
        """Outputs come over https from public hosts, or from the emulator we talk to."""
        if self.endpoint.loopback:
            mine = urlsplit(self.endpoint.base_url)
            theirs = urlsplit(url)
            if (theirs.scheme, theirs.netloc) == (mine.scheme, mine.netloc):
                return None
        return check_url(url, offline_ok=False)

    async def download(self, url: str, dest: Path, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> tuple[str, int, str]:
        """Stream ``url`` into ``dest``; returns (sha256, bytes, content type)."""
        why = self.output_url_problem(url)
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
                declared = int(response.headers.get("content-length") or 0)
                if declared > max_bytes:
                    raise DownloadError(f"output is {declared} bytes, over the {max_bytes} byte limit")
                with dest.open("wb") as f:
                    async for chunk in response.aiter_bytes(1024 * 1024):
                        size += len(chunk)
                        if size > max_bytes:
                            raise DownloadError(f"output is over the {max_bytes} byte limit")
                        digest.update(chunk)
                        f.write(chunk)
                    f.flush()
                    os.fsync(f.fileno())
        except httpx.HTTPError as e:
            raise DownloadError(f"output download broke off: {type(e).__name__}") from e
        if declared and size != declared:
            raise DownloadError(f"output download truncated: {size} of {declared} bytes")
        return digest.hexdigest(), size, ctype
