"""A service in the shape of the Runway guide's Express route, on runner's Python API.

    POST /shots                 {"model", "prompt", "image_url"?, "ratio"?, "duration"?}
                                -> 201 {"id", "credits", "usd", "plan": {...}}: nothing is spent yet
    POST /shots/{id}/confirm    -> 202: apply starts in the background (it spends plan.credits)
    GET  /shots/{id}            -> {"status": planned|running|done|failed, "credits_charged", "error"}
    GET  /shots/{id}/video      -> the generated file, streamed by this app

What runner adds to the guide's route: the request is validated against the model's rules
before anything is sent (422 with field and message), priced, and refused over
MAX_CREDITS; a confirmed shot is journaled, so a crash or a second click never pays twice;
clients never see Runway's signed output URLs (the file is downloaded, checked and served
from here). An image URL must be https on one of ALLOWED_HOSTS (checked here, and again by
runner, which gets the same list as the spec's ``allowed_hosts``).

Run it (real API: RUNWAYML_API_SECRET; or RUNNER_EMULATOR_URL=http://127.0.0.1:PORT from
`runner emulate`):

    uvicorn --factory examples.service.app:create_app
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

import runner
from runner.errors import RunnerError, SpecErrors

MAX_CREDITS = 500
ALLOWED_HOSTS = ("assets.example.com",)


@dataclass
class Job:
    folder: Path
    plan: runner.Plan
    status: str = "planned"
    result: runner.ApplyResult | None = None
    error: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


def _image_problem(url: object, allowed: tuple[str, ...]) -> str | None:
    if not isinstance(url, str):
        return "image_url must be a string"
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.username or parts.password or parts.port not in (None, 443):
        return "image_url must be a plain https:// URL"
    if (parts.hostname or "").lower() not in allowed:
        return f"image_url host {parts.hostname!r} is not allowed; allowed: {', '.join(allowed)}"
    return None


def _spec(body: dict[str, Any], allowed: tuple[str, ...], max_credits: int) -> dict[str, Any]:
    shot: dict[str, Any] = {"id": "shot", "model": body.get("model"), "prompt": body.get("prompt")}
    for key in ("ratio", "duration"):
        if key in body:
            shot[key] = body[key]
    if "image_url" in body:
        shot["image"] = body["image_url"]
    # JSON is YAML: the document is written as JSON, so no value can inject YAML syntax
    return {"version": 1, "name": "shot", "budget": {"max_credits": max_credits},
            "allowed_hosts": list(allowed), "shots": [shot]}


class Service:
    """The routes, over one folder per request (spec, state, output) under ``root``."""

    def __init__(self, root: Path, allowed_hosts: tuple[str, ...], target: str | bool, max_credits: int) -> None:
        self.root, self.allowed_hosts, self.target, self.max_credits = root, allowed_hosts, target, max_credits
        self.jobs: dict[str, Job] = {}

    async def create(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"error": "send a JSON object"}, status_code=400)
        if "image_url" in body and (why := _image_problem(body["image_url"], self.allowed_hosts)):
            return JSONResponse({"error": why, "field": "image_url"}, status_code=422)
        job_id = secrets.token_hex(8)
        folder = self.root / job_id
        folder.mkdir(parents=True)
        try:
            answer, plan = await self._price(folder, body)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if plan is None:  # refused: nothing of the request is kept
            shutil.rmtree(folder, ignore_errors=True)
            return answer
        self.jobs[job_id] = Job(folder, plan)
        return JSONResponse({"id": job_id, "credits": plan.credits, "usd": plan.usd,
                             "plan": plan.to_dict()["summary"]}, status_code=201)

    async def _price(self, folder: Path, body: dict[str, Any]) -> tuple[Response, runner.Plan | None]:
        """The plan of a request written as a spec in ``folder``, or the answer that refuses it."""
        spec = _spec(body, self.allowed_hosts, self.max_credits)
        (folder / "shot.yaml").write_text(json.dumps(spec), encoding="utf-8")
        try:
            plan = await asyncio.to_thread(runner.plan, folder / "shot.yaml")
        except SpecErrors as e:
            problems = [{"field": p.field, "message": p.message} for p in e.problems]
            return JSONResponse({"error": "invalid shot", "problems": problems}, status_code=422), None
        except RunnerError as e:
            return JSONResponse({"error": str(e)}, status_code=422), None
        if plan.unknown_cost:  # no price is not a price of 0: this service quotes only what it can price
            models = sorted({s.model for s in plan.shots if s.id in plan.unknown_cost})
            return JSONResponse({"error": f"{', '.join(models)} has no known price, so this service cannot quote "
                                 "it; choose another model", "field": "model"}, status_code=422), None
        if plan.over_budget_by is not None:
            return JSONResponse({"error": f"costs {plan.credits} credits, over this service's {self.max_credits}"},
                                status_code=422), None
        return JSONResponse({}), plan

    async def _run(self, job: Job) -> None:
        try:
            job.result = await runner.apply_async(job.plan, emulator=self.target)
            job.status = "done" if job.result.ok else "failed"
            job.error = None if job.result.ok else "; ".join(o.reason for o in job.result.failed)
        except RunnerError as e:
            job.status, job.error = "failed", str(e)

    async def confirm(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": "no such shot"}, status_code=404)
        if job.status == "planned":  # a second click does nothing: one apply per job
            job.status = "running"
            job.task = asyncio.create_task(self._run(job))
        return JSONResponse({"id": request.path_params["job_id"], "status": job.status}, status_code=202)

    async def status(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": "no such shot"}, status_code=404)
        charged = job.result.credits_charged if job.result else 0
        return JSONResponse({"id": request.path_params["job_id"], "status": job.status, "credits": job.plan.credits,
                             "credits_charged": charged, "error": job.error})

    async def video(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["job_id"])
        if job is None or job.status != "done" or job.result is None or not job.result.done:
            return JSONResponse({"error": "not ready"}, status_code=404)
        path = (job.folder / str(job.result.done[0].output)).resolve()  # outputs are named relative to the spec
        if not path.is_file() or not path.is_relative_to(job.folder):
            return JSONResponse({"error": "not ready"}, status_code=404)
        return FileResponse(path)


def create_app(jobs_dir: Path | None = None, *, allowed_hosts: tuple[str, ...] = ALLOWED_HOSTS,
               emulator: str | None = None, max_credits: int = MAX_CREDITS) -> Starlette:
    """``jobs_dir``: one folder per request (spec, state, output); ``emulator``: the base
    URL of a runner emulator instead of the real API; ``max_credits``: the most one shot may cost."""
    root = Path(jobs_dir or os.environ.get("SERVICE_JOBS_DIR", "service-jobs")).resolve()
    service = Service(root, allowed_hosts, emulator or os.environ.get("RUNNER_EMULATOR_URL") or False, max_credits)
    return Starlette(routes=[
        Route("/shots", service.create, methods=["POST"]),
        Route("/shots/{job_id:str}/confirm", service.confirm, methods=["POST"]),
        Route("/shots/{job_id:str}", service.status, methods=["GET"]),
        Route("/shots/{job_id:str}/video", service.video, methods=["GET"]),
    ])
