"""Where runner's local cache lives: ``$RUNNER_CACHE_DIR``, else ``$XDG_CACHE_HOME/runner``,
else ``~/.cache/runner``, in a format-versioned subfolder so that a future layout never
misreads this one. Resolved here, in the lowest layer that keeps something there (the media
facts of ``inputs.media``); ``store.cache`` keeps the rest under the same folder."""

from __future__ import annotations

import os
from pathlib import Path

FORMAT = "v1"


def cache_dir() -> Path:
    """The cache folder (not created)."""
    env = os.environ.get("RUNNER_CACHE_DIR")
    if env:
        return Path(env).expanduser() / FORMAT
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "runner" / FORMAT
