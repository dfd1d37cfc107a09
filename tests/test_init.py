"""runner init scaffolds a campaign that validates, plans and applies."""

from __future__ import annotations

from pathlib import Path

import yaml


def test_init_scaffolds_a_working_campaign(tmp_path: Path, run, api) -> None:
    (tmp_path / ".git").mkdir()
    result = run(["init", str(tmp_path / "campaigns"), "--name", "spring", "--ci"])
    assert result.exit_code == 0, result.stderr
    spec = tmp_path / "campaigns" / "spring.yaml"
    assert spec.read_text().startswith("# yaml-language-server: $schema=")
    assert "outputs/" in (tmp_path / "campaigns" / ".gitignore").read_text()
    assert "*.state.journal" in (tmp_path / "campaigns" / ".gitignore").read_text().splitlines()
    assert "*.state.unsaved.json" in (tmp_path / "campaigns" / ".gitignore").read_text().splitlines()
    workflow = yaml.safe_load((tmp_path / ".github" / "workflows" / "runner.yml").read_text())
    assert workflow["env"]["SPEC"] == "campaigns/spring.yaml"
    assert run(["validate", str(spec)]).exit_code == 0
    emu = api()
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02"]).exit_code == 0
    assert emu.stats["creates_total"] == 3


def test_init_never_overwrites_and_needs_a_name_without_a_terminal(tmp_path: Path, run) -> None:
    assert run(["init", str(tmp_path), "--name", "a"]).exit_code == 0
    again = run(["init", str(tmp_path), "--name", "a"])
    assert again.exit_code == 1 and "never overwrites" in again.stderr
    nameless = run(["init", str(tmp_path / "b")])
    assert nameless.exit_code == 1 and "pass --name" in nameless.stderr
    bad = run(["init", str(tmp_path / "c"), "--name", "a", "--model", "gen4_turbo"])
    assert bad.exit_code == 1 and "has no text mode" in bad.stderr


def test_init_writes_nothing_machine_specific_and_files_follow_the_umask(tmp_path: Path, run, api) -> None:
    import os
    import re

    (tmp_path / ".git").mkdir()
    old = os.umask(0o002)
    try:
        assert run(["init", str(tmp_path / "c"), "--name", "spring"]).exit_code == 0
        spec = tmp_path / "c" / "spring.yaml"
        first = spec.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=spec.schema.json"  # relative: works on every clone
        assert (tmp_path / "c" / "spec.schema.json").read_text().startswith("{")
        assert str(tmp_path) not in spec.read_text() and "file://" not in spec.read_text()
        # Every asset the example names is there.
        for ref in re.findall(r"image: (\S+)", spec.read_text()):
            assert (spec.parent / ref).is_file(), ref
        api()
        assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02"]).exit_code == 0
        result = run(["report", str(spec)])
        assert result.exit_code == 0, result.stderr
    finally:
        os.umask(old)
    page = tmp_path / "c" / "spring.report.html"  # named after the spec, beside it
    assert page.is_file() and not (tmp_path / "c" / "report.html").exists()
    assert "*.report.html" in (tmp_path / "c" / ".gitignore").read_text().splitlines()
    for path in (spec, page, tmp_path / "c" / "spring.state.json", *(tmp_path / "c" / "outputs").rglob("*.mp4")):
        assert path.stat().st_mode & 0o777 == 0o664, path  # the user's umask, not a fixed 0644 or mkstemp's 0600
