"""The emulator speaks the Runway API to the unmodified runwayml SDK, over loopback HTTP."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from pathlib import Path

import av
import httpx
import pytest
from runwayml import AsyncRunwayML, BadRequestError, InternalServerError, RateLimitError, RunwayML

from runner.catalog.endpoints import ENDPOINTS, KIND_EXTENSIONS
from runner.emulator import HookEvent, prompt_hash
from runner.errors import RunnerError

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "specs" / "assets"


_OPEN: list[RunwayML] = []


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _OPEN:
        _OPEN.pop().close()


def client(emu, api_key: str = "key_test") -> RunwayML:
    c = RunwayML(api_key=api_key, base_url=emu.base_url, max_retries=0)
    _OPEN.append(c)
    return c


def wait(c: RunwayML, task_id: str, timeout: float = 10.0, seen: list[str] | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = c.tasks.retrieve(task_id)
        if seen is not None and (not seen or seen[-1] != task.status):
            seen.append(task.status)
        if task.status in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return task
        time.sleep(0.005)
    raise AssertionError(f"task {task_id} did not finish")


def probe(data: bytes) -> tuple[float, int, int, float]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        return float(container.duration) / 1e6, stream.width, stream.height, float(stream.average_rate)


def test_text_to_video_lifecycle_and_output(make_emulator) -> None:
    emulator = make_emulator(time_scale=0.02, pending_seconds=5, generation_seconds=10)
    c = client(emulator)
    created = c.text_to_video.create(model="gen4.5", prompt_text="a fox in snow", ratio="720:1280", duration=6)
    assert created.estimated_cost.credits == 72  # 12 credits/s x 6 s
    seen: list[str] = []
    task = wait(c, created.id, seen=seen)
    assert seen[0] == "PENDING" and seen[-1] == "SUCCEEDED" and "RUNNING" in seen
    assert task.cost.credits == 72
    data = httpx.get(task.output[0]).content
    seconds, width, height, fps = probe(data)
    assert abs(seconds - 6) <= 1 / fps
    assert width / height == pytest.approx(720 / 1280, rel=0.02)
    stats = emulator.stats
    assert stats["creates"] == {f"gen4.5:{prompt_hash('a fox in snow')}": 1}
    assert stats["credits_charged"] == 72


def test_image_to_video_with_an_uploaded_file(emulator) -> None:
    c = client(emulator)
    upload = c.uploads.create_ephemeral(file=ASSETS / "day.png")
    assert upload.uri.startswith("runway://")
    created = c.image_to_video.create(model="gen4_turbo", prompt_image=upload.uri, ratio="960:960", duration=3)
    task = wait(c, created.id)
    assert task.status == "SUCCEEDED"
    _, width, height, _ = probe(httpx.get(task.output[0]).content)
    assert width == height
    assert emulator.stats["uploads"] == 1


def test_unknown_upload_uri_is_rejected(emulator) -> None:
    with pytest.raises(BadRequestError) as info:
        client(emulator).image_to_video.create(model="gen4_turbo", prompt_image="runway://uploads/nope/x.png",
                                               ratio="1280:720")
    assert info.value.body["issues"][0]["path"] == ["promptImage"]


def test_video_to_video_and_character_performance(emulator) -> None:
    c = client(emulator)
    clip = c.uploads.create_ephemeral(file=ASSETS / "clip.mp4")
    restyle = c.video_to_video.create(model="aleph2", video_uri=clip.uri, prompt_text="make it snow")
    hero = c.uploads.create_ephemeral(file=ASSETS / "hero.png")
    actor = c.uploads.create_ephemeral(file=ASSETS / "actor.mp4")
    perf = c.character_performance.create(
        model="act_two", character={"type": "image", "uri": hero.uri}, reference={"type": "video", "uri": actor.uri},
        expression_intensity=3,
    )
    assert restyle.estimated_cost.credits == 112  # aleph2: 28/s x the 4 s input clip
    assert perf.estimated_cost.credits == 20  # act_two: 5/s x the 4 s performance
    for task_id in (restyle.id, perf.id):
        task = wait(c, task_id)
        assert task.status == "SUCCEEDED"
        seconds, *_ = probe(httpx.get(task.output[0]).content)
        assert seconds == pytest.approx(4, abs=0.2)


# One valid create per endpoint of the registry; an endpoint added there needs one here.
SAMPLES = {
    "text_to_video": lambda c: c.text_to_video.create(model="gen4.5", prompt_text="kind", ratio="1280:720",
                                                      duration=2),
    "image_to_video": lambda c: c.image_to_video.create(
        model="gen4_turbo", prompt_image=c.uploads.create_ephemeral(file=ASSETS / "day.png").uri, ratio="960:960",
        duration=2),
    "video_to_video": lambda c: c.video_to_video.create(
        model="aleph2", video_uri=c.uploads.create_ephemeral(file=ASSETS / "clip.mp4").uri, prompt_text="kind"),
    "character_performance": lambda c: c.character_performance.create(
        model="act_two", character={"type": "image", "uri": c.uploads.create_ephemeral(file=ASSETS / "hero.png").uri},
        reference={"type": "video", "uri": c.uploads.create_ephemeral(file=ASSETS / "actor.mp4").uri}),
    "text_to_image": lambda c: c.text_to_image.create(model="gen4_image", prompt_text="kind", ratio="1080:1440"),
    "image_upscale": lambda c: c.image_upscale.create(
        model="magnific_precision_upscaler_v2", image_uri=c.uploads.create_ephemeral(file=ASSETS / "day.png").uri,
        scale_factor=4),
    "video_upscale": lambda c: c.video_upscale.create(
        model="enhance_frame_rate", video_uri=c.uploads.create_ephemeral(file=ASSETS / "clip.mp4").uri,
        target_framerate="60"),
    "video_to_hdr": lambda c: c.video_to_hdr.create(
        model="ruby", video_uri=c.uploads.create_ephemeral(file=ASSETS / "clip.mp4").uri),
    "sound_effect": lambda c: c.sound_effect.create(model="eleven_text_to_sound_v2", prompt_text="kind", duration=1.5),
    "text_to_speech": lambda c: c.text_to_speech.create(
        model="eleven_v3", prompt_text="kind", voice={"type": "runway-preset", "preset_id": "Maya"}),
    "video_to_audio": lambda c: c.video_to_audio.create(
        model="mirelo_sfx_2_0", video_uri=c.uploads.create_ephemeral(file=ASSETS / "clip.mp4").uri, duration=2),
    "speech_to_speech": lambda c: c.speech_to_speech.create(
        model="eleven_multilingual_sts_v2",
        media={"type": "audio", "uri": c.uploads.create_ephemeral(file=ASSETS / "line.mp3").uri},
        voice={"type": "runway-preset", "preset_id": "Rachel"}),
    "voice_dubbing": lambda c: c.voice_dubbing.create(
        model="eleven_voice_dubbing", audio_uri=c.uploads.create_ephemeral(file=ASSETS / "line.mp3").uri,
        target_lang="es"),
    "voice_isolation": lambda c: c.voice_isolation.create(
        model="eleven_voice_isolation", audio_uri=c.uploads.create_ephemeral(file=ASSETS / "line.mp3").uri),
}
CONTENT_TYPES = {"video": "video/mp4", "image": "image/png", "audio": "audio/mpeg"}


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_each_endpoint_serves_the_kind_of_file_it_makes(emulator, endpoint: str) -> None:
    c = client(emulator)
    task = wait(c, SAMPLES[endpoint](c).id)
    kind = ENDPOINTS[endpoint].output
    assert httpx.URL(task.output[0]).path.endswith(f".{KIND_EXTENSIONS[kind]}")
    response = httpx.get(task.output[0])
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPES[kind]
    if kind == "video":
        seconds, *_ = probe(response.content)
        assert seconds > 0
    if kind == "audio":  # a real sound: an audio stream with a length
        with av.open(io.BytesIO(response.content)) as container:
            assert container.streams.audio and float(container.duration) > 0
    if endpoint == "text_to_image":  # a real PNG of the requested ratio (3:4)
        from PIL import Image

        with Image.open(io.BytesIO(response.content)) as img:
            assert img.format == "PNG" and abs(img.width / img.height - 3 / 4) < 0.02
    if endpoint == "image_upscale":  # the uploaded image, scaleFactor (4) times larger
        from PIL import Image

        with Image.open(io.BytesIO(response.content)) as img, Image.open(ASSETS / "day.png") as source:
            assert img.format == "PNG" and img.size == (source.width * 4, source.height * 4)


def test_bad_body_gets_the_api_400_shape(emulator) -> None:
    with pytest.raises(BadRequestError) as info:
        client(emulator).text_to_video.create(model="gen4.5", prompt_text="x", ratio="1920:1080", duration=12)
    body = info.value.body
    assert body["error"] == "Validation of body failed"
    paths = sorted(issue["path"][0] for issue in body["issues"])
    assert paths == ["duration", "ratio"]
    assert all({"code", "path", "message"} <= set(issue) for issue in body["issues"])
    assert emulator.stats["creates_total"] == 0


def test_wrong_model_for_endpoint(emulator) -> None:
    with pytest.raises(BadRequestError) as info:
        client(emulator).text_to_video.create(model="gen4_turbo", prompt_text="x", ratio="1280:720")  # type: ignore[arg-type]
    assert info.value.body["issues"][0]["path"] == ["model"]


def test_tier_limits_are_reported_by_organization(make_emulator) -> None:
    emu = make_emulator(max_concurrent=1)
    c = client(emu)
    org = c.organization.retrieve()
    assert org.tier.models["gen4.5"].max_concurrent_generations == 1


def test_throttled_is_reported_while_the_slot_is_taken(make_emulator) -> None:
    emu = make_emulator(max_concurrent=1, time_scale=0.02)
    c = client(emu)
    first = c.text_to_video.create(model="gen4.5", prompt_text="one", ratio="1280:720", duration=2)
    second = c.text_to_video.create(model="gen4.5", prompt_text="two", ratio="1280:720", duration=2)
    pairs = []
    while not pairs or pairs[-1][1] not in ("SUCCEEDED", "FAILED"):
        later = c.tasks.retrieve(second.id).status  # read first: if it runs now, `one` is done by the next read
        pairs.append((c.tasks.retrieve(first.id).status, later))
        time.sleep(0.005)
    # `two` waits THROTTLED while `one` holds the only slot, and runs only after it.
    assert ("RUNNING", "THROTTLED") in pairs
    assert all(a == "SUCCEEDED" for a, b in pairs if b == "RUNNING")


def test_cancel_refunds_and_delete_forgets(make_emulator) -> None:
    emu = make_emulator(time_scale=100)  # the task stays PENDING for 100 s: unfinished when deleted
    c = client(emu)
    balance = c.organization.retrieve().credit_balance
    created = c.text_to_video.create(model="gen4.5", prompt_text="cancel me", ratio="1280:720", duration=5)
    assert c.organization.retrieve().credit_balance == balance - 60
    c.tasks.delete(created.id)
    task = c.tasks.retrieve(created.id)
    assert task.status == "CANCELLED" and task.cost.credits == 0
    assert c.organization.retrieve().credit_balance == balance
    c.tasks.delete(created.id)  # a finished task is deleted
    with pytest.raises(Exception) as info:
        c.tasks.retrieve(created.id)
    assert getattr(info.value, "status_code", None) == 404


def test_daily_cap_gives_429_and_usage_counts(make_emulator) -> None:
    emu = make_emulator(models={"veo3.1": {"maxDailyGenerations": 2}})
    c = client(emu)
    for i in range(2):
        c.text_to_video.create(model="veo3.1", prompt_text=f"p{i}", ratio="1280:720", duration=4)
    with pytest.raises(RateLimitError):
        c.text_to_video.create(model="veo3.1", prompt_text="p3", ratio="1280:720", duration=4)
    assert c.organization.retrieve().usage.models["veo3.1"].daily_generations == 2
    assert emu.stats["creates_total"] == 2


def test_short_balance_gives_429(make_emulator) -> None:
    c = client(make_emulator(credit_balance=50))
    with pytest.raises(RateLimitError) as info:
        c.text_to_video.create(model="gen4.5", prompt_text="x", ratio="1280:720", duration=5)
    assert "Not enough credits" in str(info.value)


def test_auth_and_version_header_are_required(emulator) -> None:
    assert httpx.get(f"{emulator.base_url}/v1/organization").status_code == 401
    r = httpx.get(f"{emulator.base_url}/v1/organization", headers={"Authorization": "Bearer k"})
    assert r.status_code == 400 and "X-Runway-Version" in r.json()["error"]


def test_configured_api_key_must_match(make_emulator) -> None:
    emu = make_emulator(api_key="key_right")
    with pytest.raises(Exception) as info:
        client(emu, api_key="key_wrong").organization.retrieve()
    assert getattr(info.value, "status_code", None) == 401
    client(emu, api_key="key_right").organization.retrieve()


@pytest.mark.parametrize("code", ["SAFETY.INPUT.TEXT", "INTERNAL", "THIRD_PARTY.UNAVAILABLE", "ASSET.INVALID"])
def test_prompt_marker_fails_the_task_with_that_code(emulator, code: str) -> None:
    c = client(emulator)
    balance = c.organization.retrieve().credit_balance
    created = c.text_to_video.create(model="gen4.5", prompt_text=f"x [[fail:{code}]]", ratio="1280:720", duration=2)
    task = wait(c, created.id)
    assert task.status == "FAILED" and task.failure_code == code and task.cost.credits == 0
    assert c.organization.retrieve().credit_balance == balance  # refunded


def test_fail_rate_uses_the_configured_codes(make_emulator) -> None:
    emu = make_emulator(fail_rate=1.0, failure_codes=["THIRD_PARTY.UNAVAILABLE"])
    c = client(emu)
    task = wait(c, c.text_to_video.create(model="gen4.5", prompt_text="x", ratio="1280:720", duration=2).id)
    assert task.failure_code == "THIRD_PARTY.UNAVAILABLE"


def test_injected_5xx_and_429(make_emulator) -> None:
    c = client(make_emulator(error_rate=1.0))
    with pytest.raises(InternalServerError):
        c.organization.retrieve()
    c = client(make_emulator(rate_limit_rate=1.0))
    with pytest.raises(RateLimitError):
        c.text_to_video.create(model="gen4.5", prompt_text="x", ratio="1280:720", duration=2)


def test_error_rate_is_seeded_and_repeatable(make_emulator) -> None:
    def outcomes(seed: int) -> list[int]:
        emu = make_emulator(error_rate=0.5, seed=seed)
        return [httpx.get(f"{emu.base_url}/v1/organization",
                          headers={"Authorization": "Bearer k", "X-Runway-Version": "2024-11-06"}).status_code
                for _ in range(20)]

    first = outcomes(3)
    assert first == outcomes(3)
    assert 200 in first and any(code >= 500 for code in first)


def test_lost_response_creates_and_bills_the_task(emulator) -> None:
    c = client(emulator)
    with pytest.raises(InternalServerError):
        c.text_to_video.create(model="gen4.5", prompt_text="x [[lost-response]]", ratio="1280:720", duration=2)
    assert emulator.stats["creates_total"] == 1


def test_truncated_download(emulator) -> None:
    c = client(emulator)
    task = wait(c, c.text_to_video.create(model="gen4.5", prompt_text="x [[truncate]]", ratio="1280:720",
                                          duration=2).id)
    with pytest.raises(httpx.HTTPError):
        httpx.get(task.output[0])


def test_slow_download_is_throttled(make_emulator) -> None:
    emu = make_emulator(slow_bytes_per_second=40_000)
    c = client(emu)
    task = wait(c, c.text_to_video.create(model="gen4.5", prompt_text="x [[slow]] [[size:20000]]",
                                          ratio="1280:720", duration=2).id)
    started = time.monotonic()
    data = httpx.get(task.output[0]).content
    assert len(data) == 20000
    assert time.monotonic() - started >= 0.4  # 20 kB at 40 kB/s


def test_output_urls_expire_and_refetching_the_task_renews_them(make_emulator) -> None:
    emu = make_emulator(url_ttl=0.3)
    c = client(emu)
    task = wait(c, c.text_to_video.create(model="gen4.5", prompt_text="x", ratio="1280:720", duration=2).id)
    time.sleep(0.4)
    expired = httpx.get(task.output[0])
    assert expired.status_code == 403 and b"expired" in expired.content
    fresh = c.tasks.retrieve(task.id)
    assert httpx.get(fresh.output[0]).status_code == 200


def test_tampered_output_url_is_refused(emulator) -> None:
    c = client(emulator)
    task = wait(c, c.text_to_video.create(model="gen4.5", prompt_text="x", ratio="1280:720", duration=2).id)
    assert httpx.get(task.output[0].replace("sig=", "sig=0")).status_code == 403


def test_seedance_auto_is_estimated_at_the_maximum_and_refunded(emulator) -> None:
    c = client(emulator)
    created = c.text_to_video.create(model="seedance2", prompt_text="x", duration="auto", ratio="1280:720")
    assert created.estimated_cost.credits == 36 * 15
    task = wait(c, created.id)
    assert 36 * 4 <= task.cost.credits <= 36 * 15


def test_async_sdk_200_concurrent_tasks(make_emulator) -> None:
    emu = make_emulator(max_concurrent=50, time_scale=0.005)

    async def main() -> list[str]:
        async with AsyncRunwayML(api_key="key_test", base_url=emu.base_url, max_retries=0) as c:
            return await asyncio.gather(*(one(c, i) for i in range(200)))

    async def one(c: AsyncRunwayML, i: int) -> str:
        created = await c.text_to_video.create(model="gen4.5", prompt_text=f"shot {i}", ratio="1280:720", duration=2)
        while True:
            task = await c.tasks.retrieve(created.id)
            if task.status in ("SUCCEEDED", "FAILED"):
                return task.status
            await asyncio.sleep(0.02)

    statuses = asyncio.run(main())
    assert statuses == ["SUCCEEDED"] * 200
    assert emu.stats["creates_total"] == 200


def test_async_sdk_upload_and_organization(emulator) -> None:
    async def main() -> tuple[str, int]:
        async with AsyncRunwayML(api_key="key_test", base_url=emulator.base_url, max_retries=0) as c:
            upload = await c.uploads.create_ephemeral(file=ASSETS / "night.png")
            created = await c.image_to_video.create(model="veo3.1_fast", prompt_image=upload.uri,
                                                    ratio="1280:720", duration=4, audio=False)
            await c.tasks.delete(created.id)
            org = await c.organization.retrieve()
            return created.id, org.credit_balance

    task_id, balance = asyncio.run(main())
    assert task_id and balance == 1_000_000  # cancelled, so refunded


def test_runner_emulate_serves_in_the_foreground(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "emulate", "--port", str(port), "--time-scale", "0.002"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/_emulator/stats")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "emulator did not start"
                time.sleep(0.05)
        with RunwayML(api_key="anything", base_url=base, max_retries=0) as c:
            task = wait(c, c.text_to_video.create(model="gen4.5", prompt_text="hi", ratio="1280:720", duration=2).id)
        assert task.status == "SUCCEEDED"
        assert httpx.get(f"{base}/_emulator/stats").json()["creates_total"] == 1
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"export RUNWAYML_BASE_URL=http://127.0.0.1:{port}" in out
    assert '"POST /v1/text_to_video HTTP/1.1" 200' in out


def test_create_hook_runs_before_the_task_exists_and_before_the_answer(emulator) -> None:
    seen = []
    answered = threading.Event()

    def on_create(event: HookEvent) -> None:
        seen.append((event.endpoint, event.model, event.prompt, event.task_id, len(emulator.emulator.world.tasks),
                     answered.is_set()))

    emulator.on("create", on_create)
    c = client(emulator)
    created = c.text_to_video.create(model="gen4.5", prompt_text="hooked", ratio="1280:720", duration=2)
    answered.set()
    assert seen == [("text_to_video", "gen4.5", "hooked", None, 0, False)]
    assert list(emulator.emulator.world.tasks) == [created.id]
    with pytest.raises(BadRequestError):  # a refused create is not a create
        c.text_to_video.create(model="gen4.5", prompt_text="x", ratio="1920:1080", duration=2)
    assert len(seen) == 1


def test_first_read_hook_fires_once_per_task(emulator) -> None:
    reads: list[str | None] = []
    emulator.on("first_read", lambda event: reads.append(event.task_id))
    c = client(emulator)
    one = c.text_to_video.create(model="gen4.5", prompt_text="one", ratio="1280:720", duration=2)
    two = c.text_to_video.create(model="gen4.5", prompt_text="two", ratio="1280:720", duration=2)
    assert reads == []  # creating is not reading
    wait(c, one.id)
    wait(c, two.id)
    c.tasks.retrieve(one.id)
    assert reads == [one.id, two.id]


def test_half_streamed_hook_fires_with_half_the_bytes_sent(make_emulator) -> None:
    emu = make_emulator()
    events: list[HookEvent] = []
    emu.on("half_streamed", events.append)
    c = client(emu)
    # 300 kB: several chunks, so the half-way mark falls inside the stream, not at its end.
    task = wait(c, c.text_to_video.create(model="gen4.5", prompt_text="x [[size:300000]]", ratio="1280:720",
                                          duration=2).id)
    for _ in range(2):
        assert len(httpx.get(task.output[0]).content) == 300_000
    assert [(e.task_id, e.sent, e.total) for e in events] == [(task.id, 150_000, 300_000)] * 2


def test_a_failing_hook_fails_the_test_when_the_emulator_stops() -> None:
    from runner.emulator import EmulatorConfig, running_emulator

    with pytest.raises(ZeroDivisionError), running_emulator(EmulatorConfig(time_scale=0.002)) as emu:
        emu.on("create", lambda event: 1 / 0)
        c = client(emu)
        created = c.text_to_video.create(model="gen4.5", prompt_text="x", ratio="1280:720", duration=2)
        assert created.id in emu.emulator.world.tasks  # the request itself went on


def test_unknown_hook_event_is_refused(emulator) -> None:
    with pytest.raises(RunnerError, match="unknown emulator event 'crate'; known: create, first_read"):
        emulator.on("crate", print)  # type: ignore[arg-type]
