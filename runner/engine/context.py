"""What the steps of one apply share: the plan, the API client, options, progress, the
journal, the running result and the spend tally, and whether new creates must stop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runner.engine.client import Client
from runner.engine.journal import Journal
from runner.engine.outcome import ApplyOptions, ApplyResult, Reporter
from runner.errors import LockLost
from runner.planner import Plan
from runner.planner.budget import Spend


@dataclass
class ApplyContext:
    plan: Plan
    client: Client
    options: ApplyOptions
    reporter: Reporter
    journal: Journal
    result: ApplyResult
    spend: Spend = field(default_factory=Spend)
    stop_reason: str | None = None
    """Set when no new create may start (Ctrl-C, a 429); tasks in flight are still finished."""
    upstream_files: dict[tuple[str, int], Path] = field(default_factory=dict)
    """Files of other shots' takes that dependents send as inputs (``engine.graph``)."""
    reserved: dict[tuple[str, int], int] = field(default_factory=dict)
    """(shot, take) -> credits its create holds of the caps now (grown to the API's figures)."""
    guard: Callable[[], None] = field(default=lambda: None)
    """Raises LockLost once the store's lock was taken over; checked right before each create."""

    def lock_lost(self) -> str | None:
        """Why no create may be sent any more because the lock is gone (and stop the rest), else None."""
        try:
            self.guard()
            if self.journal.lost is not None:
                raise self.journal.lost
        except LockLost as e:
            self.stop_reason = str(e)
            return self.stop_reason
        return None

    def journal_unwritten(self) -> str | None:
        """Why no create may be sent because the store cannot be written (and stop the rest), else None:
        an intent that is not durable would make a create that a crash could lose."""
        if self.journal.unwritten is None:
            return None
        self.stop_reason = (f"not started: {self.journal.unwritten}; no create is sent while the journal cannot "
                            "be written")
        return self.stop_reason

    @property
    def spec_dir(self) -> Path:
        return self.plan.spec.path.parent

    @property
    def root(self) -> Path:
        """The project root: every file apply writes, moves or reads back lies inside it."""
        return self.plan.spec.root
