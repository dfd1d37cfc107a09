"""A fast yes/no check of a document against one of our JSON Schemas.

``jsonschema`` takes about half a millisecond per shot of a state file — five seconds for
a 10,000-shot campaign, on every plan. This compiles the same schema (the schema stays
the one source of truth) into plain Python functions, one per schema node, that only
answer "valid or not" — about fifty times faster; ``jsonschema`` runs only when the
answer is "not", to say where and why. It knows exactly the keywords our schemas use
(with jsonschema's meaning: ``1.0`` is an integer, ``true`` is not) and refuses any other
at compile time, so a schema edit cannot silently weaken it; a test checks that both
validators agree on the fuzz corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]
_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description", "x-what", "default", "examples"}
_KNOWN = {"$ref", "type", "const", "enum", "properties", "additionalProperties", "required", "propertyNames",
          "items", "maxItems", "minimum", "maximum", "minLength", "maxLength", "pattern", "anyOf"}
_TYPES = {
    "object": "isinstance(v, dict)",
    "array": "isinstance(v, list)",
    "string": "isinstance(v, str)",
    "integer": "(isinstance(v, int) and not isinstance(v, bool))",  # 1.0 is not: see catalog.models.validator
    "number": "(isinstance(v, (int, float)) and not isinstance(v, bool))",
    "boolean": "isinstance(v, bool)",
    "null": "v is None",
}
_MISSING = object()


def _equal(a: Any, b: Any) -> bool:
    """jsonschema's equality for the scalars our schemas name (``True`` is not ``1``)."""
    return isinstance(a, bool) == isinstance(b, bool) and not isinstance(a, dict | list) and a == b


class _Compiler:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = schema.get("$defs", {})
        self.names: dict[str, Any] = {"_equal": _equal, "_MISSING": _MISSING}
        self.source: list[str] = []
        self.by_def: dict[str, str] = {}

    def constant(self, value: Any) -> str:
        name = f"K{len(self.names)}"
        self.names[name] = value
        return name

    def node(self, node: dict[str, Any]) -> str:
        """Name of a function checking ``node`` (defined in ``source``)."""
        unknown = set(node) - _ANNOTATIONS - _KNOWN
        if unknown:
            raise ValueError(f"fastcheck does not know the keyword(s) {sorted(unknown)}")
        if set(node) - _ANNOTATIONS == {"$ref"}:
            return self.ref(node["$ref"])  # no wrapper around a bare reference
        name = f"f{len(self.source)}"
        self.source.append("")  # reserve the slot: nested nodes get later numbers
        lines = [f"def {name}(v):"]
        lines += self._any(node)
        lines += self._object(node) + self._array(node) + self._number(node) + self._string(node)
        lines.append("    return True")
        self.source[int(name[1:])] = "\n".join(lines)
        return name

    def ref(self, target: str) -> str:
        if not target.startswith("#/$defs/"):
            raise ValueError(f"fastcheck resolves only #/$defs/ references, not {target}")
        key = target[len("#/$defs/"):]
        if key not in self.by_def:
            self.by_def[key] = self.node(self.defs[key])
        return self.by_def[key]

    def _any(self, node: dict[str, Any]) -> list[str]:
        out = []
        if "$ref" in node:
            out.append(f"    if not {self.ref(node['$ref'])}(v): return False")
        if "type" in node:
            kinds = [node["type"]] if isinstance(node["type"], str) else node["type"]
            out.append(f"    if not ({' or '.join(_TYPES[k] for k in kinds)}): return False")
        if "const" in node:
            out.append(f"    if not _equal(v, {self.constant(node['const'])}): return False")
        if "enum" in node and all(isinstance(e, str) for e in node["enum"]):
            names = self.constant(frozenset(node["enum"]))
            out.append(f"    if not (isinstance(v, str) and v in {names}): return False")
        elif "enum" in node:
            out.append(f"    if not any(_equal(v, e) for e in {self.constant(tuple(node['enum']))}): return False")
        if "anyOf" in node:
            tests = ["v is None" if s == {"type": "null"} else f"{self.node(s)}(v)" for s in node["anyOf"]]
            out.append(f"    if not ({' or '.join(tests)}): return False")
        return out

    def _object(self, node: dict[str, Any]) -> list[str]:
        out = []
        if "required" in node:
            out.append(f"        if not {self.constant(frozenset(node['required']))} <= v.keys(): return False")
        known = self.constant(frozenset(node.get("properties", {})))
        extra = node.get("additionalProperties", True)
        if extra is False:
            out.append(f"        if not v.keys() <= {known}: return False")
        elif isinstance(extra, dict):
            sub = self.node(extra)
            out.append(f"        for k, x in v.items():\n            if k not in {known} and not {sub}(x): "
                       "return False")
        for key, schema in node.get("properties", {}).items():
            sub = self.node(schema)
            out.append(f"        x = v.get({key!r}, _MISSING)\n        if x is not _MISSING and not {sub}(x): "
                       "return False")
        if "propertyNames" in node:
            sub = self.node(node["propertyNames"])
            out.append(f"        for k in v:\n            if not {sub}(k): return False")
        return ["    if isinstance(v, dict):", *out] if out else []

    def _array(self, node: dict[str, Any]) -> list[str]:
        out = []
        if "maxItems" in node:
            out.append(f"        if len(v) > {int(node['maxItems'])}: return False")
        if "items" in node:
            sub = self.node(node["items"])
            out.append(f"        for x in v:\n            if not {sub}(x): return False")
        return ["    if isinstance(v, list):", *out] if out else []

    def _number(self, node: dict[str, Any]) -> list[str]:
        out = []
        if "minimum" in node:
            out.append(f"        if not v >= {self.constant(node['minimum'])}: return False")
        if "maximum" in node:
            out.append(f"        if not v <= {self.constant(node['maximum'])}: return False")
        return [f"    if {_TYPES['number']}:", *out] if out else []

    def _string(self, node: dict[str, Any]) -> list[str]:
        out = []
        if "minLength" in node:
            out.append(f"        if len(v) < {int(node['minLength'])}: return False")
        if "maxLength" in node:
            out.append(f"        if len(v) > {int(node['maxLength'])}: return False")
        if "pattern" in node:
            out.append(f"        if {self.constant(re.compile(node['pattern']))}.search(v) is None: return False")
        return ["    if isinstance(v, str):", *out] if out else []


def compile_schema(schema: dict[str, Any]) -> Check:
    """A function that says whether a document is valid against ``schema`` (a JSON Schema
    using only the keywords above; ``$ref`` only to ``#/$defs/…``)."""
    compiler = _Compiler(schema)
    root = compiler.node(schema)
    namespace = dict(compiler.names)
    exec("\n\n".join(compiler.source), namespace)  # noqa: S102 - code generated from our own schema files
    check: Check = namespace[root]
    return check
