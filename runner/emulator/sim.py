"""The emulator's world: tasks, per-model queues, the organization's credits and usage.

Time is simulated lazily: nothing runs in the background; every request first calls
``advance(now)``, which replays what happened since the last request in time order
(queued tasks start when a slot of their model frees up, running tasks finish). That keeps
the emulator exact at any time scale and free of timers.

Lifecycle: PENDING (for ``pending_seconds``) -> THROTTLED (ready, but the model's
``maxConcurrentGenerations`` slots are full) -> RUNNING (``progress`` 0..1 over
``generation_seconds``) -> SUCCEEDED or FAILED; CANCELLED after DELETE.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runner.emulator import hostile
from runner.emulator.config import EmulatorConfig
from runner.emulator.media import Look

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


def prompt_hash(prompt: str | None) -> str:
    """How the stats name a prompt: the first 12 hex digits of its sha256."""
    return hashlib.sha256((prompt or "").encode("utf-8")).hexdigest()[:12]


@dataclass
class Task:
    id: str
    model: str
    endpoint: str
    body: dict[str, Any]
    created_wall: str
    created: float
    ready: float
    generation: float
    seconds: float
    estimated: int
    final: int
    failure_code: str | None = None
    status: str = "PENDING"
    start: float | None = None
    end: float | None = None
    flags: set[str] = field(default_factory=set)
    pad_to: int = 0
    cost_answer: Any = None
    """What answers report as the task's cost (``[[cost:VALUE]]``, hostile-API tests); None: the real one."""
    variant: int = 0
    """The take it stands for, from 0: the take runner names (``TAKE_HEADER``), else how many
    creates of this very body came before it."""
    output: bytes | None = None  # rendered on the first download, then served as is
    reads: int = 0  # GET /v1/tasks/{id} so far
    media: dict[str, bytes] = field(default_factory=dict, repr=False)
    """The readable media inputs' bytes by body field (``derive.attach``), decoded at render."""
    inputs: dict[str, str] = field(default_factory=dict)
    """What became of each media input, by body field (``promptImage/0/uri``): ``upload``,
    ``data URI``, or why the output falls back to the caption render (``not fetched: …``,
    ``unreadable: …``). Tests read it to tell a derived output from a fallback."""

    @property
    def prompt(self) -> str:
        return str(self.body.get("promptText") or "")

    @property
    def seed(self) -> int | None:
        seed = self.body.get("seed")
        return seed if isinstance(seed, int) and not isinstance(seed, bool) else None

    @property
    def look(self) -> Look:
        """Its take (the n-th create of one body) and seed: Runway gives each generation a seed
        of its own, so takes differ; the first create of an unseeded body renders as it always did."""
        return Look(self.variant, self.seed)

    def hostile(self, kind: str) -> list[str]:
        """Names of the task's ``[[kind:NAME]]`` hostile markers, in a stable order."""
        return sorted(f.split(":", 1)[1] for f in self.flags if f.startswith(f"{kind}:"))

    def progress(self, now: float) -> float:
        if self.start is None:
            return 0.0
        return max(0.0, min(0.99, (now - self.start) / self.generation)) if self.generation else 0.99


@dataclass
class _Lane:
    queue: deque[Task] = field(default_factory=deque)
    running: list[Task] = field(default_factory=list)
    clock: float = 0.0


