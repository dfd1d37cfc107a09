"""The one exception hierarchy of runner.

Every error a user can cause is a ``RunnerError`` with an exit code. Spec problems are
collected as ``Problem`` records (data, not exceptions) so that all of them can be shown
at once; ``SpecErrors`` carries the sorted list to the CLI boundary.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path


class RunnerError(Exception):
    """Base of every error caused by input, environment or the API (exit 1)."""

    exit_code = 1


@dataclass(frozen=True, order=True)
class Location:
    """A place in a spec file; line and column are 1-based, 0 when unknown."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.path
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a spec: where, which shot and field, and what to do."""

    location: Location
    message: str
    shot: str | None = None
    field: str | None = None
    severity: str = dataclasses.field(default="error", compare=False)

    def __str__(self) -> str:
        parts = [str(self.location)]
        if self.shot:
            parts.append(f"shot {self.shot}")
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


class SpecError(RunnerError):
    """A single problem that stops loading (unreadable file, YAML syntax, bomb)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class SpecErrors(RunnerError):
    """All problems found in one or more specs, sorted by location."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        n = len(self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} found")

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class CatalogError(RunnerError):
    """A broken model file under schema/models (our bug or a bad local edit)."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
