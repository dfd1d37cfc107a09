"""Outputs kept by content: pushed once, pulled back byte-identical, refused when altered."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from runner.errors import StoreError
from runner.store.blobs import blob_key, pull, push
from runner.store.objects import Objects


def _video(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "take.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 5000)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_blob_is_pushed_once_and_pulled_back_identical(objects: Objects, tmp_path: Path) -> None:
    path, sha = _video(tmp_path)
    assert push(objects, path, sha) is True
    assert push(objects, path, sha) is False  # a second take with the same bytes shares it
    dest = tmp_path / "outputs" / "hero" / "1.mp4"
    assert pull(objects, sha, dest, root=tmp_path, size=path.stat().st_size) is True
    assert dest.read_bytes() == path.read_bytes()
    assert objects.keys("blobs") == [f"blobs/sha256/{sha[:2]}/{sha}"]


def test_a_missing_blob_writes_nothing(objects: Objects, tmp_path: Path) -> None:
    dest = tmp_path / "outputs" / "1.mp4"
    assert pull(objects, "0" * 64, dest, root=tmp_path, size=10) is False
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_an_altered_blob_is_refused_and_nothing_is_written(objects: Objects, tmp_path: Path) -> None:
    path, sha = _video(tmp_path)
    objects.write(blob_key(sha), b"not the video it claims to be")
    dest = tmp_path / "outputs" / "1.mp4"
    with pytest.raises(StoreError, match="does not match its name"):
        pull(objects, sha, dest, root=tmp_path, size=path.stat().st_size)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


@pytest.mark.parametrize("bad", ["../../etc/passwd", "abc", "A" * 64, "0" * 63 + "/"])
def test_only_sha256_names_make_blob_keys(bad: str) -> None:
    with pytest.raises(ValueError, match="not a sha256"):
        blob_key(bad)
