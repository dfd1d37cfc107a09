"""Apply's reuse step: a take that sends the same request as an earlier take of the plan (the
same fingerprint) is not created again. It waits for that take (``engine.graph``) and gets a
copy of its verified file, for 0 credits, the way a later plan would restore it from the
cache; when that take did not succeed, it is not started (free) and the next plan prices it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from runner.engine.context import ApplyContext
from runner.engine.graph import Graph
from runner.engine.outcome import Outcome
from runner.errors import OutsideProject
from runner.inputs.paths import confine
from runner.planner import ShotPlan, TakePlan
from runner.store.cache import sha256_file
from runner.store.files import atomic_copy


async def reuse(ctx: ApplyContext, graph: Graph, sp: ShotPlan, tp: TakePlan) -> Outcome:
    """Wait for the take ``tp`` reuses, then copy its file into ``tp``'s place and record it."""
    assert tp.reuses is not None
    shot, take = tp.reuses
    why = await graph.settled_why(tp.reuses)
    if why is not None:
        return Outcome(sp.id, tp.take, "not_started", f"not started: it reuses {shot} take {take}, which {why}")
    entry = ctx.journal.get(shot)
    done = entry.take(take) if entry else None
    if done is None or done.fingerprint != tp.fingerprint:
        return Outcome(sp.id, tp.take, "not_started", f"not started: {shot} take {take} has no output of this request "
                       "yet; run apply again")
    try:
        source = confine(ctx.spec_dir / done.output, ctx.root, what=f"the output of {shot} take {take}")
        dest = confine(ctx.spec_dir / tp.output, ctx.root, what="output")
        await asyncio.to_thread(_copy, source, dest, ctx.root, done.sha256)
    except (OSError, OutsideProject, ValueError) as e:
        return Outcome(sp.id, tp.take, "failed", f"could not copy the output of {shot} take {take} ({e}); nothing "
                       "was charged: run apply again", code="REUSE")
    meta = {"sha256": done.sha256, "bytes": done.bytes, "credits": 0, "task_id": done.task_id,
            "finished": done.finished}
    ctx.journal.record_take(sp, tp, meta, "cache")
    await ctx.journal.flush()
    ctx.reporter.update(sp.id, tp.take, "DONE", 1.0)
    return Outcome(sp.id, tp.take, "cached", f"the same request as {shot} take {take}: its file, 0 credits",
                   tp.output, credits=0)


def _copy(source: Path, dest: Path, root: Path, sha256: str) -> None:
    """Copy the verified file of the reused take, refusing one that changed since it was recorded."""
    if sha256_file(source) != sha256:
        raise ValueError(f"{source.name} is not the file the state records (sha256 differs)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_copy(source, dest, root=root)
