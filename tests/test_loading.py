"""Loading hostile or broken files: always exit 1 with a located message, never a hang."""

from __future__ import annotations

import os
from pathlib import Path

from runner.spec.yamlload import MAX_BYTES, load_yaml, parse_yaml


def test_positions_are_one_based_line_and_column() -> None:
    doc = parse_yaml("version: 1\nshots:\n  - id: a\n    prompt: hi\n", "s.yaml")
    assert str(doc.where(("shots", 0, "prompt"))) == "s.yaml:4:13"
    assert str(doc.where_key(("shots", 0, "prompt"))) == "s.yaml:4:5"
    assert str(doc.where(("shots", 0, "nope"))) == "s.yaml:3:5"  # nearest ancestor


def test_merge_keys_are_supported() -> None:
    doc = parse_yaml("base: &b {model: gen4.5, ratio: '1280:720'}\nshot: {<<: *b, ratio: '720:1280'}\n", "s")
    assert doc.data["shot"] == {"model": "gen4.5", "ratio": "720:1280"}


def test_file_over_size_limit_is_refused_without_parsing(tmp_path: Path, run) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("version: 1\n" + "# padding\n" * (MAX_BYTES // 10 + 10))
    result = run(["validate", str(big)])
    assert result.exit_code == 1
    assert "specs are limited to 5,242,880 bytes" in result.stderr


def test_directory_and_missing_file(tmp_path: Path, run) -> None:
    result = run(["validate", str(tmp_path), str(tmp_path / "missing.yaml")])
    assert result.exit_code == 1
    assert "is a directory" in result.stderr
    assert "missing.yaml: no such file" in result.stderr


def test_binary_file_is_reported_not_crashed(tmp_path: Path, run) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage\x80")
    result = run(["validate", str(path)])
    assert result.exit_code == 1
    assert "not UTF-8" in result.stderr


def test_alias_bomb_fails_fast(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 30)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    try:
        load_yaml(path)
    except Exception as e:  # noqa: BLE001
        assert "more than 1,000,000 values" in str(e)
    else:  # pragma: no cover
        raise AssertionError("bomb loaded")


def image_spec(folder: Path, image: str) -> Path:
    """A one-shot gen4_turbo spec in ``folder`` whose image (line 6, column 12) is ``image``."""
    spec = folder / "spec.yaml"
    spec.write_text(
        "version: 1\nname: t\nshots:\n  - id: a\n    model: gen4_turbo\n"
        f"    image: {image}\n    ratio: '1280:720'\n"
    )
    return spec


def test_symlink_escape_is_refused(tmp_path: Path, run) -> None:
    project = tmp_path / "project"
    project.mkdir()
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG\r\n\x1a\n")
    os.symlink(outside, project / "frame.png")
    spec = image_spec(project, "frame.png")
    result = run(["validate", str(spec)])
    assert result.exit_code == 1
    assert "resolves outside the project root" in result.stderr
    assert ":6:12: shot a: image:" in result.stderr


def test_fifo_input_is_refused(tmp_path: Path, run) -> None:
    os.mkfifo(tmp_path / "pipe.png")
    spec = image_spec(tmp_path, "pipe.png")
    result = run(["validate", str(spec)])
    assert result.exit_code == 1
    assert "is not a regular file" in result.stderr


def test_project_root_is_git_top_level(tmp_path: Path, run) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "specs").mkdir()
    spec = image_spec(tmp_path / "specs", "../assets/a.png")
    assert run(["validate", str(spec)]).exit_code == 0
