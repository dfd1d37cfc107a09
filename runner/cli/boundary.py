"""The CLI's one boundary: errors and results become messages and exit codes here, and only here.

Exit codes: 0 success, 1 user error (invalid spec, over budget, failed shots), 2 plan has
changes (with --detailed-exitcode), 3 a bug in runner, 130 interrupted. ``boundary`` wraps
every command: an error is printed as ``error: …`` with its own exit code, anything else
that escapes is a bug (3), and a command's result becomes ``exit_code(result)``.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from runner.bounded import escaped
from runner.errors import (
    EXIT_BUG,
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Interrupted,
    Problem,
    RunnerError,
    SpecErrors,
)

F = TypeVar("F", bound=Callable[..., Any])


def stderr(text: str) -> None:
    click.echo(text, err=True)


def say(text: str) -> None:
    """One message on stderr, on one line: control characters of the values in it (a newline in a
    failure reason, a lock's host, a key of a price file) are escaped, so that nothing read from a
    file or the API can forge a line of a CI log (``::error::…``) or drive the terminal."""
    stderr(escaped(text))


def color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def warn(problems: tuple[Problem, ...] | list[Problem]) -> None:
    for p in problems:
        say(f"warning: {p}")


def exit_code(result: object, *, detailed: bool = False) -> int:
    """What a command's result means as an exit code (errors carry their own)."""
    if isinstance(result, RunnerError):  # already reported by the command (e.g. as JSON)
        return result.exit_code
    # A Plan or an ApplyRun exists only once its module is loaded: looked up, not imported,
    # so that `runner validate` does not load the planner and the engine to exit.
    records, outcome = sys.modules.get("runner.planner.records"), sys.modules.get("runner.engine.outcome")
    if records is not None and isinstance(result, records.Plan):
        return EXIT_CHANGES if detailed and result.has_changes else EXIT_OK
    if outcome is not None and isinstance(result, outcome.ApplyRun):
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
                say(f"error: {p}")
            stderr(f"{len(e.problems)} problem{'s' if len(e.problems) != 1 else ''} found; nothing was sent.")
            code = e.exit_code
        except Interrupted as e:
            say(str(e))
            code = e.exit_code
        except RunnerError as e:
            say(f"error: {e}")
            code = e.exit_code
        except (KeyboardInterrupt, click.Abort):  # click turns Ctrl-C at its prompts into Abort
            stderr("interrupted")
            code = EXIT_INTERRUPTED
        except Exception as e:  # noqa: BLE001 - the bug boundary
            if debug:
                import traceback

                traceback.print_exc()
            say(f"internal error (a bug in runner): {type(e).__name__}: {e}")
            stderr("run again with --debug for the traceback, and please report it")
            code = EXIT_BUG
        ctx.exit(code)

    return wrapper  # type: ignore[return-value]
