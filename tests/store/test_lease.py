"""The apply lock made of conditional writes: one holder anywhere, a clear refusal naming it,
takeover of a dead holder's expired lease, and force-unlock only by the right lock id."""

from __future__ import annotations

import threading
import time

import pytest

from runner.errors import LockHeld, LockLost, StoreError
from runner.store.lease import acquire, force_unlock, holder_of, kept, parse_holder
from runner.store.objects import Objects

KEY = "locks/spec.json"


def test_a_second_apply_is_refused_with_the_holders_name_and_lock_id(objects: Objects,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "team/campaign")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    first = acquire(objects, KEY, "spec.yaml")
    with pytest.raises(LockHeld) as refused:
        acquire(objects, KEY, "spec.yaml")
    message = str(refused.value)
    assert first.lock_id in message and f"runner state unlock {first.lock_id}" in message
    assert "https://github.com/team/campaign/actions/runs/42" in message
    assert f"pid {first.holder.pid}" in message


def test_release_frees_the_lock_for_the_next_apply(objects: Objects) -> None:
    first = acquire(objects, KEY, "spec.yaml")
    first.release()
    second = acquire(objects, KEY, "spec.yaml")
    assert second.lock_id != first.lock_id
    assert holder_of(objects, KEY)[0] == second.holder


def test_of_many_racing_applies_exactly_one_gets_the_lock(objects: Objects) -> None:
    won, refused = [], []

    def race() -> None:
        try:
            won.append(acquire(objects, KEY, "spec.yaml"))
        except LockHeld:
            refused.append(1)

    threads = [threading.Thread(target=race) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(refused) == 5


def test_a_dead_holders_expired_lease_is_taken_over_and_the_old_holder_cannot_renew(objects: Objects) -> None:
    dead = acquire(objects, KEY, "spec.yaml", lease=0.05)
    time.sleep(0.1)
    alive = acquire(objects, KEY, "spec.yaml")
    assert holder_of(objects, KEY)[0] == alive.holder
    with pytest.raises(LockLost, match="taken over"):
        dead.renew()
    dead.release()  # a late release leaves the new holder's lock alone
    assert holder_of(objects, KEY)[0] == alive.holder


def test_waiting_with_a_timeout_gets_the_lock_when_the_holder_finishes(objects: Objects) -> None:
    first = acquire(objects, KEY, "spec.yaml")
    releaser = threading.Timer(0.3, first.release)
    releaser.start()
    second = acquire(objects, KEY, "spec.yaml", timeout=10)
    releaser.join()
    assert holder_of(objects, KEY)[0] == second.holder


def test_force_unlock_needs_the_holders_lock_id(objects: Objects) -> None:
    held = acquire(objects, KEY, "spec.yaml")
    with pytest.raises(StoreError, match="does not match"):
        force_unlock(objects, KEY, "00000000-0000-0000-0000-000000000000")
    assert holder_of(objects, KEY)[0] == held.holder
    assert force_unlock(objects, KEY, held.lock_id) == held.holder
    assert holder_of(objects, KEY)[0] is None
    with pytest.raises(LockLost):
        held.renew()
    with pytest.raises(StoreError, match="nothing to unlock"):
        force_unlock(objects, KEY, held.lock_id)


def test_a_kept_lease_is_renewed_and_released_and_reports_a_takeover(objects: Objects) -> None:
    lease = acquire(objects, KEY, "spec.yaml", lease=0.3)
    with kept(lease) as check:
        time.sleep(0.5)  # longer than the lease: only renewal keeps it
        check()
        assert holder_of(objects, KEY)[0] is not None
    assert holder_of(objects, KEY)[0] is None  # released after the block

    lease = acquire(objects, KEY, "spec.yaml", lease=0.3)
    with kept(lease) as check:
        force_unlock(objects, KEY, lease.lock_id)
        acquire(objects, KEY, "spec.yaml")  # somebody else now
        time.sleep(0.4)
        with pytest.raises(LockLost):
            check()


@pytest.mark.parametrize("body", [b"", b"null", b"[]", b'{"id": 1}', b'{"id": "x", "user": "u", "host": "h", '
                                  b'"pid": "NaN?", "taken": 0, "expires": 1e999}', b"\xff\xfe"])
def test_a_broken_lock_object_does_not_block_forever(objects: Objects, body: bytes) -> None:
    objects.write(KEY, body)
    assert parse_holder(body) is None
    lease = acquire(objects, KEY, "spec.yaml")
    assert holder_of(objects, KEY)[0] == lease.holder
