"""Files in and out: ``POST /v1/uploads`` and its multipart target, and the signed output URLs.

Uploads work as Runway's do: the API hands out a target URL and form fields, the file is
POSTed there, and the ``runway://`` URI names it in later requests. Output URLs are
HMAC-signed with an expiry, like the API's signed storage URLs; a tampered or expired URL
gets the storage host's XML 403.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import secrets
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from runner.emulator import derive, hostile, outputs
from runner.emulator.hooks import HookEvent
from runner.emulator.media import media_seconds
from runner.emulator.replies import error, invalid, storage_error
from runner.emulator.sim import Task

if TYPE_CHECKING:
    from runner.emulator.app import Emulator

MAX_UPLOAD = 200 * 1024 * 1024
CHUNK = 64 * 1024


class Files:
    """Upload and download handlers of one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.secret = secrets.token_bytes(16)

    def sign(self, text: str) -> str:
        return hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()[:32]

    def output_url(self, request: Request, task: Task, index: int, *, expired: bool = False) -> str:
        expires = f"{time.time() + (-1 if expired else self.emu.config.url_ttl):.3f}"
        sig = self.sign(f"{task.id}/{index}/{expires}")
        base = str(request.base_url).rstrip("/")
        return f"{base}/_emulator/outputs/{task.id}/{outputs.file_name(task, index)}?expires={expires}&sig={sig}"

    # --- uploads -----------------------------------------------------------------------

    async def create_upload(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return error(400, "Request body must be JSON.")
        filename = body.get("filename") if isinstance(body, dict) else None
        if not isinstance(filename, str) or not filename or body.get("type") != "ephemeral":
            return invalid([{"code": "invalid_type", "path": ["filename"],
                             "message": "filename and type: ephemeral required"}])
        token = secrets.token_hex(12)
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[:100]
        uri = f"runway://uploads/{token}/{safe}"
        self.emu.world.uploads[uri] = {"token": token, "filename": safe, "complete": False}
        self.emu.hooks.fire(HookEvent("upload", "uploads", "", body))
        base = str(request.base_url).rstrip("/")
        doc = {
            "uploadUrl": f"{base}/_emulator/upload/{token}",
            "fields": {"key": f"uploads/{token}/{safe}", "policy": self.sign(token)},
            "runwayUri": uri,
        }
        broken = self.emu.config.broken_upload if self.emu.config.hostile else None
        return hostile.reply(hostile.answer("upload", broken, doc))

    async def receive_upload(self, request: Request) -> Response:
        token = request.path_params["token"]
        entry = next((u for u in self.emu.world.uploads.values() if u["token"] == token), None)
        if entry is None:
            return storage_error(404, "NoSuchUpload")
        length = int(request.headers.get("content-length") or 0)
        if length > MAX_UPLOAD:
            return storage_error(400, "EntityTooLarge")
        async with request.form(max_part_size=MAX_UPLOAD) as form:
            if form.get("policy") != self.sign(token):
                return storage_error(403, "AccessDenied")
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return storage_error(400, "MissingFile")
            data = await upload.read()
        entry.update(complete=True, bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                     seconds=await asyncio.to_thread(media_seconds, data),
                     data=data if len(data) <= derive.MAX_INPUT_BYTES else None)  # outputs derive from it
        return Response(status_code=204)

    # --- downloads ---------------------------------------------------------------------

    async def download(self, request: Request) -> Response:
        task_id, name = request.path_params["task_id"], request.path_params["name"]
        index = name.split(".", 1)[0]
        expires = request.query_params.get("expires", "0")
        sig = request.query_params.get("sig", "")
        if not hmac.compare_digest(sig, self.sign(f"{task_id}/{index}/{expires}")):
            return storage_error(403, "SignatureDoesNotMatch")
        try:
            expired = time.time() > float(expires)
        except ValueError:
            expired = True
        if expired:
            return storage_error(403, "AccessDenied", "Request has expired")
        world, config = self.emu.world, self.emu.config
        task = world.tasks.get(task_id)
        if task is None or task.status != "SUCCEEDED":
            return storage_error(404, "NoSuchKey")
        kind = outputs.renderer(task)
        if task.output is None:
            task.output = await asyncio.to_thread(kind.render, task, config)
        data = task.output
        if "[[html]]" in task.prompt:  # a hostile or broken CDN answering with a web page
            return Response("<html><script>alert(1)</script></html>", media_type="text/html")
        attempt = world.downloads_of[task.id]
        world.downloads_of[task.id] += 1
        # by the request and the attempt, so that a seeded run truncates the same downloads every time
        truncate = "truncate" in task.flags or world.chance_of(config.truncate_rate, task.prompt, task.model, attempt)
        slow = "slow" in task.flags or world.chance(config.slow_rate)
        world.downloads += 1
        world.download_bytes += len(data)
        headers = {"content-length": str(len(data)), "cache-control": "private"}
        return StreamingResponse(self._stream(task, data, truncate, slow), media_type=kind.content_type,
                                 headers=headers)

    async def _stream(self, task: Task, data: bytes, truncate: bool, slow: bool) -> AsyncIterator[bytes]:
        half = len(data) // 2
        end = half if truncate else len(data)
        # Chunks break at the half-way mark too, so `half_streamed` fires with exactly half sent.
        cuts = sorted({*range(0, end, CHUNK), half} - {end}) + [end]
        for start, stop in itertools.pairwise(cuts):
            piece = data[start:stop]
            if slow:
                await asyncio.sleep(len(piece) / self.emu.config.slow_bytes_per_second)
            yield piece
            if stop == half:
                self.emu.hooks.fire(HookEvent("half_streamed", task.endpoint, task.model, task.body,
                                              task_id=task.id, sent=half, total=len(data)))
        if truncate:
            raise ConnectionAbortedError("download truncated (injected)")
