"""Objects in a store, a local folder or a bucket (S3, GCS, Azure), behind one small interface.

Everything the shared store keeps (state snapshots, journal steps, the lock, output blobs) is
an object under a key. Two writes are conditional, the ones a lock and an append-only journal
need: ``create`` (only if absent, S3's ``If-None-Match: *``) and ``replace`` (only if unchanged
since it was read, ``If-Match`` on the ETag). Buckets do both natively through obstore. A folder
does them with ``O_EXCL`` and a lock file, because obstore's LocalStore implements neither
conditional updates nor fsync, and a local store must survive a power cut like the state file.

Keys are built by runner, but parts of them (shot ids) come from files a pull request can edit,
so every key is checked: relative, ``/``-separated, no empty, ``.`` or ``..`` segments.
"""

from __future__ import annotations

import hashlib
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.bounded import STATE_BYTES, Unreadable, read_file
from runner.bounded import too_large as bounded_too_large
from runner.errors import StoreError
from runner.inputs.paths import BUCKET_SCHEMES
from runner.store.files import TEMP_PREFIX, TempFile, atomic_write

if TYPE_CHECKING:
    from obstore import UpdateVersion
    from obstore.store import ClientConfig, RetryConfig

_SEGMENT = re.compile(r"^[A-Za-z0-9_=+-][A-Za-z0-9._=+-]{0,199}$")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Version:
    """An object's content and the ETag that a conditional ``replace`` names."""

    data: bytes
    etag: str


def version_token(meta: Any) -> str:
    """The opaque token a conditional ``replace`` names: the object's ETag, plus its version
    where the store has one (GCS's generation, which object_store's conditional update on GCS
    needs instead of the ETag; S3 and Azure match the ETag and ignore it)."""
    e_tag, version = str(meta.get("e_tag") or ""), meta.get("version")
    return f"{e_tag}\n{version}" if version else e_tag


def _update_mode(token: str) -> UpdateVersion:
    e_tag, _, version = token.partition("\n")
    return {"e_tag": e_tag, "version": version} if version else {"e_tag": e_tag}


def too_large(url: str, key: str, reason: str) -> StoreError:
    """A store object that is not a plain object under its cap: nothing in it is used."""
    return StoreError(url, f"the object {reason}; restore it from the bucket's versioning or delete it", key=key)


def check_key(url: str, key: str) -> str:
    """``key`` if it is a safe relative object key, else a StoreError naming it."""
    parts = key.split("/")
    if len(key) > 1024 or not all(_SEGMENT.match(p) for p in parts):
        raise StoreError(url, "refused an unsafe object key (only letters, digits and ._=+- in "
                         "'/'-separated parts, none empty or starting with a dot)", key=key[:200])
    return key


