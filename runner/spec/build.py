"""Spec files -> a frozen ``Spec``, with every problem reported at file:line:col.

Stages: safe YAML load with positions (``yamlload``) -> secrets and ``spec.schema.json``
(``checks``) -> per shot entry: matrix expansion, templates and ids (``expand``) -> per
rendered shot: model, mode, defaults, compiled request, its schema and its inputs
(``finish``). Problems are collected, not raised one by one, so a user sees all of them at
once; a problem that every variant of a matrix shot repeats is shown once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.errors import Location, OutsideProject, Problem, SpecError, SpecErrors
from runner.inputs.paths import BUCKET_SCHEMES, confine, display_path, in_git_folder, project_root, resolved_text
from runner.spec.checks import budget_problems, collapse, located_schema_problems, number_problems, secret_problems
from runner.spec.expand import Expander
from runner.spec.finish import Finisher
from runner.spec.graph import graph_problems
from runner.spec.limits import spec_budget
from runner.spec.matrix import MAX_VARIANTS, count
from runner.spec.problems import Problems
from runner.spec.records import Shot, Spec
from runner.spec.yamlload import Document, load_yaml

MAX_SHOTS = 100_000  # variants per spec file, after matrix expansion


def _shots_buildable(doc: Document, skip: set[int]) -> bool:
    """Whether the entries outside ``skip`` can be built: the shots are a list of mappings."""
    shots = doc.data.get("shots")
    return isinstance(shots, list) and all(isinstance(raw, dict) for i, raw in enumerate(shots) if i not in skip)


def build_shots(doc: Document, spec_path: Path, root: Path,
                skip: frozenset[int] = frozenset()) -> tuple[list[Shot], Problems]:
    """The shots of a document whose entries outside ``skip`` are schema-valid, and the problems
    and warnings found on the way (entries in ``skip`` failed the schema: they are not built)."""
    data = doc.data
    problems = Problems(doc)
    defaults: dict[str, Any] = dict(data.get("defaults") or {})
    expander = Expander(problems, dict(data.get("vars") or {}), defaults)
    finisher = Finisher(problems, defaults, spec_dir=spec_path.resolve().parent, root=root,
                        allowed_hosts=allowed_hosts(data))
    shots: list[Shot] = []
    # Counted before anything is built; a shot over its own cap is reported by the expander.
    counts = [count(raw.get("matrix") or {}, raw.get("include") or [], raw.get("exclude") or [])
              for i, raw in enumerate(data["shots"]) if i not in skip]
    total = sum(n for n in counts if n <= MAX_VARIANTS)
    if total > MAX_SHOTS:
        problems.problem(("shots",), f"the shots expand to {total:,} variants; the limit is {MAX_SHOTS:,} per spec: "
                         "split the campaign into several spec files", field="shots", at_key=True)
        return [], problems
    for index, raw in enumerate(data["shots"]):
        if index in skip:
            continue
        for rendered in expander.expand(index, raw):
            shot = finisher.finish(rendered)
            if shot is not None:
                shots.append(shot)
    problems.errors += graph_problems(shots, expander.seen)
    problems.warnings += same_requests(shots)
    return shots, problems


def same_requests(shots: list[Shot]) -> list[Problem]:
    """A warning for each shot whose request is byte for byte an earlier shot's: the plan pays
    for it once and gives both the same file (``planner.make``), which is rarely what a matrix
    meant (a variable that never reaches the request)."""
    first: dict[str, str] = {}
    out = []
    for shot in shots:
        # The frozen body is a dict to json already: no thawed copy of it per shot (50,000 in a big matrix).
        key = json.dumps([shot.model, shot.request.endpoint, shot.request.body], sort_keys=True, default=str)
        earlier = first.setdefault(key, shot.id)
        if earlier != shot.id:
            out.append(Problem(shot.location, f"{shot.id} sends the same request as {earlier}: it reuses that result; "
                               "vary the prompt or use takes: 2 for variations", shot=shot.id, field="prompt",
                               severity="warning"))
    return out


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
    numbers = number_problems(doc)
    if numbers:  # before the schema: its minimum and maximum let NaN through, and would word them twice
        raise SpecErrors(numbers)
    located = located_schema_problems(doc)
    early = [p for _, p in located] + budget_problems(doc)
    # A schema problem inside one shot entry skips that entry only; the other shots still go
    # through every later stage, so one run reports every problem (one outside the shots stops here).
    skip = {i for i, _ in located if i is not None}
    if any(i is None for i, _ in located) or not _shots_buildable(doc, skip):
        raise SpecErrors(early)
    root = project_root(path)
    try:
        with spec_budget():  # every template of the spec, matrix variants included: SPEC_SECONDS in all
            shots, found = build_shots(doc, path, root, skip=frozenset(skip))
    except SpecErrors as e:  # the rendering time ran out (Problems.rendered): what was found until then
        raise SpecErrors(early + collapse(e.problems)) from None
    if early or found.errors:
        raise SpecErrors(early + collapse(found.errors))
    data = doc.data
    output_dir, where, key = _output_dir(doc, path.resolve().parent, root)
    return Spec(
        path=path.resolve(),
        display=shown,
        name=data["name"],
        root=root,
        output_dir=output_dir,
        max_credits=(data.get("budget") or {}).get("max_credits"),
        shots=tuple(shots),
        warnings=tuple(collapse(found.warnings)),
        allowed_hosts=allowed_hosts(data),
        output_location=where,
        output_field=key,
        store=_store(doc, path.resolve().parent, root),
    )


def _store(doc: Document, spec_dir: Path, root: Path) -> str | None:
    """The spec's ``store:``: a bucket URL as written, or a folder resolved with symlinks followed,
    which must lie inside the project and outside ``.git`` (the schema already refuses ``..`` and
    absolute paths; a symlink committed in the repository must not lead elsewhere either).
    ``--store`` and ``RUNNER_STORE`` are the user's own choice and are not checked here."""
    raw = doc.data.get("store")
    if not isinstance(raw, str) or not raw or raw.startswith(BUCKET_SCHEMES):
        return raw if isinstance(raw, str) and raw else None
    if in_git_folder(spec_dir / raw):
        why = f"{raw!r} lies inside a .git folder (symlinks are followed), where runner never writes"
    else:
        try:
            return str(confine(spec_dir / raw, root, what="store"))
        except OutsideProject as e:
            why = (f"{raw!r} resolves to {resolved_text(Path(e.path))}, outside the project root {e.root} (symlinks "
                   "are followed); a spec's store folder must be inside the project (--store and RUNNER_STORE may "
                   "point anywhere)")
    raise SpecErrors([Problem(doc.where(("store",)), why, field="store")])


