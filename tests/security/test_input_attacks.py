"""Inputs a pull-request spec could name: URLs to internal hosts, paths and links out of the
project, data: URIs and files that are not what they claim. Each is refused before a single
request reaches the API."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from attack_kit import ROOT, attempt, spec_with_image

import runner.inputs.urlpolicy

URL_ATTACKS = [
    ("plain-http", "http://example.com/a.png", "http URLs are not allowed"),
    ("file-scheme", "file:///etc/passwd", "file URLs are not allowed"),
    ("ftp-scheme", "ftp://example.com/a.png", "ftp URLs are not allowed"),
    ("gopher-scheme", "gopher://example.com:70/_x", "gopher URLs are not allowed"),
    ("loopback-ip", "https://127.0.0.1/a.png", "IP address 127.0.0.1 as host is not allowed"),
    ("decimal-ip", "https://2130706433/a.png", "IP address 2130706433 as host is not allowed"),
    ("octal-ip", "https://0177.0.0.1/a.png", "IP address 0177.0.0.1"),
    ("hex-ip", "https://0x7f.0.0.1/a.png", "IP address 0x7f.0.0.1"),
    ("short-ip", "https://127.1/a.png", "IP address 127.1"),
    ("ipv6-loopback", "https://[::1]/a.png", "IP address ::1"),
    ("ipv4-mapped-ipv6", "https://[::ffff:127.0.0.1]/a.png", "IP address ::ffff:127.0.0.1"),
    ("metadata-ip", "https://169.254.169.254/latest/meta-data/", "IP address 169.254.169.254"),
    ("private-10", "https://10.0.0.5/a.png", "IP address 10.0.0.5"),
    ("private-192", "https://192.168.1.1/a.png", "IP address 192.168.1.1"),
    ("userinfo", "https://user:secret@example.com/a.png", "user:password@ are not allowed"),
    ("userinfo-trick", "https://example.com@evil.example/a.png", "user:password@ are not allowed"),
    ("backslash-trick", "https://example.com\\@evil.example/a.png", "whitespace or backslashes"),
    ("newline-smuggling", "https://example.com/a.png\nHost: evil", "whitespace or backslashes"),
    ("odd-port", "https://example.com:8443/a.png", "port 8443 is not allowed"),
    ("localhost-name", "https://localhost/a.png", "not a valid public DNS name"),
    ("single-label", "https://intranet/a.png", "not a valid public DNS name"),
    ("too-long", "https://example.com/" + "a" * 2100, "the limit is 2048"),
    ("data-uri-wrong-type", "data:text/html;base64,PHNjcmlwdD4=", "data URI must hold image data"),
]


@pytest.mark.parametrize(("ref", "fragment"), [c[1:] for c in URL_ATTACKS], ids=[c[0] for c in URL_ATTACKS])
def test_url_attacks_are_refused_before_any_request(ref: str, fragment: str, write_spec, run, api) -> None:
    emu = api()
    result = attempt(run, write_spec(spec_with_image(ref)))
    assert result.exit_code == 1
    assert fragment in result.stderr
    assert ":6:12: shot a: image:" in result.stderr  # points at the line
    assert emu.stats["requests"] == {}


DNS_ATTACKS = [
    ("resolves-to-loopback", ["127.0.0.1"], "resolves to a loopback address"),
    ("resolves-to-metadata", ["169.254.169.254"], "resolves to a link-local address"),
    ("resolves-to-private", ["10.1.2.3"], "resolves to a private address"),
    ("resolves-to-mapped-private", ["::ffff:192.168.0.1"], "resolves to a private address"),
    ("one-of-many-is-private", ["93.184.216.34", "10.0.0.1"], "resolves to a private address"),
    ("resolves-to-multicast", ["224.0.0.1"], "multicast address"),
]


@pytest.mark.parametrize(("addresses", "fragment"), [c[1:] for c in DNS_ATTACKS], ids=[c[0] for c in DNS_ATTACKS])
def test_names_that_resolve_to_internal_addresses_are_refused(addresses, fragment, write_spec, run, api,
                                                               monkeypatch) -> None:
    monkeypatch.setattr(runner.inputs.urlpolicy, "system_resolver", lambda host: addresses)  # DNS is outside
    emu = api()
    result = attempt(run, write_spec(spec_with_image("https://cdn.innocent-looking.example/a.png")))
    assert result.exit_code == 1 and fragment in result.stderr
    assert emu.stats["requests"] == {}


def test_unresolvable_url_is_refused_before_sending(write_spec, run, api, monkeypatch) -> None:
    def fail(host: str) -> list[str]:
        raise runner.inputs.urlpolicy.UnresolvedHost("no DNS")

    monkeypatch.setattr(runner.inputs.urlpolicy, "system_resolver", fail)
    emu = api()
    spec = write_spec(spec_with_image("https://cdn.example.com/a.png"))
    assert run(["validate", str(spec)]).exit_code == 0  # offline validation passes...
    result = attempt(run, spec)  # ...but nothing unverifiable is sent
    assert result.exit_code == 1 and "cannot resolve cdn.example.com" in result.stdout
    assert emu.stats["requests"] == {}


def test_allowed_hosts_limits_remote_inputs(write_spec, run, api, monkeypatch) -> None:
    monkeypatch.setattr(runner.inputs.urlpolicy, "system_resolver", lambda host: ["93.184.216.34"])
    emu = api()
    spec = write_spec(spec_with_image("https://evil.example.net/a.png", "allowed_hosts: ['*.example.com']\n"))
    result = attempt(run, spec)
    assert result.exit_code == 1 and "is not in allowed_hosts (*.example.com)" in result.stderr
    assert emu.stats["requests"] == {}


def _project(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir(exist_ok=True)
    return tmp_path


PATH_ATTACKS = [
    ("traversal", "../../../../../../etc/passwd", "resolves outside the project root"),
    ("absolute", "/etc/passwd", "absolute path"),
    ("directory", "assets", "is not a regular file"),
]


@pytest.mark.parametrize(("ref", "fragment"), [c[1:] for c in PATH_ATTACKS], ids=[c[0] for c in PATH_ATTACKS])
def test_path_attacks(ref: str, fragment: str, write_spec, run, api) -> None:
    emu = api()
    result = attempt(run, write_spec(spec_with_image(ref)))
    assert result.exit_code == 1 and fragment in result.stderr
    assert emu.stats["requests"] == {}


def test_symlink_escape(tmp_path: Path, write_spec, run, api) -> None:
    emu = api()
    outside = tmp_path.parent / f"{tmp_path.name}-secret.png"
    outside.write_bytes((ROOT / "specs" / "assets" / "day.png").read_bytes())
    os.symlink(outside, tmp_path / "assets" / "link.png")
    result = attempt(run, write_spec(spec_with_image("assets/link.png")))
    assert result.exit_code == 1 and "resolves outside the project root" in result.stderr
    assert emu.stats["requests"] == {}


@pytest.mark.parametrize(("links", "ref"), [
    pytest.param({"assets/a.png": "b.png", "assets/b.png": "a.png"}, "assets/a.png", id="file-loop"),
    pytest.param({"assets/self.png": "self.png"}, "assets/self.png", id="self-loop"),
    pytest.param({"d1": "d2", "d2": "d1"}, "d1/x.png", id="directory-loop"),
    pytest.param({"d1": "d2", "d2": "d1"}, "d2/sub/../x.png", id="directory-loop-with-dots"),
])
def test_symlink_loops_are_refused_at_the_field(links: dict[str, str], ref: str, tmp_path: Path, write_spec, run,
                                                api) -> None:
    emu = api()
    for name, target in links.items():
        os.symlink(target, tmp_path / name)
    result = attempt(run, write_spec(spec_with_image(ref)))
    assert result.exit_code == 1, result.stderr
    assert f":6:12: shot a: image: {ref!r} is a symlink loop" in result.stderr
    assert emu.stats["requests"] == {}


def _data_uri(media_type: str, content: bytes) -> str:
    import base64

    return f"data:{media_type};base64,{base64.b64encode(content).decode()}"


DATA_URI_ATTACKS = [
    ("text-declared-png", _data_uri("image/png", b"hello"),
     "data URI does not hold an image file (judged by its content"),
    ("script-declared-jpeg", _data_uri("image/jpeg", b"#!/bin/sh\nrm -rf /\n"), "does not hold an image file"),
    ("html-declared-svg", "data:image/svg+xml,%3Cscript%3Ealert(1)%3C/script%3E", "does not hold an image file"),
    ("video-declared-png", _data_uri("image/png", (ROOT / "specs" / "assets" / "clip.mp4").read_bytes()[:4096]),
     "does not hold an image file"),
    ("not-base64", "data:image/png;base64,!!!!not*base64", "declared ;base64 but its data is not valid base64"),
    ("no-data", "data:image/png;base64", "data URI has no ',' before its data"),
]


@pytest.mark.parametrize(("ref", "fragment"), [c[1:] for c in DATA_URI_ATTACKS], ids=[c[0] for c in DATA_URI_ATTACKS])
def test_data_uris_are_judged_by_their_content(ref: str, fragment: str, write_spec, run, api) -> None:
    emu = api()
    result = attempt(run, write_spec(spec_with_image(ref)))
    assert result.exit_code == 1, result.stderr
    assert ":6:12: shot a: image: " in result.stderr and fragment in result.stderr
    assert emu.stats["requests"] == {}


@pytest.mark.parametrize("name", ["day.png", "sneaker.png"])
def test_a_real_image_as_a_data_uri_is_accepted(name: str, write_spec, run) -> None:
    ref = _data_uri("image/png", (ROOT / "specs" / "assets" / name).read_bytes())
    result = run(["validate", str(write_spec(spec_with_image(ref)))])
    assert result.exit_code == 0, result.stderr


def test_fifo_is_refused(tmp_path: Path, write_spec, run, api) -> None:
    emu = api()
    os.mkfifo(tmp_path / "assets" / "pipe.png")
    result = attempt(run, write_spec(spec_with_image("assets/pipe.png")))
    assert result.exit_code == 1 and "is not a regular file" in result.stderr
    assert emu.stats["requests"] == {}


@pytest.mark.parametrize(("name", "content"), [("fake.png", b"#!/bin/sh\nrm -rf /\n"),
                                               ("clip.png", None)], ids=["script-named-png", "video-named-png"])
def test_type_is_judged_by_content(name: str, content: bytes | None, tmp_path: Path, write_spec, run, api) -> None:
    emu = api()
    data = content if content is not None else (ROOT / "specs" / "assets" / "clip.mp4").read_bytes()
    (tmp_path / "assets" / name).write_bytes(data)
    result = attempt(run, write_spec(spec_with_image(f"assets/{name}")))
    assert result.exit_code == 1 and "is not an image file (judged by its content" in result.stderr
    assert emu.stats["requests"] == {}


def test_oversized_input_is_refused_without_reading_it(tmp_path: Path, write_spec, run, api) -> None:
    emu = api()
    big = tmp_path / "assets" / "huge.png"
    with big.open("wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.truncate(201 * 1024 * 1024)  # sparse: no disk used
    result = attempt(run, write_spec(spec_with_image("assets/huge.png")))
    assert result.exit_code == 1 and "uploads are limited to 200 MB" in result.stderr
    assert emu.stats["requests"] == {}


def spec_with_keyframe(ref: str, extra: str = "") -> tuple[str, str]:
    """An aleph2 spec whose media comes in through ``params`` (a keyframe image), and the
    line:col of that keyframe's ``uri`` value."""
    text = (f"version: 1\nname: t\n{extra}shots:\n  - id: a\n    model: aleph2\n    video: assets/clip.mp4\n"
            "    prompt: make it snow\n    params:\n      keyframes:\n        - seconds: 0.5\n"
            f"          uri: {json.dumps(ref)}\n")
    return text, f"{11 + extra.count(chr(10))}:16"


