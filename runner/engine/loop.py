"""Apply: carry a plan out — concurrently, resumably, never paying twice.

The loop composes the steps (``local``, ``uploads``, ``create``, ``tasks``, ``downloads``,
with the ``journal`` underneath), in this order:
1. local actions (no API): move files of renamed shots, restore outputs from the cache;
2. resume the journal: poll and download every pending task of the state file; report
   intents without a task id as "may have been created" (created again only with
   ``recreate_unknown``);
3. check remote inputs with DNS and the account (balance, daily caps) before the first create;
4. create, poll and download the rest, per model at most min(tier concurrency,
   parallelism) at a time; a shot that takes another shot's output starts once that take is
   verified, and is not started (free) when it failed (``graph``); a take that sends the same
   request as an earlier one gets a copy of its file once it is there (``reuse``).
Nothing here blocks the event loop: file work runs in worker threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from runner.engine.client import Client
from runner.engine.context import ApplyContext
from runner.engine.create import Creates
from runner.engine.downloads import Downloads
from runner.engine.graph import Graph
from runner.engine.journal import Journal
from runner.engine.local import local_actions
from runner.engine.outcome import ApplyOptions, ApplyResult, Outcome, Reporter, SilentReporter
from runner.engine.reuse import reuse
from runner.engine.tasks import Tasks
from runner.engine.uploads import Uploads
from runner.errors import AccountLimit
from runner.planner import Plan, ShotPlan, TakePlan
from runner.planner.budget import Spend, check_account


class Engine:
    def __init__(self, plan: Plan, client: Client, options: ApplyOptions, reporter: Reporter | None = None, *,
                 guard: Callable[[], None] | None = None) -> None:
        self.plan = plan
        self.ctx = ApplyContext(plan, client, options, reporter or SilentReporter(), Journal(plan.state, plan.place),
                                ApplyResult(planned_credits=plan.total_credits),
                                Spend(max_credits=options.max_credits), guard=guard or _always_held)
        self.uploads = Uploads(self.ctx)
        self.tasks = Tasks(self.ctx, Downloads(self.ctx))
        self.creates = Creates(self.ctx, self.uploads, self.tasks)
        self.graph = Graph(self.ctx)
        self.tiers: dict[str, dict[str, int | None]] = {}

    @property
    def journal(self) -> Journal:
        return self.ctx.journal

    @property
    def result(self) -> ApplyResult:
        return self.ctx.result

    def interrupt(self) -> None:
        """First Ctrl-C: no new creates; tasks in flight are still polled and downloaded."""
        self.ctx.stop_reason = "not started: interrupted"

    async def run(self) -> ApplyResult:
        self.result.outcomes += await asyncio.to_thread(local_actions, self.ctx)
        jobs, recreate = self._resume_journal()
        jobs += [self.graph.track((sp.id, tp.take), self.tasks.refetch(sp, tp))
                 for sp in self.plan.shots for tp in sp.takes if tp.action == "refetch"]
        jobs += [self.graph.track((sp.id, tp.take), reuse(self.ctx, self.graph, sp, tp))
                 for sp in self.plan.shots for tp in sp.takes if tp.action == "reuse"]
        await self.journal.flush()
        creates = [(sp, tp) for sp in self.plan.shots for tp in sp.takes
                   if tp.action == "create" or (tp.action == "resume" and tp.fingerprint in recreate)]
        creates = await self._refuse_bad_urls(creates)
        if creates:
            await self._check_account(creates)
        slots = self._slots({sp.model for sp, _ in creates})
        jobs += [self.graph.track((sp.id, tp.take), self._create(sp, tp, slots[sp.model])) for sp, tp in creates]
        self.graph.settle_the_rest(self.graph.tracked)
        self.result.outcomes += await asyncio.gather(*jobs)
        for sp in self.plan.shots:
            self.journal.finish_shot_if_complete(sp)
        await self.journal.flush()
        return self.result

    async def _create(self, sp: ShotPlan, tp: TakePlan, slots: asyncio.Semaphore) -> Outcome:
        """A take's create, once the takes it reads are verified (no stage barriers)."""
        if sp.shot is not None and sp.shot.upstreams:
            why = await self.graph.wait(sp)
            if why:
                return Outcome(sp.id, tp.take, "not_started", why)
        return await self.creates.take(sp, tp, slots)

    def _resume_journal(self) -> tuple[list[Awaitable[Outcome]], set[str]]:
        """Jobs that finish journaled tasks, and the fingerprints of unknown creates to make again."""
        jobs: list[Awaitable[Outcome]] = []
        recreate: set[str] = set()
        planned = {s.id: s for s in self.plan.shots}
        in_spec = {s.id for s in self.plan.spec.shots}
        for shot_id, st in self.journal.items():
            if shot_id in in_spec and shot_id not in planned:
                continue  # not selected this time: its journal waits for an apply that selects it
            for p in list(st.pending):
                if p.task_id:
                    job = self.tasks.resume(planned.get(shot_id), shot_id, p)
                    jobs.append(self.graph.track((shot_id, p.take), job))
                elif self.ctx.options.recreate_unknown and shot_id in planned:
                    self.journal.drop_intent(shot_id, p)
                    recreate.add(p.fingerprint)
                else:
                    self.result.outcomes.append(Outcome(
                        shot_id, p.take, "unknown",
                        f"a create started at {p.created} may have been created; check the dashboard, then run "
                        "apply with --recreate-unknown to create it again"))
        return jobs, recreate

    async def _refuse_bad_urls(self, creates: list[tuple[ShotPlan, TakePlan]]) -> list[tuple[ShotPlan, TakePlan]]:
        """Check every remote input with DNS before the first request; drop refused shots."""
        kept = []
        for sp, tp in creates:
            problems = await self.uploads.url_problems(sp.shot) if sp.shot else []
            if problems:
                where = f"{sp.location}: " if sp.location else ""
                self.result.outcomes.append(Outcome(sp.id, tp.take, "failed", f"{where}{problems[0]}; nothing was sent",
                                                    code="REFUSED"))
            else:
                kept.append((sp, tp))
        return kept

    async def _check_account(self, creates: list[tuple[ShotPlan, TakePlan]]) -> None:
        org = await self.ctx.client.organization()
        planned: dict[str, int] = {}
        for sp, _ in creates:
            planned[sp.model] = planned.get(sp.model, 0) + 1
        check = check_account(balance=org.balance, needed=sum(tp.credits or 0 for _, tp in creates),
                              planned=planned, tiers=org.tiers, daily_used=org.daily_used)
        if check.short_by is not None:
            raise AccountLimit(f"the account has {org.balance} credits; this apply needs {check.needed}. "
                               "Top up, or --select fewer shots")
        for m in check.models:
            if m.over_cap:
                self.ctx.reporter.note(f"warning: {m.model}: {m.planned} generations planned, {m.left_today} left "
                                       f"today (daily cap {m.daily_cap}); the rest will not be started")
        self.ctx.spend.daily_left = check.daily_left()
        self.tiers = org.tiers

    def _slots(self, models: set[str]) -> dict[str, asyncio.Semaphore]:
        parallelism = self.ctx.options.parallelism
        out = {}
        for model in models:
            tier = (self.tiers.get(model) or {}).get("concurrency")
            out[model] = asyncio.Semaphore(max(1, min(parallelism, tier or parallelism)))
        return out


def _always_held() -> None:
    """The guard of an engine run without a lease (tests, the local default's lock file)."""
