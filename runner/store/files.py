"""Writing files so that a crash leaves the old file or the new one, whole, and never a half.

One pattern, used for every file runner writes (state, saved plans, reports, outputs, cache
blobs): write a temp file in the target's folder, fsync it, rename it over the target, fsync
the folder. Every target is first confined to its root (``inputs.paths.confine``: resolved
with symlinks, inside the project — or, for cache blobs, inside the cache folder).

Temp files are named ``.tmp-<target name>-<pid>-<random>`` so that a killed run's leftovers
can be found and removed (``stale_temp_files``) and never pass for outputs; the pid says
who owns one, so a cleanup never deletes the temp file of a process that is still running.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from runner.inputs.paths import confine

TEMP_PREFIX = ".tmp-"
_OWNER = re.compile(r"-(\d+)-[^-]+$")


class TempFile:
    """A temp file beside ``dest``; ``commit()`` puts it in place, ``discard()`` removes it.

    ``dest`` must lie inside ``root`` once resolved (``what`` names it in the error).
    Writers fill ``path`` in whatever way suits them (streamed downloads, copies); the
    commit makes the content durable before the rename and the rename durable after it.
    """

    def __init__(self, dest: Path, *, root: Path, what: str = "output") -> None:
        self.dest = confine(dest, root, what=what)
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.dest.parent, prefix=f"{TEMP_PREFIX}{self.dest.name}-{os.getpid()}-")
        os.close(fd)
        self.path = Path(name)

    def commit(self, *, mode: int | None = None) -> None:
        """Put the file in place, readable as the user's umask says (mkstemp makes it 0600,
        which would hide reports, plans and outputs from the user's group); ``mode`` overrides."""
        try:
            with self.path.open("rb+") as f:
                os.fsync(f.fileno())
            os.chmod(self.path, default_mode() if mode is None else mode)
            os.replace(self.path, self.dest)
        except BaseException:
            self.discard()
            raise
        fsync_folder(self.dest.parent)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


_umask_lock = threading.Lock()


def default_mode() -> int:
    """The mode ``open()`` would give a new file now: 0666 minus the process umask. Linux
    shows the umask in /proc; elsewhere ``os.umask`` can only be read by setting it, and the
    lock keeps that moment to one thread of ours."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            mask = next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        with _umask_lock:
            mask = os.umask(0o022)
            os.umask(mask)
    return 0o666 & ~mask


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: str | bytes, *, root: Path, what: str = "file") -> None:
    """Replace ``path`` (inside ``root``) with ``data`` (text is UTF-8) so that readers see the
    old or the new file, whole."""
    tmp = TempFile(path, root=root, what=what)
    try:
        tmp.path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    except BaseException:
        tmp.discard()
        raise
    tmp.commit()


def atomic_copy(source: Path, dest: Path, *, root: Path, what: str = "output") -> None:
    """Copy ``source`` to ``dest`` (inside ``root``) with the same guarantee as ``atomic_write``."""
    tmp = TempFile(dest, root=root, what=what)
    try:
        shutil.copyfile(source, tmp.path)
    except BaseException:
        tmp.discard()
        raise
    tmp.commit()


def temp_owner(path: Path) -> int | None:
    """The pid in a temp file's name, None for names without one (runners before 0.3)."""
    match = _OWNER.search(path.name)
    return int(match.group(1)) if match else None


def process_alive(pid: int) -> bool:
    """Whether a process with ``pid`` runs on this machine (a reused pid counts as alive:
    the cost is a leftover temp file, never a deleted one)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return True


def stale_temp_files(folder: Path, name: str = "") -> list[Path]:
    """Leftover temp files directly in ``folder`` (of target ``name`` when given) whose owner
    is not running. Not recursive, and only regular files: a symlink is never a temp file."""
    if not folder.is_dir() or folder.is_symlink():
        return []
    found = []
    for path in sorted(folder.glob(f"{TEMP_PREFIX}{name}{'-' if name else ''}*")):
        owner = temp_owner(path)
        if path.is_symlink() or not path.is_file() or (owner is not None and process_alive(owner)):
            continue
        found.append(path)
    return found
