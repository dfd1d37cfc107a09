"""The problems and warnings of one spec document, each located by its YAML path.

Both stages of building shots (``expand``, then ``finish``) report here, so that a user
sees every problem of a file at once. Rendering a tree of templates is reported here too:
each template that fails becomes a problem at its own line and column.
"""

from __future__ import annotations

from typing import Any

from runner.errors import Problem, SpecErrors
from runner.spec.checks import KEY_MESSAGE, dotted, looks_like_key
from runner.spec.limits import SpecTimeSpent
from runner.spec.templating import is_template, render_tree
from runner.spec.yamlload import Document, Path_


class Problems:
    """Collects the problems (errors) and warnings found while building a document's shots."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def problem(
        self, path: Path_, message: str, *, shot: str | None = None, field: str | None = None, at_key: bool = False
    ) -> None:
        """An error at the value of ``path`` (or at its key, for a field that should not be there)."""
        where = self.doc.where_key(path) if at_key else self.doc.where(path)
        self.errors.append(Problem(where, message, shot=shot, field=field))

    def warn(self, path: Path_, message: str, *, shot: str | None = None, field: str | None = None) -> None:
        self.warnings.append(Problem(self.doc.where(path), message, shot=shot, field=field, severity="warning"))

    def rendered(self, value: Any, ctx: dict[str, Any], path: Path_, shot: str | None) -> tuple[Any, bool]:
        """``value`` (found at ``path``) with every template rendered, and whether all of them rendered.
        When the spec's rendering time ran out (``limits.SpecTimeSpent``) the problems so far and
        that one, at the template where it ran out, end the build (``SpecErrors``)."""
        if not isinstance(value, dict | list) and not (isinstance(value, str) and is_template(value)):
            return value, True  # nothing to render (and the raw file was checked for keys already)
        try:
            out, failures = render_tree(value, ctx)
        except SpecTimeSpent as e:
            at = (*path, *e.at)
            self.problem(at, e.message, shot=shot, field=dotted(at[2:]) if at[0] == "shots" else dotted(at))
            raise SpecErrors(self.errors) from None
        out = self.without_keys(out, (), failures)
        for inner, message in failures:
            at = (*path, *inner)
            field = dotted(at[2:]) if at[0] == "shots" else dotted(at)
            self.problem(at, message, shot=shot, field=field)
        return out, not failures

    def without_keys(self, node: Any, at: Path_, failures: list[tuple[Path_, str]]) -> Any:
        """A rendered tree with every string that looks like an API key replaced (and reported):
        a template can assemble a key from pieces the raw check never sees whole."""
        if isinstance(node, str):
            if looks_like_key(node):
                failures.append((at, f"{KEY_MESSAGE} (the template renders one)"))
                return "[redacted]"
            return node
        if isinstance(node, dict):
            return {k: self.without_keys(v, (*at, k), failures) for k, v in node.items()}
        if isinstance(node, list):
            return [self.without_keys(v, (*at, i), failures) for i, v in enumerate(node)]
        return node
