"""The runner commands around the plan/apply core: models, emulate, report, init, schema."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from runner.bounded import MAX_EXACT, Bound
from runner.cli.boundary import boundary, color, stderr
from runner.cli.options import FORMAT, PRICES, STORE, Number
from runner.errors import RunnerError

# Commands import their layers when they run: defining them must stay cheap (`runner --version`).


@click.command()
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
    from runner.catalog.models import catalog
    from runner.cli import views
    from runner.spec import did_you_mean

    cat = catalog()
    if model is not None and model not in cat:
        raise RunnerError(f"unknown model {model!r}{did_you_mean(model, list(cat))}; run `runner models` for the list")
    chosen = [cat[model]] if model else list(cat.values())
    if fmt == "json":
        click.echo(views.models_json(chosen))
    else:
        click.echo(views.models_table(chosen, detail=bool(model) or all_ratios, color=color()))


SHARE = Bound(0, 1)
"""A probability: the emulator's fault rates."""


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8090, show_default=True, type=Number(Bound(0, 65535, whole=True)),
              help="0 = any free port.")
@click.option("--time-scale", type=Number(Bound(0, 1000, low_open=True)),
              help="Wall seconds per emulated second (default 0.1: a 20 s generation takes 2 s).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML/JSON file of emulator settings (see runner/emulator/config.py).")
@click.option("--concurrency", type=Number(Bound(1, 10_000, whole=True)), help="maxConcurrentGenerations per model.")
@click.option("--balance", type=Number(Bound(0, MAX_EXACT, whole=True)), help="Starting credit balance.")
@click.option("--fail-rate", type=Number(SHARE), help="Share of tasks that end FAILED.")
@click.option("--error-rate", type=Number(SHARE), help="Share of API requests answered with a 5xx.")
@click.option("--rate-limit-rate", type=Number(SHARE), help="Share of API requests answered with 429.")
@click.option("--truncate-rate", type=Number(SHARE), help="Share of downloads cut off halfway.")
@click.option("--seed", type=Number(Bound(0, 2**32 - 1, whole=True)),
              help="Seed for the fault injection's random choices.")
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
    stderr(f"Runway API emulator on http://{host}:{port} (time scale {config.time_scale})")
    stderr(f"  export RUNWAYML_BASE_URL=http://{host}:{port} RUNWAYML_API_SECRET=emulator")
    stderr(f"  counters: http://{host}:{port}/_emulator/stats")
    serve_forever(config, host=host, port=port)


@click.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the page, inside the project (default: <spec name>.report.html beside the spec; "
                   "videos "
                   "are linked by relative path).")
@click.option("--layout", type=click.Choice(["auto", "cards", "grid"]), default="auto", show_default=True,
              help="cards: one card per shot; grid: the review's grid with filters (auto: grid from 30 shots).")
@STORE
@PRICES
@boundary
def report(spec: Path, out: Path | None, layout: str, store: str | None, prices: Path | None) -> None:
    """Write a static HTML page of the campaign's outputs.

    Shots in graph order, each with its status (a shot whose files were made from
    another request is "out of date", with the prompt they were made from beside the
    spec's), model, mode, ratio, duration, prompt, credits planned and charged (also
    printed per shot and in total), its picks, a link to the spec, and its takes as
    playable media with poster frames. Models charged other than the table plans (give
    --prices the price file apply used), and credits of models without a price, are
    named at the top, as apply does. A large campaign gets the review's grid and filters
    (`runner review`) as a static page. The page needs no server; keep it where it can
    reach the outputs. It is written inside the project (the git top level, else the
    spec's folder).

    \b
    Examples:
      runner report specs/demo.yaml -o report.html
      runner apply specs/demo.yaml --emulator --yes && runner report specs/demo.yaml
      runner report specs/launch.yaml --layout grid
    """
    from runner.cli.report import charges, count_text, counts_by_kind, credits_table, write_report
    from runner.cli.views import charge_lines
    from runner.inputs.paths import display_path
    from runner.planner.charges import drift, unplanned

    path, views = write_report(spec, out, store=store, prices=prices, layout=layout)  # type: ignore[arg-type]
    click.echo(credits_table(views))
    for line in charge_lines(drift(charges(views)), unplanned(charges(views))):
        click.echo(line)
    # relative to where the user is, like every other path runner prints
    click.echo(f"Wrote {display_path(path)} ({count_text(counts_by_kind(views))})")


@click.command()
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
    if ci:
        click.echo("In the workflow, set RUNNER_PACKAGE to the runner you trust (OWNER and TAG of "
                   "runway-runner @ git+https://github.com/OWNER/runner@TAG); its install step fails until you do.")
    click.echo(f"Next: runner validate {spec} && runner plan {spec} && runner apply {spec} --emulator --yes")


@click.command()
@boundary
def schema() -> None:
    """Print the JSON Schema (Draft 2020-12) of spec files.

    Editors use it for completion and inline errors; point yaml-language-server at it
    with a first line `# yaml-language-server: $schema=<path>/spec.schema.json`.

    \b
    Example:
      runner schema > spec.schema.json
    """
    from runner.catalog.models import schema_dir

    click.echo((schema_dir() / "spec.schema.json").read_text(encoding="utf-8"), nl=False)
