"""The emulator's HTTP surface: the Runway API subset the runner uses, plus /_emulator.

Same paths, JSON shapes, status codes and headers as the real API, so the unmodified
``runwayml`` SDK works against it. ``Emulator`` holds the state and builds the Starlette
app; every /v1 request passes one door here (counted, authenticated, version-checked,
faults injected, simulated time advanced) before its handler: ``tasks`` for the task
endpoints, ``files`` for uploads and signed output downloads. ``hooks`` lets tests act at
exact moments of that work.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runner.catalog.endpoints import ENDPOINTS
from runner.emulator import usage
from runner.emulator.config import EmulatorConfig
from runner.emulator.files import Files
from runner.emulator.hooks import Hooks
from runner.emulator.replies import API_VERSION, error
from runner.emulator.sim import World
from runner.emulator.tasks import Tasks

Handler = Callable[[Request], Awaitable[Response]]


class Emulator:
    """Holds the world, the hooks and the handlers, and builds the Starlette app around them."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.world = World(self.config)
        self.hooks = Hooks()
        self.tasks = Tasks(self)
        self.files = Files(self)

    def now(self) -> float:
        return time.monotonic()

    def api(self, route: str, handler: Handler) -> Handler:
        """Wrap a /v1 handler: count it, check auth and version, inject faults, advance time."""

        async def wrapped(request: Request) -> Response:
            world = self.world
            world.requests[route] += 1
            auth = request.headers.get("authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else ""
            if not token or (self.config.api_key and not hmac.compare_digest(token, self.config.api_key)):
                return error(401, "Invalid API key. Set RUNWAYML_API_SECRET to a valid key.")
            if request.headers.get("x-runway-version") != API_VERSION:
                return error(400, f"The X-Runway-Version header is required and must be {API_VERSION}.")
            routes = self.config.fault_routes
            faulty = routes is None or route in routes
            if faulty and world.chance(self.config.rate_limit_rate):
                return error(429, "Too many requests (injected).")
            if faulty and world.chance(self.config.error_rate):
                code = world.pick(["500", "502", "503"])
                return error(int(code), "Internal server error (injected).")
            world.advance(self.now())
            return await handler(request)

        return wrapped

    # --- /_emulator --------------------------------------------------------------------

    async def usage(self, request: Request) -> Response:
        return await usage.usage(self.world, request)

    async def stats(self, request: Request) -> Response:
        self.world.advance(self.now())
        return JSONResponse(self.world.stats())

    async def set_config(self, request: Request) -> Response:
        changes = await request.json()
        try:
            self.config = self.config.updated(changes)
        except Exception as e:  # noqa: BLE001 - reported to the caller
            return error(400, str(e))
        self.world.config = self.config
        return JSONResponse(self.config.as_dict())

    async def reset(self, request: Request) -> Response:
        self.world = World(self.config)
        return JSONResponse({"reset": True})

    def app(self) -> Starlette:
        tasks, files = self.tasks, self.files
        routes = [
            Route(f"/v1/{ep}", self.api(f"POST /v1/{ep}", tasks.create_handler(ep)), methods=["POST"])
            for ep in ENDPOINTS
        ]
        routes += [
            Route("/v1/tasks/{task_id}", self.api("GET /v1/tasks", tasks.get_task), methods=["GET"]),
            Route("/v1/tasks/{task_id}", self.api("DELETE /v1/tasks", tasks.delete_task), methods=["DELETE"]),
            Route("/v1/organization", self.api("GET /v1/organization", tasks.organization), methods=["GET"]),
            Route("/v1/organization/usage", self.api("POST /v1/organization/usage", self.usage), methods=["POST"]),
            Route("/v1/uploads", self.api("POST /v1/uploads", files.create_upload), methods=["POST"]),
            Route("/_emulator/upload/{token}", files.receive_upload, methods=["POST"]),
            Route("/_emulator/outputs/{task_id}/{name}", files.download, methods=["GET"]),
            Route("/_emulator/stats", self.stats, methods=["GET"]),
            Route("/_emulator/config", self.set_config, methods=["POST"]),
            Route("/_emulator/reset", self.reset, methods=["POST"]),
        ]
        return Starlette(routes=routes)
