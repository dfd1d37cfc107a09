"""What one template may cost, and the checks that keep it there.

A template runs inside ``runner`` (maybe on a service's worker thread), so a single
operation must never be able to take minutes or gigabytes: Python cannot interrupt one
C-level ``10 ** 200000000`` or ``'x' * 5000000000``, and signals only reach the main
thread. So the sandbox checks the *size* of what an operation would build before it runs
(``check_binop``, ``check_method``, the filter checks), the size of every value it built
after (``checked``), and a per-thread deadline at every call, loop step, operator and
filter (``tick``).

Sizes are in units: one per character of text, one per item of a list, tuple or mapping,
one per 64 bits of an integer. Every reference counts: a list holding one long string a
thousand times costs what printing it would cost.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

MAX_OUTPUT = 100_000  # characters of one rendered string
MAX_SIZE = 1_000_000  # units of any value built while rendering
MAX_INT_DIGITS = 10_000
MAX_INT_BITS = math.ceil(MAX_INT_DIGITS / math.log10(2))
MAX_SECONDS = 2.0
SPEC_SECONDS = 30.0  # every render of one spec together, matrix variants included
MAX_CALL_DEPTH = 50  # nested macro / loop(...) calls


class TemplateProblem(Exception):
    """A template failed to compile or render; ``message`` is meant for users."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TooExpensive(TemplateProblem):
    """A template would exceed one of the limits above (checked before the work is done)."""

    def __init__(self, what: str, limit: str) -> None:
        super().__init__(f"template too expensive: {what} (limit {limit})")


class SpecTimeSpent(TooExpensive):
    """The templates of one spec used up ``SPEC_SECONDS`` together: every one of them stays under
    the per-template limit, but a matrix multiplies them (10,000 variants of 1.9 s would render
    for five hours). ``at`` is the path, inside the value being rendered, of the template that
    was running (``templating.render_tree`` fills it in); building the spec stops there."""

    def __init__(self) -> None:
        super().__init__(f"the spec's templates have rendered for {SPEC_SECONDS:g} s in all, matrix variants "
                         "included; simplify them or split the spec", f"{SPEC_SECONDS:g} s of rendering per spec")
        self.at: tuple[str | int, ...] = ()


_local = threading.local()


@contextlib.contextmanager
def spec_budget(seconds: float | None = None) -> Iterator[None]:
    """Give every template rendered on this thread in the block ``seconds`` in all (default
    ``SPEC_SECONDS``): building one spec. Each template still has its own ``MAX_SECONDS``."""
    saved = getattr(_local, "spec_left", None)
    _local.spec_left = SPEC_SECONDS if seconds is None else seconds
    try:
        yield
    finally:
        _local.spec_left = saved


class budget:  # lower case: it reads as the function it was (with budget(2.0): ...)
    """Give the current thread ``seconds`` to render one template (works on any thread), or what
    is left of its spec's ``spec_budget`` when that is less. A class, not a generator-based
    context manager: it is entered for every template of every shot of a big matrix."""

    def __init__(self, seconds: float = MAX_SECONDS) -> None:
        self.seconds = seconds
        self.left: float | None = None
        self.start = 0.0
        self.saved: tuple[Any, Any, Any, Any] = (None, 0, None, False)

    def __enter__(self) -> None:
        left: float | None = getattr(_local, "spec_left", None)
        if left is not None and left <= 0:
            raise SpecTimeSpent()
        allowed = self.seconds if left is None else min(self.seconds, left)
        self.left = left
        self.saved = (getattr(_local, "deadline", None), getattr(_local, "depth", 0), getattr(_local, "sizes", None),
                      getattr(_local, "spec_bound", False))
        self.start = time.monotonic()
        _local.deadline, _local.depth, _local.sizes = self.start + allowed, 0, {}
        _local.spec_bound = allowed < self.seconds  # which limit the deadline is: the spec's or the template's

    def __exit__(self, *exc: object) -> None:
        _local.deadline, _local.depth, _local.sizes, _local.spec_bound = self.saved
        if self.left is not None:
            _local.spec_left = self.left - (time.monotonic() - self.start)


def tick() -> None:
    """Raise TooExpensive once the current render has used up its time (``SpecTimeSpent`` when
    it is the spec's time that ran out)."""
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        if getattr(_local, "spec_bound", False):
            raise SpecTimeSpent()
        raise TooExpensive(f"still rendering after {MAX_SECONDS:g} s", f"{MAX_SECONDS:g} s per template")


@contextlib.contextmanager
def deeper() -> Iterator[None]:
    """One more nested call; a macro that calls itself stops with a clear message."""
    depth = getattr(_local, "depth", 0) + 1
    if depth > MAX_CALL_DEPTH:
        raise TooExpensive("calls nested too deeply (a macro or loop(...) calling itself?)",
                           f"{MAX_CALL_DEPTH} nested calls")
    _local.depth = depth
    try:
        yield
    finally:
        _local.depth = depth - 1


def size_of(value: Any, limit: int = MAX_SIZE) -> int:
    """Units ``value`` takes, counting every reference; stops counting once past ``limit``.

    Large containers are weighed once per render: nothing can change them while it runs
    (the sandbox forbids mutation), and the cache holds them so their ids stay theirs."""
    cache: dict[int, tuple[Any, int, int]] | None = getattr(_local, "sizes", None)
    if cache is None or not isinstance(value, list | tuple | dict) or len(value) < 1000:
        return _weigh(value, limit)
    hit = cache.get(id(value))
    if hit is not None and (hit[1] <= hit[2] or hit[1] > limit):  # exact, or known to be too big
        return hit[1]
    units = _weigh(value, limit)
    cache[id(value)] = (value, units, limit)
    return units


