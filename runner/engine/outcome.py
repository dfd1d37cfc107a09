"""What apply reports: options, progress, per-take outcomes, the result, and the wording of failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from runner.engine.bounds import OPTION_BOUNDS as OPTION_BOUNDS  # where the CLI's options read them
from runner.errors import ApiError
from runner.inputs.paths import display_path
from runner.planner.charges import Charge, Drift, Unplanned, drift, unplanned
from runner.planner.records import Plan, ShotPlan


class Reporter(Protocol):
    """Receives progress; the CLI renders it (rich on a TTY, plain lines in CI)."""

    def update(self, shot: str, take: int, status: str, progress: float | None = None) -> None: ...

    def note(self, message: str) -> None: ...


def report_estimate(reporter: Reporter, shot: str, take: int, credits: float) -> None:
    """Tell ``reporter`` what the API estimates a running take costs, if it shows that (an
    ``estimate(shot, take, credits)`` method: the reporters of ``runner.cli.progress`` do)."""
    show = getattr(reporter, "estimate", None)
    if callable(show):
        show(shot, take, credits)


class SilentReporter:
    def update(self, shot: str, take: int, status: str, progress: float | None = None) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass
class ApplyOptions:
    parallelism: int = 16
    poll_interval: float = 5.0
    retries: int = 2
    max_credits: float | None = None
    recreate_unknown: bool = False
    grace_seconds: float = 30.0
    max_output_bytes: int = 4 * 1024**3
    task_timeout: float = 3600.0
    """Seconds one apply polls a task before leaving it in the journal as "unknown outcome"
    (default one hour: six times the SDK's own 10-minute wait for a task)."""


@dataclass
class Outcome:
    shot: str
    take: int
    status: str  # done, cached, moved, failed, unknown, not_started, kept
    reason: str = ""
    output: str | None = None
    credits: int | None = None
    creates: int = 0
    code: str | None = None


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    planned_credits: int = 0
    charged_credits: int = 0
    """The tasks' own costs, plus the table's figure for takes whose answer had none."""
    table_credits: int = 0
    """The part of ``charged_credits`` that is the table's figure (the API reported no cost)."""
    possibly_charged: int = 0
    """Estimates of creates whose answer was lost: they may have been charged."""
    creates: int = 0
    notes: list[str] = field(default_factory=list)
    charges: list[Charge] = field(default_factory=list)
    """Per finished take: planned by the table, charged by the API (``planner.charges``)."""

    @property
    def drift(self) -> list[Drift]:
        """Models whose takes were charged other than planned."""
        return drift(self.charges)

    @property
    def unplanned(self) -> list[Unplanned]:
        """Credits charged for takes of models the plan had no price for."""
        return unplanned(self.charges)

    def by_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def ok(self) -> bool:
        return all(o.status in ("done", "cached", "moved", "kept") for o in self.outcomes)

    @property
    def done(self) -> list[Outcome]:
        """Takes that have their output now: generated, restored from the cache, moved or kept."""
        return [o for o in self.outcomes if o.status in ("done", "cached", "moved", "kept")]

    @property
    def failed(self) -> list[Outcome]:
        """Takes without an output: failed, of unknown outcome, or not started."""
        return [o for o in self.outcomes if o.status not in ("done", "cached", "moved", "kept")]

    @property
    def credits_charged(self) -> int:
        return self.charged_credits


@dataclass
class ApplyRun:
    """What an apply command did: ``result`` is None when there was nothing to do or the user
    said no (``declined``)."""

    plan: Plan
    result: ApplyResult | None = None
    declined: bool = False

    @property
    def output_dir(self) -> str:
        return display_path(self.plan.spec.output_dir)


def failure_text(code: str, failure: str | None, *, has_inputs: bool = True) -> str:
    """What a failed task's code means for the user; ``has_inputs``: the shot sends media
    (an ASSET failure of a text-only shot is not about a file the user can fix)."""
    if code.startswith("SAFETY"):
        return f"{code}: refused by content moderation ({failure or 'no detail'}); change the prompt or inputs"
    if code.startswith("ASSET") and has_inputs:
        return f"{code}: an input was rejected ({failure or 'no detail'}); fix the input file"
    if code.startswith("ASSET"):
        return (f"{code}: the API reported an asset problem ({failure or 'no detail'}) on a shot with no input "
                "files; apply again to retry, and report it to Runway if it persists")
    return f"{code}: {failure or 'the task failed'}"


def issues_text(e: ApiError, sp: ShotPlan) -> str:
    if not e.issues:
        return str(e)
    where = f"{sp.location}: " if sp.location else ""
    parts = [f"{'.'.join(map(str, i.get('path', [])))}: {i.get('message')}" for i in e.issues]
    hint = ""
    if e.mentions_upload() and sp.shot is not None and any(i.source == "runway" for i in sp.shot.request.inputs):
        # A runway:// URI written in the spec: runner has no file to upload again.
        hint = ("; a runway:// URI in the spec names an upload that the API no longer has (uploads expire after "
                "24 h): point the field at the local file instead (runner uploads it), or upload it again")
    return f"{where}the API rejected the request: " + "; ".join(parts) + hint
