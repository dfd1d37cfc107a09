"""One apply per spec and one spec per output folder: lock files naming their holder, and
an owner file in each output folder naming the spec that writes there.

Two specs in one folder with the same ``name`` (or the same ``output_dir``) would write
the same ``<shot>/<take>.mp4`` files and clean up each other's temp files. So apply holds
the output folder's lock besides the spec's, and the folder's ``.runner-owner`` file names
the spec that claimed it first; another spec is refused while that one exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from runner.bounded import LOCK_BYTES, Unreadable, escaped, parse_json, read_file, read_text
from runner.errors import RunnerError
from runner.inputs.paths import confine, display_path, is_inside
from runner.store.files import atomic_write

if TYPE_CHECKING:
    import filelock

OWNER_FILE = ".runner-owner"
OUTPUT_LOCK = ".runner.lock"


def lock_for(spec_path: Path) -> filelock.FileLock:
    """The lock that allows one apply per spec at a time (``.<spec>.lock`` beside it)."""
    import filelock  # only apply takes locks; plan reads the owner file alone

    return filelock.FileLock(str(spec_path.with_name(f".{spec_path.name}.lock")))


def _checked(path: Path, root: Path) -> Path:
    """A lock or owner file: inside the project and not a symlink (opening a lock file
    truncates it; through a link that would be any file of the user's)."""
    if path.is_symlink():
        raise RunnerError(f"{path} is a symlink; runner's lock and owner files never are. "
                          "Remove it and run again")
    return confine(path, root, what="lock file")


def _held(lock_path: Path, root: Path, busy: str, timeout: float = 0.0) -> contextlib.AbstractContextManager[None]:
    lock_path = _checked(lock_path, root)
    holder_file = _checked(Path(f"{lock_path}.holder"), root)
    import filelock

    return _hold(filelock.FileLock(str(lock_path)), holder_file, busy, timeout)


@contextlib.contextmanager
def _hold(lock: filelock.FileLock, holder_file: Path, busy: str, timeout: float) -> Iterator[None]:
    import filelock

    try:
        lock.acquire(timeout=timeout)
    except filelock.Timeout:
        try:
            holder = escaped(read_text(holder_file, LOCK_BYTES, what="lock files").strip()[:300])
        except (OSError, ValueError, Unreadable):
            holder = "another process"
        raise RunnerError(busy.format(holder=holder)) from None
    except OSError as e:  # a read-only folder, a full disk: before anything is paid for
        raise RunnerError(f"cannot take the lock {display_path(Path(lock.lock_file))}: {e.strerror or e}; make "
                          "the folder writable (or free disk space), then run apply again; nothing was done") from None
    try:
        try:
            holder_file.write_text(f"pid {os.getpid()} on {socket.gethostname()}", encoding="utf-8")
        except OSError as e:
            raise RunnerError(f"cannot write {display_path(holder_file)}: {e.strerror or e}; make the folder "
                              "writable (or free disk space), then run apply again; nothing was done") from None
        yield
    finally:
        holder_file.unlink(missing_ok=True)
        lock.release()


def spec_lock(spec_path: Path, root: Path | None = None, *,
              timeout: float = 0.0) -> contextlib.AbstractContextManager[None]:
    """Hold the spec's apply lock; when it is taken, wait up to ``timeout`` seconds (0: fail at
    once), then fail naming the holder."""
    lock_path = Path(lock_for(spec_path).lock_file)
    return _held(lock_path, root or spec_path.parent, f"another apply of {display_path(spec_path)} is running "
                 "({holder}); wait for it to finish (--lock-timeout), or stop it", timeout)


def output_lock(output_dir: Path, root: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the output folder's lock (``output_dir/.runner.lock``): one apply writes into a
    folder at a time, whichever spec it is of."""
    folder = confine(output_dir, root, what="output_dir")
    folder.mkdir(parents=True, exist_ok=True)
    busy = (f"another apply is writing into {display_path(folder)} ({{holder}}); two specs must not share an "
            "output folder: give each its own name or output_dir")
    return _held(folder / OUTPUT_LOCK, root, busy)


def output_owner(output_dir: Path, root: Path) -> Path | None:
    """The spec that claimed ``output_dir`` (resolved), or None when none has."""
    marker = output_dir / OWNER_FILE
    if marker.is_symlink() or not marker.is_file():
        return None
    try:
        rel = parse_json(read_file(marker, LOCK_BYTES, what="owner files"))["spec"]
    except (OSError, ValueError, KeyError, TypeError, Unreadable):
        return None  # a damaged owner file is claimed again
    if not isinstance(rel, str):
        return None
    owner = root / rel
    return owner.resolve() if is_inside(owner, root) else None


def other_owner(output_dir: Path, spec_path: Path, root: Path) -> Path | None:
    """Another spec that still exists and claimed ``output_dir``, or None (this spec may write)."""
    owner = output_owner(output_dir, root)
    if owner is None or owner == spec_path.resolve() or not owner.is_file():
        return None
    return owner


def claim_output(output_dir: Path, spec_path: Path, root: Path) -> None:
    """Write the owner file naming ``spec_path`` (call with the output lock held)."""
    if output_owner(output_dir, root) == spec_path.resolve():
        return
    rel = spec_path.resolve().relative_to(root.resolve()).as_posix()
    atomic_write(output_dir / OWNER_FILE, json.dumps({"format": 1, "spec": rel}) + "\n", root=root,
                 what="output_dir")
