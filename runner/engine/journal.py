"""The apply journal: the engine's own copy of the state, and every change apply makes to it.

The rule that makes apply resumable and never pay twice: before each create, an *intent*
(take, fingerprint, no task id) is durable in the state (a line of the local journal, or a
store's journal step); right after the create returns, its *task id* is; only then is the
task polled. A crashed apply finds the task id
and polls it instead of creating again; an intent without a task id is reported as "may
have been created", never created again silently.

Writes happen off the event loop. Every change bumps a version and names the shot it
touched; ``flush()`` returns once a step that includes the caller's change is on disk. Steps
are taken on the loop (so they are consistent) from the shots changed since the last one —
never a pass over the whole campaign — and written by a worker thread; flushes that arrive
while a write is in flight share the next one, and a write never replaces a newer snapshot
with an older.

A shared store that cannot be written (an outage outlasting obstore's retries) does not end
apply: ``flush`` keeps what it could not write queued (the store's journal steps go out in order
with the next write that succeeds), sets ``unwritten``, and the create step sends no create
whose intent is not durable. Tasks already created are still polled and downloaded, so a store
that comes back before apply ends loses nothing; ``save_now`` at the end says what is not yet
recorded when it does not.

A store that refuses a write because this apply lost its lock (``LockLost``: its lease lapsed
while it was paused, and another apply took over) is different: nothing more is written there,
ever, in this apply. No new create is sent; the state is kept on this machine after every
change from then on (``Place.keep_unsaved``), and ``save_now`` at the end raises the LockLost
saying where it is and to run apply again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from runner.errors import LockLost, StoreError
from runner.inputs.paths import OutputLayout, display_path
from runner.planner import ShotPlan, TakePlan
from runner.spec import thaw
from runner.store.place import Place
from runner.store.state import Pending, ShotState, State, Take

_STORE_PAUSE = 5.0
"""Seconds between attempts to write a store that failed, so each flush does not wait out obstore's retries."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Journal:
    """Owns apply's copy of the state (the plan's stays as it was planned)."""

    def __init__(self, state: State, place: Place | None = None) -> None:
        self.state = state.copy()
        self.place = place or Place(state.path, state.path)
        self._version = 0
        self._dirty: set[str] = set()  # shots changed since the last step was taken
        self._on_disk = -1 if not state.exists else 0
        self._flushing = asyncio.Lock()
        self._writing = threading.Lock()
        self.unwritten: StoreError | None = None
        """Why the last write to the store failed (None once a write succeeds again)."""
        self.lost: LockLost | None = None
        """Set when the store refused a write because the lock is no longer ours: no more writes there."""
        self._retry_at = 0.0

    # --- reading --------------------------------------------------------------------------

    def get(self, shot_id: str) -> ShotState | None:
        return self.state.shots.get(shot_id)

    def items(self) -> list[tuple[str, ShotState]]:
        return list(self.state.shots.items())

    # --- changes --------------------------------------------------------------------------

    def _changed(self, shot_id: str) -> None:
        self._version += 1
        self._dirty.add(shot_id)

    def entry(self, sp: ShotPlan) -> ShotState:
        st = self.state.shots.get(sp.id)
        if st is None:
            st = ShotState(sp.fingerprint, sp.model, sp.mode, thaw(sp.canonical))
            self.state.shots[sp.id] = st
            self._changed(sp.id)
        return st

    def rename(self, old: str, new: str, layout: OutputLayout | None = None) -> None:
        """A moved shot: its whole entry (takes, journal, remembered refusals) follows the id, and
        with ``layout`` each take names its file in the new shot folder (where the caller moved
        it, or where the next plan restores it from): a state never says that a shot's take
        lives in another shot's folder (``OutputLayout.problem`` would refuse it)."""
        entry = self.state.shots.pop(old)
        if layout is not None:
            head, to = f"{layout.prefix}{old}/", f"{layout.prefix}{new}/"
            entry.takes = [dataclasses.replace(t, output=to + t.output.removeprefix(head))
                           if t.output.startswith(head) else t for t in entry.takes]
        self.state.shots[new] = entry
        self._changed(old)
        self._changed(new)

    def remove(self, shot_id: str) -> None:
        """Forget a shot removed from the spec, unless its journal still holds tasks."""
        st = self.state.shots.get(shot_id)
        if st is not None and not st.pending:
            del self.state.shots[shot_id]
            self._changed(shot_id)

    def record_take(self, sp: ShotPlan, tp: TakePlan, meta: Mapping[str, Any], source: str,
                    task_id: str | None = None) -> None:
        """A take's file is in place and verified: record it (and drop its journal entry)."""
        st = self.entry(sp)
        st.takes = [t for t in st.takes if t.take != tp.take]
        if st.failure and tp.fingerprint in st.failure:  # a retry that worked: the failure is history
            st.failure = {fp: f for fp, f in st.failure.items() if fp != tp.fingerprint} or None
        st.takes.append(Take(take=tp.take, fingerprint=tp.fingerprint, output=tp.output, sha256=meta["sha256"],
                             bytes=meta["bytes"], credits=meta.get("credits"), task_id=meta.get("task_id"),
                             finished=meta.get("finished") or now(), source=source,
                             credits_from=meta.get("credits_from")))
        if task_id is not None:  # only this task's entry: another one may be in flight
            st.pending = [p for p in st.pending if p.task_id != task_id]
        self.finish_shot_if_complete(sp)
        self._changed(sp.id)

    def finish_shot_if_complete(self, sp: ShotPlan) -> None:
        """When every take of the plan is recorded, the shot's request becomes the new baseline."""
        st = self.state.shots.get(sp.id)
        if st is None:
            return
        wanted = {t.take: t.fingerprint for t in sp.takes}
        have = {t.take: t.fingerprint for t in st.takes}
        before = (st.fingerprint, st.model, st.mode, st.failure)
        if all(have.get(n) == fp for n, fp in wanted.items()):
            st.fingerprint, st.model, st.mode, st.request = sp.fingerprint, sp.model, sp.mode, thaw(sp.canonical)
            st.failure = None
        elif st.failure:
            current = set(wanted.values())
            st.failure = {fp: f for fp, f in st.failure.items() if fp in current} or None
        if (st.fingerprint, st.model, st.mode, st.failure) != before:  # apply calls this for every shot at the end
            self._changed(sp.id)

    def forget_take(self, shot_id: str, take: int) -> None:
        """A recorded take whose file is gone everywhere, its task included: the next plan
        counts a new generation for it."""
        st = self.state.shots.get(shot_id)
        if st is not None and st.take(take) is not None:
            st.takes = [t for t in st.takes if t.take != take]
            self._changed(shot_id)

    def add_intent(self, sp: ShotPlan, tp: TakePlan, attempt: int) -> Pending:
        intent = Pending(tp.take, tp.fingerprint, None, now(), attempt, tp.credits)
        self.entry(sp).pending.append(intent)
        self._changed(sp.id)
        return intent

    def set_task_id(self, shot_id: str, intent: Pending, task_id: str) -> None:
        intent.task_id = task_id
        self._changed(shot_id)

    def drop_intent(self, shot_id: str, intent: Pending) -> None:
        """Forget an intent whose create surely did not happen (the API refused it)."""
        st = self.state.shots.get(shot_id)
        if st is not None and intent in st.pending:
            st.pending.remove(intent)
            self._changed(shot_id)

    def drop_unknown_intents(self, shot_id: str, fingerprint: str) -> None:
        """Forget the intents without a task id of a take whose output is in place after all."""
        st = self.state.shots.get(shot_id)
        if st is not None and any(p.fingerprint == fingerprint and p.task_id is None for p in st.pending):
            st.pending = [p for p in st.pending if p.fingerprint != fingerprint or p.task_id is not None]
            self._changed(shot_id)

    def drop_task(self, shot_id: str, task_id: str) -> None:
        """Forget a journaled task (finished, failed, cancelled or gone from the API)."""
        st = self.state.shots.get(shot_id)
        if st is not None:
            st.pending = [p for p in st.pending if p.task_id != task_id]
            self._changed(shot_id)

    def remember_refusal(self, sp: ShotPlan, tp: TakePlan, *, code: str, reason: str, task_id: str | None) -> None:
        """A failed take (a failed task, or a create the API refused: no task id), for plan and
        report to show; a SAFETY/ASSET refusal also keeps the next apply from paying for it again."""
        st = self.entry(sp)
        # Cut to the state schema's limits: an API's words must never make the state file unreadable.
        st.failure = {**(st.failure or {}), tp.fingerprint: {"take": tp.take, "code": code[:200],
                                                              "reason": reason[:10_000], "at": now(),
                                                              "task_id": task_id}}
        self._changed(sp.id)

    # --- writing --------------------------------------------------------------------------

    async def flush(self) -> None:
        """Return once every change made before this call is durable on disk."""
        wanted = self._version
        async with self._flushing:
            if self._on_disk >= wanted:
                return  # a write that started after our change covered it
            if self.lost is not None:
                version, state = self._version, self.state.copy()
                await asyncio.to_thread(self._keep, version, state)
                return
            version, write = self._version, self._prepare(final=False)
            if self.unwritten is not None and time.monotonic() < self._retry_at:
                return  # the store just failed (after obstore's retries): the change waits in the queue
            try:
                await asyncio.to_thread(self._write, version, write)
            except StoreError as e:
                self.unwritten, self._retry_at = e, time.monotonic() + _STORE_PAUSE
                return
            except LockLost as e:
                self.lost = e
                version, state = self._version, self.state.copy()
                await asyncio.to_thread(self._keep, version, state)
                return
            self.unwritten = None

    def save_now(self, *, final: bool = False) -> None:
        """Write the current state from outside the event loop (start, end, interrupt); ``final``
        also folds a store's journal steps into its snapshot."""
        try:
            if self.lost is None:
                # final: even when every change is on disk, so that a store's steps are folded into its snapshot
                self._write(self._version, self._prepare(final=final), force=final)
        except StoreError as e:
            raise StoreError(e.url, f"{e.detail.rstrip('.')}. {self._unrecorded()}", key=e.key) from None
        except LockLost as e:
            self.lost = e
        if self.lost is not None:
            kept = self.place.keep_unsaved(self.state)
            raise LockLost(f"{str(self.lost).rstrip('.')}. Nothing was written over the other apply's work; what "
                           f"this apply did is kept on this machine ({display_path(kept)}, its outputs and the "
                           "cache): run apply again here, and it adds to the store what only this machine "
                           "knows") from None
        self.unwritten = None

    def _prepare(self, *, final: bool) -> Callable[[], None]:
        changed, self._dirty = self._dirty, set()
        return self.place.prepare_save(self.state, final=final, changed=changed)

    def _unrecorded(self) -> str:
        """What this apply did that the store does not know, for the error that ends it."""
        running = sorted(p.task_id for _, st in self.items() for p in st.pending if p.task_id)
        what = ("The store's journal of this apply is incomplete: outputs downloaded meanwhile are on this "
                "machine only (output folder and cache)")
        if running:
            shown = ", ".join(running[:20]) + (f" and {len(running) - 20} more" if len(running) > 20 else "")
            what += f"; tasks still running, not recorded in the store: {shown}"
        return what + "; when the store is reachable, run apply again (and `runner push` for the outputs)"

    def _keep(self, version: int, state: State) -> None:
        """After the lock was lost: keep ``state`` (a copy taken at ``version``) on this machine."""
        with self._writing:
            if version > self._on_disk:
                self.place.keep_unsaved(state)
                self._on_disk = version

    def _write(self, version: int, write: Callable[[], None], *, force: bool = False) -> None:
        with self._writing:
            if version <= self._on_disk and not force:
                return  # a newer snapshot is already on disk
            write()
            self._on_disk = max(version, self._on_disk)
