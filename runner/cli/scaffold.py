"""`runner init`: a new campaign folder with a spec, the assets its example names, a
.gitignore for outputs, journals and report pages and, optionally, the GitHub Actions
workflow. Nothing machine-specific is written (the spec's ``$schema`` is a relative path).
Never overwrites a file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from runner.catalog.models import bundled, catalog, schema_dir
from runner.errors import RunnerError
from runner.inputs.paths import confine

SPEC = """\
# yaml-language-server: $schema={schema}
version: 1
name: {name}
budget: {{max_credits: 1000}}        # plan fails above this many credits (1 credit = $0.01)
vars: {{product: "your product"}}
defaults: {{model: {model}, ratio: "1280:720", duration: 5}}
shots:
  - id: "hero-{{{{ city | slug }}}}"
    prompt: "{{{{ product }}}} on a rooftop in {{{{ city }}}}, golden hour"
    matrix: {{city: [Tokyo, Lagos]}}
  - id: turntable
    model: gen4_turbo
    image: assets/first-frame.png
    prompt: "slow 360 turn, studio light"
"""


def _schema_reference(folder: Path, root: Path) -> tuple[str, Path | None]:
    """The ``$schema`` path the spec's first line names, relative to the spec so that it works
    on every clone: the project's own ``schema/spec.schema.json`` when runner's schema lives in
    the project, else a copy written beside the spec (returned as the second item)."""
    installed = schema_dir() / "spec.schema.json"
    base = folder.resolve() if folder.exists() else folder.absolute()
    if installed.resolve().is_relative_to(root.resolve()):
        return os.path.relpath(installed.resolve(), base), None
    return "spec.schema.json", folder / "spec.schema.json"


def init_campaign(folder: Path, *, name: str, model: str = "gen4.5", ci: bool = False,
                  repo_root: Path | None = None) -> list[Path]:
    """Create the files; returns what was written. Refuses to overwrite anything."""
    if model not in catalog():
        raise RunnerError(f"unknown model {model!r}; run `runner models` for the list")
    if "text" not in catalog()[model].modes:
        raise RunnerError(f"{model} has no text mode; pick a default model with one (e.g. gen4.5)")
    spec = folder / f"{name}.yaml"
    root = repo_root or folder
    schema, schema_copy = _schema_reference(folder, root)
    sample = bundled("specs/assets/sneaker.png")
    workflow_src = bundled("examples/github-actions/runner.yml")
    plan = {spec: None, folder / "assets" / "first-frame.png": sample, folder / ".gitignore": None}
    if schema_copy is not None:
        plan[schema_copy] = schema_dir() / "spec.schema.json"
    if ci:
        plan[(repo_root or folder) / ".github" / "workflows" / "runner.yml"] = workflow_src
    clash = [p for p in plan if p.exists() or p.is_symlink()]  # a dangling link would be written through
    if clash:
        raise RunnerError(f"{clash[0]} already exists; runner init never overwrites files")
    for path in plan:  # every file lands inside the project, whatever links the folders hold
        confine(path, root, what="runner init", hint="init writes only inside the project; remove the symlink "
                "or choose another folder")
    folder.mkdir(parents=True, exist_ok=True)
    if schema_copy is not None:
        shutil.copyfile(schema_dir() / "spec.schema.json", schema_copy)
    spec.write_text(SPEC.format(schema=schema, name=name, model=model), encoding="utf-8")
    (folder / "assets").mkdir(exist_ok=True)
    if sample.is_file():
        shutil.copyfile(sample, folder / "assets" / "first-frame.png")
    else:  # pragma: no cover - installed without the demo assets
        from PIL import Image

        Image.new("RGB", (640, 360), (200, 200, 210)).save(folder / "assets" / "first-frame.png")
    (folder / ".gitignore").write_text("# generated videos (the state file is committed; its journal is not: an\n"
                                       "# apply folds it into the state file when it ends)\noutputs/\n.*.lock\n"
                                       ".*.lock.holder\n*.state.journal\n# what an apply that lost a store's lock kept "
                                       "on this machine\n*.state.unsaved.json\n"
                                       "# runner report's pages (<spec>.report.html)\n"
                                       "*.report.html\n", encoding="utf-8")
    if ci:
        target = (repo_root or folder) / ".github" / "workflows" / "runner.yml"
        target.parent.mkdir(parents=True, exist_ok=True)
        text = workflow_src.read_text(encoding="utf-8")
        rel = spec.resolve().relative_to((repo_root or folder).resolve()).as_posix()
        target.write_text(text.replace("SPEC: campaigns/launch.yaml", f"SPEC: {rel}"), encoding="utf-8")
    return list(plan)
