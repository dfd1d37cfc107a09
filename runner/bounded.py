"""Reading what runner cannot trust, within bounds: files, store objects and API answers.

Specs and price files arrive in pull requests; state files, journals, saved plans, picks and
lock files are committed or shared and can be edited; store objects are written by anybody
with the store's credentials; API answers come from the network. Each is read here, in one
way, before anything else looks at it:

- ``read_file``: regular files only (a spec linked to ``/dev/zero``, a FIFO or a socket is
  refused at once, never read or waited on), and at most the file's size cap, whatever
  ``stat`` says (``/proc`` files and growing files report sizes that are not what a read
  returns), so no file can make runner read without end.
- ``parse_json``: JSON with finite numbers only and nesting of at most ``MAX_JSON_DEPTH``
  levels, so that neither the parser nor the code that walks the document afterwards
  (schema validation, the SDK's models) can run out of stack.
- ``escaped``: control characters (newlines too) of an untrusted value escaped before it
  goes into a message, so that a value cannot forge lines in a CI log.

The caps are here, in one place, with room for big campaigns: a state of 10,000 shots of
3 takes each is about 22 MB, its saved plan about 12 MB. A file or object over its cap is an
error that names it and the cap; nothing in it is used.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIB = 1024 * 1024

SPEC_BYTES = 5 * MIB
"""A spec (``runner validate``/``plan``/``apply`` read it whole and keep every value's position)."""
PRICE_FILE_BYTES = 5 * MIB
STATE_BYTES = 128 * MIB
"""A state file, and a store's snapshot or journal step (one step may hold every shot)."""
JOURNAL_BYTES = 256 * MIB
"""A local journal (``<spec>.state.journal``): about one state's worth of steps before it is folded."""
PLAN_BYTES = 128 * MIB
PICKS_BYTES = 16 * MIB
"""``<stem>.picks.yaml``: a pick, rejects and a note per shot."""
EXPORT_MANIFEST_BYTES = 64 * MIB
"""An earlier export's ``manifest.json`` (about 1 KB a file: 10,000 shots of several takes)."""
LOCK_BYTES = 64 * 1024
"""Lock and owner files and a store's lock object (a holder's name, host, pid and times)."""
ENTRY_BYTES = 64 * 1024
"""Small store entries: a shared upload's URI, a probe's length."""

MAX_JSON_DEPTH = 100
MAX_TAKES = 20
"""Takes of one shot: the spec's ``takes`` and every take number (pick, from) stay within it."""
"""Nesting of any JSON document or answer: a state nests a request (itself at most as deep as
a spec's 64 levels) 3 levels down; API answers nest 4 or 5 levels."""


MAX_EXACT = 2**53 - 1
"""The largest whole number that floats, JavaScript and most JSON readers hold exactly: the
bound of every number runner computes with or sends (a 400-digit budget cannot become a float)."""


def number_problem(value: object) -> str | None:
    """Why a number from a spec, an option or a file cannot be computed with (NaN or infinite,
    every comparison with NaN is false; beyond ``MAX_EXACT``, arithmetic overflows or loses
    digits), in words ending a sentence about the value; None when it can (or is no number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number"
    if abs(value) > MAX_EXACT:
        return f"is too large a number (the limit is {MAX_EXACT:,}, 2^53 - 1)"
    return None


@dataclass(frozen=True)
class Bound:
    """The numbers an option or field takes: finite, from ``low`` to ``high`` (above ``low`` when
    ``low_open``), whole when ``whole`` (then ``4.0`` is refused too: a whole number is written as
    one, everywhere in runner). ``unit`` words the range ("seconds")."""

    low: float
    high: float
    whole: bool = False
    low_open: bool = False
    unit: str = ""

    def describe(self) -> str:
        """"a whole number from 1 to 1,000", "seconds above 0, at most 3,600"."""
        kind = "a whole number" if self.whole else self.unit or "a number"
        if self.whole and self.unit:
            kind += f" of {self.unit}"
        low, high = _figure(self.low), _figure(self.high)
        return f"{kind} above {low}, at most {high}" if self.low_open else f"{kind} from {low} to {high}"

    def problem(self, value: object, *, shown: str | None = None) -> str | None:
        """Why ``value`` is not one of these numbers (a sentence about it, which names it as
        ``shown`` when given: the text a user typed), or None."""
        named = short(value) if shown is None else escaped(shown if len(shown) <= 40 else shown[:39] + "…")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{named} is not a number; give {self.describe()}"
        why = number_problem(value)
        if why is None and self.whole and not isinstance(value, int):
            why = "is not a whole number"
        if why is None:
            why = ("is negative" if value < 0 <= self.low else f"is below {_figure(self.low)}" if value < self.low
                   else f"is not above {_figure(self.low)}" if self.low_open and value == self.low
                   else f"is above {_figure(self.high)}" if value > self.high else None)
        return None if why is None else f"{named} {why}; give {self.describe()}"


def _figure(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def short(value: object, limit: int = 40) -> str:
    """A number (or anything) shown in a message, cut short: a 400-digit integer is not echoed whole."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        # never str() it: beyond 4,300 digits Python refuses, and nobody reads 400 digits
        digits = int((value.bit_length() - 1) * math.log10(2))  # 10^digits <= |value|
        digits += abs(value) >= 10 ** (digits + 1)
        return f"a number of {digits + 1:,} digits"
    text = escaped(repr(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Unreadable(Exception):
    """A file runner refuses to read (not a regular file, or over its cap). ``reason`` is meant
    for users and says what to do; callers add where the file came from."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotRegular(Unreadable):
    """A directory, FIFO, socket or device where a file was expected."""


class TooLarge(Unreadable):
    """A file or object over its size cap."""


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))

# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer (for ever). It changes
# nothing for regular files, the only kind that is then read.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def kind_of(mode: int) -> str:
    """What a file of ``mode`` is, in words ("a FIFO (named pipe)"); "a special file" when unknown."""
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def too_large(size: int | None, limit: int, what: str) -> TooLarge:
    """The error of a file or object of ``size`` bytes (None: more than ``limit``) over its cap."""
    found = f"is {size:,} bytes" if size is not None else f"holds more than {limit:,} bytes"
    return TooLarge(f"{found}; {what} are limited to {limit:,} bytes")


def read_file(path: Path | str, limit: int, *, what: str) -> bytes:
    """The bytes of the regular file at ``path`` (symlinks followed), at most ``limit`` of them.

    ``what`` names the kind of file in the plural, for the message ("specs", "state files").
    Raises ``NotRegular`` or ``TooLarge`` (both ``Unreadable``), or the ``OSError`` of the
    open (``FileNotFoundError`` for a missing file), so callers keep their own handling of those.
    """
    fd = os.open(path, _READ_FLAGS)
    try:
        info = os.fstat(fd)  # of what was opened: a link swapped after a check does not matter
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(f"is {kind_of(info.st_mode)}, not a regular file; {what} must be regular files")
        if info.st_size > limit:
            raise too_large(info.st_size, limit, what)
        chunks: list[bytes] = []
        left = limit + 1  # one byte more than allowed tells "too large" from "exactly the cap"
        while left > 0:
            chunk = os.read(fd, min(left, MIB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    if left <= 0:
        raise too_large(None, limit, what)
    return b"".join(chunks)


def read_text(path: Path | str, limit: int, *, what: str) -> str:
    """``read_file`` decoded as UTF-8 (a byte order mark is dropped); UnicodeDecodeError when it is not."""
    return read_file(path, limit, what=what).decode("utf-8-sig")


def parse_json(data: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON; ValueError (with a short reason) for text that is not JSON runner accepts.

    Numbers that JSON allows but no document of ours holds (``NaN``, ``Infinity``, ``1e999``)
    are refused, and so is nesting deeper than ``max_depth`` levels: checked after the parse
    (which itself stops at Python's recursion limit), before any code walks the document.
    """

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not a number runner writes")

    def finite(literal: str) -> float:
        value = float(literal)
        if math.isinf(value):
            raise ValueError(f"{literal[:20]} is too large a number")
        return value

    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"not UTF-8 text (byte {e.start})") from None
    try:
        doc = json.loads(data, parse_constant=no_constants, parse_float=finite)
    except RecursionError:
        raise ValueError(f"nested too deeply (more than {max_depth} levels)") from None
    if not _depth_within(doc, max_depth):
        raise ValueError(f"nested too deeply (more than {max_depth} levels)")
    return doc


def _depth_within(doc: Any, limit: int) -> bool:
    """Whether ``doc`` nests at most ``limit`` levels of lists and objects: level by level, no
    recursion (a 12 MB plan of 10,000 shots takes a fifth of a second)."""
    level, depth = [doc], 1
    while level:
        if depth > limit:
            return False
        below: list[Any] = []
        for value in level:
            children = value.values() if type(value) is dict else value if type(value) is list else ()
            below += [c for c in children if type(c) is dict or type(c) is list]
        level, depth = below, depth + 1
    return True


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators (which some logs
# and terminals also break lines at); everything else is shown as it is.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escaped(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``,
    ``\\u2028``), so that it stays on one line and cannot drive a terminal."""
    return _CONTROL.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
