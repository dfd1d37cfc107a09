"""Command line: parse options, call one function of the layers below, render its result.

Exit codes: 0 success, 1 user error (invalid spec, over budget, failed shots), 2 plan has
changes (with --detailed-exitcode), 3 a bug in runner, 130 interrupted. They are decided in
one place: ``boundary`` turns an error into its code and a result into ``exit_code(result)``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from runner import __version__
from runner.catalog.models import catalog, schema_dir
from runner.cli import views
from runner.engine.outcome import ApplyRun, Reporter
from runner.errors import (
    EXIT_BUG,
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    BudgetExceeded,
    Problem,
    RunnerError,
    SpecErrors,
)
from runner.planner.records import Plan
from runner.spec import validate_specs
from runner.spec.schema_errors import did_you_mean

F = TypeVar("F", bound=Callable[..., Any])


def _stderr(text: str) -> None:
    click.echo(text, err=True)


def _color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _warn(problems: tuple[Problem, ...] | list[Problem]) -> None:
    for p in problems:
        _stderr(f"warning: {p}")


def exit_code(result: object, *, detailed: bool = False) -> int:
    """What a command's result means as an exit code (errors carry their own)."""
    if isinstance(result, RunnerError):  # already reported by the command (e.g. as JSON)
        return result.exit_code
    if isinstance(result, Plan):
        return EXIT_CHANGES if detailed and result.has_changes else EXIT_OK
    if isinstance(result, ApplyRun):
        if result.declined:
            return EXIT_ERROR
        return EXIT_OK if result.result is None or result.result.ok else EXIT_ERROR
    return EXIT_OK


def boundary(fn: F) -> F:
    """The one place errors and results become exit codes: user errors 1, bugs 3, ^C 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = bool(ctx.find_root().params.get("debug"))
        try:
            code = exit_code(fn(*args, **kwargs), detailed=bool(ctx.params.get("detailed_exitcode")))
        except SpecErrors as e:
            for p in e.problems:
                _stderr(f"error: {p}")
            _stderr(f"{len(e.problems)} problem{'s' if len(e.problems) != 1 else ''} found; nothing was sent.")
            code = e.exit_code
        except RunnerError as e:
            _stderr(f"error: {e}")
            code = e.exit_code
        except KeyboardInterrupt:
            _stderr("interrupted")
            code = EXIT_INTERRUPTED
        except Exception as e:  # noqa: BLE001 - the bug boundary
            if debug:
                traceback.print_exc()
            _stderr(f"internal error (a bug in runner): {type(e).__name__}: {e}")
            _stderr("run again with --debug for the traceback, and please report it")
            code = EXIT_BUG
        ctx.exit(code)

    return wrapper  # type: ignore[return-value]


FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Output format; json goes to stdout and nothing else does.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="runner")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def main(debug: bool) -> None:
    """Declarative spec runner for Runway video generation.

    Write shots in YAML, `runner validate` them against each model's rules,
    `runner plan` what would be generated and what it costs, `runner apply` it.

    \b
    Examples:
      runner validate specs/demo.yaml
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
    try:
        result = validate_specs(list(specs))
    except SpecErrors as e:
        if fmt != "json":
            raise
        click.echo(views.validate_json([], e.problems))
        for p in e.problems:
            _stderr(f"error: {p}")
        return e
    warnings = [w for s in result for w in s.warnings]
    if fmt == "json":
        click.echo(views.validate_json(result, warnings))
    else:
        click.echo(views.validate_text(result))
    _warn(warnings)
    return result


SELECT = click.option("--select", "select", multiple=True, metavar="GLOB",
                      help="Only shots whose id or a tag matches (repeatable).")
EXCLUDE = click.option("--exclude", "exclude", multiple=True, metavar="GLOB",
                       help="Leave out shots whose id or a tag matches (repeatable).")
REPLACE = click.option("--replace", "replace", multiple=True, metavar="ID",
                       help="Generate this shot again even if it is up to date (repeatable).")
MAX_CREDITS = click.option("--max-credits", type=click.FloatRange(min=0),
                           help="Budget in credits; overrides budget.max_credits of the spec.")
PRICES = click.option("--prices", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                      help="YAML/JSON price file: model -> pricing fields that override the catalog.")


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
@click.option("--check-account", is_flag=True,
              help="Also read the account (GET /v1/organization): balance, daily caps, concurrency.")
