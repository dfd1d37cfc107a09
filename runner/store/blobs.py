"""Outputs kept in a store by content (``blobs/sha256/<2>/<64>``), as DVC keeps its remotes.

Any number of specs, takes and machines that make the same bytes share one object, and an
object never changes once written, so pushing is an unconditional write that any racer may
win. A blob read back is hashed while it streams and renamed into place only when the hash
matches its name: a store can be edited by whoever holds its credentials, so it is untrusted.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from runner.errors import StoreError
from runner.store.files import TempFile
from runner.store.objects import Objects

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def blob_key(sha256: str) -> str:
    """The key of the blob with this content hash; refuses anything that is not a sha256."""
    if not _SHA256.match(sha256):
        raise ValueError(f"not a sha256: {sha256[:80]!r}")
    return f"blobs/sha256/{sha256[:2]}/{sha256}"


def push(objects: Objects, path: Path, sha256: str) -> bool:
    """Keep ``path`` (whose content hash is ``sha256``) in the store; False when it was there already."""
    key = blob_key(sha256)
    if objects.exists(key):
        return False
    objects.upload(key, path)
    return True


def pull(objects: Objects, sha256: str, dest: Path, *, root: Path, size: int) -> bool:
    """Put the blob ``sha256`` at ``dest`` (atomically, inside ``root``); False when the store does not have it.
    A blob whose content does not match its hash is refused and nothing is written, and so is one
    longer than ``size``, the byte size the state records: the download stops there, so a blob
    replaced by a huge (or endless, or sparse) object costs at most that and one chunk."""
    key = blob_key(sha256)
    tmp = TempFile(dest, root=root)
    try:
        digest = hashlib.sha256()
        got = 0
        with tmp.path.open("wb") as out:

            def write(chunk: bytes) -> None:
                nonlocal got
                got += len(chunk)
                if got > size:
                    raise StoreError(objects.url, f"the blob is longer than the {size:,} bytes the state records; "
                                     "the store was altered, so it is not used (nothing was written)", key=key)
                digest.update(chunk)
                out.write(chunk)

            if not objects.download(key, write):
                tmp.discard()
                return False
        if digest.hexdigest() != sha256:
            raise StoreError(objects.url, f"the blob's content does not match its name (got sha256 "
                             f"{digest.hexdigest()}); the store was altered, so it is not used", key=key)
        if got != size:
            raise StoreError(objects.url, f"the blob has {got:,} bytes, not the {size:,} the state records; the "
                             "state or the store was altered, so it is not used (nothing was written)", key=key)
        tmp.commit()
    except BaseException:
        tmp.discard()
        raise
    return True

