"""The one error model of runner: every error a user can cause, with typed fields and its exit code.

Every error caused by input, environment or the API is a ``RunnerError``; its ``exit_code``
says how the command ends. Spec problems are collected as ``Problem`` records (data, not
exceptions) so that all of them can be shown at once; ``SpecErrors`` carries the sorted list
to the CLI boundary. The CLI turns errors and results into exit codes in one place
(``runner.cli.main.exit_code``); nothing else decides them.

Exit codes (Terraform's, because our users know them): 0 success, 1 an error of input,
environment or the API (or a failed shot), 2 the plan has changes (``--detailed-exitcode``),
3 a bug in runner, 130 interrupted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


class RunnerError(Exception):
    """Base of every error caused by input, environment or the API (exit 1)."""

    exit_code: ClassVar[int] = EXIT_ERROR


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


class FileError(RunnerError):
    """A file runner reads back or writes (state, saved plan, price file, config) is unusable.

    ``path`` names the file; the message says what is wrong with it and what to do.
    """

    def __init__(self, path: Path | str, message: str, *, label: str = "") -> None:
        self.path = str(path)
        self.detail = message
        super().__init__(f"{label} {path}: {message}" if label else f"{path}: {message}")


class CatalogError(FileError):
    """A broken model file under schema/models (our bug or a bad local edit)."""


class OutsideProject(RunnerError):
    """A path runner would write, rename, delete or read back lies outside the project.

    ``what`` says where the path came from (``spec.yaml:3:13: output_dir``, ``--out``, a
    state file field); ``path`` is the path as given and ``root`` the project root.
    """

    def __init__(self, what: str, path: Path | str, root: Path | str, *, hint: str = "") -> None:
        self.what = what
        self.path = str(path)
        self.root = str(root)
        super().__init__(f"{what}: {path} is outside the project {root} (symlinks are followed); "
                         + (hint or "runner only writes inside the project: choose a path inside it"))


class StateError(FileError):
    """The state file cannot be read, is corrupt, or was written by a newer runner."""


class PicksError(FileError):
    """The picks file (``<spec>.picks.yaml``) cannot be read or is not one runner wrote."""


class PicksChanged(RunnerError):
    """The picks file changed on disk since it was read (another review, an editor, a git
    checkout): a write based on the old file is refused, never merged over the new one."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        super().__init__(f"{path} changed on disk since it was read; nothing was written. Read it again "
                         "(`runner picks`, or reload the review page) and pick again")


class StalePlanError(RunnerError):
    """A saved plan no longer matches the spec, state, inputs or prices it was made from."""

    def __init__(self, path: Path | str, changes: list[str]) -> None:
        self.path = str(path)
        self.changes = list(changes)
        super().__init__(f"{path} is stale: " + "; ".join(self.changes) + ". Run `runner plan` again.")


class UsageMismatch(RunnerError):
    """The account's usage (``POST /v1/organization/usage``) and the state files disagree on
    what was charged. ``differences``: (model, credits the states record, credits the account
    shows) per model that differs over the window."""

    def __init__(self, differences: list[tuple[str, int, int]], *, hint: str) -> None:
        self.differences = list(differences)
        parts = [f"{model}: the states record {mine}, the account shows {theirs} ({theirs - mine:+d})"
                 for model, mine, theirs in self.differences]
        super().__init__("credits charged differ from the account's usage: " + "; ".join(parts) + f". {hint}")


class ApiError(RunnerError):
    """An API call failed.

    ``status``: the HTTP status (None when no answer came); ``issues``: the API's validation
    issues; ``retryable``: a read may be tried again; ``maybe_created``: a create's outcome is
    unknown (it may have been made and billed); ``rate_limited``: a 429.
    """

    def __init__(self, message: str, *, status: int | None = None, issues: list[dict[str, Any]] | None = None,
                 retryable: bool = False, maybe_created: bool = False, rate_limited: bool = False,
                 task_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.issues = issues or []
        self.retryable = retryable
        self.maybe_created = maybe_created
        self.rate_limited = rate_limited
        self.task_id = task_id

    def mentions_upload(self) -> bool:
        """The API says an upload (runway:// URI) is unknown or expired."""
        texts = [str(i.get("message", "")) for i in self.issues] + [str(self)]
        return any("upload" in t.lower() for t in texts)


class TaskTimeout(RunnerError):
    """A task did not end within the per-task deadline (``--task-timeout``); its outcome is
    unknown: it may still finish and be charged."""

    def __init__(self, task_id: str, seconds: float) -> None:
        self.task_id = task_id
        self.seconds = seconds
        super().__init__(f"task {task_id} did not finish within {seconds:g} s (--task-timeout)")


class DownloadError(RunnerError):
    """Downloading an output failed; ``expired``: refresh the signed URL; ``refused``: never retry."""

    def __init__(self, message: str, *, expired: bool = False, refused: bool = False) -> None:
        super().__init__(message)
        self.expired = expired
        self.refused = refused


class InputRefused(RunnerError):
    """An input failed the URL policy just before sending; ``field`` names the shot field."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class AccountLimit(RunnerError):
    """The account cannot pay for this apply (its credit balance is short)."""


class Interrupted(RunnerError):
    """The user pressed Ctrl-C at a moment where runner knows what was (not) done; exit 130."""

    exit_code: ClassVar[int] = EXIT_INTERRUPTED


class ConfirmationNeeded(RunnerError):
    """Apply would spend credits and nobody confirmed it."""


class BudgetExceeded(RunnerError):
    """The plan costs more than its budget; nothing was done."""

    def __init__(self, credits: int, budget: float, *, hint: str = "") -> None:
        self.credits = credits
        self.budget = budget
        self.over_by = int(credits - budget)
        super().__init__(f"the plan costs {credits} credits, {self.over_by} over the budget of {budget:g}"
                         + (f"; {hint}" if hint else ""))


class StoreError(RunnerError):
    """The store (a local folder or a bucket) could not be read or written.

    ``url`` names the store; ``key`` the object when one is concerned. Idempotent operations
    were already retried; the message says what to check (credentials, endpoint, network).
    """

    def __init__(self, url: str, message: str, *, key: str | None = None) -> None:
        self.url = url
        self.key = key
        self.detail = message
        where = f"{url.rstrip('/')}/{key}" if key else url
        super().__init__(f"store {where}: {message}")


class LockHeld(RunnerError):
    """Another apply holds the lock; ``holder`` says who, ``lock_id`` is what `runner state unlock` takes."""

    def __init__(self, what: str, holder: str, lock_id: str) -> None:
        self.holder = holder
        self.lock_id = lock_id
        super().__init__(f"another apply of {what} is running ({holder}; lock id {lock_id}); wait for it "
                         f"(--lock-timeout), or if it died: runner state unlock {lock_id}")


class LockLost(RunnerError):
    """The lock was taken over (its lease ran out or it was force-unlocked) while we held it."""
