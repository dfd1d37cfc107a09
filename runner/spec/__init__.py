"""Spec files -> frozen records: YAML with positions, templating, matrices, checks, compiled requests.

What the layers above use: ``load_spec`` / ``validate_specs`` (a ``Spec`` of ``Shot`` records,
each with its compiled ``Request`` and its media ``Input``s, or ``SpecErrors``), ``thaw`` for
a mutable copy of a read-only body, ``BODY_TO_FIELD`` to name a body key by its spec field,
and ``did_you_mean`` for hints in the same words as spec errors.

Modules, in the order a file goes through them: ``yamlload`` (safe YAML with positions),
``checks`` (secrets, ``spec.schema.json``), ``expand`` (matrix, templates, ids), ``finish``
(model, mode, defaults, ``compile``, ``bodycheck``, inputs), ``build`` (the whole file);
``records`` are the frozen results, ``problems`` collects what is wrong on the way.
Templates render in ``sandbox`` (the bounded Jinja2 environment) under ``limits``.
"""

from runner.spec.build import load_spec, validate_specs
from runner.spec.compile import BODY_TO_FIELD
from runner.spec.records import Input, Request, Shot, Spec, thaw
from runner.spec.schema_errors import did_you_mean

__all__ = ["BODY_TO_FIELD", "Input", "Request", "Shot", "Spec", "did_you_mean", "load_spec", "thaw", "validate_specs"]
