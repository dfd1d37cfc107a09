"""The numbers apply takes, in a module of their own: the command line defines its options from
them when it starts, and must not load the planner to do so (``engine.outcome`` imports it)."""

from __future__ import annotations

from runner.bounded import Bound

OPTION_BOUNDS: dict[str, Bound] = {
    "parallelism": Bound(1, 1000, whole=True),
    "poll_interval": Bound(0.01, 3600, unit="seconds"),
    "retries": Bound(0, 20, whole=True),
    "max_output_mb": Bound(0, 1024 * 1024, low_open=True, unit="MB"),  # a state's take is at most 1 TiB
    "task_timeout": Bound(0, 30 * 86400, low_open=True, unit="seconds"),
    "lock_timeout": Bound(0, 86400, unit="seconds"),
}
"""The numbers apply takes (``runner apply`` options, ``runner.apply`` arguments): checked before
anything is locked, planned or sent. NaN and infinity are refused (``--poll-interval nan`` sent
the creates, paid, and then never polled), and so are negatives and numbers beyond the arithmetic.
(``max_credits`` is the planner's: ``planner.budget.CAP``.)"""
