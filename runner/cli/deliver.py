"""The review and delivery commands: pick, picks, review, export (over ``runner.review``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from runner.bounded import MAX_TAKES, Bound, escaped
from runner.cli.boundary import boundary, stderr
from runner.cli.options import STORE, Number
from runner.errors import RunnerError

TAKE = Number(Bound(1, MAX_TAKES, whole=True))
"""A take number: the spec's ``takes`` is at most ``MAX_TAKES``."""
PORT = Number(Bound(0, 65535, whole=True))


@click.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.argument("shot")
@click.argument("take", type=TAKE, required=False, metavar="[TAKE]")
@click.option("--note", help="A note on the pick (one line), kept in the picks file.")
@click.option("--reject", "rejects", multiple=True, type=TAKE, metavar="TAKE",
              help="Rule this take out (repeatable); a rejected pick is no longer picked.")
@click.option("--clear", is_flag=True, help="Forget the shot's pick, rejects and note.")
@STORE
@boundary
def pick(spec: Path, shot: str, take: int | None, note: str | None, rejects: tuple[int, ...], clear: bool,
         store: str | None) -> None:
    """Pick TAKE of SHOT: record it in <spec>.picks.yaml (commit that file).

    The pick is bound to the take's fingerprint and file (sha256): when the shot is
    generated again, the pick is stale and `{from: SHOT, take: picked}` waits for a
    new one. Only a take the spec still asks for can be picked (apply first). Picking
    spends nothing; the next `runner plan` shows what builds on it.

    \b
    Examples:
      runner pick specs/launch.yaml keyart 2 --note "warmest light"
      runner pick specs/launch.yaml keyart --reject 1 --reject 3
      runner pick specs/launch.yaml keyart --clear
    """
    from runner.planner import make_plan
    from runner.review.picking import Picker

    if clear and (take is not None or rejects or note is not None):
        raise RunnerError("--clear forgets everything said of the shot; give it alone")
    if take is None and not rejects and note is None and not clear:
        raise RunnerError(f"say what to record: runner pick {spec} {shot} TAKE, --reject TAKE, --note TEXT or "
                          "--clear (`runner picks` lists the picks)")
    if take is not None and take in rejects:
        raise RunnerError(f"take {take} cannot be picked and rejected at once")
    picker = Picker(make_plan(spec, store=store))
    expected = picker.picks.sha256
    if clear:
        picker.clear(shot, expected=expected)
        click.echo(escaped(f"Cleared {shot} in {picker.path.name}"))
        return
    if rejects:
        picker.reject(shot, list(rejects), expected=expected)
        expected = picker.picks.sha256
        click.echo(escaped(f"Rejected {shot} take {', '.join(map(str, rejects))} in {picker.path.name}"))
    if take is not None:
        picks = picker.pick(shot, take, note=note, expected=expected)
        chosen = picks.get(shot)
        assert chosen is not None and chosen.sha256 is not None
        click.echo(escaped(f"Picked {shot} take {take} (file sha256 {chosen.sha256[:12]}) in {picker.path.name}"))
        stderr(escaped(f"`runner plan {spec}` shows what builds on it; commit {picker.path.name} to share the pick."))
    elif note is not None:
        picker.note(shot, note, expected=expected)
        click.echo(escaped(f"Noted {shot} in {picker.path.name}"))


@click.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one object per shot on stdout.")
@STORE
@boundary
def picks(spec: Path, fmt: str, store: str | None) -> None:
    """List the picks of SPEC: each shot's picked take, whether the pick still holds, rejects, notes.

    A pick is stale when its take was generated again since (the spec changed, or
    --replace); shots of several takes without a pick are listed as unpicked.

    \b
    Examples:
      runner picks specs/launch.yaml
      runner picks specs/launch.yaml --format json | jq '.[] | select(.status != "picked")'
    """
    from runner.planner import make_plan
    from runner.review.picking import pick_rows

    rows = pick_rows(make_plan(spec, store=store))
    if fmt == "json":
        click.echo(json.dumps([r.to_json() for r in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("No picks, and no shot with several takes to pick from.")
        return
    width = max(len(r.shot) for r in rows)
    for r in rows:
        p = r.pick
        what = f"take {p.take}" if p and p.take else "-"
        parts = [f"{r.status}" + (f" ({r.why})" if r.why else "")]
        if r.rejected:
            parts.append("rejected " + ", ".join(map(str, r.rejected)))
        if p and p.note:
            parts.append(f"note: {p.note}")
        if p and p.by:
            parts.append(f"by {p.by} at {p.at}")
        # notes, names and times come from a committed file, reasons from the state: one line each
        click.echo(escaped(f"  {r.shot:<{width}}  {what:<8} " + " · ".join(parts)))


@click.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--to", "folder", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The delivery folder: new, empty, or an earlier export to refresh.")
@click.option("--all-takes", is_flag=True,
              help="Also export every take of shots with several takes, as <shot>/<take>.<ext>.")
@STORE
@boundary
def export(spec: Path, folder: Path, all_takes: bool, store: str | None) -> None:
    """Copy the picked take of each shot to DIR as <shot id>.<ext>, with a manifest.json.

    A shot of one take delivers that take; a shot of several takes its pick (see
    `runner pick`, `runner review`); an unpicked one is listed and left out, unless
    --all-takes. manifest.json lists each file: shot, take, sha256, model, prompt, seed,
    task id, credits, who picked it and when, and the spec's git revision. Files are
    checked against the state's sha256; missing ones come from the store (--store),
    never from the API.

    \b
    Examples:
      runner export specs/launch.yaml --to delivery/
      runner export specs/launch.yaml --to delivery/ --all-takes --store s3://bucket/team
    """
    from runner.planner import make_plan
    from runner.review.export import export as run_export
    from runner.review.export import summary

    result = run_export(make_plan(spec, store=store), folder, all_takes=all_takes)
    click.echo(summary(result))  # escaped line by line (reasons come from the state and the API)


@click.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--port", default=8091, show_default=True, type=PORT, help="0 = any free port.")
@click.option("--no-open", is_flag=True, help="Do not open a browser; print the address only.")
@STORE
@boundary
def review(spec: Path, port: int, no_open: bool, store: str | None) -> None:
    """Review the takes of SPEC in the browser and pick the winners.

    A local web page on 127.0.0.1 (only): a grid of shots × takes grouped by matrix
    values and tags, with posters, a lightbox, side-by-side comparison with
    synchronized playback, filters (unpicked, picked, rejected, failed, out of date,
    changed since the last review, model, tag) and the keyboard (arrows, 1-9 pick,
    x reject, n note, c compare, ? help). It writes only <spec>.picks.yaml and never
    spends credits: for more takes it shows the command to run, with its cost. The
    address holds a token for this session. Stop with Ctrl-C.

    \b
    Examples:
      runner review specs/launch.yaml
      runner review specs/launch.yaml --no-open --port 0
    """
    from runner.review.serve import serve

    def ready(url: str) -> None:
        click.echo(escaped(f"Review of {spec} on {url}"))
        click.echo("Picks go to the picks file beside the spec; Ctrl-C to stop.")
        if not no_open:
            import webbrowser

            webbrowser.open(url)

    serve(spec, port=port, store=store, on_ready=ready)
