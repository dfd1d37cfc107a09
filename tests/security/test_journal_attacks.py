"""The local journal (`<spec>.state.journal`) is read back like the state file: as untrusted input.

A journal is gitignored, but a pull request can still add one (`git add -f`), and a bad one
can be left on a shared disk. Each test asserts exit 1, a message naming the file (and the
line), and that the API received no request at all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runner.store.steps import encode_step

SPEC = ("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: x\n    ratio: '1280:720'\n"
        "    duration: 5\n")
TAKE = {"take": 1, "fingerprint": "f" * 64, "output": "outputs/t/a/1.mp4", "sha256": "a" * 64, "bytes": 10,
        "credits": 50, "task_id": "0c6e7bd4-7a7d-4d6c-9f0e-2d1e6f3a9b10", "finished": "2026-01-01T00:00:00Z",
        "source": "api"}
ENTRY = {"fingerprint": "e" * 64, "model": "gen4.5", "mode": "text", "request": {}, "takes": [], "pending": []}


def attempt(run, spec: Path):
    return run(["apply", str(spec), "--yes", "--poll-interval", "0.02"])


def test_a_journal_that_is_a_link_out_of_the_project_is_refused(tmp_path: Path, write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(SPEC)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("not yours\n")
    before = (secret.read_bytes(), secret.stat().st_mtime_ns)
    os.symlink(secret, tmp_path / "spec.state.journal")
    for command in (["plan", str(spec)], ["apply", str(spec), "--yes"]):
        result = run(command)
        assert result.exit_code == 1, result.stderr
        assert "state journal: " in result.stderr and "is outside the project" in result.stderr
        assert "not yours" not in result.stderr  # nothing of the target was read out
    assert emu.stats["requests"] == {}
    assert (secret.read_bytes(), secret.stat().st_mtime_ns) == before


JOURNAL_ATTACKS = [
    ("task-id-path", {"a": {**ENTRY, "pending": [{"take": 1, "fingerprint": "f" * 64, "task_id": "../organization",
                                                  "created": "now", "attempt": 1, "estimated": 5}]}},
     "$.shots.a.pending[0].task_id"),
    ("output-outside", {"a": {**ENTRY, "takes": [{**TAKE, "output": "/etc/passwd"}]}},
     "shots.a.takes[0].output points outside the project"),
    ("output-traversal", {"a": {**ENTRY, "takes": [{**TAKE, "output": "../../outside/x.mp4"}]}},
     "shots.a.takes[0].output points outside the project"),
    ("negative-credits", {"a": {**ENTRY, "takes": [{**TAKE, "credits": -500}]}}, "$.shots.a.takes[0].credits"),
    ("id-traversal", {"../../x": dict(ENTRY)}, '"../../x" is not a shot id'),
]


@pytest.mark.parametrize(("shots", "says"), [c[1:] for c in JOURNAL_ATTACKS], ids=[c[0] for c in JOURNAL_ATTACKS])
def test_a_tampered_journal_line_is_refused_before_any_request(shots, says, tmp_path: Path, write_spec, run,
                                                                api) -> None:
    emu = api()
    spec = write_spec(SPEC)
    (tmp_path / "spec.state.json").write_text(json.dumps({"format": 1, "shots": {}}))
    journal = tmp_path / "spec.state.journal"
    journal.write_bytes(encode_step(1, {}) + encode_step(2, shots))
    result = attempt(run, spec)
    assert result.exit_code == 1, result.stderr
    assert f"{journal}:2" in result.stderr and says in result.stderr, result.stderr
    assert emu.stats["requests"] == {}
    assert journal.read_bytes() == encode_step(1, {}) + encode_step(2, shots)  # never rewritten or truncated
