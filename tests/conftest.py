from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli import main

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own runner cache."""
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run the CLI in-process like a shell line: run(["validate", "spec.yaml"])."""

    def _run(args: list[str], cwd: Path | None = None) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        res = CliRunner().invoke(main, args, catch_exceptions=False)
        return Result(res.exit_code, res.stdout, res.stderr)

    return _run


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a spec (dedented) into tmp_path, with the demo assets beside it."""
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in ("day.png", "night.png", "hero.png", "actor.mp4", "clip.mp4", "sneaker.png"):
        (assets / name).write_bytes((ROOT / "specs" / "assets" / name).read_bytes())

    def _write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


FAST = {"time_scale": 0.002, "pending_seconds": 1.0, "generation_seconds": 20.0}


@pytest.fixture
def make_emulator():
    """Start emulators on free loopback ports: make_emulator(max_concurrent=1, ...)."""
    from contextlib import ExitStack

    from runner.emulator import EmulatorConfig, running_emulator

    with ExitStack() as stack:

        def _make(**settings):
            config = EmulatorConfig().updated({**FAST, **settings})
            return stack.enter_context(running_emulator(config))

        yield _make


@pytest.fixture
def emulator(make_emulator):
    return make_emulator()


@pytest.fixture
def api(make_emulator, monkeypatch: pytest.MonkeyPatch):
    """An emulator that `runner apply` (without --emulator) talks to, via RUNWAYML_BASE_URL."""

    def _start(**settings):
        emu = make_emulator(**settings)
        monkeypatch.setenv("RUNWAYML_BASE_URL", emu.base_url)
        monkeypatch.setenv("RUNWAYML_API_SECRET", "key_test_only")
        return emu

    return _start


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A copy of the demo campaign (spec + assets) in tmp_path."""
    import shutil

    shutil.copytree(ROOT / "specs" / "assets", tmp_path / "assets", dirs_exist_ok=True)
    spec = tmp_path / "demo.yaml"
    spec.write_text((ROOT / "specs" / "demo.yaml").read_text())
    return spec
