"""Failures the state file remembers (``ShotState.failure``, by take fingerprint): which of
them keep the same request from being paid for again, and how the plan words them."""

from __future__ import annotations

from collections.abc import Sequence

from runner.planner.records import TakePlan
from runner.spec import Shot
from runner.store.state import ShotState


def blocks_retry(code: str, shot: Shot) -> bool:
    """Whether a remembered failure keeps the same request from being paid for again: a
    moderation refusal always; an ASSET refusal when the shot sends input files (the same
    files would be refused again). Other failures (INTERNAL, a request the API refused before
    creating anything) are shown in the plan and tried again."""
    return code.startswith("SAFETY") or (code.startswith("ASSET") and bool(shot.request.inputs))


def last_failures(prior: ShotState | None, takes: Sequence[TakePlan]) -> list[str]:
    """What went wrong last time with the takes about to be created: the code and the reason."""
    failures = (prior.failure or {}) if prior else {}
    out = []
    for t in takes:
        failed = failures.get(t.fingerprint) if t.action == "create" else None
        if failed:
            code = str(failed.get("code"))
            reason = str(failed.get("reason") or code)
            out.append(f"take {t.take} failed last time: {reason if reason.startswith(code) else f'{code}: {reason}'}"
                       [:400])
    return out
