"""The apply command's steps around the engine: lock, plan, confirm, connect, run.

Here live the decisions a user sees — refusing a stale saved plan, refusing to spend
without confirmation, starting the in-process emulator, and turning Ctrl-C into "stop
creating, finish what is in flight, keep the journal". How things look (plan text,
progress, the summary) and what exit code it all means is the CLI's business: it passes
in callbacks and a progress reporter, and reads the returned ``ApplyRun``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from runner.engine.cancel import cancel_pending
from runner.engine.client import Client, Connection, connection_from_env
from runner.engine.loop import Engine
from runner.engine.outcome import OPTION_BOUNDS, ApplyOptions, ApplyResult, ApplyRun, Reporter
from runner.errors import BudgetExceeded, ConfirmationNeeded, Interrupted, RunnerError, SpecErrors, StalePlanError
from runner.planner import Plan, make_plan
from runner.planner.budget import check_account
from runner.planner.make import check_output_owner, place_for, spec_store
from runner.planner.render import account_notes
from runner.planner.saved import check_plan_store, plan_from_file, saved_plan_spec
from runner.spec import Spec, load_spec
from runner.store.lock import claim_output, output_lock
from runner.store.place import Place, store_url
from runner.store.state import remove_stale_temp_files

EMULATOR_POLL = 0.2
REAL_POLL = 5.0

def option_problems(request: ApplyRequest) -> list[str]:
    """What is wrong with the numbers of ``request`` (``OPTION_BOUNDS``), one sentence each."""
    found = []
    for name, bound in OPTION_BOUNDS.items():
        value = getattr(request, name)
        why = None if value is None and name == "poll_interval" else bound.problem(value)
        if why is not None:
            found.append(f"--{name.replace('_', '-')}: {why}")
    return found


@dataclass
class ApplyRequest:
    target: Path
    emulator: bool = False
    yes: bool = False
    parallelism: int = 16
    poll_interval: float | None = None
    retries: int = 2
    recreate_unknown: bool = False
    cancel_pending: bool = False
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    max_credits: float | None = None
    prices: Path | None = None
    max_output_mb: float = 4096
    store: str | None = None
    lock_timeout: float = 0.0
    allow_unpriced: tuple[str, ...] = ()
    trust_prices: bool = False
    """Accept price-file rates below a tenth of the published ones (``catalog.pricefile``)."""
    task_timeout: float = 3600.0
    emulator_url: str | None = None
    """A running emulator to use instead of starting one (``runner.Emulator``)."""
    expected: Plan | None = None
    """A plan made earlier in this process (the Python API): planned again under the lock and
    refused, like a stale saved plan, when anything it was made from changed since."""


def _plan_for(request: ApplyRequest, place: Place, spec: Spec) -> Plan:
    if saved_plan_spec(request.target) is not None:
        if request.select or request.exclude or request.replace or request.max_credits is not None or \
                request.allow_unpriced or request.trust_prices:
            raise RunnerError("a saved plan carries its own --select/--exclude/--replace/--max-credits/"
                              "--allow-unpriced/--trust-prices; make a new plan to change them")
        return plan_from_file(request.target, prices=request.prices, place=place)
    plan = make_plan(request.target, select=request.select, exclude=request.exclude, replace=request.replace,
                     max_credits=request.max_credits, prices=request.prices, allow_unpriced=request.allow_unpriced,
                     place=place, spec=spec, trust_prices=request.trust_prices)
    if request.expected is not None:
        _check_same(request.expected, plan)
    return plan


def _check_same(before: Plan, now: Plan) -> None:
    def shape(p: Plan) -> list[tuple[str, str, list[str]]]:
        return [(s.id, s.action, [t.fingerprint for t in s.takes]) for s in p.shots]

    changed = [what for what, same in (
        ("the spec changed", before.spec_sha256 == now.spec_sha256),
        ("the state changed (another apply ran?)", before.state_sha256 == now.state_sha256),
        ("an input changed", before.inputs == now.inputs),
        ("the prices changed", before.price_table.get("sha256") == now.price_table.get("sha256")),
        ("the outputs or the cache changed", shape(before) == shape(now))) if not same]
    if changed:
        raise StalePlanError(f"the plan of {now.spec.display}", changed)


def _place(request: ApplyRequest) -> tuple[Place, Spec]:
    """The spec and where its state lives, known before planning so that the lock comes first.
    The store is the one ``--store``, ``RUNNER_STORE`` and the spec's ``store:`` give, never a
    saved plan's: a plan made against another one is refused here, before any folder is made."""
    saved = saved_plan_spec(request.target)
    spec = load_spec(saved or request.target)
    if saved is not None:
        check_plan_store(request.target, store_url(request.store, spec_store(spec)))
    return place_for(spec, request.store), spec


def _needs_work(plan: Plan) -> bool:
    pending = any(st.pending for st in plan.state.shots.values())
    return pending or any(t.action != "keep" for s in plan.shots for t in s.takes) or \
        any(s.action == "remove" for s in plan.shots)


