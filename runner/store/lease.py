"""The apply lock of a store, made of conditional writes so that it holds across machines.

One object per locked thing (``locks/<name>.json``) says who holds it and until when. Taking it
is a create-if-absent; when it exists, a released or expired lock is taken over with a replace
on the ETag that was read, so of two machines that race exactly one wins. The holder renews the
lease while it works (a replace on its own ETag); when a renewal finds the object changed, the
lock was taken over (the lease ran out, or someone ran ``runner state unlock``) and the holder
must stop paying for anything. Releasing writes ``released: true`` on the same ETag, never a
blind delete, so a late release cannot free somebody else's lock.

Expiry compares the holder's own clock (``expires``) with the reader's: leases are minutes
long and renewed often, so clocks that disagree by seconds do not matter.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

from runner.bounded import LOCK_BYTES, parse_json
from runner.errors import LockHeld, LockLost, StoreError
from runner.store.objects import Objects, Version, env_seconds

LEASE_SECONDS = 300.0
"""How long a lock stays taken without renewal; apply renews it every third of that."""

LEASE_ENV = "RUNNER_LOCK_LEASE_SECONDS"

_POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: what ``runner state unlock`` and the "another apply is running" message show."""

    id: str
    user: str
    host: str
    pid: int
    ci_run: str | None
    taken: float
    expires: float
    released: bool = False

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.taken))
        where = f"{self.user} on {self.host}, pid {self.pid}, since {when}"
        return f"{where}, {self.ci_run}" if self.ci_run else where

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()


def ci_run_url(env: dict[str, str] | None = None) -> str | None:
    """The URL of the CI run we are part of, when the CI says (GitHub Actions, GitLab CI)."""
    env = dict(os.environ) if env is None else env
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return env.get("CI_JOB_URL") or None


def lease_seconds(store: str, env: dict[str, str] | None = None) -> float:
    """The lease length: ``RUNNER_LOCK_LEASE_SECONDS`` (1 to 86400), else 300 s. A short lease
    frees a dead holder's lock sooner, at the price of more renewals (every third of it)."""
    return env_seconds(store, LEASE_ENV, LEASE_SECONDS, 1, 86400, env)


def new_holder(lease: float = LEASE_SECONDS, now: float | None = None) -> Holder:
    now = time.time() if now is None else now
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown user"
    return Holder(id=str(uuid.uuid4()), user=user, host=socket.gethostname(), pid=os.getpid(),
                  ci_run=ci_run_url(), taken=now, expires=now + lease)


def parse_holder(data: bytes) -> Holder | None:
    """The holder in a lock object, or None when the object is not one (it is then treated as
    free to take over: a lock object is ours to write, and a broken one must not block forever)."""
    try:
        raw: Any = parse_json(data) if len(data) <= LOCK_BYTES else None  # too big: not a lock of ours
        holder = Holder(id=str(raw["id"]), user=str(raw["user"])[:100], host=str(raw["host"])[:200],
                        pid=int(raw["pid"]), ci_run=(str(raw["ci_run"])[:500] if raw.get("ci_run") else None),
                        taken=float(raw["taken"]), expires=float(raw["expires"]),
                        released=bool(raw.get("released", False)))
    except (ValueError, TypeError, KeyError):
        return None
    return holder


class Lease:
    """A lock we hold. ``renew`` keeps it; ``release`` gives it back."""

    def __init__(self, objects: Objects, key: str, holder: Holder, etag: str, lease: float) -> None:
        self.objects = objects
        self.key = key
        self.holder = holder
        self._etag = etag
        self.seconds = lease

    @property
    def lock_id(self) -> str:
        return self.holder.id

    def renew(self) -> None:
        """Push the expiry forward; LockLost when somebody took the lock over meanwhile."""
        holder = replace(self.holder, expires=time.time() + self.seconds)
        etag = self.objects.replace(self.key, holder.to_json(), self._etag)
        if etag is None:
            raise LockLost(f"the lock {self.key} in {self.objects.url} was taken over while this apply held it "
                           "(its lease ran out, or it was force-unlocked); stopping before any new create")
        self.holder, self._etag = holder, etag

    def release(self) -> None:
        """Mark the lock free, if it is still ours (a lock taken over is left to its new holder)."""
        released = replace(self.holder, released=True)
        try:
            self.objects.replace(self.key, released.to_json(), self._etag)
        except StoreError as e:
            raise StoreError(e.url, f"{e.detail.rstrip('.')}; the lock was not released: it is free when its lease "
                             f"runs out ({self.seconds:g} s), or at once with: runner state unlock {self.lock_id}",
                             key=e.key) from None


