"""The local cache (diskcache): file hashes, media probes, uploads and generated outputs.

Where: ``inputs.cachedir.cache_dir()`` (``$RUNNER_CACHE_DIR``, else ``$XDG_CACHE_HOME/runner``,
else ``~/.cache/runner``, in a format-versioned subfolder). Nothing in the cache is needed
for correctness: deleting it costs re-hashing, re-probing, re-uploading, and losing the
ability to restore old outputs without a call.

- ``hash:<path>`` -> (size, mtime_ns, sha256): a warm plan reads no file twice.
- ``probe:<sha256>`` -> seconds of a video/audio file.
- ``upload:<account>:<sha256>`` -> (runway:// URI, expiry): uploads belong to an account
  (API base URL and key, hashed) and are reused until shortly before Runway's 24 h limit.
- ``output:<take fingerprint>`` -> metadata of a generated file whose bytes are kept in
  ``blobs/<sha256[:2]>/<sha256>``, so a reverted prompt is restored with no API call.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import diskcache

from runner.inputs.cachedir import FORMAT as FORMAT
from runner.inputs.cachedir import cache_dir as cache_dir
from runner.store.files import atomic_copy

UPLOAD_TTL = 20 * 3600  # Runway keeps uploads 24 h; stop reusing them well before


_OPEN: dict[str, diskcache.Cache] = {}


def cache() -> diskcache.Cache:
    """The cache of the current ``cache_dir()``; one open handle per process."""
    folder = str(cache_dir())
    if folder not in _OPEN:
        for old in _OPEN.values():  # the folder changed (tests): close the old handle
            old.close()
        _OPEN.clear()
        Path(folder).mkdir(parents=True, exist_ok=True)
        _OPEN[folder] = diskcache.Cache(folder, size_limit=2**40, eviction_policy="none")
    return _OPEN[folder]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            h.update(chunk)
    return h.hexdigest()


class Hasher:
    """Content hashes of local files, cached by (path, size, mtime)."""

    def __init__(self) -> None:
        self.db = cache()
        self.memo: dict[Path, str] = {}
        self.reads = 0

    def sha256(self, path: Path) -> str:
        if path in self.memo:
            return self.memo[path]
        st = path.stat()
        key = f"hash:{path}"
        hit = self.db.get(key)
        if isinstance(hit, tuple) and hit[:2] == (st.st_size, st.st_mtime_ns):
            digest = str(hit[2])
        else:
            digest = sha256_file(path)
            self.reads += 1
            self.db.set(key, (st.st_size, st.st_mtime_ns, digest))
        self.memo[path] = digest
        return digest


def probe_known(digest: str) -> bool:
    """Whether this machine has probed (or been told) the length of this content."""
    return f"probe:{digest}" in cache()


def probe_remember(digest: str, seconds: float | None) -> None:
    cache().set(f"probe:{digest}", seconds)


def probe_cached(path: Path, digest: str) -> float | None:
    """Seconds of a media file, probed once per content hash."""
    from runner.inputs.media import probe_seconds

    db = cache()
    key = f"probe:{digest}"
    if key in db:
        value = db[key]
        return None if value is None else float(value)
    seconds = probe_seconds(path)
    db.set(key, seconds)
    return seconds


def upload_get(account: str, digest: str) -> str | None:
    """A still-valid runway:// URI of this content, uploaded with this account."""
    hit = cache().get(f"upload:{account}:{digest}")
    if isinstance(hit, tuple) and hit[1] > time.time():
        return str(hit[0])
    return None


def upload_put(account: str, digest: str, uri: str) -> None:
    cache().set(f"upload:{account}:{digest}", (uri, time.time() + UPLOAD_TTL))


def upload_forget(account: str, digest: str) -> None:
    cache().delete(f"upload:{account}:{digest}")


_SHA256 = re.compile(r"[0-9a-f]{64}")


def blob_path(digest: str) -> Path:
    """Where the cache keeps the file with this sha256 (it may not be there)."""
    if not _SHA256.fullmatch(digest):  # the cache is ours, but a name must never become a path
        raise ValueError(f"not a sha256: {digest[:80]!r}")
    return cache_dir() / "blobs" / digest[:2] / digest



def outputs_known(fingerprints: Iterable[str]) -> set[str] | None:
    """Which of ``fingerprints`` have an ``output:`` entry (whose blob ``output_get`` still
    checks), in one SQLite query per 900 keys instead of one per take: a plan of 50,000 new
    shots looks each up. Reads diskcache's table directly (str keys are stored as they are,
    ``raw = 1``); None when that table is not what diskcache 5 has, and then callers ask
    ``output_get`` for each (slower, the same answers)."""
    keys = [f"output:{fp}" for fp in fingerprints]
    found: set[str] = set()
    try:
        sql = cache()._sql
        for start in range(0, len(keys), 900):  # SQLite's default limit of parameters is 999
            chunk = keys[start:start + 900]
            rows = sql(f"SELECT key FROM Cache WHERE raw = 1 AND key IN ({','.join('?' * len(chunk))})"
                       " AND (expire_time IS NULL OR expire_time > ?)", (*chunk, time.time())).fetchall()
            found.update(str(row[0]).removeprefix("output:") for row in rows)
    except (AttributeError, sqlite3.Error):
        return None
    return found


def output_get(fingerprint: str) -> dict[str, Any] | None:
    """Metadata of a cached output whose blob is still present, else None."""
    meta = cache().get(f"output:{fingerprint}")
    digest = str(meta.get("sha256")) if isinstance(meta, dict) else ""
    if isinstance(meta, dict) and _SHA256.fullmatch(digest) and blob_path(digest).is_file():
        return meta
    return None


def output_put(fingerprint: str, file: Path, meta: dict[str, Any]) -> None:
    """Keep a copy of ``file`` (already verified; ``meta['sha256']`` is its hash)."""
    blob = blob_path(str(meta["sha256"]))
    if not blob.is_file():
        atomic_copy(file, blob, root=cache_dir(), what="cache blob")
    cache().set(f"output:{fingerprint}", dict(meta))


def output_restore(meta: dict[str, Any], dest: Path, *, root: Path) -> None:
    """Copy a cached output to ``dest`` (inside the project ``root``) atomically."""
    atomic_copy(blob_path(str(meta["sha256"])), dest, root=root)
