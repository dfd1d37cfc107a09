"""The review app through httpx's ASGI transport: the token, the writes (picks only), the files it
serves (only those the state lists), the security headers, the server-side filters (issue 24)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
import yaml

from runner.review.app import create_app
from runner.review.session import Session


def _logged_in(client_for, spec: Path):
    session = Session(spec)
    client = client_for(create_app(session))
    assert client.get(f"/?token={session.token}").status_code == 303
    return session, client


def _picks(spec: Path) -> dict | None:
    path = spec.with_name("spec.picks.yaml")
    return yaml.safe_load(path.read_text())["shots"] if path.exists() else None


def test_every_page_and_file_needs_the_sessions_token(campaign: Path, client_for) -> None:
    session = Session(campaign)
    client = client_for(create_app(session))
    for url in ("/", "/spec", "/details/keyart", "/media/keyart/1", "/poster/keyart/1", f"/?token={'x' * 43}"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "holds this session's token" in response.text
    answer = client.get(f"/?token={session.token}&show=picked")
    assert answer.status_code == 303 and answer.headers["location"] == "/?show=picked"  # the token leaves the URL
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and session.token in cookie
    page = client.get("/")
    assert page.status_code == 200 and 'id="shot-keyart"' in page.text
    # Another site's name for this address (DNS rebinding) gets no answer at all.
    other = client_for(create_app(session), host="attacker.example:8091")
    other.cookies = client.cookies
    assert other.get("/").status_code == 400


def test_headers_forbid_inline_scripts_frames_and_sniffing(campaign: Path, client_for) -> None:
    _, client = _logged_in(client_for, campaign)
    for url in ("/", "/static/review.js", "/media/keyart/1", "/nope"):
        headers = client.get(url).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp, url
        assert "frame-ancestors 'none'" in csp and headers["x-content-type-options"] == "nosniff", url
        assert headers["referrer-policy"] == "no-referrer", url
    page = client.get("/").text
    assert "<script>" not in page and " style=" not in page  # no inline script or style for the CSP to allow


def test_a_write_without_the_token_changes_nothing(campaign: Path, client_for) -> None:
    session, client = _logged_in(client_for, campaign)
    body = {"shot": "keyart", "take": 2, "expected": None}
    for headers in ({}, {"x-runner-token": "wrong"}, {"x-runner-token": ""}):
        response = client.post("/api/pick", body, headers=headers)  # the cookie alone is not enough
        assert response.status_code == 403, headers
        assert _picks(campaign) is None
    response = client.post("/api/pick", body, headers={"content-type": "text/plain",
                                                       "x-runner-token": session.token})
    assert response.status_code == 415 and _picks(campaign) is None  # a form post is not a write either
    response = client.post("/api/pick", body, headers={"x-runner-token": session.token})
    assert response.status_code == 200, response.text
    assert _picks(campaign)["keyart"]["take"] == 2
    answer = response.json()
    assert answer["message"] == "Picked keyart take 2"
    rows = {r["shot"]: r for r in answer["rows"]}
    assert set(rows) == {"keyart", "motion"}  # the dependent waits no more
    assert rows["keyart"]["row"]["pick"] == "picked" and rows["keyart"]["row"]["pick_take"] == 2
    assert rows["motion"]["row"]["status"] == "not generated" and "waits" not in rows["motion"]["row"]["reason"]
    assert 'class="badge picked">picked 2<' in client.get("/").text  # a reload shows it


def test_a_write_based_on_an_older_picks_file_is_refused(campaign: Path, client_for, run) -> None:
    session, client = _logged_in(client_for, campaign)
    token = {"x-runner-token": session.token}
    seen = re.search(r'name="runner-picks" content="([0-9a-f]*)"', client.get("/").text).group(1)
    assert run(["pick", str(campaign), "keyart", "3"]).exit_code == 0  # a pick in a terminal meanwhile
    before = campaign.with_name("spec.picks.yaml").read_bytes()
    response = client.post("/api/pick", {"shot": "keyart", "take": 1, "expected": seen or None}, headers=token)
    assert response.status_code == 409 and response.json()["changed"] is True
    assert campaign.with_name("spec.picks.yaml").read_bytes() == before
    page = client.get("/?notice=picks-changed").text
    assert "The picks file changed on disk" in page and 'class="badge picked">picked 3<' in page
    now = hashlib.sha256(before).hexdigest()
    assert client.post("/api/reject", {"shot": "keyart", "take": 1, "expected": now}, headers=token).status_code == 200
    assert [r["take"] for r in _picks(campaign)["keyart"]["rejects"]] == [1]
    for bad in ({"shot": "keyart", "take": "2", "expected": now}, {"shot": 3}, {"shot": "keyart", "take": 9},
                {"shot": "nope", "take": 1}):
        response = client.post("/api/pick", {**bad, "expected": _sha(campaign)}, headers=token)
        assert response.status_code == 400, bad
    assert client.post("/api/delete", {"shot": "keyart"}, headers=token).status_code == 400


def _sha(spec: Path) -> str:
    return hashlib.sha256(spec.with_name("spec.picks.yaml").read_bytes()).hexdigest()


def test_no_url_reaches_a_file_the_state_does_not_list(campaign: Path, client_for, tmp_path: Path) -> None:
    session, client = _logged_in(client_for, campaign)
    take1 = tmp_path / "outputs" / "story" / "keyart" / "1.png"
    served = client.get("/media/keyart/1")
    assert served.status_code == 200 and served.content == take1.read_bytes()
    assert served.headers["content-type"] == "image/png"
    assert client.get("/poster/clip-tokyo/2").headers["content-type"] == "image/jpeg"
    (tmp_path / "secret.txt").write_text("secret")
    for url in ("/media/keyart/9", "/media/nope/1", "/media/..%2F..%2Fsecret.txt/1",
                "/media/keyart/1/../../../secret.txt", "/media/%2e%2e/1", "/media/keyart/0", "/media/KEYART/1",
                "/static/../app.py", "/static/%2e%2e/app.py",
                "/media/keyart/-1", "/poster/secret.txt/1"):
        response = client.get(url)
        assert response.status_code == 404 and b"secret" not in response.content, url
    # A state edited to list other files: inside .git, the spec itself (outside the output folder).
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("[secret]")
    state_file = campaign.with_name("spec.state.json")
    doc = json.loads(state_file.read_text())
    takes = doc["shots"]["keyart"]["takes"]
    takes[0]["output"], takes[1]["output"] = ".git/config", "spec.yaml"
    state_file.write_text(json.dumps(doc))
    for n in (1, 2):
        response = client.get(f"/media/keyart/{n}")
        assert response.status_code == 404 and b"secret" not in response.content and b"keyart" not in response.content
    # ...and a symlink out of the project: the state is refused whole, and so is every file.
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("secret outside")
    os.symlink(outside, tmp_path / "outputs" / "story" / "keyart" / "2.png.link")
    takes[2]["output"] = "outputs/story/keyart/2.png.link"
    state_file.write_text(json.dumps(doc))
    for url in ("/media/keyart/3", "/poster/keyart/3", "/media/clip-lima/1"):
        response = client.get(url)
        assert response.status_code == 404 and b"secret" not in response.content, url
    page = client.get("/")
    assert page.status_code == 500 and "corrupt state file" in page.text and "secret outside" not in page.text
    outside.unlink()


def test_the_page_filters_and_groups_without_a_script(campaign: Path, client_for, run) -> None:
    _, client = _logged_in(client_for, campaign)
    assert run(["pick", str(campaign), "clip-lima", "2"]).exit_code == 0
    ids = lambda page: re.findall(r'class="row [^"]*" id="shot-([a-z0-9.-]+)"', page)  # noqa: E731
    assert ids(client.get("/").text) == ["keyart", "motion", "clip-tokyo", "clip-lima"]  # graph order
    assert ids(client.get("/?show=picked").text) == ["clip-lima"]
    assert ids(client.get("/?show=unpicked").text) == ["keyart", "clip-tokyo"]
    assert ids(client.get("/?tag=city").text) == ["clip-tokyo", "clip-lima"]
    assert ids(client.get("/?model=gen4_image").text) == ["keyart"]
    assert ids(client.get("/?q=lima").text) == ["clip-lima"]
    grouped = client.get("/?group=matrix.city").text
    assert re.findall(r'<section class="group" data-group="([^"]*)">', grouped) == ["", "Tokyo", "Lima"]
    page = client.get("/").text
    assert "waits for a pick of keyart (runner review)" in page
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1))
    assert [r["id"] for r in data["rows"]] == ["keyart", "motion", "clip-tokyo", "clip-lima"]  # all, for the script
    keyart = client.get("/details/keyart").json()  # fetched when a take of it is selected
    assert keyart["more"] == {"edit": f"set takes: 4 at {campaign}:4", "command": f"runner apply {campaign} --select "
                              "keyart", "cost": "8 credits ($0.08)"}
    assert keyart["takes"]["1"]["charged"] == 8 and keyart["takes"]["1"]["planned"] == 8
    assert keyart["takes"]["1"]["prompt"] == "key art of a cabin" and keyart["location"] == f"{campaign}:4:9"
    spec_page = client.get("/spec").text
    assert '<span id="L4">  - id: keyart</span>' in spec_page


@pytest.mark.parametrize("prompt", ["<script>alert(1)</script>", "\" onmouseover=\"alert(1)", "</script><b>x"])
def test_untrusted_text_is_escaped_everywhere(write_spec, run, api, client_for, prompt: str) -> None:
    api()
    spec = write_spec(f"version: 1\nname: t\nshots:\n  - id: a\n    model: gen4_image\n"
                      f"    prompt: {json.dumps(prompt)}\n    ratio: '1920:1080'\n    takes: 2\n")
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02"]).exit_code == 0
    assert run(["pick", str(spec), "a", "1", "--note", prompt]).exit_code == 0
    _, client = _logged_in(client_for, spec)
    page = client.get("/").text
    assert prompt not in page.replace("&#34;", '"') or "<" not in prompt
    assert "<script>alert" not in page and "</script><b>" not in page and 'onmouseover="alert' not in page
