"""Writing files so that a crash leaves the old file or the new one, whole, and never a half.

One pattern, used for every file runner writes (state, saved plans, reports, outputs, cache
blobs): write a temp file in the target's folder, fsync it, rename it over the target, fsync
the folder. Temp files are named ``.tmp-<target name>-<random>`` so that a killed run's
leftovers can be found and removed (``remove_stale_temp_files``) and never pass for outputs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

TEMP_PREFIX = ".tmp-"


class TempFile:
    """A temp file beside ``dest``; ``commit()`` puts it in place, ``discard()`` removes it.

    Writers fill ``path`` in whatever way suits them (streamed downloads, copies); the
    commit makes the content durable before the rename and the rename durable after it.
    """

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f"{TEMP_PREFIX}{dest.name}-")
        os.close(fd)
        self.path = Path(name)

    def commit(self, *, mode: int = 0o644) -> None:
        try:
            with self.path.open("rb+") as f:
                os.fsync(f.fileno())
            os.chmod(self.path, mode)
            os.replace(self.path, self.dest)
        except BaseException:
            self.discard()
            raise
        fsync_folder(self.dest.parent)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` (text is UTF-8) so that readers see the old or the new file, whole."""
    tmp = TempFile(path)
    try:
        tmp.path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    except BaseException:
        tmp.discard()
        raise
    tmp.commit()


def atomic_copy(source: Path, dest: Path) -> None:
    """Copy ``source`` to ``dest`` with the same guarantee as ``atomic_write``."""
    tmp = TempFile(dest)
    try:
        shutil.copyfile(source, tmp.path)
    except BaseException:
        tmp.discard()
        raise
    tmp.commit()


def temp_files_of(dest: Path) -> list[Path]:
    """Leftover temp files of ``dest`` (beside it)."""
    return sorted(dest.parent.glob(f"{TEMP_PREFIX}{dest.name}-*"))


def temp_files_below(folder: Path) -> list[Path]:
    """Leftover temp files anywhere below ``folder``; symlinked folders are not followed."""
    found: list[Path] = []
    if folder.is_dir():
        for parent, _dirs, files in os.walk(folder, followlinks=False):
            found += [Path(parent) / f for f in files if f.startswith(TEMP_PREFIX)]
    return found
