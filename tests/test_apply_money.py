"""Money correctness of apply against the emulator: caps hold under concurrency, lost answers
count as possibly charged, and a stop wins over a create that has not been sent yet.

Some tests drive the engine the CLI uses (``Engine`` with ``ApplyOptions``) so that a cap
can be set below the plan's total: that is how a cap meets retries and lost answers in a
real run, without the plan refusing first.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from runner.emulator import prompt_hash
from runner.engine.client import Client, Connection
from runner.engine.loop import Engine
from runner.engine.outcome import ApplyOptions, ApplyResult
from runner.planner import make_plan

POLL = ["--poll-interval", "0.02"]


def shot(sid: str, prompt: str, *, takes: int = 1, model: str = "gen4.5") -> str:
    return (f"  - id: {sid}\n    model: {model}\n    prompt: \"{prompt}\"\n    ratio: '1280:720'\n    duration: 4\n"
            f"    takes: {takes}\n")


def spec_text(*shots: str) -> str:
    return "version: 1\nname: t\nshots:\n" + "".join(shots)


def engine_apply(spec: Path, emu, **options) -> ApplyResult:
    """What `runner apply` runs once the plan is confirmed, with engine options set directly."""
    plan = make_plan(spec)

    async def go() -> ApplyResult:
        client = Client(Connection(emu.base_url, "key_test_only", loopback=True))
        try:
            return await Engine(plan, client, ApplyOptions(poll_interval=0.02, **options)).run()
        finally:
            await client.close()

    return asyncio.run(go())


def test_takes_reserve_their_share_when_the_check_passes(write_spec, make_emulator) -> None:
    emu = make_emulator()
    spec = write_spec(spec_text(shot("a", "three takes", takes=3)))  # 48 credits each
    result = engine_apply(spec, emu, parallelism=3, max_credits=96)
    assert emu.stats["creates_total"] == 2  # three checked side by side; only two fit
    assert [o.status for o in result.outcomes].count("done") == 2
    (refused,) = result.by_status("not_started")
    assert refused.reason == "--max-credits 96 would be exceeded"


def test_concurrent_shots_cannot_together_pass_the_cap(write_spec, make_emulator) -> None:
    emu = make_emulator()
    spec = write_spec(spec_text(*(shot(f"s{n}", f"shot {n}") for n in range(5))))
    result = engine_apply(spec, emu, parallelism=5, max_credits=100)
    assert emu.stats["creates_total"] == 2 and len(result.by_status("not_started")) == 3


def test_a_lost_answer_counts_against_the_cap_for_the_rest_of_the_run(write_spec, make_emulator) -> None:
    emu = make_emulator()
    spec = write_spec(spec_text(shot("a", "x [[lost-response]]"), shot("b", "y")))
    result = engine_apply(spec, emu, parallelism=1, max_credits=48)
    assert emu.stats["creates_total"] == 1  # a's create reached the API (and was billed); b was not sent
    assert [o.status for o in result.outcomes] == ["unknown", "not_started"]
    assert result.outcomes[1].reason == "--max-credits 48 would be exceeded"
    assert result.possibly_charged == 48


def test_a_lost_answer_counts_against_the_daily_cap(write_spec, make_emulator) -> None:
    emu = make_emulator(max_daily=1)
    spec = write_spec(spec_text(shot("a", "x [[lost-response]]"), shot("b", "y")))
    result = engine_apply(spec, emu, parallelism=1)
    assert emu.stats["creates_total"] == 1
    assert result.outcomes[1].reason == "the daily cap of gen4.5 is reached"


def test_cli_summary_shows_possibly_charged_and_retries_stop_at_the_cap(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(spec_text(shot("a", "x [[lost-response]]"), shot("b", "y [[fail:INTERNAL]]")))
    result = run(["apply", str(spec), "--yes", *POLL, "--max-credits", "96", "--parallelism", "1", "--retries", "2"])
    assert result.exit_code == 1
    # a may have been charged (48) and b's first try took the other 48: b is not created again.
    assert emu.stats["creates_total"] == 2
    assert "not started: b #1: --max-credits 96 would be exceeded" in result.stdout
    assert "possibly charged 48 (creates of unknown outcome)" in result.stdout
    as_json = run(["apply", str(spec), "--yes", *POLL, "--recreate-unknown", "--max-credits", "48",
                   "--format", "json", "--select", "a"])
    assert json.loads(as_json.stdout)["credits"]["possibly_charged"] == 48  # the response is lost again


def _env(emu) -> dict[str, str]:
    return {**os.environ, "RUNWAYML_BASE_URL": emu.base_url, "RUNWAYML_API_SECRET": "key_test_only"}


def test_a_stop_during_uploads_means_no_create_is_sent(write_spec, make_emulator) -> None:
    emu = make_emulator()
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4_turbo\n    image: assets/day.png\n"
                      "    prompt: one\n    ratio: '1280:720'\n")
    proc = subprocess.Popen([sys.executable, "-m", "runner", "apply", str(spec), "--yes", *POLL], env=_env(emu),
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Ctrl-C while the upload is at the API, before its answer: the create comes after the upload.
    emu.on("upload", lambda e: proc.send_signal(signal.SIGINT))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out + err
    assert "interrupted: no new creates" in err and "not started: a #1: not started: interrupted" in out
    assert emu.stats["uploads"] == 1 and emu.stats["creates_total"] == 0
    state = json.loads(spec.with_name("spec.state.json").read_text())
    assert all(not s["pending"] for s in state["shots"].values())  # no intent left: nothing was sent


def test_select_keeps_interrupted_journal_entries_of_other_shots(write_spec, make_emulator) -> None:
    emu = make_emulator(time_scale=100)  # tasks run far longer than the test: both stay in flight
    spec = write_spec(spec_text(shot("a", "a cat"), shot("b", "a dog")))
    cmd = [sys.executable, "-m", "runner", "apply", str(spec), "--yes", *POLL]
    proc = subprocess.Popen(cmd, env=_env(emu), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reads = []

    def second_read(e) -> None:  # both task ids are journaled; both tasks are in flight
        reads.append(e)
        if len(reads) == 2:
            proc.send_signal(signal.SIGINT)

    emu.on("first_read", second_read)
    assert proc.stderr is not None
    for line in proc.stderr:  # the first Ctrl-C is seen: a second one stops at once
        if "interrupted: no new creates" in line:
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert emu.stats["creates_total"] == 2
    shots = json.loads(spec.with_name("spec.state.json").read_text())["shots"]
    pending = {sid: s["pending"] for sid, s in shots.items()}
    assert all(len(p) == 1 and p[0]["task_id"] for p in pending.values()), pending
    for task in list(emu.emulator.world.tasks.values()):  # now let the two tasks finish
        task.ready, task.generation = 0.0, 0.01
    selected = subprocess.run([*cmd, "--select", "a"], env=_env(emu), capture_output=True, text=True, timeout=120,
                              check=False)
    assert selected.returncode == 0, selected.stdout + selected.stderr
    b = json.loads(spec.with_name("spec.state.json").read_text())["shots"]["b"]
    assert b["pending"] == pending["b"]  # untouched by the selected apply
    whole = subprocess.run(cmd, env=_env(emu), capture_output=True, text=True, timeout=120, check=False)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert emu.stats["creates"] == {f"gen4.5:{prompt_hash('a cat')}": 1, f"gen4.5:{prompt_hash('a dog')}": 1}
    shots = json.loads(spec.with_name("spec.state.json").read_text())["shots"]
    assert all(s["pending"] == [] and len(s["takes"]) == 1 for s in shots.values())


def _at_the_prompt(spec: Path, emu) -> tuple[subprocess.Popen[bytes], int]:
    """`runner apply` on a terminal (stdin is a pty), stopped at its confirmation question."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "runner", "apply", str(spec), *POLL], env=_env(emu),
                            stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(slave)
    assert proc.stderr is not None
    seen = b""
    while b"[y/N]: " not in seen:
        chunk = os.read(proc.stderr.fileno(), 1024)
        assert chunk, seen
        seen += chunk
    assert b"spend up to 48 credits?" in seen
    return proc, master


def test_ctrl_c_at_the_confirmation_exits_130_and_creates_nothing(write_spec, make_emulator) -> None:
    emu = make_emulator()
    spec = write_spec(spec_text(shot("a", "x")))
    proc, master = _at_the_prompt(spec, emu)
    proc.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
    out, err = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 130, err
    assert b"interrupted at the confirmation; nothing was done" in err and b"internal error" not in err
    assert emu.stats["requests"] == {}  # not even the account was read
    assert not spec.with_name("spec.state.json").exists()


def test_answering_no_or_end_of_input_at_the_confirmation_does_nothing(write_spec, make_emulator) -> None:
    emu = make_emulator()
    spec = write_spec(spec_text(shot("a", "x")))
    for keys in (b"n\n", b"\x04"):  # no; Ctrl-D
        proc, master = _at_the_prompt(spec, emu)
        os.write(master, keys)
        out, err = proc.communicate(timeout=60)
        os.close(master)
        assert proc.returncode == 1, err
        assert b"Cancelled; nothing was done." in out
    assert emu.stats["requests"] == {}
