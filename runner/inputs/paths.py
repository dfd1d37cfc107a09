"""Where a project starts, and how paths are shown to people."""

from __future__ import annotations

import os
from pathlib import Path


def project_root(spec_path: Path) -> Path:
    """The git top level above the spec, else the spec's folder."""
    folder = spec_path.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def display_path(path: Path) -> str:
    """Relative to the working directory when below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)
    return str(path.resolve()) if rel.startswith("..") else rel


def relative_to(folder: Path, path: Path) -> str:
    """``path`` relative to ``folder`` in POSIX form, or ``path`` itself when it is not below it."""
    try:
        return path.relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(path)
