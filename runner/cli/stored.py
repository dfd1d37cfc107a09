"""Commands about the store: pull and push outputs, and free a dead apply's lock."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from runner.bounded import escaped
from runner.cli.boundary import boundary, stderr
from runner.cli.options import STORE
from runner.errors import RunnerError

if TYPE_CHECKING:
    from runner.spec import Spec
    from runner.store.place import Place


def _place(spec_path: Path, store: str | None) -> tuple[Spec, Place]:
    from runner.planner.make import place_for
    from runner.spec import load_spec

    spec = load_spec(spec_path)
    return spec, place_for(spec, store)


@click.command()
@click.argument("spec", type=click.Path(path_type=Path))
@STORE
@boundary
def pull(spec: Path, store: str | None) -> None:
    """Put every generated output back in output_dir, from the store (or this machine's
    cache), with no API call: a fresh checkout gets the files a teammate or CI made.

    Each file is checked against the sha256 the state recorded; files already in place
    are left alone. Exit 1 when some output is in neither the store nor the cache
    (`runner plan` then shows what it would cost to make them again).

    \b
    Examples:
      runner pull specs/demo.yaml --store s3://team-bucket/campaigns
      RUNNER_STORE=s3://team-bucket/campaigns runner pull specs/demo.yaml
    """
    from runner.store.sync import pull as pull_outputs

    loaded, place = _place(spec, store)
    with place.locked():
        result = pull_outputs(place, place.load_state(), loaded.path.parent, loaded.root)
    click.echo(f"Pulled {len(result.done)} outputs from {place.describe}; {result.present} already in place.")
    if result.missing:
        raise RunnerError(f"{len(result.missing)} outputs are in neither the store nor the cache: "
                          f"{', '.join(result.missing[:10])}{' …' if len(result.missing) > 10 else ''}; "
                          "`runner plan` shows what making them again costs")


@click.command()
@click.argument("spec", type=click.Path(path_type=Path))
@STORE
@boundary
def push(spec: Path, store: str | None) -> None:
    """Put the outputs the store lacks into it (after an apply whose store writes failed,
    or to seed a new store with outputs made before it). No API call.

    \b
    Example:
      runner push specs/demo.yaml --store s3://team-bucket/campaigns
    """
    from runner.store.sync import push as push_outputs

    loaded, place = _place(spec, store)
    if place.objects is None:
        raise RunnerError("no store: name one with --store, RUNNER_STORE or the spec's store:")
    with place.locked():
        result = push_outputs(place, place.load_state(), loaded.path.parent, loaded.root)
    click.echo(f"Pushed {len(result.done)} outputs to {place.describe}; {result.present} were there already.")
    if result.missing:
        stderr(f"{len(result.missing)} outputs are not on this disk (or differ from the state): "
               f"{', '.join(result.missing[:10])}; run `runner pull` where they are")


@click.group()
def state() -> None:
    """Look after a spec's state in its store.

    \b
    Example:
      runner state unlock LOCK_ID specs/demo.yaml --store s3://team-bucket/campaigns
    """


@state.command()
@click.argument("lock_id")
@click.argument("spec", type=click.Path(path_type=Path))
@STORE
@boundary
def unlock(lock_id: str, spec: Path, store: str | None) -> None:
    """Free the apply lock of a holder that died (like `terraform force-unlock`).

    LOCK_ID is the id the refused apply printed ("lock id …"); a wrong id changes
    nothing. Only do this when that apply is surely gone: a live one stops before its
    next create or write to the store, and keeps what it did on its own machine.
    A corrupt lock object (not one runner wrote) is cleared whatever LOCK_ID is.

    \b
    Example:
      runner state unlock 1f0c…-…  specs/demo.yaml --store s3://team-bucket/campaigns
    """
    _, place = _place(spec, store)
    holder = place.unlock(lock_id)
    if holder is None:
        click.echo(f"Unlocked {place.describe}: the lock object was corrupt (not one runner writes); "
                   "it is now a released lock.")
        return
    click.echo(escaped(f"Unlocked {place.describe}: was held by {holder.describe()}."))  # the lock object's words
