"""Spec files -> frozen records: YAML with positions, templating, matrices, checks, compiled requests."""

from runner.spec.build import load_spec, validate_specs
from runner.spec.records import Input, Request, Shot, Spec, thaw

__all__ = ["Input", "Request", "Shot", "Spec", "load_spec", "thaw", "validate_specs"]
