"""The Python API: what the `runner plan` and `runner apply` commands run, for services and
scripts (docs/api.md). Re-exported from ``runner``::

    import runner
    plan = runner.plan("campaigns/spring.yaml", max_credits=500)
    print(plan.credits, [s.id for s in plan.changes])
    result = runner.apply(plan, emulator=True)
    assert result.ok, result.failed

Errors are the classes of ``runner.errors`` (a ``RunnerError`` says where and what to do).
``plan`` sends nothing; ``apply`` takes the spec's lock, plans again under it and refuses a
plan whose spec, state, inputs or outputs changed since (``StalePlanError``), so a plan shown
to a user is exactly what is paid for.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from runner.engine.outcome import ApplyResult, ApplyRun, Reporter, SilentReporter
from runner.engine.usage import Usage, reconcile
from runner.planner import Plan, make_plan

if TYPE_CHECKING:
    from runner.emulator import EmulatorConfig
    from runner.emulator.app import Emulator as EmulatorApp

# `plan` sends nothing: the engine (the runwayml SDK) and the emulator (Starlette, PyAV) are
# imported by the functions that use them (tests/test_startup.py).

Target = Plan | str | os.PathLike[str]

__all__ = ["ApplyResult", "Emulator", "Plan", "Usage", "apply", "apply_async", "apply_run", "plan", "usage"]


def plan(spec: str | os.PathLike[str], *, store: str | None = None, select: tuple[str, ...] = (),
         exclude: tuple[str, ...] = (), max_credits: float | None = None, replace: tuple[str, ...] = (),
         prices: str | os.PathLike[str] | None = None, allow_unpriced: tuple[str, ...] = (),
         trust_prices: bool = False) -> Plan:
    """What apply would generate for ``spec`` and what it costs; sends nothing.

    A plan over its budget is returned, not raised (``plan.over_budget_by``); ``apply``
    refuses it. Invalid specs raise ``SpecErrors`` (every problem, with file:line:col)."""
    return make_plan(Path(spec), select=tuple(select), exclude=tuple(exclude), replace=tuple(replace),
                     max_credits=max_credits, prices=Path(prices) if prices is not None else None,
                     allow_unpriced=tuple(allow_unpriced), store=store, trust_prices=trust_prices)


def apply_run(target: Target, *, emulator: bool | str = False, parallelism: int | None = None,
              progress: Reporter | None = None, yes: bool = True, confirm: Callable[[str], bool] | None = None,
              show_plan: Callable[[Plan], None] | None = None, **options: Any) -> ApplyRun:
    """``apply`` with what a command line needs: the plan it carried out, and whether the
    user declined. ``target`` is a ``Plan``, a spec path or a saved plan file (`runner plan
    -o`); ``options`` are the other fields of ``runner.engine.ApplyRequest`` (retries,
    poll_interval, task_timeout, …, and select/exclude/… for a spec path)."""
    from runner.engine.run import ApplyRequest, run_apply

    request = ApplyRequest(target=Path(), yes=yes, **options)
    if isinstance(target, Plan):
        opts = target.options
        request.target = target.spec.path
        request.select, request.exclude = tuple(opts.get("select", ())), tuple(opts.get("exclude", ()))
        request.replace, request.max_credits = tuple(opts.get("replace", ())), opts.get("max_credits")
        request.allow_unpriced, request.expected = tuple(opts.get("allow_unpriced", ())), target
        request.trust_prices = bool(opts.get("trust_prices"))
        request.store = request.store or (target.place.url if target.place is not None else None)
        source = target.price_table.get("source", "built-in")
        if request.prices is None and source != "built-in":  # the prices it was made with
            request.prices = Path(source)
    else:
        request.target = Path(target)
    if parallelism is not None:
        request.parallelism = parallelism
    if isinstance(emulator, str):
        request.emulator_url = emulator
    else:
        request.emulator = emulator
    # a reporter that is also a context manager (a live display) is entered once apply starts
    reporter: contextlib.AbstractContextManager[Reporter]
    if isinstance(progress, contextlib.AbstractContextManager):
        reporter = progress
    else:
        reporter = contextlib.nullcontext(progress or SilentReporter())
    return run_apply(request, reporter=reporter, show_plan=show_plan or (lambda _: None), confirm=confirm)


def apply(target: Target, *, emulator: bool | str = False, parallelism: int | None = None,
          progress: Reporter | None = None, **options: Any) -> ApplyResult:
    """Carry a plan out: create what it says, concurrently, journaled (never paying twice).

    ``emulator``: True runs against a fresh in-process emulator, a base URL (from
    ``Emulator``) against that one; False against ``RUNWAYML_BASE_URL`` (default the real
    API) with ``RUNWAYML_API_SECRET``. Calling it is consent to spend ``plan.credits``.
    ``progress`` receives ``update(shot, take, status, progress)`` and ``note(message)``.
    Nothing to do gives an empty, ``ok`` result."""
    run = apply_run(target, emulator=emulator, parallelism=parallelism, progress=progress, **options)
    return run.result or ApplyResult()


async def apply_async(target: Target, *, emulator: bool | str = False, parallelism: int | None = None,
                      progress: Reporter | None = None, **options: Any) -> ApplyResult:
    """``apply`` for asyncio code: runs in a worker thread (apply runs its own event loop, and
    its files and locks are blocking), so the caller's loop keeps serving."""
    import asyncio

    return await asyncio.to_thread(apply, target, emulator=emulator, parallelism=parallelism, progress=progress,
                                   **options)


def usage(*specs: str | os.PathLike[str], since: date | None = None, store: str | None = None,
          emulator: str | None = None) -> Usage:
    """What the state files of ``specs`` say was charged, per UTC day and model, next to the
    account's usage (``POST /v1/organization/usage``) since ``since`` (default: 30 days).
    ``Usage.ok`` is False when a model's totals differ; ``emulator``: a base URL of one."""
    from runner.planner.make import place_for
    from runner.spec import load_spec

    books = []
    for path in specs:
        spec = load_spec(Path(path))
        books.append((spec, place_for(spec, store).load_state()))
    return reconcile(books, since=since, emulator_url=emulator)


class Emulator:
    """The built-in Runway emulator on a free loopback port, for tests and demos::

        with runner.Emulator() as url:
            runner.apply(plan, emulator=url)

    ``stats()`` gives its counters (requests, creates, credits charged) while it runs."""

    def __init__(self, *, time_scale: float = 0.05, config: EmulatorConfig | None = None) -> None:
        from runner.emulator import EmulatorConfig

        self.config = config or EmulatorConfig(time_scale=time_scale)
        self.url = ""
        self.app: EmulatorApp | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> str:
        from runner.emulator import running_emulator

        running = self._stack.enter_context(running_emulator(self.config))
        self.url, self.app = running.base_url, running.emulator
        return self.url

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.__exit__(kind, error, tb)

    def stats(self) -> dict[str, object]:
        if self.app is None:
            raise RuntimeError("the emulator is not running; use it in a with block")
        return dict(self.app.world.stats())
