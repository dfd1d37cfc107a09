"""Where a project starts, the one confinement check every file operation goes through,
and how paths are shown to people.

Every path runner writes, renames, deletes or reads back from its own files (outputs, the
state file and its temp files, locks, reports, saved plans, the ``init`` scaffold) is
resolved, following every symlink, and must then lie inside the project root: the git top
level above the spec, else the spec's folder, and never inside a ``.git`` folder (a write
there is a command the next ``git status`` runs: ``core.fsmonitor``, hooks). ``confine`` is
that check; nothing writes a path it did not pass.

A take's file is not any path inside the project: it is ``output_dir/<shot id>/<take>.<ext>``
(``OutputLayout``). A path read back from a state file, a store's snapshot or journal step, or a
saved plan is used only when it is exactly that file (``OutputLayout.problem``, the one check
that apply, pull, push, restores, report, export and review call).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from runner.catalog.endpoints import FORMAT_EXTENSIONS, KIND_EXTENSIONS
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
    try:
        resolved = path.resolve()
    except (ValueError, OSError, RuntimeError):  # a NUL byte, a symlink loop: no path to use
        return False
    root = root.resolve()
    return resolved == root or root in resolved.parents


GIT_FOLDER = ".git"

BUCKET_SCHEMES = ("s3://", "gs://", "az://", "azure://", "abfs://")
"""Store URLs that name a bucket (``store.objects.open_store``); anything else is a folder."""


def in_git_folder(path: Path) -> bool:
    """Whether ``path``, resolved with every symlink, lies inside a ``.git`` folder (of the
    project or of any repository below it)."""
    try:
        resolved = path.resolve()
    except (ValueError, OSError, RuntimeError):
        return False
    return _in_git(resolved)


def _in_git(resolved: Path) -> bool:
    return GIT_FOLDER in resolved.parts[:-1] or resolved.name == GIT_FOLDER


def confine(path: Path, root: Path, *, what: str, hint: str = "") -> Path:
    """``path`` resolved when it lies inside ``root`` and outside every ``.git`` folder; else
    ``OutsideProject`` naming ``what`` (``spec.yaml:3:13: output_dir``, ``--out``, ``state file ...``).

    The resolved path is what callers then write, so a symlink swapped in after the check
    still cannot redirect the write of a part that was checked.
    """
    if not is_inside(path, root):
        raise OutsideProject(what, path, root.resolve(), hint=hint)
    if in_git_folder(path):
        raise OutsideProject(what, path, root.resolve(), hint="it lies inside a .git folder, where runner never "
                             "writes (git runs what its config and hooks say): choose a path outside it")
    return path.resolve()


OUTPUT_EXTENSIONS = frozenset({*FORMAT_EXTENSIONS.values(), *KIND_EXTENSIONS.values()})
"""Every extension the endpoint registry gives an output file."""

_TAKE_FILE = re.compile(r"(?P<take>[1-9][0-9]{0,3})(?:-(?P<part>[1-9][0-9]{0,3}))?\.(?P<ext>[a-z0-9]{1,8})")


@dataclass(frozen=True)
class OutputLayout:
    """Where a spec's takes go: ``<output_dir>/<shot id>/<take>.<ext>``, the extension from the
    endpoint registry; a take of several files keeps its first as ``<take>.<ext>`` and the
    others as ``<take>-<k>.<ext>``, k = 2..N. Paths are written relative to the spec's folder
    (``spec_dir``), as the state file records them; ``output_dir`` is resolved."""

    spec_dir: Path
    output_dir: Path
    root: Path

    # Computed once per layout, not once per take (a plan of 50,000 shots checks every take).
    @functools.cached_property
    def prefix(self) -> str:
        """``output_dir`` relative to the spec's folder, ``/``-terminated (empty when it is that folder)."""
        rel = relative_to(self.spec_dir, self.output_dir)
        return "" if rel in ("", ".") else rel.rstrip("/") + "/"

    @functools.cached_property
    def _top(self) -> Path:
        return self.output_dir.resolve()

    def name(self, shot_id: str, take: int, ext: str, part: int = 1) -> str:
        """The file of take ``take`` (its ``part``-th file) of ``shot_id``, relative to the spec's folder."""
        return f"{self.prefix}{shot_id}/{take}{'' if part == 1 else f'-{part}'}.{ext}"

    def problem(self, output: object, *, shot_id: str, take: int) -> str | None:
        """Why ``output`` — a take's file as a state file, a store's snapshot or journal step, a
        local journal line or a saved plan names it — is not the file runner makes for take
        ``take`` of ``shot_id``; None when it is. Nothing may be moved, restored, pulled, pushed,
        served, exported or deleted for a take whose path this refuses.

        The path must be, character for character, ``<output_dir>/<shot id>/<take>.<ext>`` or
        ``<take>-<k>.<ext>`` (k ≥ 2) with an extension the registry gives outputs, and must
        resolve (symlinks followed) to that place inside ``output_dir``, outside any ``.git``.
        """
        wanted = self.name(shot_id, take, "<ext>")
        if not isinstance(output, str) or not output.startswith(f"{self.prefix}{shot_id}/"):
            head, _, tail = output.rpartition(f"/{shot_id}/") if isinstance(output, str) else ("", "", "")
            found = _TAKE_FILE.fullmatch(tail)
            if head and found is not None and int(found["take"]) == take and ".." not in head.split("/"):
                return (f"is not the file runner makes for take {take} of shot {shot_id} ({wanted}): it is in "
                        f"another output folder ({head}/). If output_dir or name changed, move {head}/ to "
                        f"{self.prefix or './'} and replace {head}/ with {self.prefix or 'nothing'} in the state")
            return f"is not the file runner makes for take {take} of shot {shot_id} ({wanted})"
        found = _TAKE_FILE.fullmatch(output[len(self.prefix) + len(shot_id) + 1:])
        if found is None or int(found["take"]) != take or (found["part"] and int(found["part"]) < 2) or \
                found["ext"] not in OUTPUT_EXTENSIONS:
            return f"is not the file runner makes for take {take} of shot {shot_id} ({wanted})"
        path = self.spec_dir / output
        folder = self.output_dir / shot_id
        try:
            resolved, top = path.resolve(), self._top
        except (ValueError, OSError, RuntimeError):
            return "resolves nowhere usable (a symlink loop?)"
        if resolved != top / shot_id / path.name or _in_git(resolved):
            return (f"resolves to {resolved}, not into its shot folder {folder} (a symlink?); runner only "
                    "reads, moves and writes take files there")
        return None


def read_back_problem(rel: object, base: Path, root: Path) -> str | None:
    """Why a path read back from one of runner's own files (the committed state file, a saved
    plan), relative to ``base``, is not one runner could have written; None when it is fine.

    It must be relative, and lie inside ``root`` both as written (``..`` may only climb
    within the project: a spec in ``campaigns/`` with ``output_dir: ../outputs``) and once
    resolved with symlinks.
    """
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        return "is empty or not a path"
    if PurePosixPath(rel).is_absolute() or Path(rel).is_absolute() or rel.startswith("~"):
        return "is an absolute path"
    joined = base.resolve() / rel
    top = root.resolve()
    lexical = Path(os.path.normpath(joined))
    if not (lexical == top or top in lexical.parents) or not is_inside(joined, top):
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
