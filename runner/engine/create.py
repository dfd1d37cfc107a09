"""Apply's create step: one take, from the budget check to a journaled task.

Per attempt, inside the model's concurrency slot: stop if creates must stop; reserve the
take's share of ``--max-credits`` and the daily cap (or refuse); build the wire body
(uploads, URL checks); check for a stop once more (uploads take time); journal the intent;
POST once (never retried blindly); journal the task id; then poll and download. A create of
unknown outcome (timeout, 5xx, broken connection) stays in the journal as "may have been
created" and keeps its share of the caps (it may have been charged). A 400 about an upload re-uploads once; a 429
stops all new creates; an INTERNAL / THIRD_PARTY failure creates again, up to
``--retries`` times (each is billed).
"""

from __future__ import annotations

import asyncio
from typing import Any

from runner.engine.context import ApplyContext
from runner.engine.outcome import Outcome, issues_text
from runner.engine.tasks import Tasks
from runner.engine.uploads import Uploads
from runner.errors import ApiError, InputRefused
from runner.planner import ShotPlan, TakePlan
from runner.store.state import Pending

RETRYABLE_PREFIXES = ("INTERNAL", "THIRD_PARTY")


class _Again(Exception):
    """This attempt did not count: run it again (after a re-upload)."""


class Creates:
    def __init__(self, ctx: ApplyContext, uploads: Uploads, tasks: Tasks) -> None:
        self.ctx = ctx
        self.uploads = uploads
        self.tasks = tasks

    async def take(self, sp: ShotPlan, tp: TakePlan, slots: asyncio.Semaphore) -> Outcome:
        """Create ``tp`` and see it through; retries retryable failures within ``--retries``."""
        made = 0  # creates that reached the API for this take
        attempt = 0
        reuploaded = False
        while True:
            attempt += 1
            if self.ctx.stop_reason:
                return Outcome(sp.id, tp.take, "not_started", self.ctx.stop_reason, creates=made)
            async with slots:
                try:
                    outcome = await self._attempt(sp, tp, attempt, made, reupload=not reuploaded)
                except _Again:
                    reuploaded = True
                    attempt -= 1
                    continue
            made = outcome.creates
            if self._retryable(outcome, attempt):
                self.ctx.reporter.note(f"{sp.id} take {tp.take}: {outcome.reason}; creating it again "
                                       f"(retry {attempt} of {self.ctx.options.retries})")
                continue
            return outcome

    def _retryable(self, outcome: Outcome, attempt: int) -> bool:
        return (outcome.status == "failed" and bool(outcome.code) and str(outcome.code).startswith(RETRYABLE_PREFIXES)
                and attempt <= self.ctx.options.retries and not self.ctx.stop_reason)

    async def _attempt(self, sp: ShotPlan, tp: TakePlan, attempt: int, made: int, *, reupload: bool) -> Outcome:
        ctx = self.ctx
        assert sp.shot is not None
        if ctx.stop_reason:
            return Outcome(sp.id, tp.take, "not_started", ctx.stop_reason, creates=made)
        # What the table says, or what the API showed this model costs when that is more.
        cost = ctx.spend.price(sp.model, tp.credits or 0, sp.price.seconds if sp.price else None)
        # Reserved before the first await: takes checked side by side cannot together pass a cap.
        refusal = ctx.spend.reserve(sp.model, cost)
        if refusal:
            return Outcome(sp.id, tp.take, "not_started", refusal, creates=made)
        ctx.reserved[(sp.id, tp.take)] = cost
        prepared = await self._prepare(sp, tp, attempt, made, cost)
        if isinstance(prepared, Outcome):
            return prepared
        body, intent = prepared
        ctx.reporter.update(sp.id, tp.take, "CREATING")
        try:
            created = await ctx.client.create(sp.shot.request.endpoint, body)
        except ApiError as e:
            return await self._not_created(sp, tp, intent, e, made, reupload=reupload)
        made += 1
        ctx.result.creates += 1
        ctx.journal.set_task_id(sp.id, intent, created.task_id)
        await ctx.journal.flush()
        if created.estimated is not None:
            self.tasks.api_figure(sp, tp, created.estimated)
        if created.warning:  # journaled first: the task is paid for, whatever else the answer got wrong
            note = (f"{sp.id} take {tp.take}: the API answered the create of task {created.task_id} "
                    f"with {created.warning}")
            ctx.reporter.note(f"warning: {note}")
            ctx.result.notes.append(note)
        return await self.tasks.finish(sp, tp, created.task_id, made)

    async def _prepare(self, sp: ShotPlan, tp: TakePlan, attempt: int, made: int,
                       cost: int) -> tuple[dict[str, Any], Pending] | Outcome:
        """The wire body and a durable intent, or why nothing will be sent (the reservation
        is then given back). Uploads may take long: a stop that came meanwhile wins."""
        ctx = self.ctx
        assert sp.shot is not None
        try:
            body = await self.uploads.wire_body(sp.shot)
        except InputRefused as e:
            ctx.spend.release(sp.model, cost)
            where = f"{sp.location}: " if sp.location else ""
            return Outcome(sp.id, tp.take, "failed", f"{where}{e}; nothing was sent", code="REFUSED")
        except ApiError as e:  # an upload failed or was answered oddly: nothing was created for this take
            ctx.spend.release(sp.model, cost)
            return Outcome(sp.id, tp.take, "failed", f"uploading an input failed: {e}; nothing was created",
                           creates=made, code="UPLOAD")
        except BaseException:
            ctx.spend.release(sp.model, cost)
            raise
        if ctx.stop_reason:
            ctx.spend.release(sp.model, cost)
            return Outcome(sp.id, tp.take, "not_started", ctx.stop_reason, creates=made)
        intent = ctx.journal.add_intent(sp, tp, attempt)
        await ctx.journal.flush()
        # A stop that came while the intent was being written, a store lock taken over, or an
        # intent the store did not take: not sent.
        stop = ctx.lock_lost() or ctx.journal_unwritten() or ctx.stop_reason
        if stop:
            ctx.journal.drop_intent(sp.id, intent)
            await ctx.journal.flush()
            ctx.spend.release(sp.model, cost)
            return Outcome(sp.id, tp.take, "not_started", stop, creates=made)
        return body, intent

    async def _not_created(self, sp: ShotPlan, tp: TakePlan, intent: Pending, e: ApiError, made: int, *,
                           reupload: bool) -> Outcome:
        ctx = self.ctx
        cost = ctx.reserved.get((sp.id, tp.take), tp.credits or 0)
        if e.maybe_created:  # it may have been charged: it keeps its share of the caps for the rest of the run
            ctx.spend.lost_answer(cost)
            ctx.result.possibly_charged += cost
            ctx.result.notes.append(f"{sp.id} take {tp.take}: {e}")
            return Outcome(sp.id, tp.take, "unknown", f"{e}: the task may have been created; check the dashboard, "
                           "then run apply with --recreate-unknown to create it again", creates=made + 1)
        ctx.spend.release(sp.model, cost)
        ctx.journal.drop_intent(sp.id, intent)
        await ctx.journal.flush()
        if e.status == 400 and reupload and e.mentions_upload() and sp.shot is not None \
                and any(i.source == "local" for i in sp.shot.request.inputs):
            await self.uploads.forget(sp.shot)  # an expired or foreign upload of a local file: upload again, once
            ctx.reporter.note(f"{sp.id} take {tp.take}: an upload was not accepted; uploading again")
            raise _Again
        if e.rate_limited:
            ctx.stop_reason = f"not started: the API said 429 ({e})"
            return Outcome(sp.id, tp.take, "not_started", ctx.stop_reason, creates=made)
        reason = issues_text(e, sp)
        ctx.journal.remember_refusal(sp, tp, code="REJECTED", reason=reason, task_id=None)  # for plan and report
        await ctx.journal.flush()
        return Outcome(sp.id, tp.take, "failed", reason, creates=made, code="REJECTED")
