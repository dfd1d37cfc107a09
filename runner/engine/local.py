"""Apply's local work, done before any API call: renamed shots move their files and state,
outputs come back from the cache, removed shots leave the state (their files stay).

It runs in a worker thread (file moves and copies must not block the event loop) before
the loop starts anything else, so it is the only one touching the journal then.
"""

from __future__ import annotations

import os

from runner.engine.context import ApplyContext
from runner.engine.outcome import Outcome
from runner.inputs.paths import confine
from runner.planner import ShotPlan, TakePlan
from runner.store import cache as cache_mod


def local_actions(ctx: ApplyContext) -> list[Outcome]:
    """Carry out every take action that needs no API call; returns what happened."""
    journal = ctx.journal
    outcomes: list[Outcome] = []
    for sp in ctx.plan.shots:
        if sp.action == "remove":
            journal.remove(sp.id)  # a journal is never thrown away
            continue
        if sp.moved_from and sp.moved_from != sp.id and journal.get(sp.moved_from) is not None \
                and journal.get(sp.id) is None:
            journal.rename(sp.moved_from, sp.id)
        for tp in sp.takes:
            outcome = _take_action(ctx, sp, tp)
            if outcome is not None:
                outcomes.append(outcome)
    journal.save_now()
    return outcomes


def _take_action(ctx: ApplyContext, sp: ShotPlan, tp: TakePlan) -> Outcome | None:
    base = ctx.spec_dir
    if tp.action == "blocked":
        return Outcome(sp.id, tp.take, "failed", f"not retried: {tp.blocked}", code="BLOCKED")
    if tp.action == "keep":
        return Outcome(sp.id, tp.take, "kept", output=tp.output)
    if tp.action == "move" and tp.source:
        entry = ctx.journal.get(sp.id)
        done = entry.take(tp.take) if entry else None
        if done is None:  # pragma: no cover - plan only moves takes the state lists
            return None
        # The source comes from the state file (a pull request can edit it): both ends are
        # confined again here, where the move happens, so a symlink made since is caught too.
        source = confine(base / tp.source, ctx.root, what=f"state file: shots.{sp.id} take {tp.take} output")
        dest = confine(base / tp.output, ctx.root, what="output")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, dest)
        meta = {"sha256": done.sha256, "bytes": done.bytes, "credits": done.credits,
                "task_id": done.task_id, "finished": done.finished, "credits_from": done.credits_from}
        ctx.journal.record_take(sp, tp, meta, done.source)
        ctx.journal.save_now()
        return Outcome(sp.id, tp.take, "moved", f"from {tp.source}", tp.output)
    if tp.action == "restore" and tp.cached and tp.cached.get("from") == "store":
        place = ctx.plan.place
        if place is None or not place.pull_output(str(tp.cached["sha256"]), base / tp.output, root=ctx.root):
            return Outcome(sp.id, tp.take, "failed", "the store no longer has this output; run apply again "
                           "to generate it", code="STORE")
        ctx.journal.record_take(sp, tp, tp.cached, str(tp.cached.get("source") or "api"))
        return Outcome(sp.id, tp.take, "cached", "restored from the store", tp.output)
    if tp.action == "restore" and tp.cached:
        cache_mod.output_restore(tp.cached, base / tp.output, root=ctx.root)
        ctx.journal.record_take(sp, tp, tp.cached, "cache")
        ctx.journal.drop_unknown_intents(sp.id, tp.fingerprint)  # the output is here: nothing is unknown
        return Outcome(sp.id, tp.take, "cached", "restored from cache", tp.output)
    return None
