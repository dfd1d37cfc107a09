"""Command line: parse options, call one core function, render, return an exit code.

Exit codes: 0 success, 1 user error (invalid spec, over budget, failed shots), 2 plan has
changes (with --detailed-exitcode), 3 a bug in runner, 130 interrupted.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from runner import __version__, views
from runner.errors import Problem, RunnerError, SpecErrors
from runner.models import catalog, schema_dir
from runner.schema_errors import did_you_mean
from runner.spec import validate_specs

F = TypeVar("F", bound=Callable[..., Any])


def _stderr(text: str) -> None:
    click.echo(text, err=True)


def _color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _warn(problems: tuple[Problem, ...] | list[Problem]) -> None:
    for p in problems:
        _stderr(f"warning: {p}")


def boundary(fn: F) -> F:
    """The one place errors become exit codes: user errors 1, bugs 3, ^C 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = bool(ctx.find_root().params.get("debug"))
        try:
            code = fn(*args, **kwargs)
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
            code = 130
        except Exception as e:  # noqa: BLE001 - the bug boundary
            if debug:
                traceback.print_exc()
            _stderr(f"internal error (a bug in runner): {type(e).__name__}: {e}")
            _stderr("run again with --debug for the traceback, and please report it")
            code = 3
        ctx.exit(code or 0)

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
def validate(specs: tuple[Path, ...], fmt: str) -> int:
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
        if fmt == "json":
            click.echo(views.validate_json([], e.problems))
            for p in e.problems:
                _stderr(f"error: {p}")
            return 1
        raise
    warnings = [w for s in result for w in s.warnings]
    if fmt == "json":
        click.echo(views.validate_json(result, warnings))
    else:
        click.echo(views.validate_text(result))
    _warn(warnings)
    return 0


@main.command()
@click.argument("model", required=False)
@FORMAT
@click.option("--all-ratios", is_flag=True, help="List every ratio instead of a short form.")
@boundary
def models(model: str | None, fmt: str, all_ratios: bool) -> int:
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
    return 0


@main.command()
@boundary
def schema() -> int:
    """Print the JSON Schema (Draft 2020-12) of spec files.

    Editors use it for completion and inline errors; point yaml-language-server at it
    with a first line `# yaml-language-server: $schema=<path>/spec.schema.json`.

    \b
    Example:
      runner schema > spec.schema.json
    """
    click.echo((schema_dir() / "spec.schema.json").read_text(encoding="utf-8"), nl=False)
    return 0
