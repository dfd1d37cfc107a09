"""Emulator settings: time scale, tier limits, balance, fault injection.

Settings come from defaults, an optional YAML/JSON file, and command-line overrides, in
that order. All rates are probabilities per request (or per task) drawn from one seeded
random generator, so a run with the same seed and the same request order injects the
same faults.

Deterministic triggers in a request's promptText, for tests and demos:

- ``[[fail:CODE]]``   the task ends FAILED with failureCode CODE (e.g. SAFETY.INPUT.TEXT)
- ``[[lost-response]]`` the task is created (and billed) but the create call gets a 502
- ``[[truncate]]``    downloads of the output stop halfway
- ``[[slow]]``        downloads of the output are throttled to ``slow_bytes_per_second``
- ``[[size:N]]``      the output file is padded to N bytes (for download benchmarks)
- ``[[expire-once]]`` the first output URL handed out for the task has already expired
- ``[[html]]``        the output URL serves an HTML page instead of a video
- ``[[task-html]]``   GET of the task answers 200 with an HTML page (a broken proxy)
- ``[[task-weird]]``  GET of the task reports a status the API does not have (``WEIRD``)
- ``[[cost:VALUE]]``  answers report VALUE (JSON, else a string) as the task's estimated and
  final cost, e.g. ``[[cost:-500]]`` (a hostile API trying to lower the run's spend)
- ``[[create:NAME]]``, ``[[task:NAME]]`` hostile create and task answers (see ``hostile``:
  ids that are not ids, tasks that never finish, costs that are not numbers, CRLF URLs)

The hostile markers take effect only while ``hostile`` is true (the default).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runner.emulator import hostile
from runner.errors import RunnerError

FAILURE_CODES = ("SAFETY.INPUT.TEXT", "INTERNAL", "THIRD_PARTY.UNAVAILABLE", "ASSET.INVALID")


@dataclass
class EmulatorConfig:
    """Everything the emulator can be told. Times are in emulated seconds unless noted."""

    time_scale: float = 0.1
    """Wall seconds per emulated second: 1.0 is real time, 0.001 makes a 20 s task take 20 ms."""
    pending_seconds: float = 1.0
    """How long a task stays PENDING before it can start."""
    generation_seconds: float = 20.0
    """How long a task runs (RUNNING) before it succeeds."""
    max_concurrent: int = 4
    """Default maxConcurrentGenerations per model (tier)."""
    max_daily: int = 1000
    """Default maxDailyGenerations per model."""
    models: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per-model tier overrides: {model: {maxConcurrentGenerations, maxDailyGenerations}}."""
    credit_balance: int = 1_000_000
    max_monthly_credit_spend: int = 1_000_000
    api_key: str | None = None
    """When set, only this bearer token is accepted; otherwise any non-empty token is."""
    url_ttl: float = 3600.0
    """Wall seconds an output URL stays valid."""
    seed: int = 0
    error_rate: float = 0.0
    """Probability of a 5xx on any /v1 request."""
    rate_limit_rate: float = 0.0
    """Probability of a 429 on any /v1 request."""
    fault_routes: list[str] | None = None
    """Limit injected 5xx/429 to these routes (e.g. "POST /v1/text_to_video"); None = all."""
    fail_rate: float = 0.0
    """Probability that a task ends FAILED, with a code from failure_codes."""
    failure_codes: list[str] = field(default_factory=lambda: list(FAILURE_CODES))
    truncate_rate: float = 0.0
    """Probability that a download is cut off halfway."""
    slow_rate: float = 0.0
    """Probability that a download is throttled."""
    slow_bytes_per_second: int = 200_000
    output_url: str | None = None
    """Hand out this URL as every task's output instead of a real one (hostile-API tests)."""
    hostile: bool = True
    """Hostile markers ([[task-html]], [[task-weird]], [[create:…]], [[task:…]]) and the
    broken_* settings take effect; false makes the same tasks answer as a healthy API."""
    broken_organization: str | None = None
    """Answer GET /v1/organization in this broken way (a name in hostile.ORGANIZATION_ANSWERS)."""
    broken_upload: str | None = None
    """Answer POST /v1/uploads in this broken way (a name in hostile.UPLOAD_ANSWERS)."""
    broken_usage: str | None = None
    """Answer POST /v1/organization/usage in this broken way (a name in hostile.USAGE_ANSWERS)."""
    video_fps: int = 8
    video_max_side: int = 320
    quiet: bool = True
    """No log line per request (the foreground `runner emulate` turns this off)."""

    def tier(self, model: str) -> dict[str, int]:
        own = self.models.get(model, {})
        return {
            "maxConcurrentGenerations": int(own.get("maxConcurrentGenerations", self.max_concurrent)),
            "maxDailyGenerations": int(own.get("maxDailyGenerations", self.max_daily)),
        }

    def updated(self, changes: dict[str, Any]) -> EmulatorConfig:
        """A copy with ``changes`` applied; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise RunnerError(f"unknown emulator setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        for key, kind in (("broken_organization", "organization"), ("broken_upload", "upload"),
                          ("broken_usage", "usage")):
            name = changes.get(key)
            if name is not None and name not in hostile.TABLES[kind]:
                raise RunnerError(f"{key}: unknown answer {name!r}; known: {', '.join(sorted(hostile.TABLES[kind]))}")
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_file(cls, path: Path) -> EmulatorConfig:
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as e:
            raise RunnerError(f"{path}: cannot read emulator config: {e}") from None
        if not isinstance(data, dict):
            raise RunnerError(f"{path}: emulator config must be a mapping")
        return cls().updated(data)

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["api_key"] = "***" if self.api_key else None
        return data
