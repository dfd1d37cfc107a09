"""Spec files -> a frozen ``Spec``, with every problem reported at file:line:col.

Stages: safe YAML load with positions (``yamlload``) -> secrets and ``spec.schema.json``
(``checks``) -> per shot entry: matrix expansion, templates and ids (``expand``) -> per
rendered shot: model, mode, defaults, compiled request, its schema and its inputs
(``finish``). Problems are collected, not raised one by one, so a user sees all of them at
once; a problem that every variant of a matrix shot repeats is shown once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.errors import Problem, SpecError, SpecErrors
from runner.inputs.paths import display_path, project_root
from runner.spec.checks import budget_problems, collapse, schema_problems, secret_problems
from runner.spec.expand import Expander
from runner.spec.finish import Finisher
from runner.spec.matrix import MAX_VARIANTS, count
from runner.spec.problems import Problems
from runner.spec.records import Shot, Spec
from runner.spec.yamlload import Document, load_yaml

MAX_SHOTS = 100_000  # variants per spec file, after matrix expansion


def build_shots(doc: Document, spec_path: Path, root: Path) -> tuple[list[Shot], Problems]:
    """The shots of a schema-valid document, and the problems and warnings found on the way."""
    data = doc.data
    problems = Problems(doc)
    defaults: dict[str, Any] = dict(data.get("defaults") or {})
    expander = Expander(problems, dict(data.get("vars") or {}), defaults)
    finisher = Finisher(problems, defaults, spec_dir=spec_path.resolve().parent, root=root,
                        allowed_hosts=allowed_hosts(data))
    shots: list[Shot] = []
    # Counted before anything is built; a shot over its own cap is reported by the expander.
    counts = [count(raw.get("matrix") or {}, raw.get("include") or [], raw.get("exclude") or [])
              for raw in data["shots"]]
    total = sum(n for n in counts if n <= MAX_VARIANTS)
    if total > MAX_SHOTS:
        problems.problem(("shots",), f"the shots expand to {total:,} variants; the limit is {MAX_SHOTS:,} per spec: "
                         "split the campaign into several spec files", field="shots", at_key=True)
        return [], problems
    for index, raw in enumerate(data["shots"]):
        for rendered in expander.expand(index, raw):
            shot = finisher.finish(rendered)
            if shot is not None:
                shots.append(shot)
    return shots, problems


def allowed_hosts(data: dict[str, Any]) -> tuple[str, ...] | None:
    """The spec's ``allowed_hosts`` (None: any public host)."""
    hosts = data.get("allowed_hosts")
    return tuple(hosts) if hosts is not None else None


def load_spec(path: Path) -> Spec:
    """Load, render and validate one spec; raises SpecErrors listing every problem."""
    shown = display_path(path)
    doc = load_yaml(path, display=shown)
    secrets = secret_problems(doc)
    if secrets:
        raise SpecErrors(secrets)
    problems = schema_problems(doc) + budget_problems(doc)
    if problems:
        raise SpecErrors(problems)
    root = project_root(path)
    shots, found = build_shots(doc, path, root)
    if found.errors:
        raise SpecErrors(collapse(found.errors))
    data = doc.data
    out_raw = data.get("output_dir") or f"outputs/{data['name']}"
    return Spec(
        path=path.resolve(),
        display=shown,
        name=data["name"],
        root=root,
        output_dir=(path.resolve().parent / out_raw),
        max_credits=(data.get("budget") or {}).get("max_credits"),
        shots=tuple(shots),
        warnings=tuple(collapse(found.warnings)),
        allowed_hosts=allowed_hosts(data),
    )


def validate_specs(paths: list[Path]) -> list[Spec]:
    """Validate several specs; raises one SpecErrors with the problems of all of them."""
    specs: list[Spec] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            specs.append(load_spec(path))
        except SpecErrors as e:
            problems.extend(e.problems)
        except SpecError as e:
            problems.append(e.problem)
    if problems:
        raise SpecErrors(problems)
    return specs
