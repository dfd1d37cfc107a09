from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import http.client
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli import main

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (pyproject's addopts) starts two workers per core: the tests wait on emulators,
    servers and subprocesses about half of the time (a whole run used 342 CPU-seconds in 659 s
    on 2 cores), so one worker per core leaves the cores idle while it waits.
    PYTEST_XDIST_AUTO_NUM_WORKERS, when set, decides instead (xdist's own rule)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return 2 * len(os.sched_getaffinity(0))


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


# --- object stores: moto's standalone S3 server on loopback (tests/store, tests/faults) ---

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(port: int, method: str, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        return conn.getresponse().status
    finally:
        conn.close()


def _wait_until_up(proc: subprocess.Popen[bytes], ready: Callable[[], object], what: str) -> None:
    """Return once ``ready()`` stops raising OSError; fail (killing ``proc``) after 30 s or if it exits."""
    deadline = time.monotonic() + 30
    while True:
        try:
            ready()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"{what} did not start")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on loopback, whose conditional writes are atomic as S3's are
    (tests/moto_atomic.py)."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "moto_atomic.py"), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_until_up(proc, lambda: _request(port, "GET", "/"), "moto's S3 server")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def make_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """make_bucket(endpoint=None): a fresh bucket on the moto server, with the standard AWS
    variables pointing at ``endpoint`` (moto itself by default, or a proxy in front of it)."""
    return functools.partial(_new_bucket, s3_endpoint, monkeypatch)


def _new_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, endpoint: str | None = None) -> str:
    name = f"runner-{uuid.uuid4().hex[:12]}"
    port = int(s3_endpoint.rsplit(":", 1)[1])
    assert _request(port, "PUT", f"/{name}") == 200
    for var, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
                       "AWS_ENDPOINT_URL": endpoint or s3_endpoint, "AWS_ALLOW_HTTP": "true"}.items():
        monkeypatch.setenv(var, value)
    return f"s3://{name}/team/campaign"


# --- Azure: Azurite (npm), when installed: .ci/run puts it in .ci/azurite; else the tests skip ---

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""Azurite's fixed development account and key, the same in every installation (public)."""


# .ci/run sets this: there the az:// tests must run, never skip (as RUNNER_TEST_REQUIRE_CHROMIUM)
AZURITE_REQUIRED = os.environ.get("RUNNER_TEST_REQUIRE_AZURITE") == "1"


def _azurite_binary() -> str | None:
    local = ROOT / ".ci" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
    return str(local) if local.exists() else shutil.which("azurite-blob")


@pytest.fixture(scope="session")
def azurite_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of Azurite's blob service on loopback (in memory), or a skip saying how to get it."""
    binary = _azurite_binary()
    if binary is None and AZURITE_REQUIRED:
        pytest.fail("RUNNER_TEST_REQUIRE_AZURITE=1 but Azurite is not installed: npm install --prefix .ci/azurite "
                    "azurite (.ci/run does it, installing Node and npm from Debian first)")
    if binary is None:
        pytest.skip("Azurite is not installed: npm install --prefix .ci/azurite azurite (.ci/run does it "
                    "where npm is)")
    port = _free_port()
    # In memory, so it writes no database files; run in a temp folder all the same (its debug log's default).
    proc = subprocess.Popen([binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
                             "--skipApiVersionCheck", "--silent"], cwd=tmp_path_factory.mktemp("azurite"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_until_up(proc, lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close(), "Azurite")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def make_container(azurite_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Callable[[], str]:
    """make_container(): a fresh container on Azurite, with obstore's emulator variables pointing at it."""

    def _make() -> str:
        name = f"runner-{uuid.uuid4().hex[:12]}"
        _azure_create_container(int(azurite_endpoint.rsplit(":", 1)[1]), name)
        monkeypatch.setenv("AZURE_STORAGE_USE_EMULATOR", "true")
        monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", azurite_endpoint)
        return f"az://{name}/team/campaign"

    return _make


def _azure_create_container(port: int, name: str) -> None:
    """Create Azurite container ``name`` (a request signed with the account's Shared Key)."""
    date, version = formatdate(usegmt=True), "2021-08-06"
    to_sign = "\n".join(["PUT", *[""] * 11, f"x-ms-date:{date}\nx-ms-version:{version}",
                         f"/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{name}\nrestype:container"])
    signature = base64.b64encode(hmac.new(base64.b64decode(AZURITE_KEY), to_sign.encode(), hashlib.sha256).digest())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("PUT", f"/{AZURITE_ACCOUNT}/{name}?restype=container", headers={
            "x-ms-date": date, "x-ms-version": version, "Content-Length": "0",
            "Authorization": f"SharedKey {AZURITE_ACCOUNT}:{signature.decode()}"})
        assert conn.getresponse().status == 201
    finally:
        conn.close()
