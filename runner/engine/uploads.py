"""Apply's upload step: the request body as it goes on the wire.

Local inputs, and other shots' outputs (``{from: ID}``, once ``engine.graph`` has found
them), are uploaded once per content and account (``POST /v1/uploads``; the URI is
cached for reuse until shortly before Runway forgets it), and remote URLs are checked again
with DNS, failing closed, right before they are sent (validation may have run offline).
Hashing and DNS lookups run in worker threads, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from runner.engine.context import ApplyContext
from runner.errors import InputRefused, StoreError
from runner.inputs.assets import resolve_local
from runner.inputs.urlpolicy import check_url
from runner.spec import Input, Shot, thaw
from runner.store import cache as cache_mod


class Uploads:
    def __init__(self, ctx: ApplyContext) -> None:
        self.ctx = ctx
        self.hasher = cache_mod.Hasher()
        self._inflight: dict[str, asyncio.Future[str]] = {}

    @property
    def _account(self) -> str:
        return self.ctx.client.connection.account

    async def _digest(self, path: Path) -> str:
        return await asyncio.to_thread(self.hasher.sha256, path)

    async def upload(self, path: Path) -> str:
        """The runway:// URI of ``path``'s content: cached, in flight, or uploaded now."""
        digest = await self._digest(path)
        if digest not in self._inflight:
            self._inflight[digest] = asyncio.ensure_future(self._upload(path, digest))
        return await self._inflight[digest]

    async def _upload(self, path: Path, digest: str) -> str:
        hit = cache_mod.upload_get(self._account, digest) or await self._shared(digest)
        if hit:
            return hit
        self.ctx.reporter.note(f"uploading {path.name}")
        uri = await self.ctx.client.upload(path)
        cache_mod.upload_put(self._account, digest, uri)
        await self._share(digest, uri)
        return uri

    async def _shared(self, digest: str) -> str | None:
        """An upload of this content another machine made with the same account (a store)."""
        place = self.ctx.plan.place
        if place is None or place.objects is None:
            return None
        try:
            uri = await asyncio.to_thread(place.shared_upload, self._account, digest)
        except StoreError:
            return None  # uploading again costs no credits
        if uri:
            cache_mod.upload_put(self._account, digest, uri)
        return uri

    async def _share(self, digest: str, uri: str) -> None:
        place = self.ctx.plan.place
        if place is not None and place.objects is not None:
            with contextlib.suppress(StoreError):
                await asyncio.to_thread(place.share_upload, self._account, digest, uri, cache_mod.UPLOAD_TTL)

    async def forget(self, shot: Shot) -> None:
        """Drop cached upload URIs of this shot's inputs (the API no longer knows them)."""
        for item in shot.request.inputs:
            if item.source in ("local", "shot"):
                digest = await self._digest(self._file(shot, item))
                cache_mod.upload_forget(self._account, digest)
                self._inflight.pop(digest, None)
                place = self.ctx.plan.place
                if place is not None and place.objects is not None:
                    with contextlib.suppress(StoreError):
                        await asyncio.to_thread(place.forget_upload, self._account, digest)

    def _file(self, shot: Shot, item: Input) -> Path:
        """The file behind a local input, or the verified output of the upstream take it names."""
        if item.source == "shot":
            up = next(u for u in shot.upstreams if u.pointer == item.pointer)
            return self.ctx.upstream_files[(up.shot, up.take)]
        return resolve_local(item.ref, self.ctx.spec_dir)

    async def url_problems(self, shot: Shot) -> list[str]:
        """Every remote input of ``shot`` that the URL policy refuses now, with DNS."""
        hosts = self.ctx.plan.spec.allowed_hosts
        problems = []
        for item in shot.request.inputs:
            if item.source == "url":
                why = await asyncio.to_thread(check_url, item.ref, allowed_hosts=hosts, offline_ok=False)
                if why:
                    problems.append(f"{item.field}: {why}")
        return problems

    async def wire_body(self, shot: Shot) -> dict[str, Any]:
        """The body to send: local inputs replaced by upload URIs, URLs checked once more."""
        body: dict[str, Any] = thaw(shot.request.body)
        hosts = self.ctx.plan.spec.allowed_hosts
        for item in shot.request.inputs:
            if item.source == "url":
                why = await asyncio.to_thread(check_url, item.ref, allowed_hosts=hosts, offline_ok=False)
                if why:
                    raise InputRefused(item.field, why)
            if item.source in ("local", "shot"):
                uri = await self.upload(self._file(shot, item))
                target: Any = body
                for key in item.pointer[:-1]:
                    target = target[key]
                target[item.pointer[-1]] = uri
        return body
