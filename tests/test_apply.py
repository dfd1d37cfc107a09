"""runner apply against the emulator over HTTP: outputs, no double pay, faults, crashes, locks."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import av
import pytest

from runner.emulator import HookEvent, prompt_hash
from runner.store.cache import sha256_file
from runner.store.state import load_state

ROOT = Path(__file__).resolve().parent.parent
POLL = ["--poll-interval", "0.02"]


def apply(run, spec: Path, *extra: str):
    return run(["apply", str(spec), "--yes", *POLL, *extra])


def state_of(spec: Path) -> dict:
    """The state as runner reads it: after a kill the state file may be behind its journal."""
    return json.loads(load_state(spec.with_name(spec.stem + ".state.json")).to_json())


def one_shot(prompt: str, model: str = "gen4.5", extra: str = "") -> str:
    return (f"version: 1\nname: t\nshots:\n  - id: a\n    model: {model}\n    prompt: \"{prompt}\"\n"
            f"    ratio: '1280:720'\n    duration: 4\n{extra}")



def test_demo_apply_then_nothing_then_exactly_one_create(demo: Path, run, api) -> None:
    emu = api()
    result = apply(run, demo)
    assert result.exit_code == 0, result.stderr
    assert "Apply: 10 done" in result.stdout and "charged 606" in result.stdout
    state = state_of(demo)
    assert len(state["shots"]) == 9
    for shot in state["shots"].values():
        assert shot["pending"] == []
        for take in shot["takes"]:
            path = demo.parent / take["output"]
            assert sha256_file(path) == take["sha256"] and path.stat().st_size == take["bytes"]
            with av.open(str(path)) as container:
                assert container.streams.video
    assert emu.stats["creates_total"] == 10
    requests_before = sum(emu.stats["requests"].values())

    again = apply(run, demo)
    assert again.exit_code == 0 and "No changes." in again.stdout
    assert sum(emu.stats["requests"].values()) == requests_before  # not a single API call

    demo.write_text(demo.read_text().replace("make it snow", "make it rain"))
    changed = apply(run, demo)
    assert changed.exit_code == 0
    assert emu.stats["creates_total"] == 11
    assert emu.stats["creates"][f"aleph2:{prompt_hash('make it rain')}"] == 1


def test_reverting_a_prompt_restores_the_old_video_with_no_create(demo: Path, run, api) -> None:
    emu = api()
    assert apply(run, demo).exit_code == 0
    old = state_of(demo)["shots"]["restyle"]["takes"][0]["sha256"]
    original = demo.read_text()
    demo.write_text(original.replace("make it snow", "make it rain"))
    assert apply(run, demo).exit_code == 0
    creates = emu.stats["creates_total"]
    demo.write_text(original)
    result = apply(run, demo)
    assert result.exit_code == 0 and "1 cached" in result.stdout
    assert emu.stats["creates_total"] == creates
    restored = demo.parent / "outputs" / "spring-launch" / "restyle" / "1.mp4"
    assert sha256_file(restored) == old


def test_takes_each_make_a_generation_and_a_file(write_spec, run, api, tmp_path: Path) -> None:
    emu = api()
    spec = write_spec(one_shot("three takes", extra="    takes: 3\n"))
    assert apply(run, spec).exit_code == 0
    assert emu.stats["creates_total"] == 3
    files = sorted(p.name for p in (tmp_path / "outputs" / "t" / "a").iterdir())
    assert files == ["1.mp4", "2.mp4", "3.mp4"]


def test_throttled_tasks_wait_and_finish(write_spec, run, api) -> None:
    emu = api(max_concurrent=1)
    spec = write_spec("version: 1\nname: t\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 2}\nshots:\n"
                      "  - id: 's{{ n }}'\n    prompt: 'shot {{ n }}'\n    matrix: {n: [1, 2, 3, 4]}\n")
    result = run(["apply", str(spec), "--yes", *POLL, "--parallelism", "4"])
    assert result.exit_code == 0, result.stderr
    assert emu.stats["creates_total"] == 4


def test_safety_failure_is_not_retried_and_points_at_the_prompt(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(one_shot("bad [[fail:SAFETY.INPUT.TEXT]]"))
    result = apply(run, spec)
    assert result.exit_code == 1
    assert "failed: a #1: SAFETY.INPUT.TEXT: refused by content moderation" in result.stdout
    assert emu.stats["creates_total"] == 1


@pytest.mark.parametrize("code", ["INTERNAL", "THIRD_PARTY.UNAVAILABLE"])
def test_internal_failures_are_retried_as_new_creates(write_spec, run, api, code: str) -> None:
    emu = api()
    spec = write_spec(one_shot(f"flaky [[fail:{code}]]"))
    result = apply(run, spec, "--retries", "2")
    assert result.exit_code == 1
    assert emu.stats["creates_total"] == 3  # the first try and two retries, each reported
    assert "creating it again (retry 2 of 2)" in result.stderr


def test_asset_failure_asks_to_fix_the_input(write_spec, run, api) -> None:
    api()
    spec = write_spec(one_shot("x [[fail:ASSET.INVALID]]", model="gen4_turbo", extra="    image: assets/sneaker.png\n"))
    result = apply(run, spec)
    assert result.exit_code == 1 and "fix the input file" in result.stdout


def test_429_stops_new_creates_cleanly(write_spec, run, api) -> None:
    emu = api(rate_limit_rate=1.0, fault_routes=["POST /v1/text_to_video"])
    spec = write_spec(one_shot("x"))
    result = apply(run, spec)
    assert result.exit_code == 1
    assert "not started" in result.stdout and "429" in result.stdout
    assert emu.stats["creates_total"] == 0
    assert state_of(spec)["shots"]["a"]["pending"] == []  # nothing was created, nothing is journaled


def test_5xx_on_create_is_reported_as_maybe_created_and_never_recreated_silently(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(one_shot("x [[lost-response]]"))
    result = apply(run, spec)
    assert result.exit_code == 1 and "may have been created" in result.stdout
    assert emu.stats["creates_total"] == 1
    again = apply(run, spec)
    assert again.exit_code == 1 and "may have been created" in again.stdout
    assert emu.stats["creates_total"] == 1  # still only the one: no blind re-create
    spec.write_text(spec.read_text())
    forced = apply(run, spec, "--recreate-unknown")
    assert "may have been created" in forced.stdout  # the emulator loses this response again
    assert emu.stats["creates_total"] == 2


def test_truncated_downloads_are_retried_and_leave_no_partial_files(write_spec, run, api, tmp_path: Path) -> None:
    # Which downloads break off is fixed by the seed and the request (not by timing): with seed 2,
    # five of the six first downloads break off and every shot gets through within apply's 4 tries.
    api(truncate_rate=0.5, seed=2)
    spec = write_spec("version: 1\nname: t\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 2}\nshots:\n"
                      "  - id: 's{{ n }}'\n    prompt: 'shot {{ n }}'\n    matrix: {n: [1, 2, 3, 4, 5, 6]}\n")
    result = apply(run, spec)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "download broke off" in result.stderr
    assert not list((tmp_path / "outputs").rglob(".tmp-*"))


def test_expired_output_url_is_refreshed(write_spec, run, api) -> None:
    api()
    spec = write_spec(one_shot("x [[expire-once]]"))
    result = apply(run, spec)
    assert result.exit_code == 0, result.stdout
    assert "may have expired" in result.stderr


def test_max_credits_caps_what_is_started(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec("version: 1\nname: t\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 5}\nshots:\n"
                      "  - id: 's{{ n }}'\n    prompt: 'shot {{ n }}'\n    matrix: {n: [1, 2, 3]}\n")
    result = apply(run, spec, "--max-credits", "130", "--parallelism", "1")
    assert result.exit_code == 1 and "over the budget" in result.stderr  # the plan itself is over
    assert emu.stats["creates_total"] == 0


def test_short_balance_is_refused_before_the_first_create(write_spec, run, api) -> None:
    emu = api(credit_balance=10)
    spec = write_spec(one_shot("x"))
    result = apply(run, spec)
    assert result.exit_code == 1 and "the account has 10 credits" in result.stderr
    assert emu.stats["creates_total"] == 0


def test_without_a_terminal_yes_is_required(write_spec, run, api) -> None:
    api()
    result = run(["apply", str(write_spec(one_shot("x")))])
    assert result.exit_code == 1 and "pass --yes" in result.stderr


def test_no_key_no_emulator_is_a_clear_error(write_spec, run, monkeypatch) -> None:
    monkeypatch.delenv("RUNWAYML_API_SECRET", raising=False)
    result = run(["apply", str(write_spec(one_shot("x"))), "--yes"])
    assert result.exit_code == 1 and "set RUNWAYML_API_SECRET, or use --emulator" in result.stderr


def test_json_summary(write_spec, run, api) -> None:
    api()
    result = run(["apply", str(write_spec(one_shot("x"))), "--yes", *POLL, "--format", "json"])
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["counts"] == {"done": 1}
    assert doc["credits"] == {"planned": 48, "charged": 48, "possibly_charged": 0, "from_table": 0}
    assert doc["drift"] == [] and doc["unplanned"] == []


def test_json_summary_when_there_is_nothing_to_do(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(one_shot("x"))
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    result = run(["apply", str(spec), "--yes", *POLL, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)  # stdout holds the JSON document and nothing else
    assert doc == {"ok": True, "counts": {}, "outcomes": {}, "creates": 0, "notes": [], "waiting": [],
                   "credits": {"planned": 0, "charged": 0, "possibly_charged": 0, "from_table": 0},
                   "drift": [], "unplanned": []}
    assert emu.stats["creates_total"] == 1


def test_second_apply_fails_at_once_while_the_lock_is_held(write_spec, run, api) -> None:
    from runner.store.lock import spec_lock

    emu = api()
    spec = write_spec(one_shot("x"))
    with spec_lock(spec.resolve()):
        result = apply(run, spec)
    assert result.exit_code == 1
    assert "another apply of" in result.stderr and f"pid {os.getpid()}" in result.stderr
    assert emu.stats["creates_total"] == 0


def test_a_second_apply_with_a_lock_timeout_waits_for_the_first(write_spec, run, api) -> None:
    import threading

    from runner.store.lock import spec_lock

    emu = api()
    spec = write_spec(one_shot("x"))
    held = spec_lock(spec.resolve())
    held.__enter__()
    releaser = threading.Timer(0.5, held.__exit__, args=(None, None, None))
    releaser.start()
    result = apply(run, spec, "--lock-timeout", "30")
    releaser.join()
    assert result.exit_code == 0, result.stderr
    assert emu.stats["creates_total"] == 1


def _runner(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "runner", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _env(emu) -> dict[str, str]:
    return {**os.environ, "RUNWAYML_BASE_URL": emu.base_url, "RUNWAYML_API_SECRET": "key_test_only"}


MANY = ("version: 1\nname: t\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 2}\nshots:\n"
        "  - id: 's{{ n }}'\n    prompt: 'shot {{ n }}'\n    matrix: {n: [1, 2, 3, 4, 5, 6, 7, 8]}\n")


def _signal_at(emu, event: str, n: int, proc: subprocess.Popen[str], sig: int) -> threading.Event:
    """Send ``sig`` to ``proc`` at the n-th ``event`` of the emulator (on its thread, so
    nothing else happens in between); the returned Event is set once it was sent."""
    sent = threading.Event()
    seen = []

    def hook(e: HookEvent) -> None:
        seen.append(e)
        if len(seen) == n:
            proc.send_signal(sig)
            sent.set()

    emu.on(event, hook)
    return sent


def test_sigkill_mid_apply_then_apply_finishes_without_paying_twice(write_spec, make_emulator, tmp_path) -> None:
    # Three slots: the kill lands when the third task is first read, i.e. when all three
    # task ids are journaled and no other create is in flight (tests/faults kills at other moments).
    emu = make_emulator(time_scale=0.02, max_concurrent=3)
    spec = write_spec(MANY)
    proc = _runner("apply", str(spec), "--yes", *POLL, env=_env(emu))
    killed = _signal_at(emu, "first_read", 3, proc, signal.SIGKILL)
    proc.communicate(timeout=120)
    assert killed.is_set() and proc.returncode == -signal.SIGKILL
    journal = state_of(spec)["shots"]
    assert any(p["task_id"] for s in journal.values() for p in s["pending"])
    again = _runner("apply", str(spec), "--yes", *POLL, env=_env(emu))
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, out + err
    assert emu.stats["creates_total"] == 8
    assert not list((tmp_path / "outputs").rglob(".tmp-*"))
    for shot in state_of(spec)["shots"].values():
        assert shot["pending"] == [] and len(shot["takes"]) == 1
        take = shot["takes"][0]
        assert sha256_file(spec.parent / take["output"]) == take["sha256"]


def test_ctrl_c_finishes_in_flight_tasks_and_keeps_the_journal(write_spec, make_emulator) -> None:
    emu = make_emulator(time_scale=0.02, max_concurrent=2)
    spec = write_spec(MANY)
    proc = _runner("apply", str(spec), "--yes", *POLL, "--parallelism", "2", env=_env(emu))
    interrupted = _signal_at(emu, "first_read", 2, proc, signal.SIGINT)  # two tasks made and journaled
    out, err = proc.communicate(timeout=60)
    assert interrupted.is_set()
    assert proc.returncode == 1, out + err  # not everything was done
    assert "interrupted: no new creates" in err
    created = emu.stats["creates_total"]
    assert created < 8
    assert "not started: interrupted" in out
    again = _runner("apply", str(spec), "--yes", *POLL, env=_env(emu))
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, out + err
    assert emu.stats["creates_total"] == 8


def test_cancel_pending_deletes_journaled_tasks(write_spec, make_emulator, run, monkeypatch) -> None:
    emu = make_emulator(time_scale=100)  # tasks stay PENDING for 100 s: unfinished when we cancel them
    spec = write_spec(MANY)
    proc = _runner("apply", str(spec), "--yes", *POLL, env=_env(emu))
    killed = _signal_at(emu, "first_read", 4, proc, signal.SIGKILL)  # four task ids journaled
    proc.communicate(timeout=120)
    assert killed.is_set()
    monkeypatch.setenv("RUNWAYML_BASE_URL", emu.base_url)
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key_test_only")
    result = run(["apply", str(spec), "--yes", "--cancel-pending"])
    assert "cancelled task" in result.stdout
    assert emu.stats["tasks"].get("CANCELLED", 0) >= 1
    assert all(not s["pending"] for s in state_of(spec)["shots"].values())


def test_two_applies_at_once_never_create_twice(write_spec, make_emulator) -> None:
    emu = make_emulator(time_scale=0.01)
    spec = write_spec(MANY)
    first = _runner("apply", str(spec), "--yes", *POLL, env=_env(emu))
    second = _runner("apply", str(spec), "--yes", *POLL, env=_env(emu))
    results = [p.communicate(timeout=120) + (p.returncode,) for p in (first, second)]
    codes = sorted(r[2] for r in results)
    assert codes in ([0, 0], [0, 1])
    if codes == [0, 1]:
        assert any("another apply of" in r[1] for r in results)
    assert emu.stats["creates_total"] == 8


def test_output_is_a_real_video_of_the_requested_shape(write_spec, run, api, tmp_path) -> None:
    api()
    spec = write_spec(one_shot("portrait", extra="").replace("'1280:720'", "'720:1280'"))
    assert apply(run, spec).exit_code == 0
    data = (tmp_path / "outputs" / "t" / "a" / "1.mp4").read_bytes()
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.height > stream.width
        assert float(container.duration) / 1e6 == pytest.approx(4, abs=0.2)


def test_uploads_are_reused_per_account_and_redone_when_the_api_forgot_them(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4_turbo\n    image: assets/day.png\n"
                      "    prompt: one\n    ratio: '1280:720'\n")
    assert apply(run, spec).exit_code == 0
    assert emu.stats["uploads"] == 1
    spec.write_text(spec.read_text().replace("prompt: one", "prompt: two"))
    assert apply(run, spec).exit_code == 0
    assert emu.stats["uploads"] == 1  # same file, same account: the URI is reused
    emu.emulator.world.uploads.clear()  # the API forgot it (expired)
    spec.write_text(spec.read_text().replace("prompt: two", "prompt: three"))
    result = apply(run, spec)
    assert result.exit_code == 0, result.stdout
    assert "uploading again" in result.stderr
    api()  # another account (a new emulator): nothing is reused across accounts
    spec.write_text(spec.read_text().replace("prompt: three", "prompt: four"))
    assert apply(run, spec).exit_code == 0


def test_safety_refusal_is_remembered_and_not_paid_for_again(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(one_shot("bad [[fail:SAFETY.INPUT.TEXT]]"))
    assert apply(run, spec).exit_code == 1
    plan = run(["plan", str(spec)])
    assert "! a" in plan.stdout and "SAFETY.INPUT.TEXT last time; change the request or use --replace" in plan.stdout
    again = apply(run, spec)
    assert again.exit_code == 1 and "not retried" in again.stdout
    assert emu.stats["creates_total"] == 1
    spec.write_text(spec.read_text().replace("bad [[fail:SAFETY.INPUT.TEXT]]", "fine"))
    assert apply(run, spec).exit_code == 0
    assert "failure" not in state_of(spec)["shots"]["a"]


def test_stale_temp_files_of_a_killed_apply_are_removed(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec(one_shot("x"))
    (tmp_path / ".spec.state.json.abc123.tmp").write_text("half a state file (runner 0.1's temp name)")
    (tmp_path / ".tmp-spec.state.json-abc123").write_text("half a state file")
    (tmp_path / "outputs" / "t" / "a").mkdir(parents=True)
    (tmp_path / "outputs" / "t" / "a" / ".tmp-1.mp4-xyz").write_bytes(b"partial")
    other = tmp_path / ".tmp-other.state.json-def456"  # another spec's apply may be writing this now
    other.write_text("another campaign's state, half written")
    assert apply(run, spec).exit_code == 0
    assert not list(tmp_path.glob(".*.tmp")) and not list((tmp_path / "outputs").rglob(".tmp-*"))
    assert not (tmp_path / ".tmp-spec.state.json-abc123").exists()
    assert other.exists()


def test_the_dns_check_of_an_output_url_does_not_stall_other_shots(emulator, monkeypatch, tmp_path: Path) -> None:
    import asyncio

    import runner.inputs.urlpolicy
    from runner.engine.client import Client, Connection
    from runner.errors import DownloadError

    other_done = threading.Event()
    order: list[str] = []

    def slow_dns(host: str) -> list[str]:  # answers only once the other shot's request is through
        other_done.wait(timeout=30)
        order.append("dns answered")
        return ["10.0.0.1"]  # and the answer is refused: nothing is fetched

    monkeypatch.setattr(runner.inputs.urlpolicy, "system_resolver", slow_dns)

    async def go() -> list[object]:
        client = Client(Connection(emulator.base_url, "key_test_only", loopback=True))

        async def other_shot() -> None:
            await client.organization()
            order.append("other request done")
            other_done.set()

        try:
            return await asyncio.gather(client.download("https://cdn.example.com/out.mp4", tmp_path / "out"),
                                        other_shot(), return_exceptions=True)
        finally:
            await client.close()

    refused, _ = asyncio.run(go())
    assert order == ["other request done", "dns answered"]  # the loop kept serving during the lookup
    assert isinstance(refused, DownloadError) and refused.refused and "private address" in str(refused)


@pytest.mark.parametrize(("model", "extra"), [
    pytest.param("gen4.5", "    output_format: png_sequence\n", id="gen4.5-png_sequence"),
    pytest.param("aleph2", "    output_format: png_sequence\n    video: assets/clip.mp4\n", id="aleph2-png_sequence"),
])
def test_image_sequence_outputs_apply_end_to_end(model: str, extra: str, write_spec, run, api, tmp_path) -> None:
    import zipfile

    from PIL import Image

    emu = api()
    text = one_shot("frames please", model=model, extra=extra)
    spec = write_spec(text.replace("    duration: 4\n", "") if model == "aleph2" else text)
    result = apply(run, spec)
    assert result.exit_code == 0, result.stdout + result.stderr
    out = tmp_path / "outputs" / "t" / "a" / "1.zip"
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert names and all(n.startswith("frame.") and n.endswith(".png") for n in names)
        with z.open(names[0]) as member, Image.open(member) as frame:
            assert frame.format == "PNG" and frame.width > frame.height
    take = state_of(spec)["shots"]["a"]["takes"][0]
    assert take["output"] == "outputs/t/a/1.zip" and take["sha256"] == sha256_file(out)
    out.unlink()  # gone from outputs: it comes back from the cache, no create
    again = apply(run, spec)
    assert again.exit_code == 0 and "1 cached" in again.stdout
    assert sha256_file(out) == take["sha256"] and emu.stats["creates_total"] == 1
