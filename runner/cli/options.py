"""Options shared by several commands, as named decorators."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runner.bounded import Bound
from runner.planner.budget import CAP

if TYPE_CHECKING:  # generic from click 8.2 on; runner supports 8.1
    _NumberType = click.ParamType[float]
else:
    _NumberType = click.ParamType


class Number(_NumberType):
    """A number option within a ``Bound``: finite, in range, whole where a count is meant.

    click's ``FloatRange`` lets ``nan`` and ``inf`` through (every comparison with NaN is false),
    and its ``IntRange`` has no upper bound; every numeric option of runner takes this type
    instead (``tests/security/test_numbers.py`` walks the commands to keep it so). A whole
    number is written as one: ``--parallelism 4.0`` is refused, as ``takes: 4.0`` is in a spec."""

    name = "number"

    def __init__(self, bound: Bound) -> None:
        self.bound = bound

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str | None:
        return "N" if self.bound.whole else "NUMBER"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number: object = value
        if isinstance(value, str):
            text = value.strip()
            if self.bound.whole and _WHOLE.fullmatch(text) and len(text) <= 400:  # Python's int() takes 4,300
                number = int(text)
            else:
                try:
                    number = float(text) if len(text) <= 4000 else text
                except ValueError:
                    number = text
        why = self.bound.problem(number, shown=value if isinstance(value, str) else None)
        if why is not None:
            self.fail(why, param, ctx)
        assert isinstance(number, int | float)
        return number


_WHOLE = re.compile(r"[+-]?[0-9]+")

FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Output format; json goes to stdout and nothing else does.",
)


SELECT = click.option("--select", "select", multiple=True, metavar="GLOB",
                      help="Only shots whose id or a tag matches (repeatable); GLOB+ adds everything downstream "
                           "of them (shots that take their outputs), +GLOB everything they need.")
EXCLUDE = click.option("--exclude", "exclude", multiple=True, metavar="GLOB",
                       help="Leave out shots whose id or a tag matches (repeatable).")
REPLACE = click.option("--replace", "replace", multiple=True, metavar="ID",
                       help="Generate this shot again even if it is up to date (repeatable).")
MAX_CREDITS = click.option("--max-credits", type=Number(CAP),
                           help="Budget in credits; overrides budget.max_credits of the spec.")
ALLOW_UNPRICED = click.option("--allow-unpriced", "allow_unpriced", multiple=True, metavar="MODEL",
                              help="Accept shots of MODEL, which has no known price, under a budget (repeatable).")
TRUST_PRICES = click.option("--trust-prices", is_flag=True,
                            help="Accept price-file rates below a tenth of the published price (a cap reserves by "
                                 "them: only for a negotiated rate you are sure of).")
PRICES = click.option("--prices", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                      help="YAML/JSON price file: model -> pricing fields that override the catalog.")


STORE = click.option("--store", metavar="URL",
                     help="Keep state, lock and outputs in this store: s3://bucket/prefix, gs://…, az://…, or a "
                          "folder (overrides RUNNER_STORE and the spec's store:). Credentials from the environment.")
