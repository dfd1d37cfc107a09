"""The store's object interface behaves the same on a folder and on a bucket (moto S3)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from runner.errors import StoreError
from runner.store.objects import Objects, open_store


def test_create_only_once_and_replace_only_on_the_read_etag(objects: Objects) -> None:
    etag = objects.create("locks/a.json", b"first")
    assert etag
    assert objects.create("locks/a.json", b"second") is None
    got = objects.read("locks/a.json")
    assert got is not None and got.data == b"first" and got.etag == etag

    new = objects.replace("locks/a.json", b"third", etag)
    assert new and new != etag
    assert objects.replace("locks/a.json", b"stale", etag) is None  # somebody changed it since
    assert objects.replace("locks/missing.json", b"x", etag) is None
    got = objects.read("locks/a.json")
    assert got is not None and got.data == b"third"


def test_of_many_racing_creates_exactly_one_wins(objects: Objects) -> None:
    wins: list[int] = []

    def race(n: int) -> None:
        if objects.create("journal/000001.json", f"writer {n}".encode()) is not None:
            wins.append(n)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    got = objects.read("journal/000001.json")
    assert got is not None and got.data == f"writer {wins[0]}".encode()


def test_keys_list_a_prefix_and_delete_forgets(objects: Objects) -> None:
    for key in ("journal/2.json", "journal/1.json", "snapshots/s.json"):
        objects.write(key, b"{}")
    assert objects.keys("journal") == ["journal/1.json", "journal/2.json"]
    assert objects.exists("snapshots/s.json")
    objects.delete("snapshots/s.json")
    objects.delete("snapshots/s.json")  # twice is fine
    assert not objects.exists("snapshots/s.json")
    assert objects.read("snapshots/s.json") is None


def test_files_stream_in_and_out(objects: Objects, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * 12_000)  # 3 MB: more than one chunk
    objects.upload("blobs/x", source)
    got = bytearray()
    assert objects.download("blobs/x", got.extend)
    assert bytes(got) == source.read_bytes()
    assert not objects.download("blobs/none", got.extend)


@pytest.mark.parametrize("key", ["../outside", "a/../../b", "/abs", "a//b", ".hidden", "a/./b", "a\\b", ""])
def test_keys_that_could_leave_the_store_are_refused(objects: Objects, key: str) -> None:
    with pytest.raises(StoreError, match="unsafe object key"):
        objects.write(key, b"x")


def test_an_unknown_scheme_says_which_ones_exist() -> None:
    with pytest.raises(StoreError, match="s3://bucket/prefix"):
        open_store("ftp://example.com/x")


def test_an_unreachable_bucket_is_a_store_error_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    for var, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
                       "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ALLOW_HTTP": "true"}.items():
        monkeypatch.setenv(var, value)
    store = open_store("s3://nowhere/prefix")
    with pytest.raises(StoreError, match=r"store s3://nowhere/prefix/state.json: .*credentials and endpoint"):
        store.read("state.json")



def test_azure_tests_run_where_ci_requires_them(request: pytest.FixtureRequest) -> None:
    """Where .ci/run sets RUNNER_TEST_REQUIRE_AZURITE=1 the az:// tests cannot skip: Azurite starts
    (the fixture fails, saying how to install it, when it is missing)."""
    if os.environ.get("RUNNER_TEST_REQUIRE_AZURITE") == "1":
        assert str(request.getfixturevalue("azurite_endpoint")).startswith("http://127.0.0.1:")


def test_a_versioned_bucket_replaces_on_the_etag_and_version_it_read(bucket_url: str, s3_endpoint: str) -> None:
    # A store with object versions (GCS always; S3 with versioning on) hands back a version with
    # each object, and GCS matches a conditional update on it: the token names both.
    import http.client

    bucket = bucket_url.removeprefix("s3://").split("/", 1)[0]
    conn = http.client.HTTPConnection("127.0.0.1", int(s3_endpoint.rsplit(":", 1)[1]), timeout=5)
    conn.request("PUT", f"/{bucket}?versioning", body=b'<VersioningConfiguration><Status>Enabled</Status>'
                 b'</VersioningConfiguration>')
    assert conn.getresponse().status == 200
    conn.close()
    objects = open_store(bucket_url)
    token = objects.create("locks/v.json", b"first")
    assert token and "\n" in token  # the ETag and the version
    new = objects.replace("locks/v.json", b"second", token)
    assert new and new != token
    assert objects.replace("locks/v.json", b"stale", token) is None
    got = objects.read("locks/v.json")
    assert got is not None and got.data == b"second" and got.etag == new