class World:
    """All emulator state. Not thread-safe: only the server's event loop touches it."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.tasks: dict[str, Task] = {}
        self.lanes: dict[str, _Lane] = {}
        self.balance = config.credit_balance
        self.daily: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.creates: Counter[str] = Counter()
        self.creates_by_model: Counter[str] = Counter()
        self.repeats: Counter[str] = Counter()  # creates so far per request body (Task.variant)
        self.uploads: dict[str, dict[str, Any]] = {}
        self.downloads = 0
        self.download_bytes = 0
        self.downloads_of: Counter[str] = Counter()  # downloads so far per task

    # --- decisions drawn from the seeded generator -------------------------------------

    def chance(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    def chance_of(self, rate: float, *key: object) -> bool:
        """A draw fixed by the seed and ``key`` alone, not by when it is asked: concurrent
        requests take shared draws in an order that timing decides, so a fault that must hit the
        same download in every run (the n-th download of one request) is drawn this way."""
        if rate <= 0:
            return False
        digest = hashlib.sha256(repr((self.config.seed, *key)).encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < rate

    def pick(self, items: list[str]) -> str:
        return items[self.rng.randrange(len(items))]

    # --- tasks -------------------------------------------------------------------------

    def create(self, model: str, endpoint: str, body: dict[str, Any], *, now: float, seconds: float,
               estimated: int, final: int, take: int | None = None) -> Task:
        """A new task; ``take``: which take of its shot runner says it is (else the n-th create of
        this body stands for take n), which its output's ``Look`` follows."""
        cfg = self.config
        task = Task(
            id=_uuid(),
            model=model,
            endpoint=endpoint,
            body=body,
            created_wall=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            created=now,
            ready=now + cfg.pending_seconds * cfg.time_scale,
            generation=cfg.generation_seconds * cfg.time_scale,
            seconds=seconds,
            estimated=estimated,
            final=final,
        )
        same = hashlib.sha256(json.dumps([endpoint, body], sort_keys=True, default=str).encode()).hexdigest()
        task.variant = take - 1 if take is not None else self.repeats[same]
        self.repeats[same] += 1
        prompt = task.prompt
        if "[[fail:" in prompt:
            task.failure_code = prompt.split("[[fail:", 1)[1].split("]]", 1)[0]
        elif self.chance(cfg.fail_rate):
            task.failure_code = self.pick(cfg.failure_codes)
        for flag in ("truncate", "slow", "expire-once", "task-html", "task-weird"):
            if f"[[{flag}]]" in prompt:
                task.flags.add(flag)
        for kind in ("create", "task"):
            task.flags.update(f"{kind}:{name}" for name in hostile.markers(prompt, kind))
        if "[[size:" in prompt:
            task.pad_to = int(prompt.split("[[size:", 1)[1].split("]]", 1)[0])
        if "[[cost:" in prompt:
            raw = prompt.split("[[cost:", 1)[1].split("]]", 1)[0]
            try:
                task.cost_answer = json.loads(raw)
            except ValueError:
                task.cost_answer = raw
        self.tasks[task.id] = task
        self.lanes.setdefault(model, _Lane(clock=now)).queue.append(task)
        self.balance -= estimated
        self.daily[model] += 1
        self.creates[f"{model}:{prompt_hash(prompt)}"] += 1
        self.creates_by_model[model] += 1
        return task

    def advance(self, now: float) -> None:
        for model, lane in self.lanes.items():
            limit = max(1, self.config.tier(model)["maxConcurrentGenerations"])
            while True:
                next_end = min((t.start + t.generation for t in lane.running if t.start is not None),
                               default=float("inf"))
                if lane.queue and len(lane.running) < limit:
                    task = lane.queue[0]
                    begin = max(task.ready, lane.clock)
                    if begin <= now and begin <= next_end:
                        lane.queue.popleft()
                        task.start, task.status = begin, "RUNNING"
                        lane.running.append(task)
                        continue
                if next_end <= now:
                    done = min(lane.running, key=lambda t: (t.start or 0) + t.generation)
                    lane.running.remove(done)
                    lane.clock = next_end
                    self._finish(done, next_end)
                    continue
                break
            for task in lane.queue:
                task.status = "THROTTLED" if task.ready <= now else "PENDING"

    def _finish(self, task: Task, at: float) -> None:
        task.end = at
        if task.failure_code:
            task.status = "FAILED"
            self.balance += task.estimated  # failed tasks are refunded
            task.final = 0
        else:
            task.status = "SUCCEEDED"
            self.balance += task.estimated - task.final  # e.g. unused `auto` seconds

    def cancel(self, task: Task, now: float) -> None:
        """DELETE: cancel a task that is not done yet; forget one that is."""
        if task.status in TERMINAL:
            del self.tasks[task.id]
            return
        lane = self.lanes[task.model]
        if task in lane.queue:
            lane.queue.remove(task)
        if task in lane.running:
            lane.running.remove(task)
            lane.clock = max(lane.clock, now)
        task.status, task.end = "CANCELLED", now
        self.balance += task.estimated
        task.final = 0

    # --- views -------------------------------------------------------------------------

    def charged(self) -> int:
        return sum(t.final for t in self.tasks.values() if t.status == "SUCCEEDED")

    def stats(self) -> dict[str, Any]:
        by_status = Counter(t.status for t in self.tasks.values())
        return {
            "requests": dict(sorted(self.requests.items())),
            "creates": dict(sorted(self.creates.items())),
            "creates_by_model": dict(sorted(self.creates_by_model.items())),
            "creates_total": sum(self.creates.values()),
            "tasks": dict(sorted(by_status.items())),
            "credits_charged": self.charged(),
            "credit_balance": self.balance,
            "uploads": len(self.uploads),
            "downloads": self.downloads,
            "download_bytes": self.download_bytes,
        }

    def organization(self) -> dict[str, Any]:
        models = sorted(set(self.daily) | set(self.config.models) | set(self.lanes))
        return {
            "creditBalance": self.balance,
            "tier": {
                "maxMonthlyCreditSpend": self.config.max_monthly_credit_spend,
                "models": {m: self.config.tier(m) for m in _all_models(models)},
            },
            "usage": {"models": {m: {"dailyGenerations": self.daily[m]} for m in models}},
        }


def _all_models(extra: list[str]) -> list[str]:
    from runner.catalog.models import catalog

    return sorted(set(catalog()) | set(extra))


def _uuid() -> str:
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:32]}"
