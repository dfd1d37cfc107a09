"""Checks on the media a spec points at, done while validating (before any upload).

Local paths are resolved relative to the spec file, symlinks included, and must stay
inside the project root (the git top level, else the spec's folder). Remote inputs must
be https URLs, ``runway://`` URIs or ``data:`` URIs of the right media type. The full URL
policy (private addresses, DNS) is applied when a URL is about to be sent.
"""

from __future__ import annotations

import base64
import errno
import stat
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from runner.inputs.urlpolicy import Resolver, check_url

DATA_URI_BYTES = 5 * 1024 * 1024
UPLOAD_BYTES = 200 * 1024 * 1024

# File signatures (magic bytes) per media kind: a file is judged by its content, not its name.
_SIGNATURES: dict[str, tuple[tuple[int, bytes], ...]] = {
    "image": ((0, b"\x89PNG\r\n\x1a\n"), (0, b"\xff\xd8\xff"), (0, b"GIF87a"), (0, b"GIF89a"), (8, b"WEBP")),
    "video": ((4, b"ftyp"), (0, b"\x1a\x45\xdf\xa3")),
    "audio": ((0, b"ID3"), (0, b"\xff\xfb"), (0, b"\xff\xf3"), (0, b"\xff\xf2"), (8, b"WAVE"), (0, b"OggS"),
              (0, b"fLaC"), (4, b"ftyp")),
}


def classify(ref: str) -> Literal["local", "url", "runway", "data"]:
    """What a media reference is: a local path, an https URL, a runway:// upload or a data URI."""
    lowered = ref.lower()
    if lowered.startswith("runway://"):
        return "runway"
    if lowered.startswith("data:"):
        return "data"
    if "://" in lowered:
        return "url"
    return "local"


def resolve_local(ref: str, spec_dir: Path) -> Path:
    return (spec_dir / ref).resolve()


def sniff(path: Path, kind: str) -> bool:
    """True when the file's first bytes are those of a ``kind`` (image/video/audio) file."""
    with path.open("rb") as f:
        return sniff_bytes(f.read(16), kind)


def sniff_bytes(head: bytes, kind: str) -> bool:
    """True when ``head`` (the first bytes of some content) starts like a ``kind`` file."""
    return any(head[offset:offset + len(magic)] == magic for offset, magic in _SIGNATURES.get(kind, ()))


def check_input(ref: str, kind: str, spec_dir: Path, root: Path, *, allowed_hosts: Sequence[str] | None = None,
                resolve: Resolver | None = None, offline_ok: bool = True) -> str | None:
    """None when ``ref`` is acceptable, else a sentence saying what is wrong."""
    if not ref.strip():
        return "is empty; give a path, an https URL or a runway:// URI"
    source = classify(ref)
    if source == "data":
        return _check_data_uri(ref, kind)
    if source == "runway":
        return None
    if source == "url":
        return check_url(ref, allowed_hosts=allowed_hosts, resolve=resolve, offline_ok=offline_ok)
    return _check_local(ref, kind, spec_dir, root)


def data_uri_content(header: str, payload: str) -> bytes:
    """The bytes a data URI holds (``header`` is what comes before its comma): base64 when
    the header says ``;base64``, else percent-decoded. ValueError for broken base64.
    Callers bound ``payload``'s length first."""
    if header.lower().endswith(";base64"):
        return base64.b64decode(payload, validate=True)  # binascii.Error is a ValueError
    return urllib.parse.unquote_to_bytes(payload)


def _check_data_uri(ref: str, kind: str) -> str | None:
    """A data URI: the declared type, the size (before decoding anything), then the content's
    magic bytes, as for a local file."""
    if not ref.lower().startswith(f"data:{kind}/"):
        return f"data URI must hold {kind} data (data:{kind}/...)"
    if len(ref) > DATA_URI_BYTES * 4 // 3 + 100:
        return f"data URI is over the API's {DATA_URI_BYTES // 2**20} MB limit; use a local file (it is uploaded)"
    header, comma, payload = ref.partition(",")
    if not comma:
        return "data URI has no ',' before its data (data:<type>;base64,<data>)"
    try:
        content = data_uri_content(header, payload)
    except ValueError:
        return "data URI is declared ;base64 but its data is not valid base64"
    if len(content) > DATA_URI_BYTES:
        return f"data URI is over the API's {DATA_URI_BYTES // 2**20} MB limit; use a local file (it is uploaded)"
    if not sniff_bytes(content[:16], kind):
        article = "an" if kind in ("image", "audio") else "a"
        return f"data URI does not hold {article} {kind} file (judged by its content, not its declared type)"
    return None


def _check_local(ref: str, kind: str, spec_dir: Path, root: Path) -> str | None:
    """A local input: inside the project, a regular file, small enough, and of the right kind by content."""
    if Path(ref).is_absolute():
        return f"absolute path {ref!r}: give a path relative to the spec file, inside the project"
    try:
        resolved = resolve_local(ref, spec_dir)
    except (RuntimeError, OSError) as e:  # Python 3.11 raises RuntimeError for a loop, 3.13 OSError(ELOOP)
        if isinstance(e, OSError) and e.errno != errno.ELOOP:
            return f"cannot read {ref!r}: {e.strerror}"
        return f"{ref!r} is a symlink loop (a link that leads back to itself); point it at a real file"
    root = root.resolve()
    if resolved != root and root not in resolved.parents:
        return f"{ref!r} resolves outside the project root {root}; inputs must live inside the project"
    try:
        st = resolved.stat()
    except FileNotFoundError:
        return f"file not found: {ref!r} (relative to {spec_dir})"
    except OSError as e:
        return f"cannot read {ref!r}: {e.strerror}"
    if not stat.S_ISREG(st.st_mode):
        return f"{ref!r} is not a regular file"
    if st.st_size > UPLOAD_BYTES:
        return f"{ref!r} is {st.st_size:,} bytes; uploads are limited to {UPLOAD_BYTES // 2**20} MB"
    try:
        if not sniff(resolved, kind):
            article = "an" if kind in ("image", "audio") else "a"
            return f"{ref!r} is not {article} {kind} file (judged by its content, not its name)"
    except OSError as e:
        return f"cannot read {ref!r}: {e.strerror}"
    return None
