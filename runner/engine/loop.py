"""Apply: carry a plan out — concurrently, resumably, never paying twice.

Order of work:
1. local actions (no API): move files of renamed shots, restore outputs from the cache;
2. resume the journal: poll and download every pending task of the state file; report
   intents without a task id as "may have been created" (created again only with
   ``recreate_unknown``);
3. check the account (balance, daily caps) before the first create;
4. create, poll and download the rest, per model at most min(tier concurrency,
   parallelism) at a time.

The journal: before each create an intent is written to the state file; right after
the create returns, its task id; both writes are atomic and happen before any polling.
A create is never retried blindly: when its outcome is unknown (timeout, 5xx, broken
connection), the intent stays in the journal and the shot is reported.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.engine.client import Client, Organization, TaskStatus
from runner.engine.outcome import (
    ApplyOptions,
    ApplyResult,
    Outcome,
    Reporter,
    SilentReporter,
    failure_text,
    issues_text,
)
from runner.errors import ApiError, DownloadError, InputRefused
from runner.inputs.assets import resolve_local, verify_media
from runner.inputs.urlpolicy import check_url
from runner.planner.make import Plan, ShotPlan, TakePlan
from runner.spec import thaw
from runner.store import cache as cache_mod
from runner.store.state import Pending, ShotState, State, Take, save_state

RETRYABLE_PREFIXES = ("INTERNAL", "THIRD_PARTY")
PERMANENT_PREFIXES = ("SAFETY", "ASSET")
DOWNLOAD_ATTEMPTS = 4


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Engine:
    def __init__(self, plan: Plan, client: Client, options: ApplyOptions, reporter: Reporter) -> None:
        self.plan = plan
        self.spec = plan.spec
        self.state: State = plan.state
        self.client = client
        self.options = options
        self.reporter = reporter
        self.result = ApplyResult(planned_credits=plan.total_credits)
        self.stop_reason: str | None = None
        self.committed = 0  # credits of creates made in this run (estimates until charged)
        self.uploads: dict[str, asyncio.Task[str]] = {}
        self.shot_plans = {s.id: s for s in plan.shots}
        self.org: Organization | None = None
        self.daily_left: dict[str, int] = {}

    # --- state helpers -------------------------------------------------------------------

    def save(self) -> None:
        save_state(self.state)

    def entry(self, sp: ShotPlan) -> ShotState:
        st = self.state.shots.get(sp.id)
        if st is None:
            st = ShotState(sp.fingerprint, sp.model, sp.mode, thaw(sp.canonical))
            self.state.shots[sp.id] = st
        return st

    def finish_shot_if_complete(self, sp: ShotPlan) -> None:
        st = self.state.shots.get(sp.id)
        if st is None:
            return
        wanted = {t.take: t.fingerprint for t in sp.takes}
        have = {t.take: t.fingerprint for t in st.takes}
        if all(have.get(n) == fp for n, fp in wanted.items()):
            st.fingerprint, st.model, st.mode, st.request = sp.fingerprint, sp.model, sp.mode, thaw(sp.canonical)
            st.failure = None
        elif st.failure:
            current = set(wanted.values())
            st.failure = {fp: f for fp, f in st.failure.items() if fp in current} or None

    def record_take(self, sp: ShotPlan, tp: TakePlan, meta: dict[str, Any], source: str,
                    task_id: str | None = None) -> None:
        st = self.entry(sp)
        st.takes = [t for t in st.takes if t.take != tp.take]
        st.takes.append(Take(take=tp.take, fingerprint=tp.fingerprint, output=tp.output, sha256=meta["sha256"],
                             bytes=meta["bytes"], credits=meta.get("credits"), task_id=meta.get("task_id"),
                             finished=meta.get("finished") or _now(), source=source))
        if task_id is not None:  # only this task's entry: another one may be in flight
            st.pending = [p for p in st.pending if p.task_id != task_id]
        self.finish_shot_if_complete(sp)

    # --- local actions -------------------------------------------------------------------

    def local_actions(self) -> None:
        base = self.spec.path.parent
        for sp in self.plan.shots:
            if sp.action == "remove":
                st = self.state.shots.get(sp.id)
                if st is not None and not st.pending:  # a journal is never thrown away
                    del self.state.shots[sp.id]
                continue
            if sp.moved_from and sp.moved_from != sp.id and sp.moved_from in self.state.shots \
                    and sp.id not in self.state.shots:
                # A rename: the whole entry (takes, journal, remembered refusals) follows the id.
                self.state.shots[sp.id] = self.state.shots.pop(sp.moved_from)
            for tp in sp.takes:
                if tp.action == "blocked":
                    self.result.outcomes.append(Outcome(sp.id, tp.take, "failed", f"not retried: {tp.blocked}",
                                                        code="BLOCKED"))
                elif tp.action == "keep":
                    self.result.outcomes.append(Outcome(sp.id, tp.take, "kept", output=tp.output))
                elif tp.action == "move" and tp.source:
                    entry = self.state.shots.get(sp.id)
                    done = entry.take(tp.take) if entry else None
                    if done is None:  # pragma: no cover - plan only moves takes the state lists
                        continue
                    dest = base / tp.output
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(base / tp.source, dest)
                    meta = {"sha256": done.sha256, "bytes": done.bytes, "credits": done.credits,
                            "task_id": done.task_id, "finished": done.finished}
                    self.record_take(sp, tp, meta, done.source)
                    self.save()
                    self.result.outcomes.append(Outcome(sp.id, tp.take, "moved", f"from {tp.source}", tp.output))
                elif tp.action == "restore" and tp.cached:
                    cache_mod.output_restore(tp.cached, base / tp.output)
                    self.record_take(sp, tp, tp.cached, "cache")
                    self.result.outcomes.append(Outcome(sp.id, tp.take, "cached", "restored from cache", tp.output))
        self.save()

    # --- uploads -------------------------------------------------------------------------

    async def upload(self, path: Path) -> str:
        digest = cache_mod.Hasher().sha256(path)
        account = self.client.endpoint.account
        if digest not in self.uploads:
            async def go() -> str:
                hit = cache_mod.upload_get(account, digest)
                if hit:
                    return hit
                self.reporter.note(f"uploading {path.name}")
                uri = await self.client.upload(path)
                cache_mod.upload_put(account, digest, uri)
                return uri

            self.uploads[digest] = asyncio.ensure_future(go())
        return await self.uploads[digest]

    def forget_uploads(self, sp: ShotPlan) -> None:
        """Drop cached upload URIs of this shot's inputs (the API no longer knows them)."""
        assert sp.shot is not None
        for item in sp.shot.request.inputs:
            if item.source == "local":
                digest = cache_mod.Hasher().sha256(resolve_local(item.ref, self.spec.path.parent))
                cache_mod.upload_forget(self.client.endpoint.account, digest)
                self.uploads.pop(digest, None)

    async def wire_body(self, sp: ShotPlan) -> dict[str, Any]:
        assert sp.shot is not None
        body: dict[str, Any] = thaw(sp.shot.request.body)
        for item in sp.shot.request.inputs:
            if item.source == "url":
                # Checked again now, with DNS, failing closed: validation may have run offline.
                why = check_url(item.ref, allowed_hosts=self.spec.allowed_hosts, offline_ok=False)
                if why:
                    raise InputRefused(item.field, why)
            if item.source == "local":
                uri = await self.upload(resolve_local(item.ref, self.spec.path.parent))
                target: Any = body
                for key in item.pointer[:-1]:
                    target = target[key]
                target[item.pointer[-1]] = uri
        return body

    # --- polling and downloading ---------------------------------------------------------

    async def poll(self, shot: str, take: int, task_id: str) -> TaskStatus:
        interval = self.options.poll_interval
        while True:
            status = await self.client.task(task_id)
            self.reporter.update(shot, take, status.status, status.progress)
            if status.status in ("SUCCEEDED", "FAILED", "CANCELLED"):
                return status
            await asyncio.sleep(interval * (0.8 + 0.4 * random.random()))

    async def download(self, sp_id: str, tp: TakePlan, status: TaskStatus) -> dict[str, Any]:
        dest = self.spec.path.parent / tp.output
        dest.parent.mkdir(parents=True, exist_ok=True)
        last: Exception | None = None
        for attempt in range(DOWNLOAD_ATTEMPTS):
            if not status.output:
                raise DownloadError("the task succeeded without an output URL")
            fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=dest.suffix)
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                digest, size, ctype = await self.client.download(status.output[0], tmp,
                                                                 max_bytes=self.options.max_output_bytes)
                problem = await asyncio.to_thread(verify_media, tmp, ctype)
                if problem:
                    raise DownloadError(problem)
                os.chmod(tmp, 0o644)
                os.replace(tmp, dest)
                meta = {"sha256": digest, "bytes": size, "credits": status.credits, "task_id": status.id,
                        "finished": _now()}
                cache_mod.output_put(tp.fingerprint, dest, meta)
                return meta
            except DownloadError as e:
                last = e
                tmp.unlink(missing_ok=True)
                if e.refused:
                    raise
                self.reporter.note(f"{sp_id} take {tp.take}: {e}; retrying")
                if e.expired:
                    status = await self.client.task(status.id)
                await asyncio.sleep(min(2.0, self.options.poll_interval) * (attempt + 1))
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        raise DownloadError(f"could not download the output after {DOWNLOAD_ATTEMPTS} tries: {last}")

    async def finish_task(self, sp: ShotPlan, tp: TakePlan, task_id: str, creates: int) -> Outcome:
        try:
            status = await self.poll(sp.id, tp.take, task_id)
            if status.status == "SUCCEEDED":
                meta = await self.download(sp.id, tp, status)
        except (ApiError, DownloadError) as e:
            return self.task_trouble(sp.id, tp.take, task_id, e, creates)
        if status.status == "SUCCEEDED":
            self.record_take(sp, tp, meta, "api", task_id=task_id)
            self.save()
            self.reporter.update(sp.id, tp.take, "DONE", 1.0)
            self.result.charged_credits += status.credits or 0
            return Outcome(sp.id, tp.take, "done", output=tp.output, credits=status.credits, creates=creates)
        st = self.entry(sp)
        st.pending = [p for p in st.pending if p.task_id != task_id]
        code = status.failure_code or ("CANCELLED" if status.status == "CANCELLED" else "UNKNOWN")
        reason = failure_text(code, status.failure)
        if code.startswith(PERMANENT_PREFIXES):
            # Remembered so that the next apply does not pay for the same refusal again.
            st.failure = {**(st.failure or {}), tp.fingerprint: {"take": tp.take, "code": code, "reason": reason,
                                                                  "at": _now(), "task_id": task_id}}
        self.save()
        return Outcome(sp.id, tp.take, "failed", reason, credits=0, creates=creates, code=code)

    def task_trouble(self, shot_id: str, take: int, task_id: str, e: Exception, creates: int) -> Outcome:
        """A journaled task could not be finished now. It stays in the journal (it is paid
        for) unless the API says it no longer exists."""
        if isinstance(e, ApiError) and e.status == 404:
            st = self.state.shots.get(shot_id)
            if st is not None:
                st.pending = [p for p in st.pending if p.task_id != task_id]
                self.save()
            return Outcome(shot_id, take, "failed", f"task {task_id} no longer exists on the API (deleted or "
                           "expired); it is dropped from the journal", creates=creates, code="GONE")
        return Outcome(shot_id, take, "failed", f"{e}; task {task_id} stays in the journal: run apply again to "
                       "finish it", creates=creates, code="DOWNLOAD" if isinstance(e, DownloadError) else "API")

    # --- creating ------------------------------------------------------------------------

    async def create_take(self, sp: ShotPlan, tp: TakePlan, slots: asyncio.Semaphore) -> Outcome:
        creates = 0
        attempt = 0
        reuploaded = False
        while True:
            attempt += 1
            if self.stop_reason:
                return Outcome(sp.id, tp.take, "not_started", self.stop_reason, creates=creates)
            cost = tp.credits or 0
            async with slots:
                if self.stop_reason:
                    return Outcome(sp.id, tp.take, "not_started", self.stop_reason, creates=creates)
                if self.options.max_credits is not None and self.committed + cost > self.options.max_credits:
                    return Outcome(sp.id, tp.take, "not_started",
                                   f"--max-credits {self.options.max_credits:g} would be exceeded", creates=creates)
                if self.daily_left.get(sp.model, 1) <= 0:
                    return Outcome(sp.id, tp.take, "not_started", f"the daily cap of {sp.model} is reached",
                                   creates=creates)
                try:
                    body = await self.wire_body(sp)
                except InputRefused as e:
                    where = f"{sp.location}: " if sp.location else ""
                    return Outcome(sp.id, tp.take, "failed", f"{where}{e}; nothing was sent", code="REFUSED")
                st = self.entry(sp)
                intent = Pending(tp.take, tp.fingerprint, None, _now(), attempt, tp.credits)
                st.pending.append(intent)
                self.save()
                self.reporter.update(sp.id, tp.take, "CREATING")
                try:
                    task_id, _ = await self.client.create(sp.shot.request.endpoint if sp.shot else "", body)
                except ApiError as e:
                    if e.maybe_created:
                        self.result.notes.append(f"{sp.id} take {tp.take}: {e}")
                        return Outcome(sp.id, tp.take, "unknown",
                                       f"{e}: the task may have been created; check the dashboard, then run apply "
                                       "with --recreate-unknown to create it again", creates=creates + 1)
                    st.pending.remove(intent)
                    self.save()
                    if e.status == 400 and not reuploaded and e.mentions_upload():
                        reuploaded = True
                        attempt -= 1
                        self.forget_uploads(sp)  # an expired or foreign upload: upload again, once
                        self.reporter.note(f"{sp.id} take {tp.take}: an upload was not accepted; uploading again")
                        continue
                    if e.rate_limited:
                        self.stop_reason = f"not started: the API said 429 ({e})"
                        return Outcome(sp.id, tp.take, "not_started", self.stop_reason, creates=creates)
                    return Outcome(sp.id, tp.take, "failed", issues_text(e, sp), creates=creates, code="REJECTED")
                creates += 1
                self.result.creates += 1
                self.committed += cost
                if sp.model in self.daily_left:
                    self.daily_left[sp.model] -= 1
                intent.task_id = task_id
                self.save()
                outcome = await self.finish_task(sp, tp, task_id, creates)
            if outcome.status == "failed" and outcome.code and outcome.code.startswith(RETRYABLE_PREFIXES) \
                    and attempt <= self.options.retries and not self.stop_reason:
                self.reporter.note(f"{sp.id} take {tp.take}: {outcome.reason}; creating it again "
                                   f"(retry {attempt} of {self.options.retries})")
                continue
            return outcome

    async def resume(self, sp: ShotPlan | None, shot_id: str, pending: Pending) -> Outcome:
        """Finish a journaled task instead of creating it again."""
        assert pending.task_id is not None
        tp = next((t for t in sp.takes if t.fingerprint == pending.fingerprint and t.action == "resume"), None) \
            if sp else None
        if sp is not None and tp is not None:
            return await self.finish_task(sp, tp, pending.task_id, 0)
        # An older version of the shot, a removed shot, or a take created anew (--replace):
        # finish the paid task into the cache, so nothing is lost, and leave the files alone.
        try:
            status = await self.poll(shot_id, pending.take, pending.task_id)
            if status.status == "SUCCEEDED":
                folder = Path(tempfile.mkdtemp(prefix="runner-"))
                try:
                    side = TakePlan(pending.take, pending.fingerprint, "resume", str(folder / "out.mp4"))
                    await self.download(shot_id, side, status)
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
                self.result.charged_credits += status.credits or 0
        except (ApiError, DownloadError) as e:
            return self.task_trouble(shot_id, pending.take, pending.task_id, e, 0)
        st = self.state.shots.get(shot_id)
        if st:
            st.pending = [p for p in st.pending if p.task_id != pending.task_id]
            self.save()
        return Outcome(shot_id, pending.take, "kept", f"finished journaled task {pending.task_id} ({status.status}) "
                       "of an earlier version; its output is in the cache", credits=status.credits)

    async def run(self) -> ApplyResult:
        self.local_actions()
        jobs: list[Awaitable[Outcome]] = []
        recreate: set[str] = set()
        in_spec = {s.id for s in self.spec.shots}
        for shot_id, st in list(self.state.shots.items()):
            if shot_id in in_spec and shot_id not in self.shot_plans:
                continue  # not selected this time: its journal waits for an apply that selects it
            for p in list(st.pending):
                if p.task_id:
                    jobs.append(self.resume(self.shot_plans.get(shot_id), shot_id, p))
                elif self.options.recreate_unknown and shot_id in self.shot_plans:
                    st.pending.remove(p)
                    recreate.add(p.fingerprint)
                else:
                    self.result.outcomes.append(Outcome(
                        shot_id, p.take, "unknown",
                        f"a create started at {p.created} may have been created; check the dashboard, then run "
                        "apply with --recreate-unknown to create it again"))
        self.save()
        creates = [(sp, tp) for sp in self.plan.shots for tp in sp.takes
                   if tp.action == "create" or (tp.action == "resume" and tp.fingerprint in recreate)]
        creates = self.refuse_bad_urls(creates)
        if creates:
            await self.check_account(creates)
        slots = await self.slots({sp.model for sp, _ in creates})
        for sp, tp in creates:
            jobs.append(self.create_take(sp, tp, slots[sp.model]))
        for outcome in await asyncio.gather(*jobs):
            self.result.outcomes.append(outcome)
        for sp in self.plan.shots:
            self.finish_shot_if_complete(sp)
        self.save()
        return self.result

    def refuse_bad_urls(self, creates: list[tuple[ShotPlan, TakePlan]]) -> list[tuple[ShotPlan, TakePlan]]:
        """Check every remote input with DNS before the first request; drop refused shots."""
        kept = []
        for sp, tp in creates:
            problems = [f"{item.field}: {why}" for item in (sp.shot.request.inputs if sp.shot else ())
                        if item.source == "url"
                        for why in [check_url(item.ref, allowed_hosts=self.spec.allowed_hosts, offline_ok=False)]
                        if why]
            if problems:
                where = f"{sp.location}: " if sp.location else ""
                self.result.outcomes.append(Outcome(sp.id, tp.take, "failed", f"{where}{problems[0]}; nothing was sent",
                                                    code="REFUSED"))
            else:
                kept.append((sp, tp))
        return kept

    def interrupt(self) -> None:
        """First Ctrl-C: no new creates; tasks in flight are still polled and downloaded."""
        self.stop_reason = "not started: interrupted"

    async def check_account(self, creates: list[tuple[ShotPlan, TakePlan]]) -> None:
        org = await self.client.organization()
        needed = sum(tp.credits or 0 for _, tp in creates)
        if org.balance < needed:
            raise ApiError(f"the account has {org.balance} credits; this apply needs {needed}. "
                           "Top up, or --select fewer shots")
        per_model: dict[str, int] = {}
        for sp, _ in creates:
            per_model[sp.model] = per_model.get(sp.model, 0) + 1
        for model, n in per_model.items():
            cap = (org.tiers.get(model) or {}).get("daily")
            used = org.daily_used.get(model, 0)
            if cap is not None:
                self.daily_left[model] = cap - used
            if cap is not None and used + n > cap:
                self.reporter.note(f"warning: {model}: {n} generations planned, {cap - used} left today "
                                   f"(daily cap {cap}); the rest will not be started")
        self.org = org

    async def slots(self, models: set[str]) -> dict[str, asyncio.Semaphore]:
        org = self.org
        out = {}
        for model in models:
            tier = (org.tiers.get(model) or {}).get("concurrency") if org else None
            out[model] = asyncio.Semaphore(max(1, min(self.options.parallelism, tier or self.options.parallelism)))
        return out


async def apply_plan(plan: Plan, client: Client, options: ApplyOptions,
                     reporter: Reporter | None = None) -> ApplyResult:
    """Carry ``plan`` out with ``client``. The caller holds the spec's lock."""
    engine = Engine(plan, client, options, reporter or SilentReporter())
    started = time.monotonic()
    result = await engine.run()
    result.notes.append(f"took {time.monotonic() - started:.1f} s")
    return result

