"""examples/service: the guide's route as a Starlette app on the Python API, end to end over
HTTP (httpx, to the app served by uvicorn on 127.0.0.1) against the emulator: post a shot, get its price,
confirm, poll, download the video from the app — and the refusals before anything is spent."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("service_app", ROOT / "examples" / "service" / "app.py")
assert _spec is not None and _spec.loader is not None
service = importlib.util.module_from_spec(_spec)
sys.modules["service_app"] = service  # dataclasses look their module up there
_spec.loader.exec_module(service)


@pytest.fixture
def client(tmp_path: Path, emulator):
    app = service.create_app(tmp_path / "jobs", allowed_hosts=("assets.example.com",), emulator=emulator.base_url,
                             max_credits=100)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the service did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        yield http
    server.should_exit = True
    thread.join(timeout=10)


def poll(client: httpx.Client, job: str) -> dict:
    for _ in range(3000):  # bounds the loop; the emulator's clock runs fast
        doc = client.get(f"/shots/{job}").json()
        if doc["status"] != "running":
            return doc
        time.sleep(0.01)
    raise AssertionError("the shot never finished")


def test_post_price_confirm_poll_download(client: httpx.Client, emulator) -> None:
    created = client.post("/shots", json={"model": "gen4.5", "prompt": "a red sneaker", "ratio": "1280:720",
                                          "duration": 5})
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["credits"] == 60 and job["usd"] == 0.6 and job["plan"]["create"] == 1
    assert client.get(f"/shots/{job['id']}").json()["status"] == "planned"
    assert emulator.emulator.world.stats()["creates_total"] == 0  # a price is free

    assert client.post(f"/shots/{job['id']}/confirm").status_code == 202
    client.post(f"/shots/{job['id']}/confirm")  # a second click pays nothing more
    done = poll(client, job["id"])
    assert done["status"] == "done" and done["credits_charged"] == 60 and done["error"] is None
    video = client.get(f"/shots/{job['id']}/video")
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert "_emulator" not in str(video.headers) and "_emulator" not in str(client.get(f"/shots/{job['id']}").json())
    stats = emulator.emulator.world.stats()
    assert stats["creates_total"] == 1 and stats["credits_charged"] == 60


@pytest.mark.parametrize(("body", "field", "says"), [
    ({"model": "gen4_turbo", "prompt": "x", "image_url": "https://evil.example.net/a.png"}, "image_url",
     "is not allowed"),
    ({"model": "gen4_turbo", "prompt": "x", "image_url": "http://assets.example.com/a.png"}, "image_url", "https"),
    ({"model": "gen4_turbo", "prompt": "x", "image_url": "https://u:p@assets.example.com/a.png"}, "image_url",
     "https"),
])
def test_image_urls_off_the_allow_list_are_refused(client: httpx.Client, emulator, body, field, says) -> None:
    refused = client.post("/shots", json=body)
    assert refused.status_code == 422 and refused.json()["field"] == field and says in refused.json()["error"]
    assert emulator.emulator.world.stats()["requests"] == {}


def test_invalid_and_too_expensive_shots_are_refused_with_the_field(client: httpx.Client, emulator) -> None:
    bad = client.post("/shots", json={"model": "gen4.5", "prompt": "x", "ratio": "1280:720", "duration": 50})
    assert bad.status_code == 422
    assert [p["field"] for p in bad.json()["problems"]] == ["duration"]
    assert "10" in bad.json()["problems"][0]["message"]
    costly = client.post("/shots", json={"model": "gen4.5", "prompt": "x", "ratio": "1280:720", "duration": 10})
    assert costly.status_code == 422 and costly.json()["error"] == "costs 120 credits, over this service's 100"
    assert client.get("/shots/nope").status_code == 404 and client.get("/shots/nope/video").status_code == 404
    assert emulator.emulator.world.stats()["requests"] == {}


def test_an_unpriced_model_is_not_quoted_as_free(client: httpx.Client, emulator, tmp_path: Path) -> None:
    # kling3.0_pro has no published price: the plan cannot say what it costs, which is not 0.
    refused = client.post("/shots", json={"model": "kling3.0_pro", "prompt": "x", "ratio": "1920:1080",
                                          "duration": 5})
    assert refused.status_code == 422, refused.text
    assert refused.json() == {"error": "kling3.0_pro has no known price, so this service cannot quote it; choose "
                                       "another model", "field": "model"}
    assert emulator.emulator.world.stats()["requests"] == {}


def test_a_refused_request_leaves_no_job_folder(client: httpx.Client, emulator, tmp_path: Path) -> None:
    for body in ({"model": "gen4.5", "prompt": "x", "ratio": "1280:720", "duration": 50},  # invalid
                 {"model": "gen4.5", "prompt": "x", "ratio": "1280:720", "duration": 10},  # over the cap
                 {"model": "kling3.0_pro", "prompt": "x", "ratio": "1920:1080", "duration": 5},  # unpriced
                 {"model": "gen4_turbo", "prompt": "x", "image_url": "https://evil.example.net/a.png"},  # off the list
                 {"model": "no-such-model", "prompt": "x"}):
        assert client.post("/shots", json=body).status_code == 422
    jobs = tmp_path / "jobs"
    assert not jobs.exists() or list(jobs.iterdir()) == []
    kept = client.post("/shots", json={"model": "gen4.5", "prompt": "x", "ratio": "1280:720", "duration": 5})
    assert kept.status_code == 201 and [p.name for p in jobs.iterdir()] == [kept.json()["id"]]
