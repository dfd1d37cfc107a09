"""Apply's task step: poll a journaled task until it ends, download its output, and settle
the journal: a success records the take, a failure says why (SAFETY/ASSET refusals are
remembered so they are not paid for again), trouble leaves the paid task in the journal.

Polling is apply's own loop with jitter; THROTTLED is waiting, not failure.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.catalog.endpoints import ENDPOINTS, OutputKind, output_extension
from runner.catalog.models import catalog
from runner.engine.client import TaskStatus
from runner.engine.context import ApplyContext
from runner.engine.downloads import Downloads
from runner.engine.outcome import Outcome, failure_text
from runner.errors import ApiError, DownloadError
from runner.planner import ShotPlan, TakePlan
from runner.store.state import Pending

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
PERMANENT_PREFIXES = ("SAFETY", "ASSET")


class Tasks:
    def __init__(self, ctx: ApplyContext, downloads: Downloads) -> None:
        self.ctx = ctx
        self.downloads = downloads

    async def poll(self, shot_id: str, take: int, task_id: str) -> TaskStatus:
        interval = self.ctx.options.poll_interval
        while True:
            status = await self.ctx.client.task(task_id)
            self.ctx.reporter.update(shot_id, take, status.status, status.progress)
            if status.status in TERMINAL:
                return status
            await asyncio.sleep(interval * (0.8 + 0.4 * random.random()))

    async def finish(self, sp: ShotPlan, tp: TakePlan, task_id: str, creates: int) -> Outcome:
        """Poll the task of ``tp`` to its end, download its output into place, settle the journal."""
        assert sp.shot is not None
        try:
            status = await self.poll(sp.id, tp.take, task_id)
            if status.status == "SUCCEEDED":
                kind = ENDPOINTS[sp.shot.request.endpoint].output
                meta = await self.downloads.fetch(f"{sp.id} take {tp.take}", tp.fingerprint, status,
                                                  self.ctx.spec_dir / tp.output, kind)
        except (ApiError, DownloadError) as e:
            return await self.trouble(sp.id, tp.take, task_id, e, creates)
        journal = self.ctx.journal
        self._cost_warning(f"{sp.id} take {tp.take}", status)
        if status.status == "SUCCEEDED":
            journal.record_take(sp, tp, meta, "api", task_id=task_id)
            await journal.flush()
            self.ctx.reporter.update(sp.id, tp.take, "DONE", 1.0)
            self.ctx.result.charged_credits += status.credits or 0
            return Outcome(sp.id, tp.take, "done", output=tp.output, credits=status.credits, creates=creates)
        journal.drop_task(sp.id, task_id)
        code = status.failure_code or ("CANCELLED" if status.status == "CANCELLED" else "UNKNOWN")
        reason = failure_text(code, status.failure)
        if code.startswith(PERMANENT_PREFIXES):
            journal.remember_refusal(sp, tp, code=code, reason=reason, task_id=task_id)
        await journal.flush()
        return Outcome(sp.id, tp.take, "failed", reason, credits=0, creates=creates, code=code)

    def _cost_warning(self, label: str, status: TaskStatus) -> None:
        if status.cost_warning:
            message = f"warning: {label}: task {status.id}: {status.cost_warning}"
            self.ctx.reporter.note(message)
            self.ctx.result.notes.append(message)

    async def trouble(self, shot_id: str, take: int, task_id: str, e: Exception, creates: int) -> Outcome:
        """A journaled task could not be finished now. It stays in the journal (it is paid
        for) unless the API says it no longer exists."""
        if isinstance(e, ApiError) and e.status == 404:
            self.ctx.journal.drop_task(shot_id, task_id)
            await self.ctx.journal.flush()
            return Outcome(shot_id, take, "failed", f"task {task_id} no longer exists on the API (deleted or "
                           "expired); it is dropped from the journal", creates=creates, code="GONE")
        return Outcome(shot_id, take, "failed", f"{e}; task {task_id} stays in the journal: run apply again to "
                       "finish it", creates=creates, code="DOWNLOAD" if isinstance(e, DownloadError) else "API")

    async def resume(self, sp: ShotPlan | None, shot_id: str, pending: Pending) -> Outcome:
        """Finish a journaled task instead of creating it again."""
        assert pending.task_id is not None
        tp = next((t for t in sp.takes if t.fingerprint == pending.fingerprint and t.action == "resume"), None) \
            if sp else None
        if sp is not None and tp is not None:
            return await self.finish(sp, tp, pending.task_id, 0)
        return await self._finish_into_cache(shot_id, pending)

    async def _finish_into_cache(self, shot_id: str, pending: Pending) -> Outcome:
        """An older version of the shot, a removed shot, or a take created anew (--replace):
        finish the paid task into the cache, so nothing is lost, and leave the files alone."""
        assert pending.task_id is not None
        shot = self.ctx.journal.get(shot_id)
        kind = output_kind(shot.model, shot.mode) if shot else "video"
        name = "out." + (state_extension(shot.model, shot.mode, shot.request) if shot else "mp4")
        try:
            status = await self.poll(shot_id, pending.take, pending.task_id)
            if status.status == "SUCCEEDED":
                folder = Path(tempfile.mkdtemp(prefix="runner-"))
                try:
                    await self.downloads.fetch(f"{shot_id} take {pending.take}", pending.fingerprint, status,
                                               folder / name, kind, root=folder)
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
                self.ctx.result.charged_credits += status.credits or 0
            self._cost_warning(f"{shot_id} take {pending.take}", status)
        except (ApiError, DownloadError) as e:
            return await self.trouble(shot_id, pending.take, pending.task_id, e, 0)
        self.ctx.journal.drop_task(shot_id, pending.task_id)
        await self.ctx.journal.flush()
        return Outcome(shot_id, pending.take, "kept", f"finished journaled task {pending.task_id} ({status.status}) "
                       "of an earlier version; its output is in the cache", credits=status.credits)


def state_extension(model: str, mode: str, request: Mapping[str, Any]) -> str:
    """The file extension of a state entry's output (a frame sequence is a .zip)."""
    info = catalog().get(model)
    endpoint = info.modes.get(mode) if info else None
    if endpoint is None or endpoint not in ENDPOINTS:
        return "mp4"
    return output_extension(endpoint, request)


def output_kind(model: str, mode: str) -> OutputKind:
    """What a state entry's task produces (its model file may be gone: then a video, as
    every model before output kinds existed made)."""
    info = catalog().get(model)
    endpoint = info.modes.get(mode) if info else None
    if endpoint is None or endpoint not in ENDPOINTS:
        return "video"
    return ENDPOINTS[endpoint].output
