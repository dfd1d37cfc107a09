"""Safe YAML loading that remembers where every value came from.

PyYAML's node API gives each node a ``start_mark``; we build plain Python values from
the node tree ourselves and record the position of every value under its path (a tuple
of keys and indexes). Building values by hand is also where the limits live: aliases
are followed at most ``MAX_VALUES`` times in total (a "billion laughs" file fails fast),
nesting is bounded, only the standard YAML tags are accepted, and duplicate keys are an
error instead of a silent overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runner.bounded import SPEC_BYTES, Unreadable, escaped, read_file
from runner.errors import Location, Problem, SpecError
from runner.inputs.paths import folder_root, is_inside, resolved_text

MAX_BYTES = SPEC_BYTES
MAX_VALUES = 1_000_000
MAX_DEPTH = 64
MAX_CHARS = 4 * MAX_BYTES  # characters of text after alias expansion

Path_ = tuple[str | int, ...]

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Document:
    """A loaded YAML document: its data and the position of every value in it."""

    path: str
    data: Any
    positions: dict[Path_, tuple[int, int]]
    key_positions: dict[Path_, tuple[int, int]]

    def where_key(self, path: Path_) -> Location:
        """Location of the key that holds ``path`` (falls back to the value)."""
        if tuple(path) in self.key_positions:
            line, col = self.key_positions[tuple(path)]
            return Location(self.path, line, col)
        return self.where(path)

    def where(self, path: Path_) -> Location:
        """Location of the value at ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.positions:
                line, col = self.positions[p]
                return Location(self.path, line, col)
            p = p[:-1]
        line, col = self.positions.get((), (1, 1))
        return Location(self.path, line, col)


def _tag_message(tag: str) -> str:
    shown = tag.replace("tag:yaml.org,2002:", "!!")
    return f"unsupported YAML tag {shown}: specs are plain YAML (strings, numbers, booleans, null, lists, mappings)"


class _Loader(yaml.SafeLoader):
    """PyYAML's composer recurses once per level of nesting: refuse deep nesting before
    Python's recursion limit does (``[[[[...]]]]`` in flow style is 3 bytes a level)."""

    def __init__(self, text: str, shown: str) -> None:
        super().__init__(text)
        self.shown = shown
        self.depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH + 1:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise SpecError(Problem(Location(self.shown, mark.line + 1, mark.column + 1),
                                        f"nesting is deeper than {MAX_DEPTH} levels"))
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.positions: dict[Path_, tuple[int, int]] = {}
        self.key_positions: dict[Path_, tuple[int, int]] = {}
        self.count = 0
        self.chars = 0
        self.scalars = SafeConstructor()

    def fail(self, node: Node, message: str) -> SpecError:
        mark = node.start_mark
        return SpecError(Problem(Location(self.path, mark.line + 1, mark.column + 1), message))

    def build(self, node: Node, path: Path_, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise self.fail(
                node,
                f"the document expands to more than {MAX_VALUES:,} values "
                "(anchors and aliases repeated too often?); refusing to load it",
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting is deeper than {MAX_DEPTH} levels")
        self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self.fail(node, _tag_message(node.tag))
            return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise self.fail(node, _tag_message(node.tag))
            return self.mapping(node, path, depth)
        raise self.fail(node, "unsupported YAML node")  # pragma: no cover

    def scalar(self, node: ScalarNode) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise self.fail(node, _tag_message(node.tag))
        try:
            value = self.scalars.construct_object(node)
        except (ConstructorError, ValueError) as e:
            raise self.fail(node, f"invalid value: {e}") from None
        if isinstance(value, str):
            # An alias repeats its string: what counts is the text after expansion.
            self.chars += len(value)
            if self.chars > MAX_CHARS:
                raise self.fail(node, f"the document expands to more than {MAX_CHARS:,} characters of text "
                                "(a long string repeated through aliases?); refusing to load it")
        return value

    def mapping(self, node: MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for src in sources:
                    if not isinstance(src, MappingNode):
                        raise self.fail(src, "a merge key (<<) takes a mapping or a list of mappings")
                    for k, v in self.mapping(src, path, depth + 1).items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, "mapping keys must be plain strings")
            key = self.scalar(key_node)
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            if key in out:
                raise self.fail(key_node, f"duplicate key {key!r} in this mapping")
            self.key_positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, (*path, key), depth + 1)
        for k, v in merged.items():
            out.setdefault(k, v)
        return out


def load_yaml(path: Path, *, display: str | None = None, limit: int = MAX_BYTES, what: str = "specs") -> Document:
    """Load one YAML file as a single mapping document, keeping positions.

    The file must lie inside its project (the git top level above the folder it is named in,
    else that folder) once symlinks are followed: a spec committed as a link to ``~/.aws/…``
    or ``/dev/zero`` is refused before anything is read from it, so none of its content can
    appear in an error. It must be a regular file of at most ``limit`` bytes (``what`` names
    the kind of file, in the plural), read with ``runner.bounded.read_file``.
    """
    shown = display or str(path)
    top = Location(shown)
    root = folder_root(path.absolute().parent)
    if not is_inside(path, root):  # named as given: ``display`` may show where the link leads
        raise SpecError(Problem(Location(escaped(str(path))),
                                f"leads to {escaped(resolved_text(path))}, outside the project {root} (symlinks are "
                                "followed); runner reads only files inside the project: copy the file in instead of "
                                "linking to it"))
    try:
        raw = read_file(path, limit, what=what)
    except FileNotFoundError:
        raise SpecError(Problem(top, "no such file")) from None
    except Unreadable as e:
        raise SpecError(Problem(top, e.reason)) from None
    except OSError as e:
        raise SpecError(Problem(top, f"cannot read: {e.strerror or e}")) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SpecError(Problem(top, f"not UTF-8 text (byte {e.start})")) from None
    return parse_yaml(text, shown)


def parse_yaml(text: str, shown: str) -> Document:
    """Parse YAML text (see ``load_yaml``)."""
    try:
        loader = _Loader(text, shown)
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        col = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        raise SpecError(
            Problem(Location(shown, line, col), f"character {e.character!r} is not allowed in YAML text")
        ) from None
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = e.problem or "invalid YAML"
        if "expected a single document" in str(e):
            problem = "the file holds more than one YAML document (---); put one spec per file"
        raise SpecError(Problem(Location(shown, line, col), f"YAML syntax: {problem}")) from None
    except yaml.YAMLError as e:
        raise SpecError(Problem(Location(shown), f"YAML: {e}")) from None
    except RecursionError:  # a nesting the composer check did not see (never seen; kept as a guard)
        raise SpecError(Problem(Location(shown), f"nesting is deeper than {MAX_DEPTH} levels")) from None
    finally:
        loader.dispose()
    if node is None:
        raise SpecError(Problem(Location(shown, 1, 1),
                                "the file is empty; a spec is a mapping with version, name and shots"))
    if not isinstance(node, MappingNode):
        kind = "a list" if isinstance(node, SequenceNode) else "a single value"
        mark = node.start_mark
        raise SpecError(
            Problem(
                Location(shown, mark.line + 1, mark.column + 1),
                f"the document is {kind}; a spec is a mapping with version, name and shots",
            )
        )
    builder = _Builder(shown)
    data = builder.build(node, (), 0)
    return Document(shown, data, builder.positions, builder.key_positions)
