"""One apply per spec at a time: a lock file beside the spec, naming its holder."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import filelock

from runner.errors import RunnerError
from runner.inputs.paths import display_path


def lock_for(spec_path: Path) -> filelock.FileLock:
    """The lock that allows one apply per spec at a time (``.<spec>.lock`` beside it)."""
    return filelock.FileLock(str(spec_path.with_name(f".{spec_path.name}.lock")))


@contextlib.contextmanager
def spec_lock(spec_path: Path) -> Iterator[None]:
    """Hold the spec's apply lock; fail at once, naming the holder, when it is taken."""
    lock = lock_for(spec_path)
    holder_file = Path(f"{lock.lock_file}.holder")
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        try:
            holder = holder_file.read_text(encoding="utf-8").strip()
        except OSError:
            holder = "another process"
        raise RunnerError(f"another apply of {display_path(spec_path)} is running ({holder}); "
                          "wait for it to finish, or stop it") from None
    try:
        holder_file.write_text(f"pid {os.getpid()} on {socket.gethostname()}", encoding="utf-8")
        yield
    finally:
        holder_file.unlink(missing_ok=True)
        lock.release()
