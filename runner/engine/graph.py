"""Apply walks the graph: a shot that takes another shot's output waits for exactly that take.

There are no stages: every take of the plan runs as soon as it can, and a dependent's job
first awaits the takes it reads (``wait``) — outside any concurrency slot, so waiting holds
no model's slot and reserves no budget. Each upstream take settles once: done (its file is
verified and in ``output_dir``), or why not (failed, unknown outcome, not started). A
dependent of an upstream that did not succeed is "not started: input keyart failed" — no
create, nothing charged; the next apply plans it again. An upstream this apply does not run
(kept, restored, or not selected) feeds its dependents from its file on disk, provided the
state says that file is the output of the request the dependent was planned with.
The upstream's file then goes up like a local input (``Uploads``: content-addressed, cached).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from runner.engine.context import ApplyContext
from runner.engine.outcome import Outcome
from runner.errors import OutsideProject
from runner.inputs.paths import confine
from runner.planner import ShotPlan
from runner.planner.fingerprint import UPSTREAM

TakeKey = tuple[str, int]
OK = ("done", "cached", "moved", "kept")
_WHY = {"failed": "failed", "unknown": "has an unknown outcome", "not_started": "was not started"}


class Graph:
    def __init__(self, ctx: ApplyContext) -> None:
        self.ctx = ctx
        self.planned = {sp.id: sp for sp in ctx.plan.shots}
        self.needed: set[TakeKey] = {(u.shot, u.take) for sp in ctx.plan.shots if sp.shot for u in sp.shot.upstreams}
        # takes that a later take of the same request reuses (engine.reuse) are waited for too
        self.needed |= {tp.reuses for sp in ctx.plan.shots for tp in sp.takes if tp.reuses is not None}
        self.settled: dict[TakeKey, asyncio.Future[str | None]] = {}
        self.tracked: set[TakeKey] = set()

    def _future(self, key: TakeKey) -> asyncio.Future[str | None]:
        if key not in self.settled:
            self.settled[key] = asyncio.get_running_loop().create_future()
        return self.settled[key]

    def settle(self, outcome: Outcome) -> None:
        """Record how a take ended; its dependents may start (or learn why not)."""
        key = (outcome.shot, outcome.take)
        if key in self.needed and not self._future(key).done():
            self._future(key).set_result(None if outcome.status in OK else _WHY.get(outcome.status, outcome.status))

    def track(self, key: TakeKey, job: Awaitable[Outcome]) -> Awaitable[Outcome]:
        """``job`` (a take that dependents may wait for), settling its take when it ends."""
        self.tracked.add(key)
        return self._tracked(key, job)

    async def _tracked(self, key: TakeKey, job: Awaitable[Outcome]) -> Outcome:
        try:
            outcome = await job
        except BaseException:
            self.settle(Outcome(key[0], key[1], "failed"))
            raise
        self.settle(outcome)
        return outcome

    def settle_the_rest(self, running: set[TakeKey]) -> None:
        """Takes no job of this apply runs: by what already happened to them (local actions,
        unknown creates), else they are as the plan or the state left them (checked in ``wait``)."""
        ended = {(o.shot, o.take): o for o in self.ctx.result.outcomes}
        for key in self.needed - running:
            if key in ended:
                self.settle(ended[key])
                continue
            sp = self.planned.get(key[0])
            tp = next((t for t in sp.takes if t.take == key[1]), None) if sp else None
            blocked = tp is not None and tp.action in ("blocked", "create", "resume")
            self._future(key).set_result("was not run (blocked or of unknown outcome)" if blocked else None)

    async def settled_why(self, key: TakeKey) -> str | None:
        """Wait until the take ``key`` settles: None when it has its output, else why not."""
        return await self._future(key)

    async def wait(self, sp: ShotPlan) -> str | None:
        """Wait for every input take of ``sp``; None when all are ready (their files are put in
        ``ctx.upstream_files``), else why the shot is not started."""
        assert sp.shot is not None
        for up in sp.shot.upstreams:
            key = (up.shot, up.take)
            why = await self._future(key)
            if why is None:
                why = self._file(sp, up.pointer, key)
            if why is not None:
                return f"not started: input {up.shot} {why}"
        return None

    def _file(self, sp: ShotPlan, pointer: tuple[str | int, ...], key: TakeKey) -> str | None:
        """Find the upstream take's file, and check it is the output of the request ``sp`` was
        planned with (an upstream left out by --select may be out of date)."""
        node: object = sp.canonical
        for part in pointer:
            node = node[part]  # type: ignore[index]
        expected = str(node).removeprefix(UPSTREAM)
        upstream = self.planned.get(key[0])
        take = next((t for t in upstream.takes if t.take == key[1]), None) if upstream else None
        if take is not None:
            fingerprint, output = take.fingerprint, take.output
        else:
            entry = self.ctx.plan.state.shots.get(key[0])
            done = entry.take(key[1]) if entry else None
            if done is None:
                return f"has no output yet; apply it too (--select +{sp.id})"
            fingerprint, output = done.fingerprint, done.output
        if fingerprint != expected:
            return f"is out of date; apply it too (--select +{sp.id})"
        try:
            path = confine(self.ctx.spec_dir / output, self.ctx.root, what=f"the output of {key[0]} take {key[1]}")
        except OutsideProject:
            return "has its output outside the project"
        if not path.is_file():
            return f"has no output at {output}; run apply again"
        self.ctx.upstream_files[key] = path
        return None

