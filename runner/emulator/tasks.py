"""The task endpoints: create (one route per endpoint), read, cancel/delete, organization.

A create body is validated against the model catalog's schemas (the API's 400 shape
``{error, issues: [{code, path, message}], docUrl}``), priced with the emulator's own table
(``prices``), checked against the daily cap and the balance, and becomes a task in the
world (``sim``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from runner.catalog.models import catalog
from runner.emulator import derive, hostile, prices
from runner.emulator.hooks import HookEvent
from runner.emulator.replies import error, invalid

if TYPE_CHECKING:
    from runner.emulator.app import Emulator, Handler

_ISSUE_CODES = {
    "enum": "invalid_enum_value",
    "const": "invalid_literal",
    "required": "invalid_type",
    "type": "invalid_type",
    "additionalProperties": "unrecognized_keys",
    "minimum": "too_small",
    "minLength": "too_small",
    "maximum": "too_big",
    "maxLength": "too_big",
}


class Tasks:
    """Task handlers of one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def create_handler(self, endpoint: str) -> Handler:
        async def create(request: Request) -> Response:
            try:
                body = await request.json()
            except ValueError:
                return error(400, "Request body must be JSON.")
            if not isinstance(body, dict):
                return error(400, "Request body must be a JSON object.")
            problem = self.validate(endpoint, body)
            if problem is not None:
                return problem
            world = self.emu.world
            model = str(body["model"])  # validated: a model of this endpoint
            quote = prices.quote(model, endpoint, body, self.clip_seconds(endpoint, body))
            seconds, final = quote.seconds, quote.credits
            if quote.auto:  # the model picks a length; unused credits come back when it is done
                seconds = float(world.rng.randint(prices.SHORTEST_AUTO, max(prices.SHORTEST_AUTO, int(seconds))))
                final = prices.settle(model, body, int(seconds))
            tier = self.emu.config.tier(model)
            if world.daily[model] >= tier["maxDailyGenerations"]:
                return error(429, f"Daily generation limit of {tier['maxDailyGenerations']} reached for {model}.")
            if world.balance < quote.credits:
                return error(429, f"Not enough credits: {quote.credits} needed, {world.balance} available.")
            self.emu.hooks.fire(HookEvent("create", endpoint, model, body))
            task = world.create(model, endpoint, body, now=self.emu.now(), seconds=seconds,
                                estimated=quote.credits, final=final)
            derive.attach(task, world.uploads)
            if "[[lost-response]]" in task.prompt:
                return error(502, "Bad gateway (injected after the task was created).")
            estimate = quote.credits if task.cost_answer is None else task.cost_answer
            doc = {"id": task.id, "estimatedCost": {"credits": estimate}}
            if self.emu.config.hostile:
                return hostile.reply(hostile.answer("create", task.hostile("create"), doc))
            return JSONResponse(doc)

        return create

    def validate(self, endpoint: str, body: dict[str, Any]) -> Response | None:
        model = body.get("model")
        cat = catalog()
        info = cat.get(model) if isinstance(model, str) else None
        if info is None or endpoint not in info.modes.values():
            allowed = sorted(m for m, i in cat.items() if endpoint in i.modes.values() and i.status == "current")
            return invalid([{"code": "invalid_union_discriminator", "path": ["model"],
                             "message": f"Invalid model for {endpoint}. Expected one of: {', '.join(allowed)}"}])
        best: list[dict[str, Any]] | None = None
        for mode, ep in info.modes.items():
            if ep != endpoint:
                continue
            issues = [
                {"code": _ISSUE_CODES.get(str(e.validator), "custom"), "path": list(e.absolute_path),
                 "message": str(e.message)}
                for e in info.validator(mode).iter_errors(body)
            ]
            if not issues:
                best = []
                break
            if best is None or len(issues) < len(best):
                best = issues
        if best:
            return invalid(best)
        for path, uri in _uris(body):
            if uri.startswith("runway://") and uri not in self.emu.world.uploads:
                return invalid([{"code": "custom", "path": path, "message": "Upload not found or expired."}])
        return None

    def clip_seconds(self, endpoint: str, body: dict[str, Any]) -> float | None:
        """Length of the input clip the price may follow; None when it cannot be measured."""
        for key in prices.CLIP_FIELDS.get(endpoint, ()):
            value = body.get(key)
            uri = value.get("uri") if isinstance(value, dict) else value
            if isinstance(uri, str):
                upload = self.emu.world.uploads.get(uri)
                return upload.get("seconds") if upload else None
        return None

    async def get_task(self, request: Request) -> Response:
        task = self.emu.world.tasks.get(request.path_params["task_id"])
        if task is None:
            return error(404, "Task not found.")
        doc: dict[str, Any] = {"id": task.id, "createdAt": task.created_wall, "status": task.status}
        if task.status in ("PENDING", "THROTTLED", "RUNNING"):
            doc["estimatedCost"] = {"credits": task.estimated}
            if task.status == "RUNNING":
                doc["progress"] = round(task.progress(self.emu.now()), 3)
        else:
            doc["cost"] = {"credits": task.final}
        if task.cost_answer is not None:  # a hostile or broken API: whatever the test asked for
            doc["estimatedCost" if "estimatedCost" in doc else "cost"] = {"credits": task.cost_answer}
        if task.status == "SUCCEEDED":
            expired = "expire-once" in task.flags
            task.flags.discard("expire-once")
            doc["output"] = [self.emu.config.output_url or self.emu.files.output_url(request, task, 0, expired=expired)]
        if task.status == "FAILED":
            doc["failure"] = f"Task failed: {task.failure_code}"
            doc["failureCode"] = task.failure_code
        task.reads += 1
        if task.reads == 1:
            self.emu.hooks.fire(HookEvent("first_read", task.endpoint, task.model, task.body, task_id=task.id))
        if not self.emu.config.hostile:
            return JSONResponse(doc)
        if "task-html" in task.flags:
            return HTMLResponse("<html><body>502 Bad Gateway</body></html>")
        if "task-weird" in task.flags:
            doc["status"] = "WEIRD"
        return hostile.reply(hostile.answer("task", task.hostile("task"), doc))

    async def delete_task(self, request: Request) -> Response:
        task = self.emu.world.tasks.get(request.path_params["task_id"])
        if task is None:
            return error(404, "Task not found.")
        self.emu.world.cancel(task, self.emu.now())
        return Response(status_code=204)

    async def organization(self, request: Request) -> Response:
        doc = self.emu.world.organization()
        broken = self.emu.config.broken_organization if self.emu.config.hostile else None
        return hostile.reply(hostile.answer("organization", broken, doc))


def _uris(body: Any, path: list[str | int] | None = None) -> list[tuple[list[str | int], str]]:
    path = path or []
    found: list[tuple[list[str | int], str]] = []
    if isinstance(body, dict):
        for k, v in body.items():
            found += _uris(v, [*path, k])
    elif isinstance(body, list):
        for i, v in enumerate(body):
            found += _uris(v, [*path, i])
    elif isinstance(body, str) and body.startswith("runway://"):
        found.append((path, body))
    return found
