"""``runner apply --cancel-pending``: cancel the journal's tasks that are still running.

A finished task is never cancelled (it is paid for: apply downloads it instead), and an
intent of unknown outcome is left for the user to check on the dashboard.
"""

from __future__ import annotations

from runner.engine.context import ApplyContext
from runner.engine.outcome import ApplyResult, Outcome
from runner.errors import ApiError
from runner.store.state import Pending


async def cancel_pending(ctx: ApplyContext) -> ApplyResult:
    for shot_id, st in ctx.journal.items():
        for p in list(st.pending):
            outcome = await _cancel_one(ctx, shot_id, p)
            ctx.result.outcomes.append(outcome)
    return ctx.result


async def _cancel_one(ctx: ApplyContext, shot_id: str, p: Pending) -> Outcome:
    if not p.task_id:
        return Outcome(shot_id, p.take, "unknown", "a create of unknown outcome is in the journal; check the "
                       "dashboard (left as it is)")
    try:
        status = await ctx.client.task(p.task_id)
        if status.status in ("PENDING", "THROTTLED", "RUNNING"):
            await ctx.client.cancel(p.task_id)
            reason = f"cancelled task {p.task_id}"
        elif status.status == "SUCCEEDED":
            return Outcome(shot_id, p.take, "not_started", f"task {p.task_id} has already succeeded (paid): kept; "
                           "run apply to download it")
        else:
            reason = f"task {p.task_id} had already ended ({status.status})"
    except ApiError as e:
        if e.status != 404:
            raise
        reason = f"task {p.task_id} no longer exists on the API"
    ctx.journal.drop_task(shot_id, p.task_id)
    await ctx.journal.flush()
    return Outcome(shot_id, p.take, "not_started", reason)
