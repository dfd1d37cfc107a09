"""Files that are not files, or are too big: every file runner reads back (spec, state file,
journal, saved plan, price file, lock files) and every store object it reads whole is read by
one bounded reader (runner/bounded.py): regular files only, at most a cap per kind whatever
`stat` says, JSON nested at most 100 levels. Each case fails fast with exit 1 and a message
naming the file; nothing is sent."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path

import pytest
from attack_kit import KEY, TEXT_SPEC, apply_text

from runner.bounded import JOURNAL_BYTES, PLAN_BYTES, STATE_BYTES, TooLarge, read_file

SPEC = TEXT_SPEC.format(prompt="x")


@pytest.fixture
def mkfifo():
    """mkfifo(path): a FIFO nobody writes to, so that a read would wait for ever. If something
    does wait on it (the defence is gone), a writer comes after 5 s with bytes that are not
    what the test expects: the test then fails instead of hanging."""
    stop = threading.Event()
    threads = []

    def make(path: Path) -> Path:
        os.mkfifo(path)

        def unblock() -> None:
            deadline = time.monotonic() + 5
            while not stop.wait(0.1):
                if time.monotonic() < deadline:
                    continue
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO while no reader waits
                except OSError:
                    continue
                with contextlib.suppress(OSError):
                    os.write(fd, b"\x00not what a reader that waited expected")
                os.close(fd)

        thread = threading.Thread(target=unblock, daemon=True)
        thread.start()
        threads.append(thread)
        return path

    yield make
    stop.set()
    for thread in threads:
        thread.join()


def sparse(path: Path, size: int) -> Path:
    """A file that says it holds ``size`` bytes (and costs nothing on disk)."""
    with path.open("wb") as f:
        f.truncate(size)
    return path


# --- Specs ------------------------------------------------------------------------------------
# A pull request can commit a spec that is a symlink: to /dev/zero (stat says 0 bytes, so the
# 5 MB check passed and validate grew to gigabytes), to ~/.aws/credentials (whose lines the YAML
# errors then quoted), or a FIFO (validate waited for a writer for ever).

def test_a_spec_linked_to_dev_zero_is_refused_before_it_is_read(write_spec, run, api, tmp_path) -> None:
    emu = api()
    os.symlink("/dev/zero", tmp_path / "zero.yaml")
    for command in (["validate", str(tmp_path / "zero.yaml")], ["plan", str(tmp_path / "zero.yaml")],
                    ["apply", str(tmp_path / "zero.yaml"), "--yes"]):
        result = run(command)
        assert result.exit_code == 1, result.stderr
        assert "zero.yaml: leads to /dev/zero, outside the project" in result.stderr
    assert emu.stats["requests"] == {}


def test_a_spec_linked_to_a_file_outside_the_project_is_refused_and_never_echoed(run, tmp_path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".git").mkdir()
    secret = tmp_path / "credentials"
    secret.write_text(f"[default]\naws_secret_access_key = {KEY}\nregion: [unclosed\n")
    os.symlink(secret, project / "spec.yaml")
    result = run(["validate", str(project / "spec.yaml")])
    assert result.exit_code == 1
    assert f"spec.yaml: leads to {secret}, outside the project {project}" in result.stderr
    assert KEY not in result.stderr + result.stdout and "aws_secret" not in result.stderr + result.stdout


def test_a_spec_linked_inside_its_project_still_works(write_spec, run, tmp_path) -> None:
    real = write_spec(SPEC, name="real.yaml")
    os.symlink(real, tmp_path / "link.yaml")
    assert run(["validate", str(tmp_path / "link.yaml")]).exit_code == 0


def test_a_spec_that_is_a_fifo_fails_at_once(run, api, tmp_path, mkfifo) -> None:
    emu = api()
    mkfifo(tmp_path / "spec.yaml")  # nobody ever writes to it: a read would wait for ever
    for command in (["validate", str(tmp_path / "spec.yaml")], ["apply", str(tmp_path / "spec.yaml"), "--yes"]):
        result = run(command)
        assert result.exit_code == 1
        assert "spec.yaml: is a FIFO (named pipe), not a regular file; specs must be regular files" in result.stderr
    assert emu.stats["requests"] == {}


def test_the_reader_stops_at_its_cap_whatever_stat_says() -> None:
    # /proc files say they are 0 bytes long; a read returns more. (A regular file, so only the
    # cap can stop it: the reader reads at most cap + 1 bytes.)
    assert os.stat("/proc/self/maps").st_size == 0
    with pytest.raises(TooLarge, match="holds more than 100 bytes; maps are limited to 100 bytes"):
        read_file("/proc/self/maps", 100, what="maps")
    assert read_file("/proc/self/maps", 10**7, what="maps")


# --- State file, journal, saved plan, price file ----------------------------------------------

def test_a_state_file_over_its_cap_is_refused_without_reading_it(write_spec, run, api, tmp_path) -> None:
    # A 400 MB state took 1.26 GB of memory to refuse; the cap (128 MiB: a 10,000-shot state of
    # three takes each is about 22 MB) is checked before anything is read.
    emu = api()
    spec = write_spec(SPEC)
    sparse(tmp_path / "spec.state.json", STATE_BYTES + 1)
    for command in (["plan", str(spec)], ["apply", str(spec), "--yes"]):
        result = run(command)
        assert result.exit_code == 1
        assert f"cannot read the state file {tmp_path / 'spec.state.json'}: is {STATE_BYTES + 1:,} bytes; state " \
               f"files are limited to {STATE_BYTES:,} bytes" in result.stderr
    assert emu.stats["requests"] == {}


def test_a_state_file_that_is_a_fifo_fails_at_once(write_spec, run, api, tmp_path, mkfifo) -> None:
    emu = api()
    spec = write_spec(SPEC)
    mkfifo(tmp_path / "spec.state.json")
    result = run(["plan", str(spec)])
    assert result.exit_code == 1 and "is a FIFO (named pipe), not a regular file; state files must be" in result.stderr
    assert emu.stats["requests"] == {}


def test_a_journal_over_its_cap_or_a_fifo_is_refused(write_spec, run, api, tmp_path, mkfifo) -> None:
    emu = api()
    spec = write_spec(SPEC)
    journal = sparse(tmp_path / "spec.state.journal", JOURNAL_BYTES + 1)
    result = run(["plan", str(spec)])
    assert result.exit_code == 1
    assert f"cannot read the journal: it is {JOURNAL_BYTES + 1:,} bytes; journals are limited to " \
           f"{JOURNAL_BYTES:,} bytes" in result.stderr
    journal.unlink()
    mkfifo(journal)
    result = apply_text(run, spec)
    assert result.exit_code == 1 and "cannot read the journal: it is a FIFO (named pipe)" in result.stderr
    assert emu.stats["requests"] == {}


def test_a_saved_plan_over_its_cap_or_a_fifo_is_refused(write_spec, run, api, tmp_path, mkfifo) -> None:
    emu = api()
    write_spec(SPEC)
    plan = sparse(tmp_path / "plan.json", PLAN_BYTES + 1)
    result = run(["apply", str(plan), "--yes"])
    assert result.exit_code == 1
    assert f"cannot read the plan file {plan}: is {PLAN_BYTES + 1:,} bytes; saved plans are limited to " \
           f"{PLAN_BYTES:,} bytes" in result.stderr
    plan.unlink()
    mkfifo(plan)
    result = run(["apply", str(plan), "--yes"])
    assert result.exit_code == 1 and "is a FIFO (named pipe), not a regular file; saved plans must be" in result.stderr
    assert emu.stats["requests"] == {}


def test_a_price_file_that_is_a_fifo_or_too_big_is_refused(write_spec, run, tmp_path, mkfifo) -> None:
    spec = write_spec(SPEC)
    mkfifo(tmp_path / "prices.yaml")
    result = run(["plan", str(spec), "--prices", str(tmp_path / "prices.yaml")])
    assert result.exit_code == 1 and "cannot read the price file: it is a FIFO (named pipe)" in result.stderr
    big = sparse(tmp_path / "big.yaml", 6 * 1024 * 1024)
    result = run(["plan", str(spec), "--prices", str(big)])
    assert result.exit_code == 1 and "price files are limited to 5,242,880 bytes" in result.stderr


def test_a_lock_holder_file_that_is_a_fifo_does_not_hang_the_busy_message(write_spec, run, tmp_path,
                                                                          mkfifo) -> None:
    import subprocess
    import sys
    import textwrap

    spec = write_spec(SPEC)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time, filelock
        with filelock.FileLock({str(tmp_path / '.spec.yaml.lock')!r}):
            print("held", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        mkfifo(tmp_path / ".spec.yaml.lock.holder")
        result = run(["apply", str(spec), "--yes", "--emulator"])
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert result.exit_code == 1 and "is running (another process)" in result.stderr


# --- Store objects ----------------------------------------------------------------------------
# Anybody with the store's credentials can write its objects.

def _store_apply(run, spec: Path, store: Path):
    return run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--store", str(store)])


def test_a_store_snapshot_over_its_cap_is_refused(write_spec, run, api, tmp_path) -> None:
    emu = api()
    spec = write_spec(SPEC)
    store = tmp_path / "store"
    (store / "specs" / "t").mkdir(parents=True)
    sparse(store / "specs" / "t" / "state.json", STATE_BYTES + 1)
    result = _store_apply(run, spec, store)
    assert result.exit_code == 1
    assert f"specs/t/state.json: the object is {STATE_BYTES + 1:,} bytes; store objects read whole are limited " \
           f"to {STATE_BYTES:,} bytes" in result.stderr
    assert emu.stats["creates_total"] == 0


def test_a_store_snapshot_nested_too_deeply_is_corrupt_not_a_crash(write_spec, run, api, tmp_path) -> None:
    emu = api()
    spec = write_spec(SPEC)
    store = tmp_path / "store"
    (store / "specs" / "t").mkdir(parents=True)
    (store / "specs" / "t" / "state.json").write_text("[" * 100_000 + "]" * 100_000)
    result = _store_apply(run, spec, store)
    assert result.exit_code == 1, result.stderr
    assert "corrupt state object (not JSON: nested too deeply (more than 100 levels))" in result.stderr
    assert emu.stats["creates_total"] == 0


def test_a_store_object_that_is_a_fifo_fails_at_once(write_spec, run, api, tmp_path, mkfifo) -> None:
    emu = api()
    spec = write_spec(SPEC)
    store = tmp_path / "store"
    (store / "specs" / "t").mkdir(parents=True)
    mkfifo(store / "specs" / "t" / "state.json")
    result = _store_apply(run, spec, store)
    assert result.exit_code == 1 and "the object is a FIFO (named pipe), not a regular file" in result.stderr
    assert emu.stats["creates_total"] == 0


def test_a_store_lock_object_over_its_cap_is_not_a_lock(write_spec, run, api, tmp_path) -> None:
    # A lock object is runner's own small document: one of 100 KB is not a holder, so it is taken
    # over (as any broken lock object is) instead of being read and shown.
    api()
    spec = write_spec(SPEC)
    store = tmp_path / "store"
    (store / "locks").mkdir(parents=True)
    import time

    held = {"id": "x", "user": "u", "host": "h" * 100_000, "pid": 1, "ci_run": None, "taken": time.time(),
            "expires": time.time() + 3600}
    (store / "locks" / "t.json").write_text(json.dumps(held))
    result = _store_apply(run, spec, store)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "h" * 200 not in result.stderr


def test_a_bucket_object_over_its_cap_is_not_read(make_bucket, tmp_path, run, api, monkeypatch) -> None:
    # On S3 (moto) the cap holds too: an upload entry (the runway:// URI of an input another
    # machine uploaded, 64 KiB at most) padded to 100 KB is not used; the input is uploaded again.
    import shutil

    from attack_kit import ROOT

    from runner.store.objects import open_store

    emu = api()
    bucket = make_bucket()
    spec = ("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: '{prompt}'\n"
            "    image: assets/hero.png\n    ratio: '1280:720'\n    duration: 4\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / "assets").mkdir()
    shutil.copy(ROOT / "specs" / "assets" / "hero.png", tmp_path / "assets" / "hero.png")
    first = tmp_path / "first.yaml"
    first.write_text(spec.format(prompt="a slow push in"))
    assert run(["apply", str(first), "--yes", "--poll-interval", "0.02", "--store", bucket]).exit_code == 0
    store = open_store(bucket)
    (key,) = store.keys("uploads")
    entry = store.read(key)
    assert entry is not None
    store.write(key, entry.data + b" " * 100_000)  # still the same JSON document
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "another-machine"))
    second = tmp_path / "second.yaml"
    second.write_text(spec.format(prompt="a slow pull out").replace("name: t", "name: u"))
    result = run(["apply", str(second), "--yes", "--poll-interval", "0.02", "--store", bucket])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert emu.stats["uploads"] == 2
