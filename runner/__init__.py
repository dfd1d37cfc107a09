"""runner: a declarative, git-friendly spec runner for Runway video generation.

The Python API (docs/api.md) is re-exported here and loaded on first use, so that
``import runner.errors`` or the CLI's light commands do not pay for the engine::

    import runner
    plan = runner.plan("campaigns/spring.yaml")
    result = runner.apply(plan, emulator=True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.api import ApplyResult, Emulator, Plan, Usage, apply, apply_async, plan, usage

__version__ = "0.1.0"
__all__ = ["ApplyResult", "Emulator", "Plan", "Usage", "__version__", "apply", "apply_async", "plan", "usage"]


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        from runner import api

        return getattr(api, name)
    raise AttributeError(f"module 'runner' has no attribute {name!r}")