PARAMS_MEDIA_ATTACKS = [
    ("metadata-ip", "https://169.254.169.254/latest", "", "IP address 169.254.169.254 as host is not allowed"),
    ("plain-http", "http://cdn.example.com/k.png", "", "http URLs are not allowed"),
    ("outside-allowed-hosts", "https://evil.example.net/k.png", "allowed_hosts: ['*.example.com']\n",
     "host evil.example.net is not in allowed_hosts (*.example.com)"),
    ("traversal", "../../../../../../etc/passwd", "", "resolves outside the project root"),
    ("absolute", "/etc/passwd", "", "absolute path '/etc/passwd'"),
    ("video-as-keyframe", "assets/clip.mp4", "", "is not an image file (judged by its content"),
]


@pytest.mark.parametrize(("ref", "extra", "fragment"), [c[1:] for c in PARAMS_MEDIA_ATTACKS],
                         ids=[c[0] for c in PARAMS_MEDIA_ATTACKS])
def test_media_in_params_gets_the_same_checks(ref: str, extra: str, fragment: str, write_spec, run, api) -> None:
    emu = api()
    text, line_col = spec_with_keyframe(ref, extra)
    spec = write_spec(text)
    result = run(["validate", str(spec)])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert f"spec.yaml:{line_col}: shot a: params.keyframes[0].uri: " in errors[0]  # at the uri value itself
    assert fragment in errors[0]
    assert attempt(run, spec).exit_code == 1
    assert emu.stats["requests"] == {}


def test_a_keyframe_from_defaults_params_is_located_in_defaults(write_spec, run) -> None:
    spec = write_spec("version: 1\nname: t\ndefaults:\n  params:\n    keyframes:\n      - seconds: 0.5\n"
                      "        uri: http://cdn.example.com/k.png\nshots:\n  - id: a\n    model: aleph2\n"
                      "    video: assets/clip.mp4\n    prompt: snow\n    params: {}\n")
    result = run(["validate", str(spec)])
    assert result.exit_code == 1
    assert ":7:14: shot a: params.keyframes[0].uri: http URLs are not allowed" in result.stderr


def test_a_local_keyframe_in_params_is_uploaded_never_sent_as_a_path(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(spec_with_keyframe("assets/day.png")[0])
    assert run(["validate", str(spec)]).exit_code == 0
    assert attempt(run, spec).exit_code == 0
    world = emu.emulator.world
    (task,) = world.tasks.values()
    uri = task.body["keyframes"][0]["uri"]
    assert uri.startswith("runway://") and uri in world.uploads
    assert task.body["keyframes"][0]["seconds"] == 0.5
    assert task.body["videoUri"].startswith("runway://")
    assert "assets/" not in json.dumps(task.body)
