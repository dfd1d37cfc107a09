"""``POST /v1/organization/usage``: credits the account spent per model per day, as the SDK
documents it (``client.organization.retrieve_usage(start_date=…, before_date=…)``).

The emulator knows what it charged: every task that succeeded, on the UTC day it was
created, at its final price (failed and cancelled tasks are refunded, so they count 0).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from runner.emulator import hostile
from runner.emulator.replies import invalid

if TYPE_CHECKING:
    from runner.emulator.sim import World

DEFAULT_DAYS = 30
MAX_DAYS = 90


def charged_by_day(world: World) -> dict[tuple[date, str], int]:
    """(UTC day, model) -> credits charged, over every task the emulator has."""
    books: dict[tuple[date, str], int] = defaultdict(int)
    for task in world.tasks.values():
        if task.status == "SUCCEEDED" and task.final:
            books[(date.fromisoformat(task.created_wall[:10]), task.model)] += task.final
    return dict(books)


class _BadDate(ValueError):
    pass


def _day(body: dict[str, Any], key: str) -> date | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _BadDate(f"{key} must be a date in ISO-8601 format (YYYY-MM-DD)") from None


def _window(body: dict[str, Any]) -> tuple[date, date]:
    start = _day(body, "startDate") or datetime.now(UTC).date() - timedelta(days=DEFAULT_DAYS)
    before = _day(body, "beforeDate") or start + timedelta(days=DEFAULT_DAYS)
    if before <= start:
        raise _BadDate("beforeDate must be after startDate")
    if before > start + timedelta(days=MAX_DAYS):
        raise _BadDate(f"beforeDate must be at most {MAX_DAYS} days after startDate")
    return start, before


async def usage(world: World, request: Request) -> Response:
    raw = await request.body()
    try:
        body = await request.json() if raw.strip() else {}
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return invalid([{"path": [], "message": "Request body must be a JSON object."}])
    try:
        start, before = _window(body)
    except _BadDate as e:
        return invalid([{"path": [str(e).split()[0]], "message": str(e)}])
    days: dict[date, list[dict[str, Any]]] = defaultdict(list)
    models: set[str] = set()
    for (day, model), amount in sorted(charged_by_day(world).items()):
        if start <= day < before:
            days[day].append({"model": model, "amount": amount})
            models.add(model)
    results = [{"date": day.isoformat(), "usedCredits": used} for day, used in sorted(days.items())]
    doc = {"models": sorted(models), "results": results}
    broken = world.config.broken_usage if world.config.hostile else None
    return hostile.reply(hostile.answer("usage", broken, doc))
