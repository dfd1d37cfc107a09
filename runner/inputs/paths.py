"""Where a project starts, the one confinement check every file operation goes through,
and how paths are shown to people.

Every path runner writes, renames, deletes or reads back from its own files (outputs, the
state file and its temp files, locks, reports, saved plans, the ``init`` scaffold) is
resolved, following every symlink, and must then lie inside the project root: the git top
level above the spec, else the spec's folder. ``confine`` is that check; nothing writes a
path it did not pass.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from runner.errors import OutsideProject

# Shot ids become folder names: one safe path segment, never ``..`` or hidden.
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


def project_root(spec_path: Path) -> Path:
    """The git top level above the spec, else the spec's folder."""
    return folder_root(spec_path.resolve().parent)


def folder_root(folder: Path) -> Path:
    """The git top level above ``folder`` (resolved), else ``folder`` itself."""
    folder = folder.resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path``, resolved with every symlink (also below a part that does not exist
    yet), is ``root`` or below it."""
    return _resolves_below(path, root.resolve())


def _resolves_below(path: Path, top: Path) -> bool:
    """``is_inside`` with ``top`` resolved already (a state file checks thousands of paths)."""
    try:
        resolved = path.resolve()
    except (ValueError, OSError, RuntimeError):  # a NUL byte, a symlink loop: no path to use
        return False
    return resolved.is_relative_to(top)  # top itself or below it (compares parts; no parent Paths built)


def confine(path: Path, root: Path, *, what: str, hint: str = "") -> Path:
    """``path`` resolved when it lies inside ``root``; else ``OutsideProject`` naming ``what``
    (``spec.yaml:3:13: output_dir``, ``--out``, ``state file ...``).

    The resolved path is what callers then write, so a symlink swapped in after the check
    still cannot redirect the write of a part that was checked.
    """
    if not is_inside(path, root):
        raise OutsideProject(what, path, root.resolve(), hint=hint)
    return path.resolve()


def read_back_problem(rel: object, base: Path, root: Path, *, resolved: bool = False) -> str | None:
    """Why a path read back from one of runner's own files (the committed state file, a saved
    plan), relative to ``base``, is not one runner could have written; None when it is fine.

    It must be relative, and lie inside ``root`` both as written (``..`` may only climb
    within the project: a spec in ``campaigns/`` with ``output_dir: ../outputs``) and once
    resolved with symlinks. ``resolved``: ``base`` and ``root`` are resolved already (a caller
    checking every take of a state file resolves them once).
    """
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        return "is empty or not a path"
    if PurePosixPath(rel).is_absolute() or Path(rel).is_absolute() or rel.startswith("~"):
        return "is an absolute path"
    joined = (base if resolved else base.resolve()) / rel
    top = root if resolved else root.resolve()
    lexical = Path(os.path.normpath(joined))
    if not lexical.is_relative_to(top) or not _resolves_below(joined, top):
        return "resolves outside the project"
    return None


def resolved_text(path: Path) -> str:
    """Where ``path`` leads, for messages (a symlink loop or a NUL byte leads nowhere)."""
    try:
        return str(path.resolve())
    except (ValueError, OSError, RuntimeError):
        return "nowhere usable (a symlink loop?)"


def display_path(path: Path) -> str:
    """Relative to the working directory when below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)
    return str(path.resolve()) if rel.startswith("..") else rel


def relative_to(folder: Path, path: Path) -> str:
    """``path`` relative to ``folder`` in POSIX form, climbing with ``..`` when it is not below
    it (never absolute: these names are written into committed files)."""
    try:
        return path.relative_to(folder.resolve()).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, folder.resolve())).as_posix()