class Objects(ABC):
    """A store's objects. ``url`` is how the user named the store (shown in messages)."""

    url: str

    @abstractmethod
    def read(self, key: str, *, limit: int = STATE_BYTES) -> Version | None:
        """The object's content and ETag, or None when there is none; a StoreError when it holds
        more than ``limit`` bytes (a store object is untrusted: see ``too_large``)."""

    @abstractmethod
    def create(self, key: str, data: bytes) -> str | None:
        """Write ``key`` only if it does not exist: its new ETag, or None when it already existed."""

    @abstractmethod
    def replace(self, key: str, data: bytes, etag: str) -> str | None:
        """Overwrite ``key`` only if its ETag is still ``etag``: the new ETag, or None when it changed or went."""

    @abstractmethod
    def write(self, key: str, data: bytes) -> None:
        """Write ``key`` whatever is there (for content-addressed objects, where any writer writes the same)."""

    @abstractmethod
    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (a folder-like prefix without the trailing slash), sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether ``key`` is there, without reading it."""

    @abstractmethod
    def upload(self, key: str, source: Path) -> None:
        """Stream the file ``source`` to ``key`` (unconditional; for blobs)."""

    @abstractmethod
    def download(self, key: str, write: Callable[[bytes], object]) -> bool:
        """Stream ``key``'s content through ``write``; False when there is no such object. The caller
        owns where it goes (a temp file it verifies before renaming: a store is not trusted either);
        a StoreError that ``write`` raises stops the download and is raised as it is."""


class FolderObjects(Objects):
    """A store in a local folder; durable (fsync) writes, conditional ones serialized by a lock file."""

    def __init__(self, root: Path, url: str | None = None) -> None:
        self.root = root
        self.url = url or str(root)
        import filelock  # a plan of a local spec never opens a folder store

        self._cas = filelock.FileLock(str(root / ".runner-store.lock"))

    def _path(self, key: str) -> Path:
        return self.root / check_key(self.url, key)

    def _fail(self, key: str, err: OSError) -> StoreError:
        return StoreError(self.url, f"{err.strerror or err}; check that the folder exists and is writable", key=key)

    def read(self, key: str, *, limit: int = STATE_BYTES) -> Version | None:
        try:
            data = read_file(self._path(key), limit, what="store objects read whole")
        except FileNotFoundError:
            return None
        except Unreadable as err:
            raise too_large(self.url, key, err.reason) from None
        except OSError as err:
            raise self._fail(key, err) from None
        return Version(data, _etag(data))

    def create(self, key: str, data: bytes) -> str | None:
        path = self._path(key)
        try:
            with self._cas:
                if path.exists():
                    return None
                atomic_write(path, data, root=self.root, what="store object")
        except OSError as err:
            raise self._fail(key, err) from None
        return _etag(data)

    def replace(self, key: str, data: bytes, etag: str) -> str | None:
        path = self._path(key)
        try:
            with self._cas:
                try:
                    current = read_file(path, STATE_BYTES, what="store objects read whole")
                except FileNotFoundError:
                    return None
                except Unreadable:  # not the object that was read (a FIFO, a giant): not ours to replace
                    return None
                if _etag(current) != etag:
                    return None
                atomic_write(path, data, root=self.root, what="store object")
        except OSError as err:
            raise self._fail(key, err) from None
        return _etag(data)

    def write(self, key: str, data: bytes) -> None:
        try:
            atomic_write(self._path(key), data, root=self.root, what="store object")
        except OSError as err:
            raise self._fail(key, err) from None

    def keys(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return []
        found = []
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith((TEMP_PREFIX, ".runner-store.lock")):
                found.append(path.relative_to(self.root).as_posix())
        return sorted(found)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as err:
            raise self._fail(key, err) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def upload(self, key: str, source: Path) -> None:
        dest = self._path(key)
        tmp = TempFile(dest, root=self.root, what="store object")
        try:
            with source.open("rb") as src, tmp.path.open("wb") as out:
                while chunk := src.read(_CHUNK):
                    out.write(chunk)
            tmp.commit()
        except OSError as err:
            tmp.discard()
            raise self._fail(key, err) from None

    def download(self, key: str, write: Callable[[bytes], object]) -> bool:
        try:
            with self._path(key).open("rb") as src:
                while chunk := src.read(_CHUNK):
                    write(chunk)
        except FileNotFoundError:
            return False
        except OSError as err:
            raise self._fail(key, err) from None
        return True


class BucketObjects(Objects):
    """A store in a bucket, through obstore (S3 and compatibles, GCS, Azure; credentials from the environment)."""

    def __init__(self, url: str, store: Any) -> None:
        self.url = url
        self._store = store

    def _fail(self, key: str | None, err: Exception) -> StoreError:
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        return StoreError(self.url, f"{text[:300]} (retried; check the credentials and endpoint in the "
                          "environment, and that the bucket exists)", key=key)

    def _ours(self, key: str, data: bytes) -> str | None:
        """After a conditional write was refused: the ETag when the object holds exactly ``data``.
        obstore retries a request after a 5xx, a timeout or a dropped connection; when the first
        attempt did reach the store, the retry finds our own write and is refused. Every
        conditional write runner makes is unique (a journal step names its writer, a lease body
        its holder id and expiry), so identical bytes mean the write was ours."""
        current = self.read(key)
        return current.etag if current is not None and current.data == data else None

    def read(self, key: str, *, limit: int = STATE_BYTES) -> Version | None:
        import obstore

        try:
            got = obstore.get(self._store, check_key(self.url, key))
            size = int(got.meta.get("size") or 0)
            if size > limit:  # refused before its body is read
                raise too_large(self.url, key, bounded_too_large(size, limit, "store objects read whole").reason)
            chunks, total = [], 0
            for chunk in got.stream(min_chunk_size=_CHUNK):  # the size can lie: count what arrives
                total += len(chunk)
                if total > limit:
                    raise too_large(self.url, key, bounded_too_large(None, limit, "store objects read whole").reason)
                chunks.append(bytes(chunk))
            data = b"".join(chunks)
        except FileNotFoundError:
            return None
        except StoreError:
            raise
        except Exception as err:
            raise self._fail(key, err) from None
        return Version(data, version_token(got.meta))

    def create(self, key: str, data: bytes) -> str | None:
        import obstore
        from obstore.exceptions import AlreadyExistsError, PreconditionError

        try:
            result = obstore.put(self._store, check_key(self.url, key), data, mode="create")
        except (AlreadyExistsError, PreconditionError):
            return self._ours(key, data)
        except Exception as err:
            raise self._fail(key, err) from None
        return version_token(result)

    def replace(self, key: str, data: bytes, etag: str) -> str | None:
        import obstore
        from obstore.exceptions import PreconditionError

        try:
            result = obstore.put(self._store, check_key(self.url, key), data, mode=_update_mode(etag))
        except PreconditionError:
            return self._ours(key, data)
        except FileNotFoundError:
            return None
        except Exception as err:
            raise self._fail(key, err) from None
        return version_token(result)

    def write(self, key: str, data: bytes) -> None:
        import obstore

        try:
            obstore.put(self._store, check_key(self.url, key), data)
        except Exception as err:
            raise self._fail(key, err) from None

    def keys(self, prefix: str) -> list[str]:
        import obstore

        try:
            pages = obstore.list(self._store, check_key(self.url, prefix) if prefix else None)
            return sorted(str(meta["path"]) for page in pages for meta in page)
        except Exception as err:
            raise self._fail(prefix or None, err) from None

    def delete(self, key: str) -> None:
        import obstore

        try:
            obstore.delete(self._store, check_key(self.url, key))
        except FileNotFoundError:
            return
        except Exception as err:
            raise self._fail(key, err) from None

    def exists(self, key: str) -> bool:
        import obstore

        try:
            obstore.head(self._store, check_key(self.url, key))
        except FileNotFoundError:
            return False
        except Exception as err:
            raise self._fail(key, err) from None
        return True

    def upload(self, key: str, source: Path) -> None:
        import obstore

        try:
            with source.open("rb") as src:
                obstore.put(self._store, check_key(self.url, key), src)
        except OSError as err:
            raise StoreError(self.url, f"cannot read {source}: {err.strerror or err}", key=key) from None
        except Exception as err:
            raise self._fail(key, err) from None

    def download(self, key: str, write: Callable[[bytes], object]) -> bool:
        import obstore

        try:
            got = obstore.get(self._store, check_key(self.url, key))
            for chunk in got.stream(min_chunk_size=_CHUNK):
                write(bytes(chunk))
        except FileNotFoundError:
            return False
        except StoreError:
            raise  # ``write`` refused the content (longer than expected): said, not retried
        except OSError as err:
            raise StoreError(self.url, f"cannot write the local copy: {err.strerror or err}", key=key) from None
        except Exception as err:
            raise self._fail(key, err) from None
        return True


RETRY_ENV = "RUNNER_STORE_RETRY_SECONDS"


def env_seconds(store: str, name: str, default: float, low: float, high: float,
                env: dict[str, str] | None = None) -> float:
    """A number of seconds from the environment variable ``name`` (``default`` when unset),
    refused with a StoreError naming the variable unless it lies from ``low`` to ``high``."""
    env = dict(os.environ) if env is None else env
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not low <= seconds <= high:  # also refuses NaN
        raise StoreError(store, f"{name}={raw[:40]!r} is not a number of seconds from {low:g} to {high:g}")
    return seconds


def retry_config(url: str, env: dict[str, str] | None = None) -> RetryConfig:
    """How obstore retries a failed request (5xx, timeout, dropped connection): up to 4 times,
    for at most ``RUNNER_STORE_RETRY_SECONDS`` (default 60), waiting 1/600 of that before the
    first retry and doubling (so 0.1 s, 0.2 s, … by default; tests set a small budget to stay fast)."""
    seconds = env_seconds(url, RETRY_ENV, 60.0, 0.01, 3600, env)
    return {"max_retries": 4, "retry_timeout": timedelta(seconds=seconds),
            "backoff": {"init_backoff": timedelta(seconds=seconds / 600), "max_backoff": timedelta(seconds=seconds / 4),
                        "base": 2}}


def open_store(url: str, *, base: Path | None = None) -> Objects:
    """The store at ``url``: a bucket URL (``s3://bucket/prefix``, ``gs://…``, ``az://…``) or a
    folder path (relative to ``base``). Credentials and endpoints come from the environment
    (``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``, ``AWS_ALLOW_HTTP``, and the GCS/Azure
    equivalents), never from a spec."""
    if url.startswith(BUCKET_SCHEMES):
        from obstore.store import from_url

        # Passing client options replaces the ones obstore reads from the environment, so the
        # loopback switch (MinIO, moto) is read here.
        options: ClientConfig = {"connect_timeout": timedelta(seconds=10), "timeout": timedelta(seconds=120),
                                 "allow_http": os.environ.get("AWS_ALLOW_HTTP", "").lower() == "true"}
        retry = retry_config(url)
        try:
            store = from_url(url, client_options=options, retry_config=retry)
        except Exception as err:
            raise StoreError(url, f"cannot open: {str(err).splitlines()[0][:300]}") from None
        return BucketObjects(url, store)
    if "://" in url and not url.startswith("file://"):
        raise StoreError(url, "unknown store; use a folder path, s3://bucket/prefix, gs://bucket/prefix "
                         "or az://container/prefix")
    path = Path(url.removeprefix("file://"))
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreError(url, f"cannot create the folder: {err.strerror or err}") from None
    return FolderObjects(path, url)


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


__all__ = ["BUCKET_SCHEMES", "RETRY_ENV", "BucketObjects", "FolderObjects", "Objects", "StoreError", "Version",
           "check_key", "open_store", "retry_config"]