@click.option("--emulator", is_flag=True, help="With --check-account: ask the built-in emulator.")
@boundary
def plan(spec: Path, out: Path | None, fmt: str, detailed_exitcode: bool, select: tuple[str, ...],
         exclude: tuple[str, ...], replace: tuple[str, ...], max_credits: float | None, prices: Path | None,
         check_account: bool, emulator: bool) -> Plan:
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
      RUNWAYML_API_SECRET=... runner plan specs/demo.yaml --check-account
    """
    from runner.planner import make_plan
    from runner.planner.render import RENDERERS, render_text
    from runner.planner.saved import plan_document
    from runner.store.files import atomic_write

    result = make_plan(spec, select=select, exclude=exclude, replace=replace, max_credits=max_credits,
                       prices=prices)
    _warn(result.spec.warnings)
    if check_account:
        from runner.engine.run import organization_notes

        for note in organization_notes(result, emulator=emulator):
            _stderr(note)
    if fmt == "text":
        click.echo(render_text(result, color=_color()))
    else:
        click.echo(RENDERERS[fmt](result), nl=fmt == "json")
    if out is not None:
        import json

        atomic_write(out, json.dumps(plan_document(result), indent=2, ensure_ascii=False) + "\n")
        _stderr(f"Saved the plan to {out}; run `runner apply {out}` to carry it out.")
    if result.over_budget_by is not None:
        raise BudgetExceeded(result.total_credits, result.max_credits or 0,
                             hint="raise budget.max_credits or --max-credits, or select fewer shots")
    return result


@main.command()
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--emulator", is_flag=True, help="Run against the built-in emulator (no key, no cost).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@click.option("--parallelism", default=16, show_default=True, type=click.IntRange(min=1),
              help="Most tasks in flight at once (per model also capped by the account's tier).")
@click.option("--poll-interval", type=click.FloatRange(min=0.01),
              help="Seconds between status checks of a task (default 5; 0.2 on an emulator).")
@click.option("--retries", default=2, show_default=True, type=click.IntRange(min=0),
              help="New creates after an INTERNAL or THIRD_PARTY failure (each is billed).")
@click.option("--recreate-unknown", is_flag=True,
              help="Create again the takes whose earlier create may or may not have happened.")
@click.option("--cancel-pending", is_flag=True, help="Cancel (DELETE) the tasks in the journal and stop.")
@click.option("--max-output-mb", default=4096.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Refuse generated files larger than this.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: the summary as JSON on stdout.")
@SELECT
@EXCLUDE
@REPLACE
@MAX_CREDITS
@PRICES
@boundary
def apply(target: Path, emulator: bool, yes: bool, parallelism: int, poll_interval: float | None, retries: int,
          recreate_unknown: bool, cancel_pending: bool, max_output_mb: float, fmt: str, select: tuple[str, ...], exclude: tuple[str, ...],
          replace: tuple[str, ...], max_credits: float | None, prices: Path | None) -> ApplyRun:
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
    from runner.engine.run import ApplyRequest, run_apply

    request = ApplyRequest(
        target=target, emulator=emulator, yes=yes, parallelism=parallelism, poll_interval=poll_interval,
        retries=retries, recreate_unknown=recreate_unknown, cancel_pending=cancel_pending, select=select,
        exclude=exclude, replace=replace, max_credits=max_credits, prices=prices, max_output_mb=max_output_mb,
    )
    from runner.cli.progress import PlainReporter, RichReporter
    from runner.planner.render import render_text

    show = _stderr if fmt == "json" else click.echo
    reporter: contextlib.AbstractContextManager[Reporter]
    reporter = RichReporter() if sys.stderr.isatty() else contextlib.nullcontext(PlainReporter())
    outcome = run_apply(request, reporter=reporter, show_plan=lambda p: show(render_text(p, color=_color())),
                        confirm=(lambda q: click.confirm(q, err=True)) if sys.stdin.isatty() else None)
    if outcome.declined:
        show("Cancelled; nothing was done.")
    if outcome.result is None:
        return outcome
    if fmt == "json":
        import json

        click.echo(json.dumps(views.apply_summary_data(outcome.result), indent=2))
    else:
        click.echo(views.apply_summary_text(outcome.result, outcome.output_dir))
    return outcome


@main.command()
@click.argument("model", required=False)
@FORMAT
@click.option("--all-ratios", is_flag=True, help="List every ratio instead of a short form.")
@boundary
def models(model: str | None, fmt: str, all_ratios: bool) -> None:
    """List models with their modes, ratios, durations and prices per second.

    Legacy models are marked with their replacement. Prices are credits per second of
    output (1 credit = $0.01); '?' means the price is not known to runner.

    \b
    Examples:
      runner models
      runner models seedance2
      runner models --format json
    """
    cat = catalog()
    if model is not None and model not in cat:
        raise RunnerError(f"unknown model {model!r}{did_you_mean(model, list(cat))}; run `runner models` for the list")
    chosen = [cat[model]] if model else list(cat.values())
    if fmt == "json":
        click.echo(views.models_json(chosen))
    else:
        click.echo(views.models_table(chosen, detail=bool(model) or all_ratios, color=_color()))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8090, show_default=True, type=click.IntRange(0, 65535), help="0 = any free port.")
@click.option("--time-scale", type=click.FloatRange(min=0, min_open=True),
              help="Wall seconds per emulated second (default 0.1: a 20 s generation takes 2 s).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML/JSON file of emulator settings (see runner/emulator/config.py).")
@click.option("--concurrency", type=click.IntRange(min=1), help="maxConcurrentGenerations per model.")
@click.option("--balance", type=click.IntRange(min=0), help="Starting credit balance.")
@click.option("--fail-rate", type=click.FloatRange(0, 1), help="Share of tasks that end FAILED.")
@click.option("--error-rate", type=click.FloatRange(0, 1), help="Share of API requests answered with a 5xx.")
@click.option("--rate-limit-rate", type=click.FloatRange(0, 1), help="Share of API requests answered with 429.")
@click.option("--truncate-rate", type=click.FloatRange(0, 1), help="Share of downloads cut off halfway.")
@click.option("--seed", type=int, help="Seed for the fault injection's random choices.")
@boundary
def emulate(host: str, port: int, time_scale: float | None, config_file: Path | None, concurrency: int | None,
            balance: int | None, fail_rate: float | None, error_rate: float | None,
            rate_limit_rate: float | None, truncate_rate: float | None, seed: int | None) -> None:
    """Run the Runway-compatible API emulator in the foreground.

    Serves the API subset runner uses (text/image/video to video, character
    performance, tasks, uploads, organization) with real MP4 outputs, tier limits,
    credits and fault injection. Point any runwayml program at it with
    RUNWAYML_BASE_URL; any non-empty RUNWAYML_API_SECRET is accepted. Counters are at
    GET /_emulator/stats. Stop with Ctrl-C.

    \b
    Examples:
      runner emulate --port 8090
      RUNWAYML_BASE_URL=http://127.0.0.1:8090 RUNWAYML_API_SECRET=test python my_script.py
      runner emulate --fail-rate 0.1 --error-rate 0.05 --seed 7
    """
    from runner.emulator import EmulatorConfig, serve_forever

    config = EmulatorConfig.from_file(config_file) if config_file else EmulatorConfig()
    overrides = {
        "time_scale": time_scale, "max_concurrent": concurrency, "credit_balance": balance,
        "fail_rate": fail_rate, "error_rate": error_rate, "rate_limit_rate": rate_limit_rate,
        "truncate_rate": truncate_rate, "seed": seed,
    }
    config = config.updated({k: v for k, v in overrides.items() if v is not None} | {"quiet": False})
    _stderr(f"Runway API emulator on http://{host}:{port} (time scale {config.time_scale})")
    _stderr(f"  export RUNWAYML_BASE_URL=http://{host}:{port} RUNWAYML_API_SECRET=emulator")
    _stderr(f"  counters: http://{host}:{port}/_emulator/stats")
    serve_forever(config, host=host, port=port)


@main.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"),
              show_default=True, help="Where to write the page (videos are linked by relative path).")
@boundary
def report(spec: Path, out: Path) -> None:
    """Write a static HTML gallery of the campaign's outputs.

    One card per shot: status, model, mode, ratio, duration, prompt, credits planned and
    charged, a link to the spec, and its takes side by side as playable videos with
    poster frames. The page needs no server; keep it where it can reach the outputs.

    \b
    Examples:
      runner report specs/demo.yaml -o report.html
      runner apply specs/demo.yaml --emulator --yes && runner report specs/demo.yaml
    """
    from runner.cli.report import write_report

    path, videos = write_report(spec, out)
    click.echo(f"Wrote {path} ({videos} videos)")


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option("--name", help="Campaign name (letters, digits, . _ -). Asked for on a terminal.")
@click.option("--model", default="gen4.5", show_default=True, help="Default model of the new spec.")
@click.option("--ci/--no-ci", default=None, help="Also write .github/workflows/runner.yml (asked on a terminal).")
@boundary
def init(folder: Path, name: str | None, model: str, ci: bool | None) -> None:
    """Start a new campaign: a spec, an assets folder, a .gitignore, optionally CI.

    Writes FOLDER/<name>.yaml (with the editor schema line), FOLDER/assets/, and a
    .gitignore for outputs; with --ci, the GitHub Actions workflow (plan on pull
    requests, apply on main) in the git repository's .github/workflows. Never
    overwrites a file.

    \b
    Examples:
      runner init campaigns --name spring-launch --ci
      runner init                       # asks for the name
    """
    import re

    from runner.cli.scaffold import init_campaign
    from runner.inputs.paths import project_root

    interactive = sys.stdin.isatty()
    if name is None:
        if not interactive:
            raise RunnerError("pass --name (no terminal to ask on)")
        name = click.prompt("Campaign name", default=folder.resolve().name or "campaign")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", name):
        raise RunnerError(f"campaign name {name!r}: use letters, digits, '.', '_' or '-'")
    if ci is None:
        ci = click.confirm("Add a GitHub Actions workflow?", default=False) if interactive else False
    root = project_root(folder / "x.yaml")
    written = init_campaign(folder, name=name, model=model, ci=ci, repo_root=root)
    for path in written:
        click.echo(f"created {path}")
    spec = folder / f"{name}.yaml"
    click.echo(f"Next: runner validate {spec} && runner plan {spec} && runner apply {spec} --emulator --yes")


@main.command()
@boundary
def schema() -> None:
    """Print the JSON Schema (Draft 2020-12) of spec files.

    Editors use it for completion and inline errors; point yaml-language-server at it
    with a first line `# yaml-language-server: $schema=<path>/spec.schema.json`.

    \b
    Example:
      runner schema > spec.schema.json
    """
    click.echo((schema_dir() / "spec.schema.json").read_text(encoding="utf-8"), nl=False)
