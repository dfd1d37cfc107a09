"""Apply: carry a plan out against the API or the emulator — concurrently, resumably, never
paying twice. ``run.run_apply`` is the entry point; ``loop.Engine`` composes the steps.

Exports are loaded on first use: importing the engine pulls in the runwayml SDK, which
commands that never talk to the API should not pay for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.engine.loop import Engine
    from runner.engine.outcome import ApplyOptions, ApplyResult, ApplyRun, Outcome
    from runner.engine.run import ApplyRequest, run_apply

__all__ = ["ApplyOptions", "ApplyRequest", "ApplyResult", "ApplyRun", "Engine", "Outcome", "run_apply"]

_HOMES = {"Engine": "loop", "ApplyOptions": "outcome", "ApplyResult": "outcome", "ApplyRun": "outcome",
          "Outcome": "outcome", "ApplyRequest": "run", "run_apply": "run"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"runner.engine.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'runner.engine' has no attribute {name!r}")
