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

A holder can be paused past its lease (SIGSTOP, a laptop asleep) and go on as if nothing had
happened; meanwhile another apply may have taken the lock over and written the state. So every
write of the state first calls ``Lease.ensure``: when less than a third of the lease is left by
the holder's own clock (a renewal is late: the process did not run), it renews at once, and a
renewal that finds the lock taken over is ``LockLost`` before anything is written. The writes
themselves are conditional too (``store.shared``), for a pause that falls between the check and
the write.

A lock object is untrusted input like every store object: one that is not exactly what
``Holder.to_json`` writes (numbers out of range, NaN, booleans, strings, an id that is not an id)
is *corrupt*: it is taken over like a free lock, and ``runner state unlock`` clears it.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import math
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

from runner.bounded import LOCK_BYTES, parse_json
from runner.errors import LockHeld, LockLost, StoreError
from runner.store.documents import shown
from runner.store.objects import Objects, Version, env_seconds

LEASE_SECONDS = 300.0
"""How long a lock stays taken without renewal; apply renews it every third of that."""

LEASE_ENV = "RUNNER_LOCK_LEASE_SECONDS"

_POLL_SECONDS = 2.0

_LOCK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")
_LATEST = 4102444800.0
"""2100-01-01: no lock runner writes was taken or expires later (a larger time would not even print)."""
_MAX_PID = 2**32


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
        """Who, where, since when: one line whatever the lock object holds (a planted newline or
        escape sequence in ``host`` must not forge lines in a CI log)."""
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.taken))
        where = f"{_plain(self.user)} on {_plain(self.host)}, pid {self.pid}, since {when}"
        return f"{where}, {_plain(self.ci_run)}" if self.ci_run else where

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


def _plain(text: str) -> str:
    """``text`` as written when it is printable, else escaped and quoted (``documents.shown``)."""
    return text if text.isprintable() else shown(text, limit=200)


