"""What the steps of one apply share: the plan, the API client, options, progress, the
journal, the running result and the spend tally, and whether new creates must stop."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from runner.engine.client import Client
from runner.engine.journal import Journal
from runner.engine.outcome import ApplyOptions, ApplyResult, Reporter
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

    @property
    def spec_dir(self) -> Path:
        return self.plan.spec.path.parent

    @property
    def root(self) -> Path:
        """The project root: every file apply writes, moves or reads back lies inside it."""
        return self.plan.spec.root