def acquire(objects: Objects, key: str, what: str, *, timeout: float = 0.0, lease: float = LEASE_SECONDS,
            sleep: Callable[[float], None] = time.sleep) -> Lease:
    """Take the lock ``key``: at once when free, released or expired; else wait up to ``timeout``
    seconds (0 = refuse at once), then LockHeld naming the holder and the lock id."""
    deadline = time.monotonic() + timeout
    while True:
        holder = new_holder(lease)
        etag = objects.create(key, holder.to_json())
        if etag is not None:
            return Lease(objects, key, holder, etag, lease)
        current = objects.read(key)
        if current is None:
            continue  # released and deleted between our create and read: try again
        other = parse_holder(current.data)
        if other is None or other.released or other.expires < time.time():
            etag = objects.replace(key, holder.to_json(), current.etag)
            if etag is not None:
                return Lease(objects, key, holder, etag, lease)
            continue  # somebody else took it over first: look again
        if time.monotonic() >= deadline:
            raise LockHeld(what, other.describe(), other.id)
        sleep(min(_POLL_SECONDS, max(0.05, deadline - time.monotonic())))


def holder_of(objects: Objects, key: str) -> tuple[Holder | None, Version | None]:
    """Who holds ``key`` now (None when free), with the object as read."""
    current = objects.read(key)
    if current is None:
        return None, None
    holder = parse_holder(current.data)
    if holder is None or holder.released or holder.expires < time.time():
        return None, current
    return holder, current


def force_unlock(objects: Objects, key: str, lock_id: str) -> Holder:
    """Free a lock whose holder died, like ``terraform force-unlock``: only when ``lock_id``
    names the current holder, so a typo or a stale id cannot free somebody else's lock."""
    holder, current = holder_of(objects, key)
    if holder is None or current is None:
        raise StoreError(objects.url, "nothing to unlock: the lock is free", key=key)
    if holder.id != lock_id:
        raise StoreError(objects.url, f"lock id {lock_id[:64]} does not match the holder's ({holder.id}, "
                         f"{holder.describe()}); nothing was changed", key=key)
    if objects.replace(key, replace(holder, released=True).to_json(), current.etag) is None:
        raise StoreError(objects.url, "the lock changed while unlocking; look again", key=key)
    return holder


@contextlib.contextmanager
def kept(lease: Lease) -> Iterator[Callable[[], None]]:
    """Renew ``lease`` every third of its length in a background thread while the block runs,
    and release it after. Yields a check that raises LockLost once a renewal found the lock
    taken over: call it before anything that costs money."""
    stop = threading.Event()
    lost: list[BaseException] = []

    def renew_until_stopped() -> None:
        while not stop.wait(lease.seconds / 3):
            try:
                lease.renew()
            except LockLost as err:
                lost.append(err)
                return
            except StoreError:
                continue  # the store is unreachable for now: the lease still has two thirds left

    def check() -> None:
        if lost:
            raise lost[0]

    thread = threading.Thread(target=renew_until_stopped, name="runner-lease", daemon=True)
    thread.start()
    failed = False
    try:
        yield check
    except BaseException:
        failed = True
        raise
    finally:
        stop.set()
        thread.join()
        if not lost:
            try:
                lease.release()
            except StoreError:
                if not failed:  # the error that ended the block says more (often: the same outage)
                    raise
