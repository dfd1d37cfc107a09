"""The emulator's HTTP surface: the Runway API subset the runner uses, plus /_emulator.

Same paths, JSON shapes, status codes and headers as the real API, so the unmodified
``runwayml`` SDK works against it. Requests are validated with the model catalog's
schemas; a bad body gets the API's 400 shape ``{error, issues: [{code, path, message}]}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from runner.catalog.models import catalog
from runner.catalog.pricing import cost_of
from runner.emulator.config import EmulatorConfig
from runner.emulator.media import media_seconds, render_video
from runner.emulator.sim import World

API_VERSION = "2024-11-06"
ENDPOINTS = ("text_to_video", "image_to_video", "video_to_video", "character_performance")
MAX_UPLOAD = 200 * 1024 * 1024
DOC_URL = "https://docs.dev.runwayml.com/api"
_ISSUE_CODES = {
    "enum": "invalid_enum_value",
    "const": "invalid_literal",
    "required": "invalid_type",
    "type": "invalid_type",
    "additionalProperties": "unrecognized_keys",
    "minimum": "too_small",
    "minLength": "too_small",
    "maximum": "too_big",
    "maxLength": "too_big",
}

Handler = Callable[[Request], Awaitable[Response]]


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


class Emulator:
    """Holds the world and builds the Starlette app around it."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.world = World(self.config)
        self.secret = secrets.token_bytes(16)

    # --- plumbing ----------------------------------------------------------------------

    def now(self) -> float:
        return time.monotonic()

    def api(self, route: str, handler: Handler) -> Handler:
        """Wrap a /v1 handler: count it, check auth and version, inject faults, advance time."""

        async def wrapped(request: Request) -> Response:
            world = self.world
            world.requests[route] += 1
            auth = request.headers.get("authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else ""
            if not token or (self.config.api_key and not hmac.compare_digest(token, self.config.api_key)):
                return _error(401, "Invalid API key. Set RUNWAYML_API_SECRET to a valid key.")
            if request.headers.get("x-runway-version") != API_VERSION:
                return _error(400, f"The X-Runway-Version header is required and must be {API_VERSION}.")
            routes = self.config.fault_routes
            faulty = routes is None or route in routes
            if faulty and world.chance(self.config.rate_limit_rate):
                return _error(429, "Too many requests (injected).")
            if faulty and world.chance(self.config.error_rate):
                code = world.pick(["500", "502", "503"])
                return _error(int(code), "Internal server error (injected).")
            world.advance(self.now())
            return await handler(request)

        return wrapped

    def output_url(self, request: Request, task_id: str, index: int, *, expired: bool = False) -> str:
        expires = f"{time.time() + (-1 if expired else self.config.url_ttl):.3f}"
        sig = self._sign(f"{task_id}/{index}/{expires}")
        base = str(request.base_url).rstrip("/")
        return f"{base}/_emulator/outputs/{task_id}/{index}.mp4?expires={expires}&sig={sig}"

    def _sign(self, text: str) -> str:
        return hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()[:32]

    # --- /v1 ---------------------------------------------------------------------------

    def create_handler(self, endpoint: str) -> Handler:
        async def create(request: Request) -> Response:
            try:
                body = await request.json()
            except ValueError:
                return _error(400, "Request body must be JSON.")
            if not isinstance(body, dict):
                return _error(400, "Request body must be a JSON object.")
            problem = self.validate(endpoint, body)
            if problem is not None:
                return problem
            info = catalog()[body["model"]]
            input_seconds = self.input_seconds(body)
            estimate = cost_of(info, body, input_seconds=input_seconds)
            estimated = estimate.credits or 0
            duration = body.get("duration")
            seconds = estimate.seconds or (float(duration) if isinstance(duration, int) else 5.0)
            final = estimated
            if estimate.upper_bound:  # `auto`: the model picks a length; unused credits come back
                seconds = float(self.world.rng.randint(4, int(seconds)))
                final = cost_of(info, {**body, "duration": int(seconds)}).credits or 0
            tier = self.config.tier(info.name)
            if self.world.daily[info.name] >= tier["maxDailyGenerations"]:
                return _error(429, f"Daily generation limit of {tier['maxDailyGenerations']} reached for {info.name}.")
            if self.world.balance < estimated:
                return _error(429, f"Not enough credits: {estimated} needed, {self.world.balance} available.")
            task = self.world.create(info.name, endpoint, body, now=self.now(), seconds=seconds,
                                     estimated=estimated, final=final)
            if "[[lost-response]]" in task.prompt:
                return _error(502, "Bad gateway (injected after the task was created).")
            return JSONResponse({"id": task.id, "estimatedCost": {"credits": estimated}})

        return create

    def validate(self, endpoint: str, body: dict[str, Any]) -> Response | None:
        model = body.get("model")
        cat = catalog()
        info = cat.get(model) if isinstance(model, str) else None
        if info is None or endpoint not in info.modes.values():
            allowed = sorted(m for m, i in cat.items() if endpoint in i.modes.values() and i.status == "current")
            issue: dict[str, Any] = {"code": "invalid_union_discriminator", "path": ["model"],
                     "message": f"Invalid model for {endpoint}. Expected one of: {', '.join(allowed)}"}
            return _error(400, "Validation of body failed", issues=[issue], docUrl=DOC_URL)
        best: list[dict[str, Any]] | None = None
        for mode, ep in info.modes.items():
            if ep != endpoint:
                continue
            issues = [
                {"code": _ISSUE_CODES.get(str(e.validator), "custom"), "path": list(e.absolute_path),
                 "message": str(e.message)}
                for e in info.validator(mode).iter_errors(body)
            ]
            if not issues:
                best = []
                break
            if best is None or len(issues) < len(best):
                best = issues
        if best:
            return _error(400, "Validation of body failed", issues=best, docUrl=DOC_URL)
        for path, uri in _uris(body):
            if uri.startswith("runway://") and uri not in self.world.uploads:
                issue = {"code": "custom", "path": path, "message": "Upload not found or expired."}
                return _error(400, "Validation of body failed", issues=[issue], docUrl=DOC_URL)
        return None

    def input_seconds(self, body: dict[str, Any]) -> float | None:
        for key in ("reference", "videoUri", "promptVideo"):
            value = body.get(key)
            uri = value.get("uri") if isinstance(value, dict) else value
            if isinstance(uri, str) and uri in self.world.uploads:
                return self.world.uploads[uri].get("seconds") or 5.0
            if isinstance(uri, str):
                return 5.0
        return None

    async def get_task(self, request: Request) -> Response:
        task = self.world.tasks.get(request.path_params["task_id"])
        if task is None:
            return _error(404, "Task not found.")
        doc: dict[str, Any] = {"id": task.id, "createdAt": task.created_wall, "status": task.status}
        if task.status in ("PENDING", "THROTTLED", "RUNNING"):
            doc["estimatedCost"] = {"credits": task.estimated}
            if task.status == "RUNNING":
                doc["progress"] = round(task.progress(self.now()), 3)
        else:
            doc["cost"] = {"credits": task.final}
        if task.status == "SUCCEEDED":
            expired = "expire-once" in task.flags
            task.flags.discard("expire-once")
            doc["output"] = [self.config.output_url or self.output_url(request, task.id, 0, expired=expired)]
        if task.status == "FAILED":
            doc["failure"] = f"Task failed: {task.failure_code}"
            doc["failureCode"] = task.failure_code
        return JSONResponse(doc)

    async def delete_task(self, request: Request) -> Response:
        task = self.world.tasks.get(request.path_params["task_id"])
        if task is None:
            return _error(404, "Task not found.")
        self.world.cancel(task, self.now())
        return Response(status_code=204)

    async def organization(self, request: Request) -> Response:
        return JSONResponse(self.world.organization())

    async def create_upload(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Request body must be JSON.")
        filename = body.get("filename") if isinstance(body, dict) else None
        if not isinstance(filename, str) or not filename or body.get("type") != "ephemeral":
            issue = {"code": "invalid_type", "path": ["filename"], "message": "filename and type: ephemeral required"}
            return _error(400, "Validation of body failed", issues=[issue], docUrl=DOC_URL)
        token = secrets.token_hex(12)
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[:100]
        uri = f"runway://uploads/{token}/{safe}"
        self.world.uploads[uri] = {"token": token, "filename": safe, "complete": False}
        base = str(request.base_url).rstrip("/")
        return JSONResponse({
            "uploadUrl": f"{base}/_emulator/upload/{token}",
            "fields": {"key": f"uploads/{token}/{safe}", "policy": self._sign(token)},
            "runwayUri": uri,
        })

    # --- /_emulator --------------------------------------------------------------------

    async def receive_upload(self, request: Request) -> Response:
        token = request.path_params["token"]
        entry = next((u for u in self.world.uploads.values() if u["token"] == token), None)
        if entry is None:
            return Response("<Error><Code>NoSuchUpload</Code></Error>", status_code=404, media_type="application/xml")
        length = int(request.headers.get("content-length") or 0)
        if length > MAX_UPLOAD:
            return Response("<Error><Code>EntityTooLarge</Code></Error>", status_code=400, media_type="application/xml")
        async with request.form(max_part_size=MAX_UPLOAD) as form:
            if form.get("policy") != self._sign(token):
                return Response("<Error><Code>AccessDenied</Code></Error>", status_code=403,
                                media_type="application/xml")
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return Response("<Error><Code>MissingFile</Code></Error>", status_code=400,
                                media_type="application/xml")
            data = await upload.read()
        entry.update(complete=True, bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                     seconds=await asyncio.to_thread(media_seconds, data))
        return Response(status_code=204)

    async def download(self, request: Request) -> Response:
        task_id, name = request.path_params["task_id"], request.path_params["name"]
        index = name.split(".", 1)[0]
        expires = request.query_params.get("expires", "0")
        sig = request.query_params.get("sig", "")
        if not hmac.compare_digest(sig, self._sign(f"{task_id}/{index}/{expires}")):
            return Response("<Error><Code>SignatureDoesNotMatch</Code></Error>", status_code=403,
                            media_type="application/xml")
        try:
            expired = time.time() > float(expires)
        except ValueError:
            expired = True
        if expired:
            return Response("<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
                            status_code=403, media_type="application/xml")
        task = self.world.tasks.get(task_id)
        if task is None or task.status != "SUCCEEDED":
            return Response("<Error><Code>NoSuchKey</Code></Error>", status_code=404, media_type="application/xml")
        if task.video is None:
            video = await asyncio.to_thread(
                render_video, task.prompt, str(task.body.get("ratio") or "1280:720"), task.seconds,
                fps=self.config.video_fps, max_side=self.config.video_max_side, label=task.model,
            )
            if task.pad_to > len(video):  # an mp4 may carry trailing free space; players ignore it
                video += _free_box(task.pad_to - len(video))
            task.video = video
        data = task.video
        if "[[html]]" in task.prompt:  # a hostile or broken CDN answering with a web page
            return Response("<html><script>alert(1)</script></html>", media_type="text/html")
        truncate = "truncate" in task.flags or self.world.chance(self.config.truncate_rate)
        slow = "slow" in task.flags or self.world.chance(self.config.slow_rate)
        self.world.downloads += 1
        self.world.download_bytes += len(data)
        headers = {"content-length": str(len(data)), "cache-control": "private"}
        return StreamingResponse(self._stream(data, truncate, slow), media_type="video/mp4", headers=headers)

    async def _stream(self, data: bytes, truncate: bool, slow: bool) -> AsyncIterator[bytes]:
        chunk = 64 * 1024
        end = len(data) // 2 if truncate else len(data)
        for i in range(0, end, chunk):
            piece = data[i:min(i + chunk, end)]
            if slow:
                await asyncio.sleep(len(piece) / self.config.slow_bytes_per_second)
            yield piece
        if truncate:
            raise ConnectionAbortedError("download truncated (injected)")

    async def stats(self, request: Request) -> Response:
        self.world.advance(self.now())
        return JSONResponse(self.world.stats())

    async def set_config(self, request: Request) -> Response:
        changes = await request.json()
        try:
            self.config = self.config.updated(changes)
        except Exception as e:  # noqa: BLE001 - reported to the caller
            return _error(400, str(e))
        self.world.config = self.config
        return JSONResponse(self.config.as_dict())

    async def reset(self, request: Request) -> Response:
        self.world = World(self.config)
        return JSONResponse({"reset": True})

    def app(self) -> Starlette:
        routes = [
            Route(f"/v1/{ep}", self.api(f"POST /v1/{ep}", self.create_handler(ep)), methods=["POST"])
            for ep in ENDPOINTS
        ]
        routes += [
            Route("/v1/tasks/{task_id}", self.api("GET /v1/tasks", self.get_task), methods=["GET"]),
            Route("/v1/tasks/{task_id}", self.api("DELETE /v1/tasks", self.delete_task), methods=["DELETE"]),
            Route("/v1/organization", self.api("GET /v1/organization", self.organization), methods=["GET"]),
            Route("/v1/uploads", self.api("POST /v1/uploads", self.create_upload), methods=["POST"]),
            Route("/_emulator/upload/{token}", self.receive_upload, methods=["POST"]),
            Route("/_emulator/outputs/{task_id}/{name}", self.download, methods=["GET"]),
            Route("/_emulator/stats", self.stats, methods=["GET"]),
            Route("/_emulator/config", self.set_config, methods=["POST"]),
            Route("/_emulator/reset", self.reset, methods=["POST"]),
        ]
        return Starlette(routes=routes)


def _free_box(size: int) -> bytes:
    """An ISO-BMFF 'free' box of ``size`` bytes (size >= 8)."""
    size = max(size, 8)
    return size.to_bytes(4, "big") + b"free" + b"\0" * (size - 8)


def _uris(body: Any, path: list[str | int] | None = None) -> list[tuple[list[str | int], str]]:
    path = path or []
    found: list[tuple[list[str | int], str]] = []
    if isinstance(body, dict):
        for k, v in body.items():
            found += _uris(v, [*path, k])
    elif isinstance(body, list):
        for i, v in enumerate(body):
            found += _uris(v, [*path, i])
    elif isinstance(body, str) and body.startswith("runway://"):
        found.append((path, body))
    return found
