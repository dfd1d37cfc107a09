"""Apply's task step: poll a journaled task until it ends, download its output, and settle
the journal: a success records the take, a failure says why (SAFETY/ASSET refusals are
remembered so they are not paid for again), trouble leaves the paid task in the journal.

Polling is apply's own loop with jitter; THROTTLED is waiting, not failure. Each answer's
``estimatedCost`` (while the task runs) goes to the progress display, and it and the final
``cost`` hold the caps at the API's figure when that is above the take's reservation
(``planner.budget.Spend.reported``). A finished take records the task's ``cost.credits`` as
its charge; when the answer has none, the table's figure, marked ``credits_from: table``.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from runner.catalog.endpoints import ENDPOINTS, OutputKind, output_extension
from runner.catalog.models import catalog
from runner.engine.client import TaskStatus
from runner.engine.context import ApplyContext
from runner.engine.downloads import Downloads
from runner.engine.outcome import Outcome, failure_text, report_estimate
from runner.errors import ApiError, DownloadError, TaskTimeout
from runner.planner import ShotPlan, TakePlan
from runner.planner.charges import Charge
from runner.store.state import Pending

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
STAYS = ("it stays in the journal: run apply again to finish it (it is paid for, or may still be charged, so it is "
         "never created again)")


class Tasks:
    def __init__(self, ctx: ApplyContext, downloads: Downloads) -> None:
        self.ctx = ctx
        self.downloads = downloads
        self.repriced: set[str] = set()

    async def poll(self, shot_id: str, take: int, task_id: str,
                   on_cost: Callable[[float], None] | None = None) -> TaskStatus:
        """Read the task until it ends, for at most ``--task-timeout`` seconds (a task that
        never finishes must not hold apply, and its lock, forever); ``on_cost`` gets each
        figure the API gives for it (``estimatedCost``, then ``cost``)."""
        limit = self.ctx.options.task_timeout
        scope = asyncio.timeout(limit)
        try:
            async with scope:
                return await self._poll(shot_id, take, task_id, on_cost)
        except TimeoutError:
            if not scope.expired():
                raise
            raise TaskTimeout(task_id, limit) from None

    async def _poll(self, shot_id: str, take: int, task_id: str,
                    on_cost: Callable[[float], None] | None) -> TaskStatus:
        interval = self.ctx.options.poll_interval
        while True:
            status = await self.ctx.client.task(task_id)
            figure = status.credits if status.status in TERMINAL else status.estimated
            if status.estimated is not None and status.status not in TERMINAL:
                report_estimate(self.ctx.reporter, shot_id, take, status.estimated)
            if figure is not None and on_cost is not None:
                on_cost(figure)
            self.ctx.reporter.update(shot_id, take, status.status, status.progress)
            if status.status in TERMINAL:
                return status
            await asyncio.sleep(interval * (0.8 + 0.4 * random.random()))

    def api_figure(self, sp: ShotPlan, tp: TakePlan, credits: float) -> None:
        """The API's estimate or cost of a take this apply created: when it is above what the
        take holds of the caps, hold that instead, and hold the model's later takes at that
        price (said once per model, naming it: its table price is wrong)."""
        key = (sp.id, tp.take)
        held = self.ctx.reserved.get(key)
        if held is None:
            return
        grown = self.ctx.spend.reported(sp.model, held, credits, sp.price.seconds if sp.price else None)
        if grown == held:
            return
        self.ctx.reserved[key] = grown
        if sp.model in self.repriced:
            return
        self.repriced.add(sp.model)
        planned = "no price" if tp.credits is None else f"{tp.credits} credits"
        message = (f"warning: {sp.model}: the API puts {sp.id} take {tp.take} at {grown} credits, the price table at "
                   f"{planned}; the caps now hold {sp.model}'s takes at the API's price (fix its price: "
                   "`runner prices --observed` after this apply)")
        self.ctx.reporter.note(message)
        self.ctx.result.notes.append(message.removeprefix("warning: "))

    def charge(self, sp: ShotPlan, tp: TakePlan, status: TaskStatus) -> tuple[int | None, str | None]:
        """The take's charge for the state, and where it comes from (None: the API's cost), and
        the record drift is computed from."""
        price = sp.price
        self.ctx.result.charges.append(Charge(
            sp.id, tp.take, sp.model, ENDPOINTS[sp.shot.request.endpoint].price_unit if sp.shot else "second",
            tp.credits, status.credits, price.seconds if price else None, price.rate if price else None,
            price.field if price else None, price.base if price else None))
        if status.credits is not None:
            return status.credits, None
        if tp.credits is None:
            return None, None
        message = (f"warning: {sp.id} take {tp.take}: task {status.id} reported no cost; recorded the price table's "
                   f"{tp.credits} credits as its charge (credits_from: table in the state)")
        self.ctx.reporter.note(message)
        self.ctx.result.notes.append(message.removeprefix("warning: "))
        self.ctx.result.table_credits += tp.credits
        return tp.credits, "table"

    async def finish(self, sp: ShotPlan, tp: TakePlan, task_id: str, creates: int) -> Outcome:
        """Poll the task of ``tp`` to its end, download its output into place, settle the journal."""
        assert sp.shot is not None
        try:
            status = await self.poll(sp.id, tp.take, task_id, lambda credits: self.api_figure(sp, tp, credits))
            if status.status == "SUCCEEDED":
                kind = ENDPOINTS[sp.shot.request.endpoint].output
                meta = await self.downloads.fetch(f"{sp.id} take {tp.take}", tp.fingerprint, status,
                                                  self.ctx.spec_dir / tp.output, kind)
        except (ApiError, DownloadError, TaskTimeout) as e:
            return await self.trouble(sp.id, tp.take, task_id, e, creates)
        journal = self.ctx.journal
        self._cost_warning(f"{sp.id} take {tp.take}", status)
        if status.status == "SUCCEEDED":
            credits, came_from = self.charge(sp, tp, status)
            journal.record_take(sp, tp, {**meta, "credits": credits, "credits_from": came_from}, "api", task_id=task_id)
            await journal.flush()
            self.ctx.reporter.update(sp.id, tp.take, "DONE", 1.0)
            self.ctx.result.charged_credits += credits or 0
            return Outcome(sp.id, tp.take, "done", output=tp.output, credits=credits, creates=creates)
        journal.drop_task(sp.id, task_id)
        code = status.failure_code or ("CANCELLED" if status.status == "CANCELLED" else "UNKNOWN")
        reason = failure_text(code, status.failure, has_inputs=bool(sp.shot.request.inputs))
        # Every failure is remembered, so that plan and report can say what happened; only the
        # permanent ones (plan.blocks_retry) keep the next apply from paying for it again.
        journal.remember_refusal(sp, tp, code=code, reason=reason, task_id=task_id)
        await journal.flush()
        return Outcome(sp.id, tp.take, "failed", reason, credits=0, creates=creates, code=code)

    async def refetch(self, sp: ShotPlan, tp: TakePlan) -> Outcome:
        """A take the state records (it was paid for) whose file is nowhere any more: read its
        task again for fresh signed URLs and download the output, free. When Runway no longer
        has it, the take is forgotten, so the next plan counts (and asks for) a new generation
        instead of this apply spending what its plan did not show."""
        assert sp.shot is not None and tp.task_id is not None
        label, task_id = f"{sp.id} take {tp.take}", tp.task_id
        entry = self.ctx.journal.get(sp.id)
        done = entry.take(tp.take) if entry else None
        try:
            status = await self.ctx.client.task(task_id)
            if status.status != "SUCCEEDED":
                raise DownloadError(f"the task is {status.status.lower()}, not finished with an output", expired=True)
            meta = await self.downloads.fetch(label, tp.fingerprint, status, self.ctx.spec_dir / tp.output,
                                              ENDPOINTS[sp.shot.request.endpoint].output)
        except (ApiError, DownloadError) as e:
            gone = (isinstance(e, ApiError) and e.status == 404) or (isinstance(e, DownloadError) and e.expired)
            if not gone:  # maybe only for now: the take stays recorded, the next apply tries again
                return Outcome(sp.id, tp.take, "failed", f"could not fetch the output again from task {task_id} "
                               f"({e}); run apply again", code="REFETCH")
            self.ctx.journal.forget_take(sp.id, tp.take)
            await self.ctx.journal.flush()
            return Outcome(sp.id, tp.take, "failed", f"the output is gone and Runway no longer has it (task "
                           f"{task_id}: {e}); the next plan counts a new generation", code="GONE")
        if done is not None:  # it keeps what it cost and when it was made
            meta = {**meta, "credits": done.credits, "finished": done.finished, "credits_from": done.credits_from}
        self.ctx.journal.record_take(sp, tp, {**meta, "task_id": task_id}, done.source if done else "api")
        await self.ctx.journal.flush()
        self.ctx.reporter.update(sp.id, tp.take, "DONE", 1.0)
        return Outcome(sp.id, tp.take, "cached", f"fetched again from task {task_id}", tp.output)

    def _cost_warning(self, label: str, status: TaskStatus) -> None:
        if status.cost_warning:
            message = f"warning: {label}: task {status.id}: {status.cost_warning}"
            self.ctx.reporter.note(message)
            self.ctx.result.notes.append(message)

    async def trouble(self, shot_id: str, take: int, task_id: str, e: Exception, creates: int) -> Outcome:
        """A journaled task could not be finished now. It stays in the journal (it is paid
        for, or may still be) unless the API says it no longer exists. Its outcome is
        unknown unless it is known to have succeeded (then only the download failed)."""
        if isinstance(e, ApiError) and e.status == 404:
            self.ctx.journal.drop_task(shot_id, task_id)
            await self.ctx.journal.flush()
            return Outcome(shot_id, take, "failed", f"task {task_id} no longer exists on the API (deleted or "
                           "expired); it is dropped from the journal", creates=creates, code="GONE")
        if isinstance(e, DownloadError | OSError):
            return Outcome(shot_id, take, "failed", f"{e}; task {task_id} succeeded and {STAYS}", creates=creates,
                           code="DOWNLOAD")
        return Outcome(shot_id, take, "unknown", f"{e}; the outcome of task {task_id} is unknown and {STAYS}",
                       creates=creates, code="TIMEOUT" if isinstance(e, TaskTimeout) else "API")

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
        except (ApiError, DownloadError, TaskTimeout, OSError) as e:
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
