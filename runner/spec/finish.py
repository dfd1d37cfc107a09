"""A rendered shot -> a validated ``Shot`` record, or problems saying why not.

In order, stopping at the first step that fails: the model (set, and known); the mode
(inferred from the media fields, or declared and agreeing with them, and one the model
has); the defaults that depend on the model (a scalar default or a ``defaults.params`` key
applies only where the mode's request takes it); ``takes`` and ``params`` that would
overwrite a shot field; then the compiled request, validated against the model's schema,
and every media input it holds (``Request.inputs``, wherever it was set, ``params``
included) checked offline: URL policy, confinement of local files to the project, content;
then the model file's limits that JSON Schema cannot state (``inputlimits``: reference
counts, combined clip lengths, UTF-16 prompt length, the input clip's length, size and
resolution).
A legacy model gives a warning naming its replacement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.bounded import MAX_TAKES
from runner.catalog.endpoints import Pointer
from runner.catalog.models import ModelInfo, catalog
from runner.inputs.assets import check_input
from runner.spec import graph
from runner.spec import schema_errors as words
from runner.spec.bodycheck import body_problems
from runner.spec.compile import (
    BODY_TO_FIELD,
    SCALAR_FIELDS,
    check_declared_mode,
    compile_request,
    field_of,
    infer_mode,
)
from runner.spec.expand import RenderedShot
from runner.spec.inputlimits import limit_problems
from runner.spec.problems import Problems
from runner.spec.records import Request, Shot, Upstream, freeze
from runner.spec.yamlload import Path_

_FIELD_PARTS = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


class Finisher:
    """Turns the rendered shots of one document into ``Shot`` records, reporting to ``problems``."""

    def __init__(self, problems: Problems, defaults: dict[str, Any], *, spec_dir: Path, root: Path,
                 allowed_hosts: tuple[str, ...] | None) -> None:
        self.problems = problems
        self.defaults = defaults
        self.spec_dir = spec_dir
        self.root = root
        self.allowed_hosts = allowed_hosts

    def finish(self, shot: RenderedShot) -> Shot | None:
        """The validated shot, or None when a problem was reported."""
        if shot.failed:  # a template failed (reported): only the model, when it rendered, is checked
            if "model" not in shot.failed:
                self.model(shot)
            return None
        markers, bad_takes = graph.lift(shot.fields)
        for spec_field, why in bad_takes:
            self.problems.problem(self.field_path(spec_field, shot), why, shot=shot.id, field=spec_field)
        found = self.model_and_mode(shot)
        if found is None:
            return None
        info, mode = found
        self.apply_defaults(info, mode, shot)
        if not self.check_scalars(shot):
            return None
        request, origins = compile_request(info, mode, shot.fields)
        before = len(self.problems.errors) - len(bad_takes)
        request, upstreams, stray = graph.link(
            request, markers, lambda f: self.problems.doc.where(self.field_path(f, shot)))
        for pointer in stray:
            name = field_of(origins, pointer)
            self.problems.problem(self.field_path(name, shot), f"{name} takes no media, so it cannot take another "
                                  "shot's output ({from: ...}); use from: in a media field of this mode",
                                  shot=shot.id, field=name)
        if not stray:  # the schema would only repeat it: the marker is no value that field takes
            self.validate_body(info, request, origins, shot)
        self.check_inputs(request, shot)
        if len(self.problems.errors) > before:
            return None
        for p in limit_problems(info, request, origins, self.spec_dir):
            self.problems.problem(self.field_path(p.field, shot), p.message, shot=shot.id, field=p.field)
        if len(self.problems.errors) > before:
            return None
        if info.status == "legacy":
            self.problems.warn(shot.sources["model"], f"{info.name} is a legacy model; switch to {info.replacement}",
                               shot=shot.id, field="model")
        return self.record(shot, request, upstreams)

    def model_and_mode(self, shot: RenderedShot) -> tuple[ModelInfo, str] | None:
        info = self.model(shot)
        if info is not None and not self.audio_fits(info, shot):
            return None
        mode = self.mode(shot) if info is not None else None
        if info is None or mode is None:
            return None
        if mode not in info.modes:
            hint = ""
            if mode == "text" and "image" in info.modes:
                hint = "; add image: (a first frame)"
            elif mode == "text" and "reference" in info.modes:
                hint = "; add references: [{image: ...}] (it needs at least one reference image)"
            elif mode == "text" and "speech" in info.modes:
                hint = "; add voice: (a preset such as Maya) to make speech"
            elif mode == "speech":
                hint = "; voice is for speech models (runner models: kind audio): remove it or change model"
            elif mode == "text" and set(info.modes) & {"image", "video", "audio"}:
                inputs = [m for m in ("image", "video", "audio") if m in info.modes]
                hint = f"; add {' or '.join(f'{m}: (the file to work on)' for m in inputs)}"
            self.problems.problem(shot.sources["model"],
                                  f"{info.name} has no {mode} mode; it supports: {', '.join(info.modes)}{hint}",
                                  shot=shot.id, field="model")
            return None
        return info, mode

    def audio_fits(self, info: ModelInfo, shot: RenderedShot) -> bool:
        """A text ``audio:`` is a file to work on (audio mode); on a model without that mode it is
        a mistake at the ``audio:`` line, saying what the model takes there (a sound switch, or
        nothing), rather than "has no audio mode" at ``model:``."""
        value = shot.fields.get("audio")
        if not isinstance(value, str) or "audio" in info.modes:
            return True
        modes = ", ".join(info.modes)
        switch = any(info.properties(ep).get("audio", {}).get("type") == "boolean" for ep in info.modes.values())
        if switch:
            why = (f"{value[:60]!r} is text, but {info.name} takes true (a video with sound) or false (silent) "
                   f"here; it has no audio-input mode to take a file (modes: {modes})")
        else:
            why = (f"{value[:60]!r}: {info.name} takes no audio, neither a sound switch nor an audio file (modes: "
                   f"{modes}); remove it, or use a model with an audio mode (`runner models`)")
        self.problems.problem(shot.sources.get("audio", shot.base), why, shot=shot.id, field="audio")
        return False

    def model(self, shot: RenderedShot) -> ModelInfo | None:
        name = shot.fields.get("model")
        if not name:
            self.problems.problem(shot.base, "no model: set model on the shot or in defaults", shot=shot.id,
                                  field="model")
            return None
        models = catalog()
        info = models.get(name)
        if info is None:
            self.problems.problem(
                shot.sources["model"],
                f"unknown model {name!r}{words.did_you_mean(name, list(models))}; run `runner models` for the list",
                shot=shot.id, field="model",
            )
        return info

    def mode(self, shot: RenderedShot) -> str | None:
        """The mode the media fields imply, or the declared one when it agrees with them."""
        mode, conflict = infer_mode(shot.fields)
        if conflict:
            message, field = conflict
            at = shot.sources.get(field, shot.base) if field else shot.base
            self.problems.problem(at, message, shot=shot.id, field=field or None, at_key=bool(field))
            return None
        declared = shot.fields.get("mode")
        if not declared:
            return mode
        why = check_declared_mode(declared, mode, shot.fields)
        if why:
            self.problems.problem(shot.sources["mode"], why, shot=shot.id, field="mode")
            return None
        return str(declared)

    def apply_defaults(self, info: ModelInfo, mode: str, shot: RenderedShot) -> None:
        """The defaults that apply only where the mode's request takes them."""
        props = info.properties(info.modes[mode])
        for key, body_key in SCALAR_FIELDS.items():
            if key in self.defaults and key not in shot.fields and body_key in props:
                shot.fields[key], _ = self.problems.rendered(self.defaults[key], shot.ctx, ("defaults", key), shot.id)
                shot.sources[key] = ("defaults", key)
        default_params = self.defaults.get("params") or {}
        if not default_params:
            return
        own = dict(shot.fields.get("params") or {})
        set_by_fields = {SCALAR_FIELDS[k] for k in SCALAR_FIELDS if k in shot.fields}
        for key, value in default_params.items():
            if key not in own and key in props and key not in set_by_fields:
                where = ("defaults", "params", key)
                own[key], _ = self.problems.rendered(value, shot.ctx, where, shot.id)
                shot.param_sources[key] = where
        shot.fields["params"] = own
        shot.sources.setdefault("params", ("defaults", "params"))

    def check_scalars(self, shot: RenderedShot) -> bool:
        """``takes`` in range, and no ``params`` key that a shot field sets."""
        ok = True
        takes = shot.fields.get("takes", 1)
        if not isinstance(takes, int) or isinstance(takes, bool) or not 1 <= takes <= MAX_TAKES:
            self.problems.problem(shot.sources.get("takes", ()),
                                  f"takes must be a whole number from 1 to {MAX_TAKES}, not {takes!r}",
                                  shot=shot.id, field="takes")
            ok = False
        params = shot.fields.get("params") or {}
        if not params:
            return ok
        scalar_keys = set(SCALAR_FIELDS.values())
        # Media keys are always the shot fields' business; a scalar key only when the shot sets it.
        taken = {key: name for key, name in BODY_TO_FIELD.items() if key not in scalar_keys or name in shot.fields}
        taken["model"] = "model"
        for key in params:
            if key in taken:
                self.problems.problem(self.param_path(shot, key),
                                      f"{key} is set by the shot field {taken[key]!r}; remove it from params",
                                      shot=shot.id, field=f"params.{key}", at_key=True)
                ok = False
        return ok

    def validate_body(self, info: ModelInfo, request: Request, origins: Mapping[Pointer, str],
                      shot: RenderedShot) -> None:
        for p in body_problems(info, request, origins):
            path = shot.base if p.at_shot else self.field_path(p.field, shot)
            self.problems.problem(path, p.message, shot=shot.id, field=p.field, at_key=p.at_key)

    def check_inputs(self, request: Request, shot: RenderedShot) -> None:
        """Every media reference of the request, named fields and ``params`` alike."""
        for item in request.inputs:
            if item.source == "shot":
                continue  # another shot's output: checked with the whole graph (spec.graph)
            why = check_input(item.ref, item.kind, self.spec_dir, self.root, allowed_hosts=self.allowed_hosts)
            if why:
                self.problems.problem(self.field_path(item.field, shot), why, shot=shot.id, field=item.field)

    def field_path(self, spec_field: str, shot: RenderedShot) -> Path_:
        """The YAML path of a spec field such as ``references[0].image`` or ``params.keyframes[0].uri``."""
        path: list[str | int] = [int(index) if index else name for index, name in _FIELD_PARTS.findall(spec_field)]
        if not path:
            return ()
        if path[0] == "params" and len(path) > 1:
            return (*self.param_path(shot, str(path[1])), *path[2:])
        return (*shot.sources.get(str(path[0]), ()), *path[1:])

    @staticmethod
    def param_path(shot: RenderedShot, key: str) -> Path_:
        """Where a ``params`` key was written: in the shot's params, or in ``defaults.params``."""
        return shot.param_sources.get(key) or (*shot.sources.get("params", ()), key)

    def record(self, shot: RenderedShot, request: Request, upstreams: tuple[Upstream, ...]) -> Shot:
        doc = self.problems.doc
        return Shot(
            id=shot.id,
            index=shot.index,
            variant=shot.variant,
            location=doc.where((*shot.base, "id")),
            takes=int(shot.fields.get("takes", 1)),
            tags=tuple(str(t) for t in shot.fields.get("tags") or ()),
            matrix=freeze(shot.combo),
            fields=freeze(shot.fields),
            request=request,
            upstreams=upstreams,
        )