def _weigh(value: Any, limit: int) -> int:
    total = 0
    stack = [value]
    while stack and total <= limit:
        v = stack.pop()
        if v is not value and isinstance(v, list | tuple | dict) and len(v) >= 1000:
            total += size_of(v, limit - total)  # a big shared part: weighed once per render
        elif isinstance(v, str | bytes):
            total += max(len(v), 1)
        elif isinstance(v, bool | float) or v is None:
            total += 1
        elif isinstance(v, int):
            total += 1 + v.bit_length() // 64
        elif isinstance(v, dict):
            total += 1
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list | tuple | set | frozenset):
            total += 1
            stack.extend(v)
        else:  # opaque objects (macros, ranges, undefined): their text is short
            total += 1
    return total


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 64 else f"<{value.bit_length()}-bit int>"
    return text if len(text) <= 30 else text[:27] + "..."


def refuse_over(units: int, what: str, limit: int = MAX_SIZE) -> None:
    if units > limit:
        raise TooExpensive(f"{what} would be {units:,} units (characters or items)", f"{limit:,}")


def checked(value: Any, what: str) -> Any:
    """``value`` when it is within the limits (the work is done; this stops the next step)."""
    kind = type(value)
    if kind is str:
        refuse_over(len(value), what)
    elif kind is int:
        if value.bit_length() > MAX_INT_BITS:
            raise TooExpensive(f"{what} has more than {MAX_INT_DIGITS:,} digits", f"{MAX_INT_DIGITS:,} digits")
    elif kind not in (float, bool, type(None)):
        refuse_over(size_of(value), what)
    return value


def _int(v: Any) -> bool:
    return isinstance(v, int)  # bools too: True * 'x' is 'x'


def check_binop(op: str, left: Any, right: Any) -> None:
    """Refuse ``left op right`` before computing it when the result would be too large."""
    tick()
    if op == "**" and _int(left) and _int(right) and right > 0 and abs(left) > 1:
        digits = int(abs(left).bit_length() * right * math.log10(2))
        if digits > MAX_INT_DIGITS:
            raise TooExpensive(f"{_short(left)} ** {_short(right)} would have about {digits:,} digits",
                               f"{MAX_INT_DIGITS:,} digits")
    elif op == "*":
        _check_product(left, right)
    elif op == "+" and isinstance(left, str | bytes | list | tuple) and isinstance(right, str | bytes | list | tuple):
        refuse_over(size_of(left) + size_of(right), f"{_short(left)} + {_short(right)}")
    elif op == "%" and isinstance(left, str):
        check_percent_format(left, right)


def _check_product(left: Any, right: Any) -> None:
    if _int(left) and _int(right):
        digits = int((abs(left).bit_length() + abs(right).bit_length()) * math.log10(2))
        if digits > MAX_INT_DIGITS:
            raise TooExpensive(f"{_short(left)} * {_short(right)} would have about {digits:,} digits",
                               f"{MAX_INT_DIGITS:,} digits")
        return
    seq, times = (left, right) if _int(right) else (right, left)
    if isinstance(seq, str | bytes | list | tuple) and _int(times) and times > 0:
        refuse_over(size_of(seq) * times, f"{_short(seq)} * {times}")


# One %-conversion: optional (key), flags, width, precision, length modifier, type.
_PERCENT = re.compile(r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d*))?[hlL]?(?P<type>.?)")


def check_percent_format(fmt: str, args: Any) -> None:
    """Refuse ``fmt % args`` (the ``%`` operator and the ``format`` filter) when it would be huge:
    widths, precisions and each converted value add up before Python builds the string."""
    values = list(args.values()) if isinstance(args, dict) else list(args) if isinstance(args, tuple) else [args]
    biggest = max((size_of(v) for v in values), default=0)
    total = len(fmt)
    for m in _PERCENT.finditer(fmt):
        if m.group("type") == "%":
            continue
        if "*" in (m.group("width") or "") + (m.group("prec") or ""):
            raise TooExpensive("a '*' width or precision in a % format cannot be checked; write the number",
                               f"{MAX_SIZE:,} characters")
        total += int(m.group("width") or 0) + int(m.group("prec") or 0) + biggest
        refuse_over(total, f"the % format {_short(fmt)}")


def _number(spec: str) -> int:
    return max((int(n) for n in re.findall(r"\d+", spec)), default=0)


def check_format_spec(spec: str) -> None:
    """A ``str.format`` field's width and precision (``{:>999999999}``) before it is padded."""
    refuse_over(_number(spec), f"the format field {{:{_short(spec)[1:-1]}}}")


def bounded_items(items: Iterable[Any]) -> Iterator[Any]:
    """Iterate with a deadline check per item (loops, generators handed to filters)."""
    for count, item in enumerate(items):
        tick()
        if count >= MAX_SIZE:
            raise TooExpensive(f"a loop or sequence of more than {MAX_SIZE:,} items", f"{MAX_SIZE:,} items")
        yield item


def bounded_concat(pieces: Iterable[Any]) -> str:
    """``"".join`` that stops once the text grows past ``MAX_SIZE`` (template and macro output)."""
    out: list[str] = []
    total = 0
    for piece in pieces:
        tick()
        text = piece if type(piece) is str else str(piece)
        total += len(text)
        if total > MAX_SIZE:
            refuse_over(total, "the rendered text")
        out.append(text)
    return "".join(out)


def join_pieces(parts: list[Any]) -> str:
    """The ``~`` operator: each part is weighed before it is turned into text."""
    tick()
    refuse_over(sum(size_of(p) for p in parts), "the ~ concatenation")
    return "".join(str(p) for p in parts)
