"""Where one spec's state, journal, lock and outputs are kept.

The local default keeps today's files: ``<spec>.state.json`` beside the spec (with its journal
``<spec>.state.journal`` while an apply runs, see ``store.local``), a lock file beside it,
outputs only in output_dir (and the machine's cache). A *store* — a folder or a bucket named
by ``--store``, else ``RUNNER_STORE``, else the spec's ``store:`` — keeps the state as a
snapshot plus journal steps, the lock as a lease made of conditional writes, and every output
by content, so another machine with a fresh checkout and an empty cache plans 0 credits for
what was ever applied and restores the files from the store.

An apply that lost the store's lock (``LockLost``: paused past its lease while another apply
took over) writes nothing more to the store; what it holds is kept on this machine instead, in
``<spec>.state.unsaved.json`` beside the spec (``keep_unsaved``), besides its outputs and the
cache. The next load on this machine adds to the store's state what only that file knows
(``state.merge_unsaved``: takes and task ids, so nothing paid is paid again), and the next apply
that writes the store in full removes the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from runner.bounded import ENTRY_BYTES, parse_json
from runner.errors import LockLost, StoreError
from runner.inputs.paths import BUCKET_SCHEMES, OutputLayout
from runner.store import blobs, lease
from runner.store.local import LocalState
from runner.store.lock import spec_lock
from runner.store.objects import Objects, open_store
from runner.store.shared import SharedState, spec_key
from runner.store.state import State, load_state, merge_unsaved, save_state, state_path
from runner.store.steps import state_digest

STORE_ENV = "RUNNER_STORE"
_TOKEN = re.compile(r"[0-9a-f]{16,64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_RUNWAY_URI = re.compile(r"runway://[\x21-\x7e]{1,2000}")


def store_url(option: str | None, spec_store: str | None, env: dict[str, str] | None = None) -> str | None:
    """The store to use: ``--store`` > ``RUNNER_STORE`` > the spec's ``store:`` > None (the local default)."""
    env = dict(os.environ) if env is None else env
    return option or env.get(STORE_ENV) or spec_store or None


def store_identity(url: str | None) -> str | None:
    """The store ``url`` names, comparable however it is spelled: a bucket URL without trailing
    slashes; a folder (``file://`` or not) as an absolute path (relative ones from the working
    folder, as ``open_store`` takes them) with symlinks followed; None for the local default."""
    if not url:
        return None
    if url.startswith(BUCKET_SCHEMES) or ("://" in url and not url.startswith("file://")):
        return url.rstrip("/")
    try:
        return str((Path.cwd() / url.removeprefix("file://")).resolve())
    except (ValueError, OSError, RuntimeError):
        return url