def _time(value: Any) -> float | None:
    """A time a lock object holds: a finite number of seconds from 1970 up to 2100, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value) if not isinstance(value, int) or abs(value) < 2**63 else math.inf
    return number if math.isfinite(number) and 0 <= number <= _LATEST else None


def _text(value: Any, limit: int, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def parse_holder(data: bytes) -> Holder | None:
    """The holder in a lock object, or None when the object is not one (it is then *corrupt*:
    treated as free to take over, since a lock object is ours to write and a broken one must not
    block forever, and cleared by ``force_unlock`` whatever lock id is given).

    Only what ``Holder.to_json`` writes passes: text fields are strings, ``pid`` a whole number
    (not a boolean) from 1 to 2^32, ``taken`` and ``expires`` finite times up to 2100, ``id`` an
    id that can be typed back (``runner state unlock ID``). Anything else (1e400, NaN, ±1e300,
    huge integers, ``true``, ``"5"``) would overflow or poison a comparison further on.
    """
    try:
        raw: Any = parse_json(data) if len(data) <= LOCK_BYTES else None  # too big: not a lock of ours
    except ValueError:  # not JSON, not UTF-8, nested too deeply (runner.bounded.parse_json)
        return None
    if not isinstance(raw, dict):
        return None
    lock_id, user, host = _text(raw.get("id"), 64), _text(raw.get("user"), 100), _text(raw.get("host"), 200)
    ci_run = _text(raw.get("ci_run") or None, 500, optional=True)
    pid, taken, expires, released = raw.get("pid"), _time(raw.get("taken")), _time(raw.get("expires")), \
        raw.get("released", False)
    if lock_id is None or not _LOCK_ID.fullmatch(lock_id) or user is None or host is None or \
            (raw.get("ci_run") and ci_run is None) or taken is None or expires is None or \
            isinstance(pid, bool) or not isinstance(pid, int) or not 0 < pid <= _MAX_PID or \
            not isinstance(released, bool):
        return None
    return Holder(id=lock_id, user=user, host=host, pid=pid, ci_run=ci_run, taken=taken, expires=expires,
                  released=released)


class Lease:
    """A lock we hold. ``renew`` keeps it; ``ensure`` checks it before a write; ``release`` gives it back.
    The renewal thread and the writers share it (``_renewing`` orders their renewals)."""

    def __init__(self, objects: Objects, key: str, holder: Holder, etag: str, lease: float) -> None:
        self.objects = objects
        self.key = key
        self.holder = holder
        self._etag = etag
        self.seconds = lease
        self.lost: LockLost | None = None
        """Set once a renewal found the lock taken over: from then on every check raises it."""
        self._renewing = threading.Lock()

    @property
    def lock_id(self) -> str:
        return self.holder.id

    def renew(self) -> None:
        """Push the expiry forward; LockLost when somebody took the lock over meanwhile."""
        with self._renewing:
            if self.lost is not None:
                raise self.lost
            holder = replace(self.holder, expires=time.time() + self.seconds)
            etag = self.objects.replace(self.key, holder.to_json(), self._etag)
            if etag is None:
                self.lost = LockLost(
                    f"the lock {self.key} in {self.objects.url} was taken over while this apply held it (its lease "
                    f"of {self.seconds:g} s ran out: the process was paused or the machine slept, or it was "
                    "force-unlocked); stopping before any new create or write to the store")
                raise self.lost
            self.holder, self._etag = holder, etag

    def ensure(self) -> None:
        """Call right before a write of the state: LockLost when the lock is no longer ours.

        Costs nothing while the lease has more than a third left by this machine's clock (the
        renewal thread keeps it at two thirds or more). Less than that means the renewals did
        not run — the process was paused (SIGSTOP, a machine asleep) — and somebody may have
        taken the lock over meanwhile: renew now, and write only when that works. A StoreError
        of that renewal (an outage) propagates: the write waits like any write to a store that
        is down."""
        if self.lost is not None:
            raise self.lost
        if time.time() < self.holder.expires - self.seconds / 3:
            return
        self.renew()

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


def force_unlock(objects: Objects, key: str, lock_id: str) -> Holder | None:
    """Free a lock whose holder died, like ``terraform force-unlock``: only when ``lock_id``
    names the current holder, so a typo or a stale id cannot free somebody else's lock.

    A corrupt lock object (see ``parse_holder``) has no holder whose id could be checked: it is
    replaced by a released lock whatever ``lock_id`` says, and None is returned."""
    current = objects.read(key)
    holder = parse_holder(current.data) if current is not None else None
    if current is not None and holder is None:
        cleared = replace(new_holder(0.0), released=True)
        if objects.replace(key, cleared.to_json(), current.etag) is None:
            raise StoreError(objects.url, "the lock changed while unlocking; look again", key=key)
        return None
    if holder is None or current is None or holder.released or holder.expires < time.time():
        raise StoreError(objects.url, "nothing to unlock: the lock is free", key=key)
    if holder.id != lock_id:
        raise StoreError(objects.url, f"lock id {shown(lock_id, limit=70)} does not match the holder's "
                         f"({holder.id}, {holder.describe()}); nothing was changed", key=key)
    if objects.replace(key, replace(holder, released=True).to_json(), current.etag) is None:
        raise StoreError(objects.url, "the lock changed while unlocking; look again", key=key)
    return holder


@contextlib.contextmanager
def kept(lease: Lease) -> Iterator[Callable[[], None]]:
    """Renew ``lease`` every third of its length in a background thread while the block runs,
    and release it after. Yields a check that raises LockLost once a renewal found the lock
    taken over: call it before anything that costs money."""
    stop = threading.Event()

    def renew_until_stopped() -> None:
        while not stop.wait(lease.seconds / 3):
            try:
                lease.renew()
            except LockLost:
                return
            except StoreError:
                continue  # the store is unreachable for now: the lease still has two thirds left

    def check() -> None:
        if lease.lost is not None:
            raise lease.lost

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
        if lease.lost is None:
            try:
                lease.release()
            except StoreError:
                if not failed:  # the error that ended the block says more (often: the same outage)
                    raise
