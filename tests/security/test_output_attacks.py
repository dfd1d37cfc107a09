"""Outputs runner downloads and writes: hostile output URLs and files, and local trouble while a
paid output is written. Nothing paid is lost."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from attack_kit import TEXT_SPEC, apply_text, attempt, journal_of

HOSTILE_OUTPUTS = [
    ("metadata-url", "http://169.254.169.254/latest/meta-data/iam", "http URLs are not allowed"),
    ("file-url", "file:///etc/passwd", "file URLs are not allowed"),
    ("ip-literal", "https://10.0.0.1/out.mp4", "IP address 10.0.0.1"),
    ("userinfo", "https://user:pw@cdn.example.com/out.mp4", "user:password@"),
    ("other-loopback-port", "http://127.0.0.1:22/out.mp4", "http URLs are not allowed"),
]


@pytest.mark.parametrize(("url", "fragment"), [c[1:] for c in HOSTILE_OUTPUTS], ids=[c[0] for c in HOSTILE_OUTPUTS])
def test_hostile_output_urls_are_not_downloaded(url: str, fragment: str, write_spec, run, api, tmp_path) -> None:
    emu = api(output_url=url)
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: x\n"
                      "    ratio: '1280:720'\n    duration: 5\n")
    result = attempt(run, spec)
    assert result.exit_code == 1
    assert "refusing to download the output" in result.stdout and fragment in result.stdout
    assert emu.stats["downloads"] == 0
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").rglob("*.mp4"))
    state = json.loads((tmp_path / "spec.state.json").read_text())
    assert state["shots"]["a"]["pending"][0]["task_id"]  # paid for: kept in the journal


def test_output_that_is_not_a_video_is_refused(write_spec, run, api, tmp_path) -> None:
    api()
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: 'x [[html]]'\n"
                      "    ratio: '1280:720'\n    duration: 5\n")
    result = attempt(run, spec)
    assert result.exit_code == 1 and "unexpected content type 'text/html'" in result.stderr
    assert not list((tmp_path / "outputs").rglob("*.mp4"))


def test_oversized_output_is_refused(write_spec, run, api, tmp_path) -> None:
    emu = api()
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: 'x [[size:300000]]'\n"
                      "    ratio: '1280:720'\n    duration: 5\n")
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--max-output-mb", "0.1"])
    assert result.exit_code == 1 and "over the 104857 byte limit" in result.stdout + result.stderr
    assert not list((tmp_path / "outputs").rglob("*.mp4"))
    # Its Content-Length says so: refused at once, never downloaded again (it would not shrink)
    assert "not retried" in result.stdout and "retrying" not in result.stdout + result.stderr
    assert emu.stats["downloads"] == 1


def test_outputs_are_written_readable_not_executable(write_spec, run, api, tmp_path) -> None:
    api()
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: x\n"
                      "    ratio: '1280:720'\n    duration: 5\n")
    assert attempt(run, spec).exit_code == 0
    mode = (tmp_path / "outputs" / "t" / "a" / "1.mp4").stat().st_mode & 0o777
    assert mode == 0o644


@pytest.mark.parametrize(
    "marker",
    [
        pytest.param("[[task-html]]", id="task-read-answers-an-html-page"),
        pytest.param("[[task-weird]]", id="task-status-the-api-does-not-have"),
    ],
)
def test_an_undocumented_task_answer_keeps_the_task_and_ends_the_run(marker: str, write_spec, api, tmp_path) -> None:
    import subprocess
    import sys

    emu = api()
    spec = write_spec(f"version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: 'x {marker}'\n"
                      "    ratio: '1280:720'\n    duration: 5\n")
    cmd = [sys.executable, "-m", "runner", "apply", str(spec), "--yes", "--poll-interval", "0.02"]
    for _ in range(2):  # the second apply finds the task in the journal and does not pay again
        # A time limit: an answer the runner does not understand must never make it poll forever.
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=os.environ.copy(), check=False)
        assert result.returncode == 1, result.stderr  # an error of the API, not a bug (3)
        assert "does not document" in result.stdout + result.stderr
        assert "stays in the journal" in result.stdout + result.stderr
        pending = json.loads((tmp_path / "spec.state.json").read_text())["shots"]["a"]["pending"]
        assert len(pending) == 1 and pending[0]["task_id"]
    assert emu.stats["creates_total"] == 1



# --- Local trouble while a paid output is written ----------------------------------------------

def _directory_where_the_file_goes(out: Path) -> None:
    (out / "t" / "a" / "1.mp4").mkdir(parents=True)


def _file_where_the_folder_goes(out: Path) -> None:
    (out / "t").mkdir(parents=True)
    (out / "t" / "a").write_text("not a folder")


@pytest.mark.parametrize(("obstacle", "fragment"), [
    pytest.param(_directory_where_the_file_goes, "Is a directory", id="directory-where-the-output-goes"),
    pytest.param(_file_where_the_folder_goes, "File exists", id="file-where-the-output-folder-goes"),
])
def test_an_output_that_cannot_be_written_keeps_the_paid_task(obstacle, fragment: str, write_spec, run, api,
                                                              tmp_path) -> None:
    import shutil

    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    obstacle(tmp_path / "outputs")
    result = apply_text(run, spec)
    assert result.exit_code == 1, result.stderr
    assert "cannot write the output" in result.stdout and fragment in result.stdout
    assert "move away what is in the way" in result.stdout and "stays in the journal" in result.stdout
    (entry,) = journal_of(tmp_path)
    assert entry["task_id"]
    assert not list((tmp_path / "outputs").rglob(".tmp-*"))
    shutil.rmtree(tmp_path / "outputs")
    again = apply_text(run, spec)
    assert again.exit_code == 0, again.stdout
    assert emu.stats["creates_total"] == 1 and journal_of(tmp_path) == []


def _read_only(folder: Path):
    """Make ``folder`` read-only for this process: chmod, or (as root, whom modes do not stop)
    a read-only bind mount; skipped where neither is possible."""
    import contextlib
    import shutil
    import subprocess

    @contextlib.contextmanager
    def scope():
        if os.geteuid() != 0:
            folder.chmod(0o555)
            try:
                yield
            finally:
                folder.chmod(0o755)
            return
        mounted = shutil.which("mount") and subprocess.run(
            ["mount", "--bind", "-o", "ro", str(folder), str(folder)], capture_output=True, check=False).returncode == 0
        if not mounted:
            pytest.skip("cannot make a read-only folder here (root without mount)")
        try:
            probe = folder / "probe"
            with contextlib.suppress(OSError):
                probe.write_text("x")
            if probe.exists():
                pytest.skip("the bind mount is not read-only here")
            yield
        finally:
            subprocess.run(["umount", str(folder)], capture_output=True, check=False)

    return scope()


def test_a_read_only_output_folder_is_refused_before_paying(write_spec, run, api, tmp_path) -> None:
    # The output folder's lock lives in it: a folder that cannot be written stops apply before any create.
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    folder = tmp_path / "outputs" / "t"
    folder.mkdir(parents=True)
    with _read_only(folder):
        result = apply_text(run, spec)
    assert result.exit_code == 1, result.stderr
    assert "cannot take the lock" in result.stderr and "nothing was done" in result.stderr
    assert "Read-only file system" in result.stderr or "Permission denied" in result.stderr
    assert emu.stats["creates_total"] == 0
    again = apply_text(run, spec)
    assert again.exit_code == 0, again.stdout
    assert emu.stats["creates_total"] == 1


def test_a_full_disk_during_a_download_keeps_the_paid_task(write_spec, api, tmp_path) -> None:
    """A file size limit (RLIMIT_FSIZE) stands in for a full disk: writes past it fail with
    an OSError in the middle of the download, as ENOSPC would."""
    import resource
    import subprocess
    import sys

    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt="x [[size:3000000]]"))
    cmd = [sys.executable, "-m", "runner", "apply", str(spec), "--yes", "--poll-interval", "0.02"]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    full = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=os.environ.copy(), check=False,
                          preexec_fn=limit)
    assert full.returncode == 1, full.stdout + full.stderr
    assert "cannot write the output" in full.stdout and "File too large" in full.stdout
    assert "free disk space" in full.stdout and "stays in the journal" in full.stdout
    assert journal_of(tmp_path)[0]["task_id"]
    assert not list((tmp_path / "outputs").rglob(".tmp-*"))
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=os.environ.copy(), check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert emu.stats["creates_total"] == 1
    assert (tmp_path / "outputs" / "t" / "a" / "1.mp4").stat().st_size == 3_000_000


def test_an_api_refusal_with_a_huge_code_never_makes_the_state_unreadable(write_spec, run, api, tmp_path) -> None:
    emu = api()
    code = "SAFETY." + "A" * 500
    spec = write_spec(TEXT_SPEC.format(prompt=f"x [[fail:{code}]]"))
    assert apply_text(run, spec).exit_code == 1
    plan = run(["plan", str(spec)])  # reads the state file the refusal was remembered in
    assert plan.exit_code == 0, plan.stderr
    assert "SAFETY.AAAA" in plan.stdout  # still blocked: the refusal is not paid for again
    assert apply_text(run, spec).exit_code == 1 and emu.stats["creates_total"] == 1


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5"])
def test_the_task_deadline_must_be_a_real_number_of_seconds(value: str, write_spec, run, api) -> None:
    emu = api()
    result = apply_text(run, write_spec(TEXT_SPEC.format(prompt="x")), "--task-timeout", value)
    assert result.exit_code != 0 and "Invalid value for '--task-timeout'" in result.stderr  # a usage error
    assert emu.stats["requests"] == {}
