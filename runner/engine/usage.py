"""Money reconciliation: what the state files say was charged, per model and UTC day, next to
what the account says it spent (``POST /v1/organization/usage``).

The state records the credits of every take apply generated (``source: api``) and when it
finished; the account books a charge on the day the task was created. A take created before
midnight UTC and finished after it therefore shows on neighbouring days in the two books:
days may differ while a model's total over the window agrees, and that is a note, not a
difference. A difference is a model whose totals disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from runner.errors import RunnerError
from runner.spec import Spec
from runner.store.state import State

if TYPE_CHECKING:
    from runner.engine.client import Client

MAX_WINDOW = 90  # days the API answers per call
MAX_DAYS = 3 * 366
"""The longest window ``runner usage`` compares: three years, 13 calls of 90 days (``--since
0001-01-01`` would have been 8,222 calls). State files older than that are history, not books."""


@dataclass
class Usage:
    since: date
    until: date  # exclusive
    specs: list[str]
    state: dict[tuple[str, str], int] = field(default_factory=dict)
    account: dict[tuple[str, str], int] = field(default_factory=dict)
    pending: int = 0
    """Credits estimated for tasks still in a journal (created, so maybe charged; not yet in a state)."""

    def rows(self) -> list[tuple[str, str, int, int]]:
        """(day, model, state credits, account credits), every day and model either book has."""
        keys = sorted(set(self.state) | set(self.account))
        return [(day, model, self.state.get((day, model), 0), self.account.get((day, model), 0))
                for day, model in keys]

    def by_model(self, book: dict[tuple[str, str], int]) -> dict[str, int]:
        totals: dict[str, int] = {}
        for (_, model), amount in book.items():
            totals[model] = totals.get(model, 0) + amount
        return totals

    def differences(self) -> list[tuple[str, int, int]]:
        """(model, state total, account total) for every model whose totals differ."""
        mine, theirs = self.by_model(self.state), self.by_model(self.account)
        return [(m, mine.get(m, 0), theirs.get(m, 0)) for m in sorted(set(mine) | set(theirs))
                if mine.get(m, 0) != theirs.get(m, 0)]

    @property
    def ok(self) -> bool:
        return not self.differences()

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(), "until": self.until.isoformat(), "specs": self.specs,
            "ok": self.ok, "pending_credits": self.pending,
            "days": [{"date": d, "model": m, "state": s, "account": a} for d, m, s, a in self.rows()],
            "differences": [{"model": m, "state": s, "account": a, "difference": a - s}
                            for m, s, a in self.differences()],
        }


def state_charges(states: Iterable[State], since: date, until: date) -> tuple[dict[tuple[str, str], int], int]:
    """(UTC day, model) -> credits the states record as charged by the API, and the credits
    estimated for tasks still pending in them."""
    book: dict[tuple[str, str], int] = {}
    pending = 0
    for state in states:
        for shot in state.shots.values():
            for take in shot.takes:
                day = take.finished[:10]
                if take.source == "api" and take.credits and since.isoformat() <= day < until.isoformat():
                    book[(day, shot.model)] = book.get((day, shot.model), 0) + take.credits
            pending += sum(p.estimated or 0 for p in shot.pending if p.task_id)
    return book, pending


async def account_charges(client: Client, since: date, until: date) -> dict[tuple[str, str], int]:
    spent: dict[tuple[str, str], int] = {}
    start = since
    while start < until:  # the API answers at most 90 days a call
        before = min(until, start + timedelta(days=MAX_WINDOW))
        spent.update(await client.usage(start, before))
        start = before
    return spent


def reconcile(specs: list[tuple[Spec, State]], *, since: date | None = None,
              emulator_url: str | None = None) -> Usage:
    """Both books over [since, tomorrow) (default: the last 30 days), UTC."""
    until = datetime.now(UTC).date() + timedelta(days=1)
    since = since or until - timedelta(days=31)
    days = (until - since).days
    if days > MAX_DAYS:
        calls = -(-MAX_DAYS // MAX_WINDOW)
        raise RunnerError(f"--since {since.isoformat()} is {days - 1:,} days back; runner usage compares at most "
                          f"{MAX_DAYS:,} days ({calls} calls of {MAX_WINDOW} days): give a day since "
                          f"{(until - timedelta(days=MAX_DAYS)).isoformat()} or later")
    book, pending = state_charges((state for _, state in specs), since, until)
    usage = Usage(since, until, [spec.display for spec, _ in specs], state=book, pending=pending)

    async def fetch() -> dict[tuple[str, str], int]:
        from runner.engine.client import Client, connection_from_env  # the SDK, only when the account is asked

        client = Client(connection_from_env(emulator_url=emulator_url))
        try:
            return await account_charges(client, since, until)
        finally:
            await client.close()

    import asyncio

    usage.account = asyncio.run(fetch())
    return usage
