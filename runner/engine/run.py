"""The apply command's steps around the engine: lock, plan, confirm, connect, run.

Kept apart from ``cli.py`` (which only parses and renders) and from ``apply.py`` (which
only runs a plan): here live the decisions a user sees — refusing a stale saved plan,
refusing to spend without confirmation, starting the in-process emulator, and turning
Ctrl-C into "stop creating, finish what is in flight, keep the journal".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import filelock

from runner.cli.progress import PlainReporter, RichReporter
from runner.engine.client import Client, Endpoint, endpoint_from_env
from runner.engine.loop import Engine
from runner.engine.outcome import ApplyOptions, ApplyResult, Reporter
from runner.errors import ApiError, BudgetExceeded, ConfirmationNeeded, RunnerError, StalePlanError
from runner.inputs.paths import display_path
from runner.planner.make import Plan, make_plan
from runner.planner.render import render_text
from runner.planner.saved import load_plan, plan_document
from runner.store.state import lock_for, remove_stale_temp_files, save_state

EMULATOR_POLL = 0.2
REAL_POLL = 5.0


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


@dataclass
class ApplyOutcome:
    exit_code: int
    result: ApplyResult | None = None
    output_dir: str = ""


def _saved_plan_spec(path: Path) -> Path | None:
    """The spec a saved plan file was made from, or None when ``path`` is not a plan file."""
    if path.suffix != ".json":
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Path(doc["spec"]["path"]) if doc.get("kind") == "runner-plan" else None
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None


@contextlib.contextmanager
def spec_lock(spec_path: Path) -> Iterator[None]:
    """Hold the spec's apply lock; fail at once, naming the holder, when it is taken."""
    lock = lock_for(spec_path)
    holder_file = Path(f"{lock.lock_file}.holder")
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        try:
            holder = holder_file.read_text(encoding="utf-8").strip()
        except OSError:
            holder = "another process"
        raise RunnerError(f"another apply of {display_path(spec_path)} is running ({holder}); "
                          "wait for it to finish, or stop it") from None
    try:
        holder_file.write_text(f"pid {os.getpid()} on {socket.gethostname()}", encoding="utf-8")
        yield
    finally:
        holder_file.unlink(missing_ok=True)
        lock.release()


def _plan_for(request: ApplyRequest, *, from_file: bool) -> Plan:
    if from_file:
        if request.select or request.exclude or request.replace or request.max_credits is not None:
            raise RunnerError("a saved plan carries its own --select/--exclude/--replace/--max-credits; "
                              "make a new plan to change them")
        doc, spec_path = load_plan(request.target, prices=request.prices)
        options = doc.get("options", {})
        plan = make_plan(spec_path, select=tuple(options.get("select", ())), exclude=tuple(options.get("exclude", ())),
                         replace=tuple(options.get("replace", ())), max_credits=options.get("max_credits"),
                         prices=request.prices)
        again = [(s["id"], s["action"], [t["fingerprint"] for t in s["takes"]]) for s in plan_document(plan)["shots"]]
        saved = [(s["id"], s["action"], [t["fingerprint"] for t in s["takes"]]) for s in doc["shots"]]
        if again != saved:
            raise StalePlanError(request.target, ["the outputs or the cache changed since it was made"])
        return plan
    return make_plan(request.target, select=request.select, exclude=request.exclude, replace=request.replace,
                     max_credits=request.max_credits, prices=request.prices)


def _needs_work(plan: Plan) -> bool:
    pending = any(st.pending for st in plan.state.shots.values())
    return pending or any(t.action != "keep" for s in plan.shots for t in s.takes) or \
        any(s.action == "remove" for s in plan.shots)


async def _run_engine(plan: Plan, endpoint: Endpoint, options: ApplyOptions, reporter: Reporter,
                      cancel_pending: bool) -> ApplyResult:
    client = Client(endpoint)
    engine = Engine(plan, client, options, reporter)
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    presses = 0

    def on_sigint() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            engine.interrupt()
            reporter.note(f"interrupted: no new creates; finishing tasks in flight for up to "
                          f"{options.grace_seconds:g} s (Ctrl-C again to stop now, the journal keeps them)")
            loop.call_later(options.grace_seconds, lambda: main.cancel() if main else None)
        elif main is not None:
            main.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        if cancel_pending:
            return await _cancel_pending(engine)
        return await engine.run()
    except asyncio.CancelledError:
        save_state(engine.state)
        raise KeyboardInterrupt from None
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
        await client.close()