@dataclass
class Place:
    """A spec's home for state, lock and outputs (the local default when ``shared`` is None)."""

    spec_path: Path
    state_file: Path
    url: str | None = None
    objects: Objects | None = None
    shared: SharedState | None = None
    _blobs: set[str] | None = field(default=None, repr=False)
    local: LocalState | None = field(default=None, repr=False)
    layout: OutputLayout | None = None
    """The spec's output layout: every take's file read back must be the one runner derives for it."""
    _unsaved_read: bool = field(default=False, repr=False)  # the load read a kept file (removed once written)

    def __post_init__(self) -> None:
        if self.shared is None and self.local is None:
            self.local = LocalState(self.state_file)

    @property
    def describe(self) -> str:
        return f"{self.url} ({self.shared.prefix})" if self.url and self.shared else str(self.state_file)

    # --- state ------------------------------------------------------------------------------

    def load_state(self) -> State:
        """The spec's state. A store that has none yet starts from the local state file, when
        there is one; reading never writes (a pull request's plan may hold read-only
        credentials): the first apply that changes anything writes it all to the store."""
        if self.shared is None:
            return load_state(self.state_file, layout=self.layout)
        state = self.shared.load(State(self.state_file))
        if not state.shots and self.state_file.is_file():
            local = load_state(self.state_file, layout=self.layout)
            state.shots, state.exists = local.shots, True
            self.shared.adopt()
        kept = self.unsaved_file
        self._unsaved_read = kept.is_file()
        if self._unsaved_read and merge_unsaved(state, load_state(kept, layout=self.layout).shots):
            state.exists = True
            self.shared.adopt()
        return state

    @property
    def unsaved_file(self) -> Path:
        """Where an apply that lost the store's lock keeps its state (``<spec>.state.unsaved.json``)."""
        return self.state_file.with_name(self.state_file.name.removesuffix(".json") + ".unsaved.json")

    def keep_unsaved(self, state: State) -> Path:
        """Keep ``state`` on this machine, for the store could not take it (see the module docstring)."""
        kept = State(self.unsaved_file, state.shots)
        save_state(kept)
        return self.unsaved_file

    def _drop_unsaved(self) -> None:
        """The store now holds what the kept file held (it was merged at load and written in full)."""
        if self._unsaved_read:
            self.unsaved_file.unlink(missing_ok=True)
            self._unsaved_read = False

    def save(self, state: State, *, final: bool = False) -> None:
        """Make ``state`` durable now."""
        self.prepare_save(state, final=final)()

    def prepare_save(self, state: State, *, final: bool = False,
                     changed: Collection[str] | None = None) -> Callable[[], None]:
        """Capture ``state`` as it is now and return the write (which may run in a worker thread):
        one journal step of what changed (the shots in ``changed``, when the caller knows them;
        else every shot is compared), and with ``final`` the snapshot that folds the steps in."""
        if self.local is not None:
            return self.local.prepare(state, changed=changed, compact=final)
        assert self.shared is not None
        write = self.shared.prepare(state, compact=final, changed=changed)
        if not final:
            return write

        def write_then_drop_kept() -> None:
            write()
            self._drop_unsaved()

        return write_then_drop_kept

    def fold(self, state: State) -> None:
        """Fold a journal that an apply which did not finish left behind into the snapshot, so
        the committed file holds it (``state`` as loaded; call with the lock held). With a store,
        what a file kept on this machine added to the state is written (then the file goes)."""
        if self.local is not None and state.exists:
            self.local.prepare(state, changed=(), compact=True)()
        elif self.shared is not None and self._unsaved_read:
            self.save(state, final=True)

    def digest(self, state: State) -> str | None:
        """What a saved plan records to notice that the state moved on before it is applied."""
        if self.shared is None:
            return state_digest(self.state_file)
        return hashlib.sha256(state.to_json().encode()).hexdigest() if state.exists else None

    # --- lock -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, *, timeout: float = 0.0) -> Iterator[Callable[[], None]]:
        """Hold the spec's apply lock for the block; yields a check to call before each create
        (it raises when a store's lease was lost)."""
        if self.objects is None or self.shared is None:
            with spec_lock(self.spec_path.resolve(), timeout=timeout):
                yield lambda: None
            return
        key = f"locks/{self.shared.prefix.removeprefix('specs/')}.json"
        held = lease.acquire(self.objects, key, f"{self.spec_path.name} in {self.url}", timeout=timeout,
                             lease=lease.lease_seconds(self.objects.url))
        self.shared.fence = held.ensure  # every write of the state checks the lease first
        try:
            with lease.kept(held) as check:
                yield check
        finally:
            self.shared.fence = _not_held

    def unlock(self, lock_id: str) -> lease.Holder | None:
        """Free the lock of a holder that died (``runner state unlock``); None: the lock object was corrupt."""
        if self.objects is None or self.shared is None:
            raise StoreError(str(self.state_file), "the local default uses a lock file, which its holder's "
                             "process releases when it ends; there is nothing to unlock")
        key = f"locks/{self.shared.prefix.removeprefix('specs/')}.json"
        return lease.force_unlock(self.objects, key, lock_id)

    # --- uploads ----------------------------------------------------------------------------
    # A runway:// URI of an input's content, uploaded by any machine with the same account
    # (base URL and key, hashed): reused until shortly before Runway forgets it.

    def _upload_key(self, account: str, digest: str) -> str:
        return f"uploads/{account}/{digest}.json"

    def shared_upload(self, account: str, digest: str) -> str | None:
        if self.objects is None or not _TOKEN.fullmatch(account) or not _SHA256.fullmatch(digest):
            return None
        try:
            got = self.objects.read(self._upload_key(account, digest), limit=ENTRY_BYTES)
            doc = parse_json(got.data) if got is not None else None
            uri, expires = (doc["uri"], float(doc["expires"])) if isinstance(doc, dict) else (None, 0.0)
        except (ValueError, KeyError, TypeError, StoreError):
            return None  # a broken entry is simply not used (uploading again is free)
        if not isinstance(uri, str) or not _RUNWAY_URI.fullmatch(uri) or not time.time() < expires:
            return None
        return uri

    def share_upload(self, account: str, digest: str, uri: str, ttl: float) -> None:
        if self.objects is not None and _TOKEN.fullmatch(account) and _SHA256.fullmatch(digest):
            body = json.dumps({"uri": uri, "expires": time.time() + ttl}).encode()
            self.objects.write(self._upload_key(account, digest), body)

    def forget_upload(self, account: str, digest: str) -> None:
        if self.objects is not None and _TOKEN.fullmatch(account) and _SHA256.fullmatch(digest):
            self.objects.delete(self._upload_key(account, digest))

    # --- probes -----------------------------------------------------------------------------
    # The length of an input clip, by content: read by any plan, written only by apply (a
    # pull request's plan may hold read-only credentials).

    def shared_probe(self, digest: str) -> tuple[bool, float | None]:
        """(known, seconds) of this content from the store; a broken entry is not known."""
        if self.objects is None or not _SHA256.fullmatch(digest):
            return False, None
        try:
            got = self.objects.read(f"probes/{digest}.json", limit=ENTRY_BYTES)
            doc = parse_json(got.data) if got is not None else None
        except (StoreError, ValueError):
            return False, None
        seconds = doc.get("seconds") if isinstance(doc, dict) else "absent"
        if seconds is None:
            return True, None  # not a media file with a length: known all the same
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds < 86400:
            return False, None
        return True, float(seconds)

    def share_probes(self, probed: dict[str, float | None]) -> None:
        """Keep lengths this machine probed, for the others (best effort: probing again is cheap)."""
        if self.objects is None:
            return
        for digest, seconds in probed.items():
            if _SHA256.fullmatch(digest):
                try:
                    self.objects.write(f"probes/{digest}.json", json.dumps({"seconds": seconds}).encode())
                except StoreError:
                    return

    # --- outputs ----------------------------------------------------------------------------

    def push_output(self, path: Path, sha256: str) -> None:
        if self.objects is not None:
            blobs.push(self.objects, path, sha256)
            if self._blobs is not None:
                self._blobs.add(sha256)

    def has_output(self, sha256: str) -> bool:
        """Whether the store keeps this content (one listing of the blobs per run, not a request per take)."""
        if self.objects is None:
            return False
        if self._blobs is None:
            self._blobs = {key.rsplit("/", 1)[-1] for key in self.objects.keys("blobs/sha256")}
        return sha256 in self._blobs

    def pull_output(self, sha256: str, dest: Path, *, root: Path, size: int) -> bool:
        """Put the store's copy of ``sha256`` at ``dest`` (inside the project ``root``); ``size``:
        its byte size as the state records it, which the download never goes past."""
        return self.objects is not None and blobs.pull(self.objects, sha256, dest, root=root, size=size)


def _not_held() -> None:
    raise LockLost("the store's state is written only while holding its lock (runner apply)")


def open_place(spec_path: Path, name: str, url: str | None, *, project_root: Path,
               layout: OutputLayout | None = None) -> Place:
    """The place for the spec at ``spec_path`` with ``name``, in the store at ``url`` (None: local);
    ``layout``: the spec's, which every take's file read back must follow."""
    state_file = state_path(spec_path)
    if not url:
        return Place(spec_path, state_file, layout=layout)
    objects = open_store(url, base=Path.cwd())
    spec_key(name)
    try:
        relative = spec_path.resolve().relative_to(project_root.resolve()).as_posix()
    except ValueError:
        relative = spec_path.name
    return Place(spec_path, state_file, url, objects, SharedState(objects, name, relative, layout), layout=layout)

