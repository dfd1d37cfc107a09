from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

POLL = ["--poll-interval", "0.02"]

SPEC = """
version: 1
name: story
shots:
  - id: keyart
    model: gen4_image
    prompt: key art of a cabin
    ratio: "1920:1080"
    takes: 3
    tags: [still]
  - id: motion
    model: gen4.5
    image: {from: keyart, take: picked}
    prompt: slow push in
    ratio: "1280:720"
    duration: 2
  - id: clip-{{ city | slug }}
    model: gen4.5
    prompt: "{{ city }} at dawn"
    ratio: "1280:720"
    duration: 2
    takes: 2
    matrix: {city: [Tokyo, Lima]}
    tags: [city]
"""


@pytest.fixture
def campaign(write_spec, run, api) -> Path:
    """A campaign applied on the emulator: key art of 3 takes (unpicked), a motion waiting for
    its pick, and two city clips of 2 takes."""
    api()
    spec = write_spec(SPEC)
    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 0, result.stdout + result.stderr
    return spec


class Client:
    """httpx over the app's ASGI interface (no socket), cookies kept like a browser's."""

    def __init__(self, app: Any, host: str = "127.0.0.1:8091") -> None:
        self.app = app
        self.base = f"http://{host}"
        self.cookies = httpx.Cookies()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=self.base,
                                         cookies=self.cookies) as client:
                response = await client.request(method, url, **kwargs)
                self.cookies.update(client.cookies)
                return response

        return asyncio.run(go())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
        return self.request("POST", url, content=json.dumps(body), headers=headers, **kwargs)


@pytest.fixture
def client_for() -> Callable[..., Client]:
    return Client
