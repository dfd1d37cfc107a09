"""The Jinja2 environment templates run in: sandboxed, immutable and bounded.

On top of Jinja2's ``ImmutableSandboxedEnvironment`` (no private attributes, no mutation
of lists and mappings, so a value's size is fixed once it is built), every place where a
template can spend time or memory goes through ``runner.spec.limits``:

- operators ``** * % + - / //`` (``call_binop``): sizes checked before computing;
- calls of methods, macros, ``range`` and ``loop(...)`` (``call``): the deadline, the call
  depth, the growth of ``str.center/ljust/rjust/zfill/expandtabs/replace/join/translate``,
  and ``str.format`` field widths;
- every filter: its inputs weighed, filters that grow text checked from their arguments;
- what Jinja compiles without a hook — list, tuple and dict literals, ``~``, ``for`` loops —
  is rewritten before code generation to pass through small filters of ours;
- output values (``finalize``) and joined output (``concat``).
"""

from __future__ import annotations

import functools
import inspect
import re
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.visitor import NodeTransformer
from markupsafe import EscapeFormatter, Markup

from runner.spec import limits
from runner.spec.limits import MAX_SIZE, TooExpensive, bounded_items, checked, refuse_over, size_of, tick


def slug(value: Any) -> str:
    """Lower-case ASCII words joined by '-', safe in ids and file names."""
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


_LOOP, _VALUE, _CONCAT = "_runner_loop", "_runner_value", "_runner_concat"


class _Bound(NodeTransformer):
    """Route what Jinja compiles to plain Python (literals, ``~``, loops) through our filters."""

    def _wrap(self, node: Any, name: str) -> nodes.Filter:
        return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = self._wrap(node.iter, _LOOP)
        return node

    def visit_List(self, node: nodes.List) -> nodes.Filter:
        self.generic_visit(node)
        return self._wrap(node, _VALUE)

    def visit_Dict(self, node: nodes.Dict) -> nodes.Filter:
        self.generic_visit(node)
        return self._wrap(node, _VALUE)

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        self.generic_visit(node)
        return self._wrap(node, _VALUE) if node.ctx == "load" else node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Filter:
        self.generic_visit(node)
        return self._wrap(nodes.List(node.nodes, lineno=node.lineno), _CONCAT)


class _CodeGenerator(CodeGenerator):
    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        _Bound().visit(node)
        node.set_environment(self.environment)
        super().visit_Template(node, frame)


class _Formatter(SandboxedFormatter):
    """``str.format``: each field's width is checked before padding, and the total as it grows."""

    def __init__(self, env: Any, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)
        self.total = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        tick()
        limits.check_format_spec(format_spec)
        refuse_over(size_of(value), "a value given to format()")
        text = super().format_field(value, format_spec)
        self.total += len(text)
        refuse_over(self.total, "the formatted text")
        return text


class _EscapeFormatter(_Formatter, EscapeFormatter):
    pass


_GROWING_STR_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join", "translate"}


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with limits on time, recursion and the size of every value (see module doc)."""

    intercepted_binops = frozenset({"**", "*", "%", "+", "-", "/", "//"})
    code_generator_class = _CodeGenerator

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        limits.check_binop(operator, left, right)
        return checked(self.binop_table[operator](left, right), f"the result of {operator}")

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        tick()
        if isinstance(getattr(obj, "__self__", None), str | bytes) and getattr(obj, "__name__", "") in \
                _GROWING_STR_METHODS:
            args = _check_str_method(obj.__self__, obj.__name__, args, kwargs)
        with limits.deeper():
            result = super().call(context, obj, *args, **kwargs)
        return checked(result, f"the result of {getattr(obj, '__name__', 'a call')}()")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if super().wrap_str_format(value) is None:
            return None
        owner: str = value.__self__
        is_map = value.__name__ == "format_map"

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one mapping")
                kwargs = args[0]
                args = ()
            formatter = (_EscapeFormatter(self, escape=owner.escape) if isinstance(owner, Markup)
                         else _Formatter(self))
            return type(owner)(formatter.vformat(owner, args, kwargs))

        return bounded_format


def _check_str_method(owner: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Refuse a text method whose result would be too large; ``join``'s items are materialized
    (bounded) so they can be weighed."""
    n = len(owner)
    first = args[0] if args else None
    if name == "join":
        items = list(bounded_items(first)) if first is not None else []
        refuse_over(size_of(items) + n * len(items), f"join() of {len(items):,} items")
        return (items, *args[1:])
    if name in ("center", "ljust", "rjust", "zfill") and isinstance(first, int):
        refuse_over(max(n, first), f"{name}({first})")
    elif name == "expandtabs":
        tab = kwargs.get("tabsize", first if first is not None else 8)
        if isinstance(tab, int):
            refuse_over(n + owner.count("\t" if isinstance(owner, str) else b"\t") * tab, f"expandtabs({tab})")
    elif name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        refuse_over(replaced_size(owner, args[0], args[1], count), "replace()")
    elif name == "translate" and isinstance(first, dict):
        longest = max((len(v) for v in first.values() if isinstance(v, str | bytes)), default=1)
        refuse_over(n * max(longest, 1), "translate()")
    return args


