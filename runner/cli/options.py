"""Options shared by several commands, as named decorators."""

from __future__ import annotations

from pathlib import Path

import click

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
# A plain float: NaN, infinite and negative budgets are refused by the planner, with exit 1.
MAX_CREDITS = click.option("--max-credits", type=float,
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
