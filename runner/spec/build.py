"""Spec files -> frozen ``Shot`` records, with every problem reported at file:line:col.

Stages: safe YAML load with positions -> ``spec.schema.json`` -> per shot: matrix
expansion, template rendering, id checks, mode inference, request compilation ->
validation against the model's schema for that mode. Problems are collected, not
raised one by one, so a user sees all of them at once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from runner.catalog.models import ModelInfo, catalog
from runner.errors import Location, Problem, SpecError, SpecErrors
from runner.inputs.assets import check_input
from runner.inputs.paths import display_path, project_root
from runner.spec import matrix as matrix_mod
from runner.spec import schema_errors as words
from runner.spec.checks import collapse, dotted, schema_problems, secret_problems
from runner.spec.compile import (
    BODY_TO_FIELD,
    MEDIA_FIELDS,
    SCALAR_FIELDS,
    check_declared_mode,
    compile_request,
    infer_mode,
)
from runner.spec.records import Request, Shot, Spec, freeze
from runner.spec.templating import TemplateProblem, render
from runner.spec.yamlload import Document, Path_, load_yaml

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
MAX_TAKES = 20
RESERVED_VARS = {"shot"}


class _ShotBuilder:
    """Expands and compiles the shots of one document, collecting problems."""

    def __init__(self, doc: Document, spec_path: Path, root: Path) -> None:
        self.doc = doc
        self.spec_dir = spec_path.resolve().parent
        self.root = root
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.seen: dict[str, tuple[Location, str]] = {}
        data = doc.data
        self.vars: dict[str, Any] = dict(data.get("vars") or {})
        self.defaults: dict[str, Any] = dict(data.get("defaults") or {})
        hosts = data.get("allowed_hosts")
        self.allowed_hosts: tuple[str, ...] | None = tuple(hosts) if hosts is not None else None
        self.shots: list[Shot] = []
        for name in RESERVED_VARS & set(self.vars):
            self.problem(("vars", name), f"{name!r} is reserved (it holds the shot's own fields)", field=f"vars.{name}")

    def problem(
        self, path: Path_, message: str, *, shot: str | None = None, field: str | None = None, at_key: bool = False
    ) -> None:
        where = self.doc.where_key(path) if at_key else self.doc.where(path)
        self.problems.append(Problem(where, message, shot=shot, field=field))

    def build(self) -> None:
        for index, raw in enumerate(self.doc.data["shots"]):
            self.expand(index, raw)

    def expand(self, index: int, raw: dict[str, Any]) -> None:
        base: Path_ = ("shots", index)
        combos = matrix_mod.expand(raw.get("matrix") or {}, raw.get("include") or [], raw.get("exclude") or [])
        if not combos:
            self.warnings.append(Problem(self.doc.where((*base, "exclude")), "every matrix combination is "
                                         "excluded; this shot makes no generation", field="exclude",
                                         severity="warning"))
        for combo, origin in combos:
            clash = RESERVED_VARS & set(combo)
            if clash:
                self.problem((*base, "matrix"), f"matrix variable {min(clash)!r} is reserved")
                return
            variant = matrix_mod.describe(combo) or "shot"
            if origin.startswith("include"):
                variant = f"{origin}: {variant}"
            self.one(index, raw, combo, variant)

    def render_tree(self, value: Any, ctx: dict[str, Any], path: Path_, label: str | None) -> tuple[Any, bool]:
        if isinstance(value, str):
            try:
                return render(value, ctx), True
            except TemplateProblem as e:
                self.problem(path, e.message, shot=label, field=dotted(path[2:]) if path[0] == "shots" else dotted(path))
                return None, False
        if isinstance(value, dict):
            out, ok = {}, True
            for k, v in value.items():
                out[k], good = self.render_tree(v, ctx, (*path, k), label)
                ok = ok and good
            return out, ok
        if isinstance(value, list):
            items, ok = [], True
            for i, v in enumerate(value):
                item, good = self.render_tree(v, ctx, (*path, i), label)
                items.append(item)
                ok = ok and good
            return items, ok
        return value, True

    def one(self, index: int, raw: dict[str, Any], combo: dict[str, Any], variant: str) -> None:
        base: Path_ = ("shots", index)
        own = {k: v for k, v in raw.items() if k not in ("matrix", "include", "exclude")}
        # Media and model defaults apply to every shot; the others only where the model
        # accepts them (decided after the mode is known).
        merged = dict(own)
        sources: dict[str, Path_] = {k: (*base, k) for k in own}
        for key in ("model", *MEDIA_FIELDS, "tags", "takes"):
            if key in self.defaults and key not in merged:
                merged[key] = self.defaults[key]
                sources[key] = ("defaults", key)
        ctx = {**self.vars, **combo, "shot": {**self.defaults, **own}}
        id_raw = own["id"]
        shot_id, ok = self.render_tree(id_raw, ctx, (*base, "id"), None)
        if not ok:
            return
        label = str(shot_id)
        if not isinstance(shot_id, str):
            self.problem((*base, "id"), f"id rendered to {type(shot_id).__name__} {shot_id!r} (from {id_raw!r}); "
                         "ids are text: add letters around it, e.g. \"shot-{{ n }}\"", field="id")
            return
        if not ID_PATTERN.match(shot_id):
            self.problem(
                (*base, "id"),
                f"id {shot_id!r} (rendered from {id_raw!r}) must match ^[a-z0-9][a-z0-9._-]{{0,127}}$: "
                "lower-case letters, digits, '.', '_' or '-' (use the slug filter on matrix values)",
                field="id",
            )
            return
        where = self.doc.where((*base, "id"))
        if shot_id in self.seen:
            first_loc, first_variant = self.seen[shot_id]
            self.problems.append(
                Problem(
                    where,
                    f"duplicate id {shot_id!r} ({variant}); first produced at {first_loc} ({first_variant}); "
                    "put a matrix variable in the id template",
                    shot=shot_id,
                    field="id",
                )
            )
            return
        self.seen[shot_id] = (where, variant)
        fields: dict[str, Any] = {"id": shot_id}
        all_ok = True
        for key, value in merged.items():
            if key == "id":
                continue
            fields[key], good = self.render_tree(value, ctx, sources[key], label)
            all_ok = all_ok and good
        if not all_ok:
            return
        self.finish(index, shot_id, variant, combo, fields, sources, ctx)

    def finish(
        self,
        index: int,
        shot_id: str,
        variant: str,
        combo: dict[str, Any],
        fields: dict[str, Any],
        sources: dict[str, Path_],
        ctx: dict[str, Any],
    ) -> None:
        base: Path_ = ("shots", index)
        model_name = fields.get("model")
        if not model_name:
            self.problem(base, "no model: set model on the shot or in defaults", shot=shot_id, field="model")
            return
        models = catalog()
        info = models.get(model_name)
        if info is None:
            hint = words.did_you_mean(model_name, list(models))
            self.problem(
                sources["model"], f"unknown model {model_name!r}{hint}; run `runner models` for the list",
                shot=shot_id, field="model",
            )
            return
        mode, conflict = infer_mode(fields)
        if conflict:
            self.problem(base, conflict, shot=shot_id)
            return
        declared = fields.get("mode")
        if declared:
            why = check_declared_mode(declared, mode, fields)
            if why:
                self.problem(sources["mode"], why, shot=shot_id, field="mode")
                return
            mode = declared
        if mode not in info.modes:
            supported = ", ".join(info.modes)
            self.problem(
                sources["model"],
                f"{info.name} has no {mode} mode; it supports: {supported}"
                + ("; add image: (a first frame)" if "text" not in info.modes and mode == "text" else ""),
                shot=shot_id, field="model",
            )
            return
        self.apply_defaults(info, mode, fields, sources, ctx, shot_id)
        if not self.check_scalars(fields, sources, shot_id):
            return
        request, origins = compile_request(info, mode, fields)
        problems_before = len(self.problems)
        self.validate_body(info, request, origins, sources, shot_id, base)
        for item in request.inputs:
            spec_path = self.input_path(item.field, sources)
            msg = check_input(item.ref, item.kind, self.spec_dir, self.root, allowed_hosts=self.allowed_hosts)
            if msg:
                self.problem(spec_path, msg, shot=shot_id, field=item.field)
        if len(self.problems) > problems_before:
            return
        if info.status == "legacy":
            self.warnings.append(
                Problem(
                    self.doc.where(sources["model"]),
                    f"{info.name} is a legacy model; switch to {info.replacement}",
                    shot=shot_id, field="model", severity="warning",
                )
            )
        self.shots.append(
            Shot(
                id=shot_id,
                index=index,
                variant=variant,
                location=self.doc.where((*base, "id")),
                takes=int(fields.get("takes", 1)),
                tags=tuple(str(t) for t in fields.get("tags") or ()),
                matrix=freeze(combo),
                fields=freeze(fields),
                request=request,
                field_locations={k: self.doc.where(p) for k, p in sources.items()},
            )
        )

    def apply_defaults(
        self, info: ModelInfo, mode: str, fields: dict[str, Any], sources: dict[str, Path_],
        ctx: dict[str, Any], shot_id: str,
    ) -> None:
        props = info.properties(info.modes[mode])
        for key, body_key in SCALAR_FIELDS.items():
            if key in self.defaults and key not in fields and body_key in props:
                fields[key], _ = self.render_tree(self.defaults[key], ctx, ("defaults", key), shot_id)
                sources[key] = ("defaults", key)
        default_params = self.defaults.get("params") or {}
        if default_params:
            own = dict(fields.get("params") or {})
            own_fields = {SCALAR_FIELDS[k] for k in SCALAR_FIELDS if k in fields}
            for key, value in default_params.items():
                if key not in own and key in props and key not in own_fields:
                    own[key], _ = self.render_tree(value, ctx, ("defaults", "params", key), shot_id)
            fields["params"] = own
            sources.setdefault("params", ("defaults", "params"))

    def check_scalars(self, fields: dict[str, Any], sources: dict[str, Path_], shot_id: str) -> bool:
        ok = True
        takes = fields.get("takes", 1)
        if not isinstance(takes, int) or isinstance(takes, bool) or not 1 <= takes <= MAX_TAKES:
            self.problem(sources.get("takes", ()), f"takes must be a whole number from 1 to {MAX_TAKES}, not {takes!r}",
                         shot=shot_id, field="takes")
            ok = False
        scalar_keys = set(SCALAR_FIELDS.values())
        # Media keys are always the shot fields' business; a scalar key only when the shot sets it.
        taken = {key: name for key, name in BODY_TO_FIELD.items()
                 if key not in scalar_keys or name in fields}
        taken["model"] = "model"
        for key in fields.get("params") or {}:
            if key in taken:
                self.problem((*sources.get("params", ()), key),
                             f"{key} is set by the shot field {taken[key]!r}; remove it from params",
                             shot=shot_id, field=f"params.{key}", at_key=True)
                ok = False
        return ok

    def input_path(self, spec_field: str, sources: dict[str, Path_]) -> Path_:
        """The YAML path of a spec field such as ``references[0].image`` or ``params.keyframes[0].uri``."""
        parts = re.findall(r"\[(\d+)\]|([^.\[\]]+)", spec_field)
        path: list[str | int] = [int(index) if index else name for index, name in parts]
        if not path:
            return ()
        return (*sources.get(str(path[0]), ()), *path[1:])

    def validate_body(
        self, info: ModelInfo, request: Request, origins: dict[tuple[str | int, ...], str],
        sources: dict[str, Path_], shot_id: str, base: Path_,
    ) -> None:
        subject = f"{info.name} {request.mode} mode"
        for error in info.errors(request.mode, request.body):
            path = tuple(error.absolute_path)
            if error.validator == "required":
                key = words.missing_keys(error)[0]
                spec_field = BODY_TO_FIELD.get(key, f"params.{key}")
                prop = info.properties(request.endpoint).get(key, {})
                hint = _allowed_hint(prop)
                self.problem(base, f"{subject} needs {spec_field}{hint}", shot=shot_id, field=spec_field)
                continue
            if error.validator == "additionalProperties":
                allowed = sorted(words.schema_of(error).get("properties", {}))
                for key in words.unknown_keys(error):
                    spec_field = _origin_for(origins, (*path, key)) or key
                    loc = self.input_path(spec_field, sources)
                    if spec_field.startswith("params."):
                        msg = (f"{key!r} is not a field of {info.name}'s {request.endpoint} request"
                               f"{words.did_you_mean(key, allowed)}; fields: {', '.join(allowed)}")
                    else:
                        msg = f"{subject} does not take {spec_field}; remove it"
                    self.problem(loc, msg, shot=shot_id, field=spec_field, at_key=True)
                continue
            spec_field = _origin_for(origins, path) or ".".join(str(p) for p in path) or "request"
            units = "seconds" if spec_field == "duration" else ""
            msg = words.describe(error, name=spec_field, subject=subject, units=units)
            self.problem(self.input_path(spec_field, sources), msg, shot=shot_id, field=spec_field)


def _allowed_hint(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return f" (one of {words.choices_text(list(prop['enum']))})"
    if "minimum" in prop and "maximum" in prop:
        return f" ({prop['minimum']}–{prop['maximum']})"
    return ""


def _origin_for(origins: dict[tuple[str | int, ...], str], path: tuple[str | int, ...]) -> str | None:
    for n in range(len(path), 0, -1):
        if path[:n] in origins:
            return origins[path[:n]]
    return None


def load_spec(path: Path) -> Spec:
    """Load, render and validate one spec; raises SpecErrors listing every problem."""
    shown = display_path(path)
    doc = load_yaml(path, display=shown)
    secrets = secret_problems(doc)
    if secrets:
        raise SpecErrors(secrets)
    problems = schema_problems(doc)
    if problems:
        raise SpecErrors(problems)
    root = project_root(path)
    builder = _ShotBuilder(doc, path, root)
    builder.build()
    if builder.problems:
        raise SpecErrors(collapse(builder.problems))
    data = doc.data
    out_raw = data.get("output_dir") or f"outputs/{data['name']}"
    return Spec(
        path=path.resolve(),
        display=shown,
        name=data["name"],
        root=root,
        output_dir=(path.resolve().parent / out_raw),
        max_credits=(data.get("budget") or {}).get("max_credits"),
        shots=tuple(builder.shots),
        warnings=tuple(collapse(builder.warnings)),
        allowed_hosts=builder.allowed_hosts,
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
