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
from runner.store.state import Take


def local_actions(ctx: ApplyContext) -> list[Outcome]:
    """Carry out every take action that needs no API call; returns what happened."""
    journal = ctx.journal
    outcomes: list[Outcome] = []
    for sp in ctx.plan.shots:
        if sp.action == "remove":
            journal.remove(sp.id)  # a journal is never thrown away
            continue
        renamed = bool(sp.moved_from and sp.moved_from != sp.id and journal.get(sp.moved_from) is not None
                       and journal.get(sp.id) is None)
        moves = [tp for tp in sp.takes if tp.action == "move" and tp.source]
        # The files move first, then the entry (its takes now naming the new folder), in one save:
        # a crash in between leaves the old entry and files already in the new folder, which the
        # next plan finds there ("move", done) — never an entry naming another shot's folder.
        moved = []
        for tp in moves:
            failed = _move(ctx, sp, tp)
            if failed is None:
                moved.append(tp)
            else:
                outcomes.append(failed)
        if renamed:
            assert sp.moved_from is not None
            journal.rename(sp.moved_from, sp.id, ctx.plan.spec.outputs)
        for tp in moved:
            done = _recorded(ctx, sp, tp)
            meta = {"sha256": done.sha256, "bytes": done.bytes, "credits": done.credits,
                    "task_id": done.task_id, "finished": done.finished, "credits_from": done.credits_from}
            journal.record_take(sp, tp, meta, done.source)
            outcomes.append(Outcome(sp.id, tp.take, "moved", f"from {tp.source}", tp.output))
        if moved:
            journal.save_now()
        for tp in sp.takes:
            if tp.action != "move":
                outcome = _take_action(ctx, sp, tp)
                if outcome is not None:
                    outcomes.append(outcome)
    journal.save_now()
    return outcomes


def _recorded(ctx: ApplyContext, sp: ShotPlan, tp: TakePlan) -> Take:
    """The take the state records for ``tp`` (under the shot's old id before a rename)."""
    found = [e.take(tp.take) for e in (ctx.journal.get(sp.id), ctx.journal.get(sp.moved_from or sp.id)) if e]
    done = next((t for t in found if t is not None), None)
    assert done is not None  # the plan moves only takes the state lists
    return done


def _move(ctx: ApplyContext, sp: ShotPlan, tp: TakePlan) -> Outcome | None:
    """Move a take's file to its new place; None when it is there (moved now, or by an apply that
    was killed before it could record it), else why not.

    The source comes from the state (a pull request can edit it): it was checked to be the take's
    own file when the state was read, and is checked again here, where the move happens (a symlink
    made since), together with its content: only the output the state records is moved, never
    another file that was put in its place."""
    assert tp.source is not None
    done = _recorded(ctx, sp, tp)
    owner = sp.moved_from or sp.id
    why = ctx.plan.spec.outputs.problem(tp.source, shot_id=owner, take=tp.take)
    if why is not None:
        return Outcome(sp.id, tp.take, "failed", f"not moved: the state's {tp.source!r} {why}", code="MOVE")
    base = ctx.spec_dir
    source = confine(base / tp.source, ctx.root, what=f"state file: shots.{owner} take {tp.take} output")
    dest = confine(base / tp.output, ctx.root, what="output")
    if not source.exists() and dest.is_file() and cache_mod.sha256_file(dest) == done.sha256:
        return None  # moved by an apply that was killed before it recorded the move
    if not source.is_file() or cache_mod.sha256_file(source) != done.sha256:
        return Outcome(sp.id, tp.take, "failed", f"not moved: {tp.source} is not the output the state records "
                       "(its sha256 differs, or it is gone); move it back or delete it, then run apply again",
                       code="MOVE")
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, dest)
    return None


def _take_action(ctx: ApplyContext, sp: ShotPlan, tp: TakePlan) -> Outcome | None:
    base = ctx.spec_dir
    if tp.action == "blocked":
        return Outcome(sp.id, tp.take, "failed", f"not retried: {tp.blocked}", code="BLOCKED")
    if tp.action == "keep":
        return Outcome(sp.id, tp.take, "kept", output=tp.output)
    if tp.action == "restore" and tp.cached and tp.cached.get("from") == "store":
        place = ctx.plan.place
        if place is None or not place.pull_output(str(tp.cached["sha256"]), base / tp.output, root=ctx.root,
                                                  size=int(tp.cached["bytes"])):
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