def replaced_size(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    """Length of ``text.replace(old, new, count)``, computed without building it."""
    if not isinstance(text, str | bytes) or not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
        return size_of(text)
    if isinstance(text, str) != isinstance(old, str):
        return len(text)  # str.replace will refuse the mix
    haystack: Any = text
    found = haystack.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


# Filters whose result can be far larger than their inputs: checked from their arguments.
def _pre_center(a: dict[str, Any]) -> None:
    width = a.get("width", 80)
    if isinstance(width, int):
        refuse_over(max(size_of(a["value"]), width), f"center({width})")


def _pre_indent(a: dict[str, Any]) -> None:
    width = a.get("width", 4)
    pad = width if isinstance(width, int) else len(str(width))
    lines = str(a["s"]).count("\n") + 1
    refuse_over(size_of(a["s"]) + lines * max(pad, 0), f"indent() of {lines:,} lines")


def _pre_wordwrap(a: dict[str, Any]) -> None:
    text, width = str(a["s"]), a.get("width", 79)
    breaks = len(text) // max(width, 1) + 1 if isinstance(width, int) else len(text) + 1
    refuse_over(len(text) + breaks * len(str(a.get("wrapstring") or "\n")), "wordwrap()")


def _pre_replace(a: dict[str, Any]) -> None:
    count = a.get("count")
    refuse_over(replaced_size(str(a["s"]), str(a["old"]), str(a["new"]), -1 if count is None else count), "replace()")


def _pre_join(a: dict[str, Any]) -> None:
    value, sep = a["value"], str(a.get("d", ""))
    items = len(value) if hasattr(value, "__len__") else 0
    refuse_over(size_of(value) + len(sep) * items, f"join() of {items:,} items")


def _pre_format(a: dict[str, Any]) -> None:
    limits.check_percent_format(str(a["value"]), a.get("kwargs") or tuple(a.get("args", ())))


def _pre_count(param: str) -> Callable[[dict[str, Any]], None]:
    def check(a: dict[str, Any]) -> None:
        n = a.get(param)
        if isinstance(n, int):
            refuse_over(n, f"{param}={n:,}")

    return check


def _pre_sum(a: dict[str, Any]) -> None:
    items = a["iterable"]
    if isinstance(a.get("start"), list | tuple | str) or any(isinstance(i, list | tuple | str) for i in items):
        # summing sequences copies the growing result once per item
        refuse_over(len(items) * size_of(items), f"sum() of {len(items):,} sequences", MAX_SIZE * 10)


def _pre_tojson(a: dict[str, Any]) -> None:
    indent = a.get("indent")
    width = indent if isinstance(indent, int) else len(indent) if isinstance(indent, str) else 0
    if width > 0:  # every line is indented once per level it is nested at
        refuse_over(size_of(a["value"]) * (1 + width * _depth(a["value"])), f"tojson(indent={width})")


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list | tuple):
            deepest = max(deepest, d)
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return deepest


_PRECHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "center": _pre_center, "indent": _pre_indent, "wordwrap": _pre_wordwrap, "replace": _pre_replace,
    "join": _pre_join, "format": _pre_format, "batch": _pre_count("linecount"), "slice": _pre_count("slices"),
    "sum": _pre_sum, "tojson": _pre_tojson,
}


_PLAIN = (int, float, bool, type(None))


def _admitted(value: Any, name: str) -> Any:
    """A filter argument, weighed; generators become lists (bounded, with the deadline) so they
    can be. Text and numbers take the fast path: filters run once per item of a ``map``."""
    kind = type(value)
    if kind is str:
        if len(value) > MAX_SIZE:
            refuse_over(len(value), f"the input of the {name} filter")
        return value
    if kind in _PLAIN:
        return value
    if isinstance(value, Iterator) and not isinstance(value, LoopContext):
        value = list(bounded_items(value))
    refuse_over(size_of(value), f"the input of the {name} filter")
    return value


def _bounded_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    pre = _PRECHECKS.get(name)
    signature = inspect.signature(fn) if pre else None
    # Jinja's sync/async filter wrappers take an eval context the sync function does not.
    sync = getattr(fn, "__wrapped__", None)
    skip = 1 if getattr(fn, "jinja_async_variant", False) and not hasattr(sync, "jinja_pass_arg") else 0

    @functools.wraps(fn)  # keeps jinja's pass_context / pass_eval_context marks
    def run(*args: Any, **kwargs: Any) -> Any:
        tick()
        args = tuple([_admitted(a, name) for a in args])
        if kwargs:
            kwargs = {k: _admitted(v, name) for k, v in kwargs.items()}
        if pre and signature:
            pre(signature.bind(*args[skip:], **kwargs).arguments)
        result = fn(*args, **kwargs)
        if type(result) is str and len(result) <= MAX_SIZE:
            return result
        return checked(result, f"the result of the {name} filter")

    return run


def _loop(items: Any) -> Iterator[Any]:
    return bounded_items(items)


def _value(value: Any) -> Any:
    tick()
    return checked(value, "a list or mapping literal")


@lru_cache(maxsize=1)
def environment() -> BoundedEnvironment:
    """The one shared environment (its state is per thread: see ``limits.budget``)."""
    env = BoundedEnvironment(autoescape=False, keep_trailing_newline=False,
                             finalize=lambda v: checked(v, "an output value"), undefined=StrictUndefined)
    env.concat = limits.bounded_concat  # type: ignore[method-assign]
    env.filters["slug"] = slug
    env.filters = {name: _bounded_filter(name, fn) for name, fn in env.filters.items()}
    env.filters.update({_LOOP: _loop, _VALUE: _value, _CONCAT: limits.join_pieces})
    # Keep only the sandbox's bounded range(); lipsum, cycler, joiner and namespace
    # are of no use in a spec.
    safe_range = env.globals["range"]
    env.globals.clear()
    env.globals["range"] = safe_range
    return env


__all__ = ["BoundedEnvironment", "TooExpensive", "environment", "slug"]
