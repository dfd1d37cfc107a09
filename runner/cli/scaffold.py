"""`runner init`: a new campaign folder with a spec, an assets folder, a .gitignore for
outputs and, optionally, the GitHub Actions workflow. Never overwrites a file."""

from __future__ import annotations

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


def init_campaign(folder: Path, *, name: str, model: str = "gen4.5", ci: bool = False,
                  repo_root: Path | None = None) -> list[Path]:
    """Create the files; returns what was written. Refuses to overwrite anything."""
    if model not in catalog():
        raise RunnerError(f"unknown model {model!r}; run `runner models` for the list")
    if "text" not in catalog()[model].modes:
        raise RunnerError(f"{model} has no text mode; pick a default model with one (e.g. gen4.5)")
    spec = folder / f"{name}.yaml"
    sample = bundled("specs/assets/sneaker.png")
    workflow_src = bundled("examples/github-actions/runner.yml")
    plan = {spec: None, folder / "assets" / "first-frame.png": sample, folder / ".gitignore": None}
    if ci:
        plan[(repo_root or folder) / ".github" / "workflows" / "runner.yml"] = workflow_src
    clash = [p for p in plan if p.exists() or p.is_symlink()]  # a dangling link would be written through
    if clash:
        raise RunnerError(f"{clash[0]} already exists; runner init never overwrites files")
    root = repo_root or folder
    for path in plan:  # every file lands inside the project, whatever links the folders hold
        confine(path, root, what="runner init", hint="init writes only inside the project; remove the symlink "
                "or choose another folder")
    folder.mkdir(parents=True, exist_ok=True)
    schema_path = schema_dir() / "spec.schema.json"
    spec.write_text(SPEC.format(schema=schema_path.as_uri() if not schema_path.is_relative_to(folder.resolve())
                                else schema_path, name=name, model=model), encoding="utf-8")
    (folder / "assets").mkdir(exist_ok=True)
    if sample.is_file():
        shutil.copyfile(sample, folder / "assets" / "first-frame.png")
    else:  # pragma: no cover - installed without the demo assets
        from PIL import Image

        Image.new("RGB", (640, 360), (200, 200, 210)).save(folder / "assets" / "first-frame.png")
    (folder / ".gitignore").write_text("# generated videos (the state file is committed; its journal is not: an\n"
                                       "# apply folds it into the state file when it ends)\noutputs/\n.*.lock\n"
                                       ".*.lock.holder\n*.state.journal\nreport.html\n", encoding="utf-8")
    if ci:
        target = (repo_root or folder) / ".github" / "workflows" / "runner.yml"
        target.parent.mkdir(parents=True, exist_ok=True)
        text = workflow_src.read_text(encoding="utf-8")
        rel = spec.resolve().relative_to((repo_root or folder).resolve()).as_posix()
        target.write_text(text.replace("SPEC: campaigns/launch.yaml", f"SPEC: {rel}"), encoding="utf-8")
    return list(plan)
