"""Poster frames: a small JPEG of a take (a video's first frame, an image scaled down), made
when a page first asks for it and kept by the file's sha256 (in memory and in runner's cache),
so a grid of thousands of takes costs only the posters someone scrolls to."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from pathlib import Path

from runner.store import cache as cache_mod

WIDTH = 384  # twice the grid's cell: sharp on a HiDPI screen, ~10 KB
_MEMORY = 4096


class Posters:
    def __init__(self) -> None:
        self._memo: OrderedDict[str, bytes | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path, sha256: str, kind: str) -> bytes | None:
        """The poster of the file at ``path`` (whose content is ``sha256``), None when it has none."""
        key = f"poster:{WIDTH}:{sha256}"
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        db = cache_mod.cache()
        hit = db.get(key)
        data = hit if isinstance(hit, bytes) else make_poster(path, kind)
        if data is not None and hit is None:
            db.set(key, data)
        with self._lock:
            self._memo[key] = data
            while len(self._memo) > _MEMORY:
                self._memo.popitem(last=False)
        return data


def make_poster(path: Path, kind: str, width: int = WIDTH) -> bytes | None:
    """A JPEG ``width`` wide at most of a video's first frame or of an image; None when the file
    cannot be decoded (it is untrusted: any failure is no poster, never an error page)."""
    from PIL import Image

    try:
        if kind == "video":
            import av

            with av.open(str(path)) as container:
                frame = next(container.decode(video=0))
                img = frame.to_image()  # type: ignore[no-untyped-call]
        elif kind == "image":
            with Image.open(path) as opened:
                if opened.width * opened.height > 16384 * 16384:
                    return None
                opened.draft("RGB", (width, width))
                img = opened.convert("RGB")
        else:
            return None
    except Exception:  # noqa: BLE001 - an undecodable file has no poster
        return None
    img.thumbnail((width, width))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=78)
    return buf.getvalue()