async def _cancel_pending(engine: Engine) -> ApplyResult:
    """Cancel the journaled tasks that are still running; never a finished (paid) one."""
    from runner.engine.outcome import Outcome

    for shot_id, st in engine.state.shots.items():
        for p in list(st.pending):
            if not p.task_id:
                engine.result.outcomes.append(Outcome(shot_id, p.take, "unknown", "a create of unknown outcome is in "
                                                      "the journal; check the dashboard (left as it is)"))
                continue
            try:
                status = await engine.client.task(p.task_id)
                if status.status in ("PENDING", "THROTTLED", "RUNNING"):
                    await engine.client.cancel(p.task_id)
                    reason = f"cancelled task {p.task_id}"
                elif status.status == "SUCCEEDED":
                    engine.result.outcomes.append(Outcome(shot_id, p.take, "not_started", f"task {p.task_id} has "
                                                          "already succeeded (paid): kept; run apply to download it"))
                    continue
                else:
                    reason = f"task {p.task_id} had already ended ({status.status})"
            except ApiError as e:
                if e.status != 404:
                    raise
                reason = f"task {p.task_id} no longer exists on the API"
            st.pending.remove(p)
            engine.save()
            engine.result.outcomes.append(Outcome(shot_id, p.take, "not_started", reason))
    return engine.result


def run_apply(request: ApplyRequest, *, interactive: bool, confirm: Callable[[str], bool],
              show: Callable[[str], None], tty: bool, color: bool) -> ApplyOutcome:
    """Plan under the lock, confirm, run against the API or the emulator, report."""
    saved_spec = _saved_plan_spec(request.target)
    with spec_lock((saved_spec or request.target).resolve()):
        plan = _plan_for(request, from_file=saved_spec is not None)
        remove_stale_temp_files(plan.state.path, plan.spec.output_dir)
        show(render_text(plan, color=color))
        over = plan.over_budget_by
        if over is not None:
            raise BudgetExceeded(plan.total_credits, plan.max_credits or 0, hint="nothing was done")
        if not _needs_work(plan) and not request.cancel_pending:
            return ApplyOutcome(0)
        spends = plan.total_credits > 0 or any(t.action == "create" for s in plan.shots for t in s.takes)
        if spends and not request.yes:
            if not interactive:
                raise ConfirmationNeeded("apply needs confirmation: pass --yes (no terminal to ask on)")
            if not confirm(f"Apply this plan and spend up to {plan.total_credits} credits?"):
                show("Cancelled; nothing was done.")
                return ApplyOutcome(1)
        options = ApplyOptions(parallelism=request.parallelism, retries=request.retries,
                               max_credits=request.max_credits if request.max_credits is not None else plan.max_credits,
                               recreate_unknown=request.recreate_unknown,
                               max_output_bytes=int(request.max_output_mb * 2**20))
        reporter_cm: contextlib.AbstractContextManager[Reporter]
        reporter_cm = RichReporter() if tty else contextlib.nullcontext(PlainReporter())
        with _endpoint(request.emulator) as endpoint, reporter_cm as reporter:
            options.poll_interval = request.poll_interval or (EMULATOR_POLL if endpoint.loopback else REAL_POLL)
            result = asyncio.run(_run_engine(plan, endpoint, options, reporter, request.cancel_pending))
        return ApplyOutcome(0 if result.ok else 1, result, display_path(plan.spec.output_dir))


@contextlib.contextmanager
def _endpoint(emulator: bool) -> Iterator[Endpoint]:
    if not emulator:
        yield endpoint_from_env()
        return
    from runner.emulator import EmulatorConfig, running_emulator

    with running_emulator(EmulatorConfig(time_scale=0.05)) as emu:
        yield endpoint_from_env(emulator_url=emu.base_url)


def organization_notes(plan: Plan, *, emulator: bool) -> list[str]:
    """Balance, daily caps and concurrency of the account, checked against the plan."""
    from runner.planner.saved import account_warnings

    async def fetch() -> tuple[int, dict[str, dict[str, int | None]], dict[str, int]]:
        with _endpoint(emulator) as endpoint:
            client = Client(endpoint)
            try:
                org = await client.organization()
            finally:
                await client.close()
        return org.balance, org.tiers, org.daily_used

    balance, tiers, used = asyncio.run(fetch())
    return [f"account: {balance} credits", *account_warnings(plan, balance, tiers, used)]