def _output_dir(doc: Document, spec_dir: Path, root: Path) -> tuple[Path, Location, str]:
    """``output_dir`` (default ``outputs/<name>``) resolved, symlinks followed, and where it
    is set; a folder outside the project is refused at that place."""
    raw = doc.data.get("output_dir")
    key = "output_dir" if raw else "name"
    where = doc.where((key,))
    if raw and "\x00" in raw:
        why = "contains a NUL byte; give a folder relative to the spec file"
    elif raw and Path(raw).is_absolute():
        why = f"absolute path {raw!r}: give a folder relative to the spec file, inside the project"
    elif in_git_folder(spec_dir / (raw or f"outputs/{doc.data['name']}")):
        why = (f"{raw or 'the default outputs/<name>'!r} lies inside a .git folder (symlinks are followed), where "
               "runner never writes: choose a folder outside it")
    else:
        try:
            return confine(spec_dir / (raw or f"outputs/{doc.data['name']}"), root, what=key), where, key
        except OutsideProject as e:
            why = (f"{raw or 'the default outputs/<name>'!r} resolves to {resolved_text(Path(e.path))}, outside the "
                   f"project root {e.root} (symlinks are followed); outputs must be written inside the project")
    raise SpecErrors([Problem(where, why, field=key)])


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
