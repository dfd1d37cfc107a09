"""The runner command: validate, plan and apply, over the Python layers below.

Each command parses its options, calls one function of the layers below, renders the
result and returns it; ``boundary`` decides the exit code. The other commands (models,
emulate, report, init, schema) live in ``cli.tools``.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runner import __version__
from runner.cli.boundary import boundary, color, say, stderr, warn
from runner.cli.options import (
    ALLOW_UNPRICED,
    EXCLUDE,
    FORMAT,
    MAX_CREDITS,
    PRICES,
    REPLACE,
    SELECT,
    STORE,
    TRUST_PRICES,
    Number,
)
from runner.engine.bounds import OPTION_BOUNDS
from runner.errors import BudgetExceeded, SpecErrors

if TYPE_CHECKING:
    from runner.engine.outcome import ApplyRun
    from runner.planner.records import Plan

# Each command imports what it needs when it runs (tests/test_startup.py): `runner --version`
# and `runner validate` (pre-commit runs it on every commit) must not pay for the planner,
# the store, the engine, the SDK, rich or PyAV.


class UsageFailure(click.UsageError):
    """A usage error with runner's exit code for errors."""

    exit_code = 1


class RunnerGroup(click.Group):
    """click exits 2 on a usage error (an unknown option, ``--max-credits abc``); runner's 2
    means "plan has changes" (``--detailed-exitcode``), so a typo in CI must not read as one.
    Usage errors exit 1 like every other error; the message is click's, unchanged."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except UsageFailure:
            raise
        except click.UsageError as e:
            raise UsageFailure(e.format_message(), e.ctx) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageFailure:
            raise
        except click.UsageError as e:
            raise UsageFailure(e.format_message(), e.ctx) from None


@click.group(cls=RunnerGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="runner")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def main(debug: bool) -> None:
    """Declarative spec runner for Runway video generation.

    Write shots in YAML, `runner validate` them against each model's rules,
    `runner plan` what would be generated and what it costs, `runner apply` it.

    \b
    Try the demo (the built-in emulator: no key, no cost):
      runner apply specs/demo.yaml --emulator --yes

    \b
    Examples:
      runner init campaigns --name spring
      runner validate specs/demo.yaml
      runner plan specs/demo.yaml
      runner models gen4.5
      runner schema > spec.schema.json
    """


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@FORMAT
@boundary
def validate(specs: tuple[Path, ...], fmt: str) -> object:
    """Load, render and validate SPECS; report every problem with file:line:col.

    Checks the file against the spec schema, expands matrices, renders templates,
    compiles each shot into its API request and validates that against the model's
    schema. Nothing is sent. Exit 0 when all specs are valid, 1 otherwise.

    \b
    Examples:
      runner validate specs/demo.yaml
      runner validate examples/*.yaml --format json
    """
    from runner.cli import views
    from runner.spec import validate_specs

    try:
        with few_collections():
            result = validate_specs(list(specs))
    except SpecErrors as e:
        if fmt != "json":
            raise
        click.echo(views.validate_json([], e.problems))
        for p in e.problems:
            say(f"error: {p}")
        return e
    warnings = [w for s in result for w in s.warnings]
    if fmt == "json":
        click.echo(views.validate_json(result, warnings))
    else:
        click.echo(views.validate_text(result))
    warn(warnings)
    return result


@main.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the plan as JSON, for `runner apply PLAN`.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="text for people, json for CI, markdown for a PR comment.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when there are no changes, 2 when there are.")
@SELECT
@EXCLUDE
@REPLACE
@MAX_CREDITS
@PRICES
@TRUST_PRICES
@ALLOW_UNPRICED
@click.option("--check-account", is_flag=True,
              help="Also read the account (GET /v1/organization): balance, daily caps, concurrency.")
@click.option("--emulator", is_flag=True, help="With --check-account: ask the built-in emulator.")
@STORE
@boundary
def plan(spec: Path, out: Path | None, fmt: str, detailed_exitcode: bool, select: tuple[str, ...],
         exclude: tuple[str, ...], replace: tuple[str, ...], max_credits: float | None, prices: Path | None,
         trust_prices: bool, allow_unpriced: tuple[str, ...], check_account: bool, emulator: bool,
         store: str | None) -> Plan:
    """Show what apply would generate, and what it costs, without sending anything.

    Compares the spec with its state file (<spec>.state.json) and the local cache:
    + create, ~ regenerate (with the fields that changed), = unchanged or restored
    from the cache, > moved (same request, new id: no cost), - removed (files kept).
    Costs are credits (1 credit = $0.01). Works offline, with no API key.

    Exit codes: 0 ok, 1 invalid spec or over budget, with --detailed-exitcode 0 no
    changes and 2 changes.

    \b
    Examples:
      runner plan specs/demo.yaml
      runner plan specs/demo.yaml --format markdown > plan.md
      runner plan specs/demo.yaml -o plan.json --detailed-exitcode
      runner plan specs/demo.yaml --select 'hero-*' --replace hero-tokyo-wide
      runner plan examples/storyboard.yaml --select 'keyart-tokyo+'
      RUNWAYML_API_SECRET=... runner plan specs/demo.yaml --check-account
    """
    from runner import api
    from runner.planner.render import RENDERERS, render_json, render_text
    from runner.store.files import atomic_write

    with few_collections():
        result = api.plan(spec, select=select, exclude=exclude, replace=replace, max_credits=max_credits,
                          prices=prices, allow_unpriced=allow_unpriced, store=store, trust_prices=trust_prices)
    warn(result.spec.warnings)
    if check_account:
        from runner.engine.run import organization_notes

        for note in organization_notes(result, emulator=emulator):
            say(note)
    shown = render_text(result, color=color()) if fmt == "text" else RENDERERS[fmt](result)
    click.echo(shown, nl=fmt != "markdown")
    if out is not None:
        document = shown if fmt == "json" else render_json(result)  # the same text: encoded once
        atomic_write(out, document + "\n", root=result.spec.root, what="-o/--out")
        stderr(f"Saved the plan to {out}; run `runner apply {out}` to carry it out.")
    if result.over_budget_by is not None:
        raise BudgetExceeded(result.total_credits, result.max_credits or 0,
                             hint="raise budget.max_credits or --max-credits, or select fewer shots")
    unpriced = result.unpriced_problems()
    if unpriced:
        raise SpecErrors(unpriced)
    return result


@main.command()
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--emulator", is_flag=True, help="Run against the built-in emulator (no key, no cost).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@click.option("--parallelism", default=16, show_default=True, type=Number(OPTION_BOUNDS["parallelism"]),
              help="Most tasks in flight at once (per model also capped by the account's tier).")
@click.option("--poll-interval", type=Number(OPTION_BOUNDS["poll_interval"]),
              help="Seconds between status checks of a task (default 5; 0.2 on an emulator).")
@click.option("--retries", default=2, show_default=True, type=Number(OPTION_BOUNDS["retries"]),
              help="New creates after an INTERNAL or THIRD_PARTY failure (each is billed).")
@click.option("--recreate-unknown", is_flag=True,
              help="Create again the takes whose earlier create may or may not have happened.")
@click.option("--cancel-pending", is_flag=True, help="Cancel (DELETE) the tasks in the journal and stop.")
@click.option("--max-output-mb", default=4096.0, show_default=True, type=Number(OPTION_BOUNDS["max_output_mb"]),
              help="Refuse generated files larger than this.")
@click.option("--task-timeout", default=3600.0, show_default=True, type=Number(OPTION_BOUNDS["task_timeout"]),
              help="Seconds to wait for one task to finish; then it stays in the journal as 'unknown outcome' "
                   "(the next apply resumes it, never creates it again) and apply exits 1.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: the summary as JSON on stdout.")
@SELECT
@EXCLUDE
@REPLACE
@MAX_CREDITS
@PRICES
@TRUST_PRICES
@ALLOW_UNPRICED
@STORE
@click.option("--lock-timeout", default=0.0, show_default=True, type=Number(OPTION_BOUNDS["lock_timeout"]),
              metavar="SECONDS",
              help="Wait this long for another apply of the spec to finish (0: refuse at once, naming it).")
@boundary
def apply(target: Path, emulator: bool, yes: bool, parallelism: int, poll_interval: float | None, retries: int,
          recreate_unknown: bool, cancel_pending: bool, max_output_mb: float, task_timeout: float, fmt: str,
          select: tuple[str, ...],
          exclude: tuple[str, ...], replace: tuple[str, ...], max_credits: float | None,
          prices: Path | None, trust_prices: bool, allow_unpriced: tuple[str, ...], store: str | None,
          lock_timeout: float) -> ApplyRun:
    """Generate what the plan says: new and changed shots, concurrently and resumably.

    TARGET is a spec (it is planned first) or a plan saved with `runner plan -o`
    (refused when the spec, state, inputs or prices changed since). Task ids are
    journaled in the state file before polling, so an interrupted apply resumes its
    tasks instead of paying for them again. Outputs land in output_dir/<shot>/<take>.mp4.

    Exit 0 when every selected shot is done, 1 otherwise, 130 when interrupted.

    \b
    Examples:
      runner apply specs/demo.yaml --emulator --yes
      runner plan specs/demo.yaml -o plan.json && runner apply plan.json --yes
      RUNWAYML_API_SECRET=... runner apply specs/demo.yaml --select 'hero-*'
    """
    from runner import api
    from runner.cli import views
    from runner.cli.progress import PlainReporter, RichReporter
    from runner.engine.outcome import ApplyResult
    from runner.planner.render import render_text

    show = stderr if fmt == "json" else click.echo
    # the live display starts after the confirmation (api enters a reporter that is a context manager)
    reporter = RichReporter() if sys.stderr.isatty() else PlainReporter()
    outcome = api.apply_run(
        target, emulator=emulator, parallelism=parallelism, progress=reporter, yes=yes,
        confirm=ask if sys.stdin.isatty() else None, show_plan=lambda p: show(render_text(p, color=color())),
        poll_interval=poll_interval, retries=retries, recreate_unknown=recreate_unknown,
        cancel_pending=cancel_pending, select=select, exclude=exclude, replace=replace, max_credits=max_credits,
        prices=prices, trust_prices=trust_prices, max_output_mb=max_output_mb, allow_unpriced=allow_unpriced,
        task_timeout=task_timeout,
        store=store, lock_timeout=lock_timeout)
    if outcome.declined:
        show("Cancelled; nothing was done.")
        return outcome
    if fmt == "json":
        import json

        # Nothing to do is still a summary (zero counts): scripts always get one JSON document.
        click.echo(json.dumps(views.apply_summary_data(outcome.result or ApplyResult(), outcome.plan), indent=2))
        return outcome
    if outcome.result is not None:
        click.echo(views.apply_summary_text(outcome.result, outcome.output_dir))
    waiting = views.waiting_lines(outcome.plan)
    if waiting:  # not a failure: apply exits 0, and says what it left for a pick
        click.echo("\n".join([*waiting, f"Pick with `runner review {outcome.plan.spec.display}` or `runner pick`, "
                               "then apply again."]))
    return outcome


@contextlib.contextmanager
def few_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while a spec is built and planned: a plan of
    50,000 shots holds millions of live objects (and makes no cyclic garbage), which every
    collection of the default schedule (each 700 allocations) walks again; a fifth of such a
    plan's time went there. A command runs once per process, so the setting is put back after."""
    saved = gc.get_threshold()
    gc.set_threshold(50_000, *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def ask(question: str) -> bool:
    """Yes or no on the terminal; only y/yes agrees. Ctrl-D (end of input) is no; Ctrl-C
    propagates as KeyboardInterrupt (click.confirm would turn both into the same Abort)."""
    click.echo(f"{question} [y/N]: ", nl=False, err=True)
    try:
        answer = input()
    except EOFError:
        click.echo(err=True)
        return False
    return answer.strip().lower() in ("y", "yes")


def _register() -> None:
    from runner.cli import deliver, money, prices, stored, tools

    for command in (tools.models, tools.emulate, tools.report, tools.init, tools.schema, stored.pull, stored.push,
                    stored.state, money.usage, prices.prices, deliver.pick, deliver.picks, deliver.export,
                    deliver.review):
        main.add_command(command)


_register()
