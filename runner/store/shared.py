"""A spec's state in a shared store: a snapshot and an append-only journal of steps.

Layout under the store's URL (one store can hold many specs; blobs are shared by all)::

    specs/<name>/state.json          snapshot: {"format", "spec", "upto", "shots"}
    specs/<name>/journal/<seq>.json  one step: {"seq", "writer", "shots": {id: shot | null}}
    locks/<name>.json                the apply lock (runner.store.lease)
    blobs/sha256/<2>/<64>            outputs by content (runner.store.blobs)

A journal step holds only the shots that changed since the last step, and is written with a
create-if-absent on the next sequence number, so a step costs one small request whatever the
size of the campaign, and two writers can never both write step n: the loser learns that
somebody else is writing (which the lock should have prevented) and stops. A step names its
writer (one random id per apply), so a step found identical to ours after a retried request
was written by us (``BucketObjects._ours``), never by somebody else. Every ``COMPACT``
steps, and at the end of an apply, the snapshot is rewritten to include them and the steps it
covers are deleted; a reader that finds steps the snapshot already covers skips them, so a
crash between the two is harmless.

Only the holder of the lock may write, and a holder can lose the lock without knowing it (paused
past its lease while another apply took over and finished). So every write is guarded twice:

- ``fence`` (``Lease.ensure``) runs before each step, snapshot and removal: a holder whose lease
  lapsed renews first, and stops (``LockLost``) when the lock was taken over;
- the writes are conditional: a step is a create-if-absent, and the snapshot a replace on the
  ETag it had when this writer read (or last wrote) it, or a create-if-absent when there was
  none. A snapshot that somebody else rewrote meanwhile is never overwritten; the steps it
  covers are removed only after our own snapshot was written on those terms.

A write refused for either reason raises ``LockLost`` and writes nothing more; the caller keeps
what it could not write on this machine (``Place.keep_unsaved``).

Snapshots and steps are files anybody with the store's credentials can edit: they are parsed
by the same validating reader as the state file.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Collection
from typing import Any

from runner.bounded import parse_json
from runner.errors import LockLost, StoreError
from runner.inputs.paths import OutputLayout
from runner.store.documents import shown
from runner.store.objects import Objects
from runner.store.state import FORMAT, State, changed_entries, shot_signature, shot_to_json, state_from_doc, state_root

COMPACT = 200
"""Steps between two snapshots."""

_STEP = re.compile(r"/journal/(\d{12})\.json$")


def spec_key(name: str) -> str:
    """The folder of a spec in the store (its ``name``, which the spec's schema already restricts)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", name):
        raise StoreError("", f"a spec name usable as a store key is needed, not {name[:80]!r}")
    return f"specs/{name}"


class SharedState:
    """Reads and writes one spec's state in a store. ``save`` may be called from a worker thread."""

    def __init__(self, objects: Objects, name: str, spec: str, layout: OutputLayout | None = None) -> None:
        self.objects = objects
        self.prefix = spec_key(name)
        self.spec = spec  # the spec's path in the project, to notice two specs with one name
        self.layout = layout  # the spec's: every take's file must be the one runner derives for it
        self._writer = uuid.uuid4().hex  # makes every step unique: see BucketObjects._ours
        self._seq = 0
        self._upto = 0
        self._saved: dict[str, tuple[Any, ...] | None] = {}  # shot id -> signature in the store (None: removed)
        self._queue: list[tuple[str, bytes, bool]] = []
        self._full_next = False  # the next step compares every shot (a state taken over from a file)
        self._snapshot_etag: str | None = None  # the snapshot as this writer last read or wrote it (None: none)
        self.fence: Callable[[], None] = _unfenced
        """Raises LockLost when this writer no longer holds the lock; called before every write."""
        self._lock = threading.Lock()  # guards the fields above
        self._writing = threading.Lock()  # one writer at a time, in order

    @property
    def snapshot_key(self) -> str:
        return f"{self.prefix}/state.json"

    def _step_key(self, seq: int) -> str:
        return f"{self.prefix}/journal/{seq:012d}.json"

    # --- reading ----------------------------------------------------------------------------

    def load(self, state: State) -> State:
        """Fill ``state`` (an empty one with its display path) from the snapshot and the steps after it."""
        snapshot = self.objects.read(self.snapshot_key)
        found_doc = None if snapshot is None else self._parse(self.snapshot_key, snapshot.data)
        doc = {"format": FORMAT, "spec": self.spec, "upto": 0, "shots": {}} if found_doc is None else found_doc
        if not isinstance(doc, dict):
            raise self._corrupt(self.snapshot_key, "not a JSON object")
        if doc.get("spec") not in (None, self.spec):
            raise StoreError(self.objects.url, f"holds the state of another spec with the same name "
                             f"({str(doc.get('spec'))[:200]}); give this spec its own `name`", key=self.snapshot_key)
        shots = self._raw_shots(self.snapshot_key, doc.get("shots"))
        upto = doc.get("upto", 0)
        if not isinstance(upto, int) or isinstance(upto, bool) or upto < 0:
            raise self._corrupt(self.snapshot_key, "upto must be a whole number")
        seq = upto
        for key in self.objects.keys(f"{self.prefix}/journal"):
            found = _STEP.search(key)
            if found is None or int(found.group(1)) <= upto:
                continue  # covered by the snapshot (a compaction that crashed before deleting)
            step = self._read_json(key)
            if not isinstance(step, dict) or not isinstance(step.get("shots"), dict):
                raise self._corrupt(key, "not a journal step")
            for sid, raw in step["shots"].items():
                if raw is None:
                    shots.pop(sid, None)
                else:
                    shots.update(self._raw_shots(key, {sid: raw}))
            seq = int(found.group(1))
        state.shots = state_from_doc(state.path, {"format": FORMAT, "shots": shots}, state_root(state.path),
                                     label=f"{self.objects.url.rstrip('/')}/{self.prefix}", layout=self.layout)
        state.exists = bool(state.shots) or found_doc is not None
        with self._lock:
            self._seq, self._upto = seq, upto
            self._saved = {sid: shot_signature(s) for sid, s in state.shots.items()}
            self._snapshot_etag = None if snapshot is None else snapshot.etag
        return state

    def adopt(self) -> None:
        """The state in hand came from elsewhere (a local state file): the next step writes all of it."""
        with self._lock:
            self._full_next = True

    def _read_json(self, key: str) -> Any:
        got = self.objects.read(key)
        return None if got is None else self._parse(key, got.data)

    def _parse(self, key: str, data: bytes) -> Any:
        try:
            return parse_json(data)
        except ValueError as e:
            raise self._corrupt(key, f"not JSON: {e}") from None

    def _raw_shots(self, key: str, raw: Any) -> dict[str, Any]:
        """Shot entries as read; they are checked together, like a state file, once merged. The
        take files they name are checked here, object by object, so that the error names the
        object (the snapshot or the step) that holds a wrong one."""
        if not isinstance(raw, dict):
            raise self._corrupt(key, "shots must be an object of shot ids")
        if self.layout is not None:
            for sid, entry in raw.items():
                takes = entry.get("takes") if isinstance(entry, dict) else None
                for n, take in enumerate(takes if isinstance(takes, list) and isinstance(sid, str) else ()):
                    number = take.get("take") if isinstance(take, dict) else None
                    if not isinstance(number, int) or isinstance(number, bool):
                        continue  # the schema check of the merged state says what is wrong
                    why = self.layout.problem(take.get("output"), shot_id=sid, take=number)
                    if why is not None:
                        raise StoreError(self.objects.url, f"corrupt state object: shots.{shown(sid)[1:-1]}.takes[{n}]"
                                         f".output {shown(take.get('output'), limit=200)} {why}; nothing was read, "
                                         "moved, restored or pulled for it. Restore the object from the bucket's "
                                         "versioning, or delete it to start over", key=key)
        return dict(raw)

    def _corrupt(self, key: str, what: str) -> StoreError:
        return StoreError(self.objects.url, f"corrupt state object ({what}); restore it from the bucket's "
                          "versioning or delete it to start over", key=key)

    # --- writing ----------------------------------------------------------------------------

    def save(self, state: State, *, compact: bool = False) -> None:
        """Write the shots that changed since the last save as one journal step (and a snapshot
        every ``COMPACT`` steps, or when ``compact``)."""
        self.prepare(state, compact=compact)()

    def prepare(self, state: State, *, compact: bool = False,
                changed: Collection[str] | None = None) -> Callable[[], None]:
        """Take what must be written now (call where ``state`` cannot change meanwhile, e.g. on
        the event loop) and return a write for a worker thread. Every write writes all steps
        prepared so far, in order, so a write that is skipped or runs late loses nothing.
        ``changed``: the shots that may have changed, when the caller knows (then a step costs
        those shots, not the campaign); None compares every shot."""
        with self._lock:
            full = changed is None or self._full_next
            candidates = (state.shots.keys() | self._saved.keys()) if full else set(changed or ())
            self._full_next = False
            step = changed_entries(state, candidates, self._saved)
            if step:
                self._seq += 1
                data = json.dumps({"seq": self._seq, "writer": self._writer, "shots": step}, sort_keys=True).encode()
                self._queue.append((self._step_key(self._seq), data, False))
            if compact or self._seq - self._upto >= COMPACT:
                doc = {"format": FORMAT, "spec": self.spec, "upto": self._seq,
                       "shots": {sid: shot_to_json(s) for sid, s in sorted(state.shots.items())}}
                snapshot = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
                self._queue.append((self.snapshot_key, snapshot, True))
                self._upto = self._seq
        return self._drain

    def _drain(self) -> None:
        with self._writing:
            while True:
                with self._lock:
                    if not self._queue:
                        return
                    key, data, is_snapshot = self._queue[0]
                self.fence()
                if is_snapshot:
                    self._write_snapshot(data)
                elif self.objects.create(key, data) is None:
                    raise LockLost(f"{key} in {self.objects.url} was written by somebody else: another apply "
                                   "is writing this spec's state; stopping")
                with self._lock:
                    self._queue.pop(0)

    def _write_snapshot(self, data: bytes) -> None:
        """Fold the steps into the snapshot, on the terms of the module docstring."""
        etag = self._snapshot_etag
        written = self.objects.create(self.snapshot_key, data) if etag is None else \
            self.objects.replace(self.snapshot_key, data, etag)
        if written is None:
            raise LockLost(f"{self.snapshot_key} in {self.objects.url} changed since this apply read it: another "
                           "apply wrote this spec's state meanwhile (this one's lease had run out?); it was not "
                           "overwritten")
        if not written:  # a store that did not say the new ETag: read it back (it holds our bytes)
            current = self.objects.read(self.snapshot_key)
            written = current.etag if current is not None and current.data == data else None
        self._snapshot_etag = written
        upto = json.loads(data)["upto"]
        for key in self.objects.keys(f"{self.prefix}/journal"):
            found = _STEP.search(key)
            if found is not None and int(found.group(1)) <= upto:
                self.fence()
                self.objects.delete(key)


def _unfenced() -> None:
    """The fence of a writer that holds no lease (tests of the store alone)."""
