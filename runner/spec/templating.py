"""Jinja2 templating of spec strings, sandboxed.

Every string in a shot may be a template. Rules:
- ``SandboxedEnvironment`` with ``StrictUndefined``: an unknown variable is an error, and
  templates cannot reach Python internals, files or the environment.
- A value that is exactly one ``{{ expression }}`` keeps the expression's type, so
  ``duration: "{{ d }}"`` with ``d: 5`` renders the integer 5, not the string "5".
- Rendered text is limited to ``MAX_OUTPUT`` characters; what a template may cost on the
  way (time, memory, recursion) is bounded by the environment in ``sandbox`` and the
  checks in ``limits``.
- ``render_tree`` renders every string of a tree of mappings and lists and returns all its
  problems, each with its path, instead of stopping at the first.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError, TemplateSyntaxError, Undefined, UndefinedError
from jinja2.exceptions import SecurityError

from runner.spec.limits import MAX_OUTPUT, MAX_SECONDS, SpecTimeSpent, TemplateProblem, TooExpensive, budget, size_of
from runner.spec.sandbox import environment, slug

TreePath = tuple[str | int, ...]

_SINGLE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}\s*$", re.DOTALL)

__all__ = ["MAX_OUTPUT", "MAX_SECONDS", "TemplateProblem", "is_template", "render", "render_tree", "slug"]


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


@lru_cache(maxsize=4096)
def _compile(source: str) -> Any:
    env = environment()
    m = _SINGLE.match(source)
    if m:
        expression = env.compile_expression(m.group("expr"), undefined_to_none=False)
        _flat_globals(expression._template)
        return ("expr", expression)
    return ("text", _flat_globals(env.from_string(source)))


def _flat_globals(template: Any) -> Any:
    """A template's globals as a plain dict rather than Jinja's ChainMap over the environment's,
    which every render walks twice to build its context (a tenth of a big plan's time). The
    sandbox's globals never change once ``sandbox.environment`` has built them."""
    template.globals = dict(template.globals)
    return template


def render(source: str, context: dict[str, Any]) -> Any:
    """Render one template string; raises TemplateProblem with a plain message.

    The time limit is a deadline the sandbox checks at every call, loop step, operator and
    filter, so it holds on any thread (no signals)."""
    if not is_template(source):
        return source
    with budget(MAX_SECONDS):
        return _render(source, context)


def render_tree(value: Any, context: dict[str, Any]) -> tuple[Any, list[tuple[TreePath, str]]]:
    """Render every string in a tree of mappings and lists; return the rendered tree and the
    problems, each at its path inside ``value`` (a failed string renders to None)."""
    failures: list[tuple[TreePath, str]] = []
    return _walk(value, (), context, failures), failures


def _walk(node: Any, at: TreePath, context: dict[str, Any], failures: list[tuple[TreePath, str]]) -> Any:
    # A module function, not a closure that calls itself: that would be a reference cycle per
    # call, garbage only the cyclic collector frees (three per shot of a big matrix).
    if isinstance(node, str):
        try:
            return render(node, context)
        except SpecTimeSpent as e:  # not one more problem among others: building the spec stops
            e.at = at
            raise
        except TemplateProblem as e:
            failures.append((at, e.message))
            return None
    if isinstance(node, dict):
        return {k: _walk(v, (*at, k), context, failures) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, (*at, i), context, failures) for i, v in enumerate(node)]
    return node


def _render(source: str, context: dict[str, Any]) -> Any:
    try:
        return _evaluate(source, context)
    except TemplateProblem:  # SpecTimeSpent included
        raise
    except RecursionError:
        raise TooExpensive("brackets, expressions or calls nested too deeply", "Python's recursion limit") from None
    except UndefinedError as e:
        raise TemplateProblem(f"template: {_undefined_message(e, context)}") from None
    except SecurityError as e:
        raise TemplateProblem(f"template: not allowed in the sandbox: {e}") from None
    except TemplateSyntaxError as e:
        raise TemplateProblem(f"template syntax error: {e.message}") from None
    except SyntaxError as e:  # Python refused the compiled template (e.g. too many nested brackets)
        raise TemplateProblem(f"template syntax error: {e.msg}") from None
    except TemplateError as e:
        raise TemplateProblem(f"template: {e}") from None
    except (TypeError, ValueError, ArithmeticError, OverflowError, AttributeError, KeyError, IndexError) as e:
        raise TemplateProblem(f"template: {type(e).__name__}: {e}") from None


def _evaluate(source: str, context: dict[str, Any]) -> Any:
    """Compile and run a template; a single expression keeps its type, text stays text."""
    kind, compiled = _compile(source)
    # The context goes in as one dict (Jinja copies it once), not as keyword arguments (twice).
    if kind == "expr":
        value = compiled(context)
        if isinstance(value, Undefined):
            str(value)  # raises UndefinedError naming the variable
    else:
        value = compiled.render(context)
    if isinstance(value, str):
        if len(value) > MAX_OUTPUT:
            raise TemplateProblem(f"template output is longer than {MAX_OUTPUT:,} characters")
    elif size_of(value, MAX_OUTPUT) > MAX_OUTPUT:
        raise TemplateProblem(f"template output is larger than {MAX_OUTPUT:,} characters or items")
    return value


def _undefined_message(e: UndefinedError, context: dict[str, Any]) -> str:
    import difflib

    msg = str(e.message or e)
    m = re.match(r"'(\w+)' is undefined", msg)
    if m:
        names = [k for k in context if k != "shot"] + ["shot"]
        close = difflib.get_close_matches(m.group(1), names, n=1)
        known = ", ".join(sorted(k for k in context if k != "shot")) or "none"
        hint = f" (did you mean {close[0]!r}?)" if close else f"; defined variables: {known}"
        return f"undefined variable {m.group(1)!r}{hint}"
    return msg
