"""Stores for tests: a local folder, and a bucket on moto's standalone S3 server (real HTTP on
loopback, started once per session by tests/conftest.py), directly or through a FaultProxy.
``objects`` runs a test against both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faultproxy import FaultProxy

from runner.store.objects import Objects, open_store


@pytest.fixture
def bucket_url(make_bucket: Callable[..., str]) -> str:
    """A fresh bucket on the moto server, with the standard AWS variables pointing at it."""
    return make_bucket()


@pytest.fixture
def flaky(s3_endpoint: str, make_bucket: Callable[..., str],
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, FaultProxy]]:
    """A fresh bucket reached through a FaultProxy (healthy until a test turns its knobs), with
    obstore's retries kept short (RUNNER_STORE_RETRY_SECONDS) so that faults cost milliseconds."""
    proxy = FaultProxy(s3_endpoint)
    monkeypatch.setenv("RUNNER_STORE_RETRY_SECONDS", "3")
    try:
        yield make_bucket(proxy.url), proxy
    finally:
        proxy.close()


@pytest.fixture(params=["folder", "bucket", "azure"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store of each kind: a folder, an S3 bucket (moto), an Azure container (Azurite, skipped when not installed)."""
    if request.param == "folder":
        return str(tmp_path / "store")
    if request.param == "azure":
        return str(request.getfixturevalue("make_container")())
    return str(request.getfixturevalue("bucket_url"))


@pytest.fixture
def objects(store_url: str) -> Objects:
    return open_store(store_url)


@pytest.fixture(params=["s3", "azure"])
def flaky_any(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, FaultProxy]]:
    """``flaky`` for S3 (moto) and for Azure (Azurite, skipped when not installed)."""
    if request.param == "s3":
        yield request.getfixturevalue("flaky")
        return
    endpoint = request.getfixturevalue("azurite_endpoint")
    url = request.getfixturevalue("make_container")()
    proxy = FaultProxy(endpoint)
    monkeypatch.setenv("RUNNER_STORE_RETRY_SECONDS", "3")
    monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", proxy.url)
    try:
        yield url, proxy
    finally:
        proxy.close()