def run_apply(request: ApplyRequest, *, reporter: contextlib.AbstractContextManager[Reporter],
              show_plan: Callable[[Plan], None], confirm: Callable[[str], bool] | None) -> ApplyRun:
    """Plan under the lock, confirm, run against the API or the emulator.

    ``confirm`` asks the user; None means there is nobody to ask (no terminal).
    """
    problems = option_problems(request)
    if problems:
        raise RunnerError("; ".join(problems) + "; nothing was done")
    place, spec = _place(request)
    with place.locked(timeout=request.lock_timeout) as guard:
        plan = _plan_for(request, place, spec)
        with output_lock(plan.spec.output_dir, plan.spec.root):
            return _apply_locked(request, plan, guard, reporter=reporter, show_plan=show_plan, confirm=confirm)


def _apply_locked(request: ApplyRequest, plan: Plan, guard: Callable[[], None], *,
                  reporter: contextlib.AbstractContextManager[Reporter],
                  show_plan: Callable[[Plan], None], confirm: Callable[[str], bool] | None) -> ApplyRun:
    """The rest of ``run_apply``, holding the spec's and the output folder's locks."""
    spec = plan.spec
    check_output_owner(spec)  # again under the lock: another spec may have claimed it since the plan
    remove_stale_temp_files(plan.state.path, spec.output_dir, [*plan.state.shots, *(s.id for s in spec.shots)],
                            spec.root)
    if plan.place is not None and plan.probed:
        plan.place.share_probes(plan.probed)  # apply may write to the store; a plan never does
    show_plan(plan)
    unpriced = plan.unpriced_problems()
    if unpriced:
        raise SpecErrors(unpriced)
    if plan.over_budget_by is not None:
        raise BudgetExceeded(plan.total_credits, plan.max_credits or 0, hint="nothing was done")
    if not _needs_work(plan) and not request.cancel_pending:
        if plan.place is not None:
            plan.place.fold(plan.state)  # an apply killed after its last step: the committed file gets it
        return ApplyRun(plan)
    spends = plan.total_credits > 0 or any(t.action == "create" for s in plan.shots for t in s.takes)
    if spends and not request.yes:
        if confirm is None:
            raise ConfirmationNeeded("apply needs confirmation: pass --yes (no terminal to ask on)")
        try:
            agreed = confirm(f"Apply this plan and spend up to {plan.total_credits} credits?")
        except KeyboardInterrupt:
            raise Interrupted("interrupted at the confirmation; nothing was done") from None
        if not agreed:
            return ApplyRun(plan, declined=True)
    claim_output(spec.output_dir, spec.path, spec.root)  # this spec writes here from now on
    options = ApplyOptions(parallelism=request.parallelism, retries=request.retries,
                           max_credits=request.max_credits if request.max_credits is not None else plan.max_credits,
                           recreate_unknown=request.recreate_unknown,
                           max_output_bytes=int(request.max_output_mb * 2**20),
                           task_timeout=request.task_timeout)
    with _connection(request.emulator, request.emulator_url) as connection, reporter as progress:
        options.poll_interval = request.poll_interval or (EMULATOR_POLL if connection.loopback else REAL_POLL)
        engine = Engine(plan, Client(connection), options, progress, guard=guard)
        try:
            result = asyncio.run(_run_engine(engine, request.cancel_pending))
        finally:
            engine.journal.save_now(final=True)  # whatever happened, the journal on disk is the latest
    return ApplyRun(plan, result)


async def _run_engine(engine: Engine, cancel: bool) -> ApplyResult:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    presses = 0
    grace = engine.ctx.options.grace_seconds

    def on_sigint() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            engine.interrupt()
            engine.ctx.reporter.note(f"interrupted: no new creates; finishing tasks in flight for up to {grace:g} s "
                                     "(Ctrl-C again to stop now, the journal keeps them)")
            loop.call_later(grace, lambda: main.cancel() if main else None)
        elif main is not None:
            main.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        if cancel:
            return await cancel_pending(engine.ctx)
        return await engine.run()
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
        await engine.ctx.client.close()


@contextlib.contextmanager
def _connection(emulator: bool, url: str | None = None) -> Iterator[Connection]:
    if url is not None:
        yield connection_from_env(emulator_url=url)
        return
    if not emulator:
        yield connection_from_env()
        return
    from runner.emulator import EmulatorConfig, running_emulator

    with running_emulator(EmulatorConfig(time_scale=0.05)) as emu:
        yield connection_from_env(emulator_url=emu.base_url)


def organization_notes(plan: Plan, *, emulator: bool) -> list[str]:
    """Balance, daily caps and concurrency of the account, checked against the plan."""

    async def fetch() -> list[str]:
        with _connection(emulator) as connection:
            client = Client(connection)
            try:
                org = await client.organization()
            finally:
                await client.close()
        planned: dict[str, int] = {}
        for s in plan.shots:
            if s.creates:
                planned[s.model] = planned.get(s.model, 0) + s.creates
        check = check_account(balance=org.balance, needed=plan.total_credits, planned=planned, tiers=org.tiers,
                              daily_used=org.daily_used)
        return account_notes(plan, check)

    return asyncio.run(fetch())
