"""Attacks a pull-request spec or a hostile API could try. Each one fails closed, with a
clear message, and — for spec attacks — before a single request reaches the API."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import runner.inputs.urlpolicy

ROOT = Path(__file__).resolve().parent.parent.parent
KEY = "key_" + "5eC7e7" * 12  # looks like a Runway key; must never be echoed


def spec_with_image(ref: str, extra: str = "") -> str:
    return (f"version: 1\nname: t\n{extra}shots:\n  - id: a\n    model: gen4_turbo\n    image: {json.dumps(ref)}\n"
            "    prompt: x\n    ratio: '1280:720'\n")


def attempt(run, spec: Path):
    return run(["apply", str(spec), "--yes", "--poll-interval", "0.02"])


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


TEMPLATE_ATTACKS = [
    ("dunder-class", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "not allowed in the sandbox"),
    ("dunder-globals", "{{ self.__init__.__globals__ }}", "not allowed in the sandbox"),
    ("attr-filter", "{{ ''|attr('__class__') }}", "not allowed in the sandbox"),
    ("lipsum-globals", "{{ lipsum.__globals__['os'] }}", "undefined variable 'lipsum'"),
    ("cycler-globals", "{{ cycler.__init__.__globals__.os }}", "not allowed in the sandbox"),
    ("environment", "{{ environ['RUNWAYML_API_SECRET'] }}", "undefined variable 'environ'"),
    ("config-object", "{{ config }}", "undefined variable 'config'"),
    ("range-bomb", "{% for i in range(10**9) %}x{% endfor %}", "Range too big"),
    ("huge-output", "{{ 'x' * 1000000 }} ", "longer than 100,000 characters"),
    ("cpu-bomb", "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
     "template too expensive: still rendering after 2 s (limit 2 s per template)"),
    ("format-string-escape", "{{ '{0.__class__}'.format(1) }}", "not allowed in the sandbox"),
]


@pytest.mark.parametrize(("prompt", "fragment"), [c[1:] for c in TEMPLATE_ATTACKS],
                         ids=[c[0] for c in TEMPLATE_ATTACKS])
def test_template_sandbox(prompt: str, fragment: str, write_spec, run, api) -> None:
    emu = api()
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n"
                      f"    prompt: {json.dumps(prompt)}\n    ratio: '1280:720'\n    duration: 5\n")
    result = attempt(run, spec)
    assert result.exit_code == 1 and fragment in result.stderr
    assert ":6:13: shot a: prompt: template" in result.stderr
    assert emu.stats["requests"] == {}


# Each bomb names the operation and its limit; none is computed before it is refused.
TEMPLATE_BOMBS = [
    ("huge-power", "{{ 10**200000000 }}", "10 ** 200000000 would have about 240,823,996 digits (limit 10,000 digits)"),
    ("power-in-text", "x{{ 7 ** (10**9) }}", "would have about"),
    ("big-int-product", "{% set n = 10**5000 %}{{ n * n * n }}", "digits (limit 10,000 digits)"),
    ("string-repeat", "{{ ('x' * 5000000000)|length }}", "'x' * 5000000000 would be 5,000,000,000 units"),
    ("repeat-reversed", "{{ (5000000000 * 'x')|length }}", "would be 5,000,000,000 units"),
    ("list-repeat", "{{ ([1, 2] * 10**9)|length }}", "would be 3,000,000,000 units"),
    ("string-doubling", "{% set s = 'x' * 900000 %}{{ (s + s)|length }}", "would be 1,800,000 units"),
    ("concat-doubling", "{% set s = 'x' * 900000 %}{{ (s ~ s)|length }}", "the ~ concatenation would be 1,800,000"),
    ("percent-width", "{{ '%0999999999d' % 1 }}", "the % format '%0999999999d' would be"),
    ("percent-star", "{{ '%*d' % (999999999, 1) }}", "'*' width or precision"),
    ("format-filter", "{{ '%999999999s'|format('x') }}", "the % format '%999999999s' would be"),
    ("str-format-width", "{{ '{:>999999999}'.format(1) }}", "the format field {:>999999999} would be"),
    ("str-format-repeat", "{% set s = 'x' * 600000 %}{{ '{0}{0}{0}'.format(s)|length }}", "the formatted text would"),
    ("center-filter", "{{ 'x'|center(10**9) }}", "center(1000000000) would be"),
    ("center-method", "{{ 'x'.center(10**9) }}", "center(1000000000) would be"),
    ("ljust-method", "{{ 'x'.ljust(10**9) }}", "ljust(1000000000) would be"),
    ("zfill-method", "{{ '1'.zfill(10**9) }}", "zfill(1000000000) would be"),
    ("expandtabs", "{{ ('\t' * 1000).expandtabs(10**6) }}", "expandtabs(1000000) would be"),
    ("indent-filter", "{{ ('a\n' * 1000)|indent(10**6) }}", "indent() of 1,001 lines would be"),
    ("wordwrap-filter", "{{ ('a ' * 1000)|wordwrap(1, wrapstring='x' * 10**5) }}", "wordwrap() would be"),
    ("replace-filter", "{{ ('a' * 1000)|replace('a', 'b' * 10**5) }}", "replace() would be 100,000,000"),
    ("replace-method", "{{ ('a' * 1000).replace('', 'b' * 10**5) }}", "replace() would be"),
    ("join-filter", "{{ range(100000)|join('x' * 100000) }}", "join() of 100,000 items would be"),
    ("join-method", "{{ ('x' * 100000).join(range(100)|map('string')) }}", "join() of 100 items would be"),
    ("batch-fill", "{{ [1]|batch(10**9, 0)|list }}", "linecount=1,000,000,000 would be"),
    ("slice-count", "{{ [1]|slice(10**9)|list }}", "slices=1,000,000,000 would be"),
    ("tojson-indent", "{{ [[[1]]]|tojson(indent=10**9) }}", "tojson(indent=1000000000) would be"),
    ("sum-of-lists", "{{ (range(100000)|batch(10)|list)|sum(start=[]) }}", "sum() of 10,000 sequences"),
    ("nested-literals", "{% set a = range(1000)|list %}{% set b = [a,a,a,a,a,a,a,a,a,a] %}"
     "{% set c = [b,b,b,b,b,b,b,b,b,b] %}{% set d = [c,c,c,c,c,c,c,c,c,c] %}{{ d|length }}",
     "a list or mapping literal would be"),
    ("recursive-macro", "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
     "calls nested too deeply (a macro or loop(...) calling itself?) (limit 50 nested calls)"),
    ("mutual-recursion", "{% macro f() %}{{ g() }}{% endmacro %}{% macro g() %}{{ f() }}{% endmacro %}{{ f() }}",
     "calls nested too deeply"),
    ("recursive-loop", "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "calls nested too deeply"),
    ("deep-brackets", "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nested too deeply"),
    ("loop-over-a-list", "{% set x = range(99999)|list %}{% for i in x %}{% for j in x %}{% endfor %}{% endfor %}",
     "still rendering after 2 s (limit 2 s per template)"),
    ("mutation", "{% set l = [1] %}{{ l.append(l) }}", "not allowed in the sandbox"),
]


@pytest.mark.parametrize(("prompt", "fragment"), [c[1:] for c in TEMPLATE_BOMBS], ids=[c[0] for c in TEMPLATE_BOMBS])
def test_template_bombs_are_refused_before_they_run(prompt: str, fragment: str, write_spec, run, api) -> None:
    emu = api()
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n"
                      f"    prompt: {json.dumps(prompt)}\n    ratio: '1280:720'\n    duration: 5\n")
    result = attempt(run, spec)
    assert result.exit_code == 1, result.stderr
    assert ":6:13: shot a: prompt: template" in result.stderr
    assert fragment in result.stderr
    assert emu.stats["requests"] == {}


def test_template_time_limit_holds_on_a_worker_thread(write_spec) -> None:
    """A service may validate specs on a worker thread, where no signal can stop a render."""
    from concurrent.futures import ThreadPoolExecutor

    from runner.errors import SpecErrors
    from runner.spec import validate_specs

    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: \"{% for i in "
                      "range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}\"\n"
                      "    ratio: '1280:720'\n    duration: 5\n")
    with ThreadPoolExecutor(1) as pool, pytest.raises(SpecErrors) as caught:
        pool.submit(validate_specs, [spec]).result(timeout=300)  # a guard, not the assertion
    assert ":6:13: shot a: prompt: template too expensive: still rendering after 2 s" in str(caught.value)


def _matrix_spec(matrix: str, extra: str = "", shots: int = 1) -> str:
    entry = ("  - id: \"s#-{{ a }}-{{ b | default(0) }}\"\n    model: gen4.5\n    prompt: x\n"
             "    ratio: '1280:720'\n    duration: 5\n    matrix: " + matrix + "\n" + extra)
    return "version: 1\nname: t\nshots:\n" + "".join(entry.replace("#", str(n)) for n in range(shots))


TEN = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
MATRIX_BOMBS = [
    ("six-keys", _matrix_spec("{" + ", ".join(f"{k}: {TEN}" for k in "abcdef") + "}"),
     ":9:13: matrix: the matrix makes 1,000,000 variants (10 × 10 × 10 × 10 × 10 × 10); the limit is 10,000 per shot"),
    ("eight-keys", _matrix_spec("{" + ", ".join(f"{k}: {TEN}" for k in "abcdefgh") + "}"),
     ":9:13: matrix: the matrix makes 100,000,000 variants"),
    ("thirty-keys-of-aliases", _matrix_spec("{a: &v " + TEN + ", " + ", ".join(f"k{i}: *v" for i in range(30)) + "}"),
     "the matrix makes 10,000,000,000,000,000,000,000,000,000,000 variants"),
    ("just-over-the-cap", _matrix_spec("{a: " + TEN + ", b: [" + ", ".join(map(str, range(1001))) + "]}"),
     ":9:13: matrix: the matrix makes 10,010 variants (10 × 1001); the limit is 10,000 per shot"),
    ("include-entries", _matrix_spec("{a: [0]}", "    include: [" + ", ".join(f"{{a: {i}}}" for i in range(1, 10001))
                                     + "]\n"), "the matrix makes 10,001 variants"),
    ("many-shots", _matrix_spec("{a: [" + ", ".join(map(str, range(100))) + "], b: ["
                                + ", ".join(map(str, range(100))) + "]}", shots=11),
     ":3:1: shots: the shots expand to 110,000 variants; the limit is 100,000 per spec"),
]


@pytest.mark.parametrize(("text", "fragment"), [c[1:] for c in MATRIX_BOMBS], ids=[c[0] for c in MATRIX_BOMBS])
def test_matrix_bombs_are_counted_before_expansion(text: str, fragment: str, tmp_path: Path, run, api) -> None:
    emu = api()
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = attempt(run, spec)
    assert result.exit_code == 1, result.stderr
    assert fragment in result.stderr
    assert emu.stats["requests"] == {}


def test_excluded_combinations_do_not_count_against_the_cap(tmp_path: Path, run) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(_matrix_spec("{a: " + TEN + ", b: [" + ", ".join(map(str, range(1001))) + "]}",
                                 "    exclude: [{a: 0}]\n"))
    result = run(["validate", str(spec)])
    assert result.exit_code == 0, result.stderr
    assert "9,009 shots" in result.stdout or "9009 shots" in result.stdout


YAML_ATTACKS = [
    ("python-object", "version: 1\nname: t\nshots: !!python/object/apply:os.system ['id']\n",
     "unsupported YAML tag !!python/object/apply:os.system"),
    ("python-name", "version: 1\nname: !!python/name:os.system ''\nshots: []\n", "unsupported YAML tag"),
    ("custom-tag", "version: 1\nname: !include /etc/passwd\nshots: []\n", "unsupported YAML tag !include"),
    ("deep-nesting", "version: 1\nname: t\nvars: {x: " + "[" * 100 + "]" * 100 + "}\nshots: []\n",
     "nesting is deeper than 64 levels"),
    ("alias-bomb", "a: &a [" + ",".join(["x"] * 20) + "]\n" + "".join(
        f"{c}: &{c} [" + ",".join([f"*{p}"] * 20) + "]\n" for p, c in zip("abcde", "bcdef", strict=True)),
     "expands to more than 1,000,000 values"),
    ("many-documents", "version: 1\n---\nversion: 1\n", "more than one YAML document"),
    # PyYAML's composer recurses per level: these used to end in a RecursionError (exit 3).
    ("deep-flow-sequence", "version: 1\nname: t\nvars: {x: " + "[" * 3000 + "]" * 3000 + "}\nshots: []\n",
     "spec.yaml:3:74: nesting is deeper than 64 levels"),
    ("deep-flow-mapping", "version: 1\nname: t\nvars: " + "{a: " * 3000 + "1" + "}" * 3000 + "\nshots: []\n",
     "spec.yaml:3:260: nesting is deeper than 64 levels"),
    ("deep-block-sequence", "version: 1\nname: t\nvars:\n  x:\n    " + "- " * 3000 + "1\nshots: []\n",
     "nesting is deeper than 64 levels"),
    ("deep-block-mapping", "version: 1\nname: t\nvars:\n" + "".join(" " * i + "a:\n" for i in range(1, 2000))
     + "shots: []\n", "nesting is deeper than 64 levels"),
    ("alias-string-bomb", "version: 1\nname: t\nvars:\n  a: &a " + "x" * 1_000_000 + "\n  b: ["
     + ", ".join(["*a"] * 25) + "]\nshots: []\n", "expands to more than 20,971,520 characters of text"),
]


@pytest.mark.parametrize(("text", "fragment"), [c[1:] for c in YAML_ATTACKS], ids=[c[0] for c in YAML_ATTACKS])
def test_yaml_attacks(text: str, fragment: str, tmp_path: Path, run, api) -> None:
    emu = api()
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = attempt(run, spec)
    assert result.exit_code == 1 and fragment in result.stderr
    assert emu.stats["requests"] == {}


def test_oversized_yaml_is_not_parsed(tmp_path: Path, run, api) -> None:
    emu = api()
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(b"version: 1\n" + b"#" * (6 * 1024 * 1024))
    result = attempt(run, spec)
    assert result.exit_code == 1 and "specs are limited to 5,242,880 bytes" in result.stderr
    assert emu.stats["requests"] == {}


ID_ATTACKS = [
    ("dot-dot", '"../../etc"'),
    ("absolute", '"/tmp/x"'),
    ("templated-traversal", '"{{ p }}"'),
    ("nul-byte", '"a\\0b"'),
]


@pytest.mark.parametrize("shot_id", [c[1] for c in ID_ATTACKS], ids=[c[0] for c in ID_ATTACKS])
def test_ids_cannot_become_paths(shot_id: str, write_spec, run, api, tmp_path: Path) -> None:
    emu = api()
    spec = write_spec("version: 1\nname: t\nvars: {p: '../../../outside'}\nshots:\n"
                      f"  - id: {shot_id}\n    model: gen4.5\n    prompt: x\n    ratio: '1280:720'\n    duration: 5\n")
    result = attempt(run, spec)
    assert result.exit_code == 1 and "must match ^[a-z0-9][a-z0-9._-]{0,127}$" in result.stderr
    assert emu.stats["requests"] == {}
    assert not (tmp_path.parent / "outside").exists()


def test_key_shaped_string_in_a_spec_is_refused_and_not_echoed(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(f"version: 1\nname: t\nvars: {{token: {KEY}}}\nshots:\n  - id: a\n    model: gen4.5\n"
                      "    prompt: x\n    ratio: '1280:720'\n    duration: 5\n")
    result = attempt(run, spec)
    assert result.exit_code == 1 and "looks like a Runway API key" in result.stderr and "rotate" in result.stderr
    assert KEY not in result.stdout + result.stderr
    assert emu.stats["requests"] == {}


BUILT = "key_" + "a" * 40  # what each template below renders


@pytest.mark.parametrize(("fields", "where"), [
    pytest.param("    prompt: \"{{ 'key_' ~ 'a' * 40 }}\"\n", ":7:13: shot a: prompt: ", id="concatenated-in-prompt"),
    pytest.param("    prompt: \"token {{ p }}{{ q }} here\"\n", ":7:13: shot a: prompt: ", id="from-vars-pieces"),
    pytest.param("    prompt: \"{{ k }}{{ 'a' * 40 }}\"\n    matrix: {k: [key_]}\n", ":7:13: shot a: prompt: ",
                 id="from-matrix-pieces"),
    pytest.param("    prompt: x\n    params: {seed: \"{{ p ~ q }}\"}\n", ":8:20: shot a: params.seed: ",
                 id="in-params"),
    pytest.param("    prompt: x\n    tags: [\"{{ p }}{{ q }}\"]\n", ":8:12: shot a: tags[0]: ", id="in-tags"),
    pytest.param("    prompt: \"{{ [p ~ q] }}\"\n", ":7:13: shot a: prompt[0]: ", id="inside-a-rendered-list"),
])
def test_a_key_built_by_a_template_is_refused_and_not_echoed(fields: str, where: str, write_spec, run, api,
                                                             tmp_path: Path) -> None:
    emu = api()
    spec = write_spec("version: 1\nname: t\nvars: {p: key_, q: " + "a" * 40 + "}\nshots:\n  - id: a\n"
                      "    model: gen4.5\n" + fields + "    ratio: '1280:720'\n")
    result = attempt(run, spec)
    assert result.exit_code == 1, result.stderr
    assert where + "this looks like a Runway API key" in result.stderr
    assert "rotate the key" in result.stderr
    assert BUILT not in result.stdout + result.stderr
    assert emu.stats["requests"] == {}
    assert not (tmp_path / "spec.state.json").exists()


def test_a_template_that_rebuilds_the_configured_key_is_refused(write_spec, run, api, monkeypatch) -> None:
    emu = api()
    monkeypatch.setenv("RUNWAYML_API_SECRET", "s3cr3t-value-123")
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n"
                      "    prompt: \"x {{ 's3cr3t' ~ '-value-123' }}\"\n    ratio: '1280:720'\n    duration: 5\n")
    result = attempt(run, spec)
    assert result.exit_code == 1 and ":6:13: shot a: prompt: this looks like a Runway API key" in result.stderr
    assert "s3cr3t-value-123" not in result.stdout + result.stderr
    assert emu.stats["requests"] == {}


def test_a_key_built_into_the_id_is_refused_without_naming_the_shot(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: \"{{ 'key_' ~ 'a' * 40 }}\"\n    model: gen4.5\n"
                      "    prompt: x\n    ratio: '1280:720'\n    duration: 5\n")
    result = attempt(run, spec)
    assert result.exit_code == 1 and ":4:9: id: this looks like a Runway API key" in result.stderr
    assert BUILT not in result.stdout + result.stderr
    assert emu.stats["requests"] == {}


def test_the_configured_key_inside_a_spec_is_refused(write_spec, run, api, monkeypatch) -> None:
    api()
    monkeypatch.setenv("RUNWAYML_API_SECRET", "s3cr3t-value-123")
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: 'x s3cr3t-value-123'\n"
                      "    ratio: '1280:720'\n    duration: 5\n")
    result = attempt(run, spec)
    assert result.exit_code == 1 and "looks like a Runway API key" in result.stderr
    assert "s3cr3t-value-123" not in result.stdout + result.stderr


def test_the_key_never_reaches_any_output_channel(write_spec, run, api, monkeypatch, tmp_path: Path) -> None:
    emu = api()
    monkeypatch.setenv("RUNWAYML_API_SECRET", KEY)
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: 'x'\n"
                      "    ratio: '1280:720'\n    duration: 5\n  - id: b\n    model: gen4.5\n"
                      "    prompt: 'y [[fail:SAFETY.INPUT.TEXT]]'\n    ratio: '1280:720'\n    duration: 5\n")
    outputs = []
    for args in (["plan", str(spec), "-o", str(tmp_path / "plan.json"), "--check-account"],
                 ["--debug", "apply", str(spec), "--yes", "--poll-interval", "0.02", "--format", "json"],
                 ["--debug", "apply", str(spec), "--yes", "--poll-interval", "0.02"]):
        result = run(args)
        outputs += [result.stdout, result.stderr]
    emu.emulator.config = emu.emulator.config.updated({"error_rate": 1.0})  # and when the API fails
    emu.emulator.world.config = emu.emulator.config
    result = run(["--debug", "plan", str(spec), "--check-account"])
    outputs += [result.stdout, result.stderr]
    files = [p.read_text(errors="replace") for p in tmp_path.rglob("*")
             if p.is_file() and p.suffix in (".json", ".yaml")]
    assert emu.stats["creates_total"] >= 2
    for text in outputs + files:
        assert KEY not in text


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
    api()
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: 'x [[size:300000]]'\n"
                      "    ratio: '1280:720'\n    duration: 5\n")
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--max-output-mb", "0.1"])
    assert result.exit_code == 1 and "over the 104857 byte limit" in result.stdout + result.stderr
    assert not list((tmp_path / "outputs").rglob("*.mp4"))


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


# --- Files runner writes, moves and deletes stay inside the project ----------------------------
#
# The project (tmp_path, no git) sits beside a sentinel folder; every attack below must leave
# that folder exactly as it was: nothing written, truncated, moved, deleted or read into
# outputs or reports.


class Sentinel:
    """A folder beside the project with a file, a look-alike temp file and a state-shaped file."""

    def __init__(self, project: Path) -> None:
        self.path = project.parent / f"{project.name}-outside"
        self.path.mkdir()
        (self.path / "keep.mp4").write_bytes((ROOT / "specs" / "assets" / "clip.mp4").read_bytes())
        (self.path / ".tmp-1.mp4-1-abc").write_bytes(b"someone else's temp file")
        (self.path / "secret.txt").write_text("not yours")
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        return {p.relative_to(self.path).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
                for p in sorted(self.path.rglob("*")) if p.is_file()}

    def untouched(self) -> bool:
        return self.snapshot() == self.before


@pytest.fixture
def outside(tmp_path: Path) -> Sentinel:
    return Sentinel(tmp_path)


def one_shot_spec(extra: str = "", name: str = "t") -> str:
    """A text shot; ``extra`` lines go on line 3 (``output_dir`` there is at 3:13)."""
    return (f"version: 1\nname: {name}\n{extra}shots:\n  - id: a\n    model: gen4.5\n    prompt: x\n"
            "    ratio: '1280:720'\n    duration: 5\n")


def _escape(tmp_path: Path, outside: Sentinel, form: str) -> str:
    """Set up one way of pointing output_dir out of the project; returns the spec's extra line."""
    rel = f"../{outside.path.name}"
    if form == "traversal":
        return f"output_dir: {rel}/videos\n"
    if form == "deep-traversal":
        return "output_dir: outputs/../../../../../../tmp/runner-escape\n"
    if form == "absolute":
        return f"output_dir: {outside.path}\n"
    if form == "symlinked-output-dir":
        os.symlink(outside.path, tmp_path / "outputs")
        return "output_dir: outputs\n"
    if form == "symlink-loop":
        os.symlink(tmp_path / "loop-b", tmp_path / "loop-a")
        os.symlink(tmp_path / "loop-a", tmp_path / "loop-b")
        return "output_dir: loop-a/videos\n"
    if form == "nul-byte":
        return 'output_dir: "videos\\0x"\n'
    if form == "symlink-in-the-middle":
        os.symlink(outside.path, tmp_path / "media")
        return "output_dir: media/videos\n"
    os.symlink(outside.path, tmp_path / "outputs")  # the default outputs/<name>, through a linked outputs/
    return ""


OUTPUT_DIR_ESCAPES = [
    ("traversal", "resolves to", ":3:13: output_dir: "),
    ("deep-traversal", "resolves to", ":3:13: output_dir: "),
    ("absolute", "absolute path", ":3:13: output_dir: "),
    ("symlinked-output-dir", "resolves to", ":3:13: output_dir: "),
    ("symlink-in-the-middle", "resolves to", ":3:13: output_dir: "),
    ("symlink-loop", "resolves to nowhere usable", ":3:13: output_dir: "),
    ("nul-byte", "contains a NUL byte", ":3:13: output_dir: "),
    ("default-folder-through-a-link", "resolves to", ":2:7: name: "),
]


@pytest.mark.parametrize(("form", "fragment", "where"), OUTPUT_DIR_ESCAPES,
                         ids=[c[0] for c in OUTPUT_DIR_ESCAPES])
def test_output_dir_outside_the_project_is_refused(form: str, fragment: str, where: str, tmp_path: Path,
                                                   outside: Sentinel, write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(one_shot_spec(_escape(tmp_path, outside, form)))
    for command in (["validate", str(spec)], ["plan", str(spec)]):
        result = run(command)
        assert result.exit_code == 1
        assert f"spec.yaml{where}" in result.stderr and fragment in result.stderr
    result = attempt(run, spec)
    assert result.exit_code == 1 and f"spec.yaml{where}" in result.stderr
    assert fragment in result.stderr
    assert emu.stats["requests"] == {}
    assert outside.untouched() and not Path("/tmp/runner-escape").exists()


@pytest.mark.parametrize("link", ["shot-folder", "take-file"])
def test_a_link_out_of_the_project_inside_outputs_is_refused_before_paying(link: str, tmp_path: Path,
                                                                           outside: Sentinel, write_spec, run,
                                                                           api) -> None:
    emu = api()
    spec = write_spec(one_shot_spec())
    shot_folder = tmp_path / "outputs" / "t" / "a"
    if link == "shot-folder":
        shot_folder.parent.mkdir(parents=True)
        os.symlink(outside.path, shot_folder)
    else:
        shot_folder.mkdir(parents=True)
        os.symlink(outside.path / "keep.mp4", shot_folder / "1.mp4")
    result = attempt(run, spec)
    assert result.exit_code == 1
    assert "spec.yaml:4:9: shot a: id: its output folder" in result.stderr and "outside the project" in result.stderr
    assert emu.stats["requests"] == {}
    assert outside.untouched()


@pytest.mark.parametrize("form", ["absolute", "traversal", "through-a-link"])
@pytest.mark.parametrize("command", ["report", "plan"])
def test_report_and_saved_plan_are_written_only_inside_the_project(command: str, form: str, tmp_path: Path,
                                                                   outside: Sentinel, write_spec, run) -> None:
    spec = write_spec(one_shot_spec())
    target = {"absolute": str(outside.path / "out.html"),
              "traversal": str(tmp_path / ".." / outside.path.name / "out.html"),
              "through-a-link": str(tmp_path / "link" / "out.html")}[form]
    os.symlink(outside.path, tmp_path / "link")
    result = run([command, str(spec), "-o", target])
    assert result.exit_code == 1
    assert "-o/--out: " in result.stderr and "is outside the project" in result.stderr
    assert outside.untouched()


def test_init_never_writes_through_links(tmp_path: Path, outside: Sentinel, run) -> None:
    campaign = tmp_path / "campaign"
    campaign.mkdir()
    (tmp_path / ".git").mkdir()  # the project: the git top level
    os.symlink(outside.path / "gitignore-target", campaign / ".gitignore")  # dangling: open() would create it
    result = run(["init", str(campaign), "--name", "spring"])
    assert result.exit_code == 1 and ".gitignore already exists" in result.stderr
    (campaign / ".gitignore").unlink()
    os.symlink(outside.path, campaign / "assets")
    result = run(["init", str(campaign), "--name", "spring"])
    assert result.exit_code == 1
    assert "runner init: " in result.stderr and "is outside the project" in result.stderr
    assert not (campaign / "spring.yaml").exists()
    assert outside.untouched() and not (outside.path / "gitignore-target").exists()


@pytest.mark.parametrize("name", [".spec.yaml.lock", ".spec.yaml.lock.holder"])
def test_a_lock_file_that_is_a_link_is_refused_not_truncated(name: str, tmp_path: Path, outside: Sentinel,
                                                             write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(one_shot_spec())
    os.symlink(outside.path / "secret.txt", tmp_path / name)
    result = attempt(run, spec)
    assert result.exit_code == 1 and f"{name} is a symlink" in result.stderr
    assert emu.stats["requests"] == {}
    assert outside.untouched()


# --- Paths read back from the state file and saved plans are untrusted -------------------------


def _applied(write_spec, run, tmp_path: Path) -> tuple[Path, dict]:
    spec = write_spec(one_shot_spec())
    assert attempt(run, spec).exit_code == 0
    return spec, json.loads((tmp_path / "spec.state.json").read_text())


STATE_OUTPUT_ATTACKS = [
    ("absolute", lambda s: str(s.path / "keep.mp4"), "is an absolute path"),
    ("traversal", lambda s: f"../{s.path.name}/keep.mp4", "resolves outside the project"),
    ("traversal-inside-a-path", lambda s: f"outputs/t/../../../{s.path.name}/keep.mp4", "resolves outside the project"),
    ("through-a-link", lambda s: "outputs/link/keep.mp4", "resolves outside the project"),
]


@pytest.mark.parametrize(("output", "why"), [c[1:] for c in STATE_OUTPUT_ATTACKS],
                         ids=[c[0] for c in STATE_OUTPUT_ATTACKS])
def test_a_state_file_pointing_outside_is_corrupt(output, why: str, tmp_path: Path, outside: Sentinel,
                                                  write_spec, run, api) -> None:
    """The state file is committed, so a pull request can edit it: a take naming a file outside
    the project (here with the right size, so a renamed shot would otherwise move it into
    outputs, and the report would embed it) makes every command stop before reading it."""
    emu = api()
    spec, state = _applied(write_spec, run, tmp_path)
    os.symlink(outside.path, tmp_path / "outputs" / "link")
    take = state["shots"]["a"]["takes"][0]
    take["output"] = output(outside)
    take["bytes"] = (outside.path / "keep.mp4").stat().st_size
    state["shots"]["b"] = state["shots"].pop("a")  # the spec's shot a would be a "move" from b
    (tmp_path / "spec.state.json").write_text(json.dumps(state))
    requests = dict(emu.stats["requests"])
    for args in (["plan", str(spec)], ["apply", str(spec), "--yes"], ["report", str(spec)]):
        result = run(args)
        assert result.exit_code == 1, args
        assert "corrupt state file: shots.b.takes[0].output points outside the project" in result.stderr
        assert why in result.stderr
    assert emu.stats["requests"] == requests
    assert outside.untouched() and not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("sid", ["../../x", "a/b", ".hidden", "A", "a\n"])
def test_shot_ids_in_the_state_file_must_be_ids(sid: str, tmp_path: Path, outside: Sentinel, write_spec, run,
                                                api) -> None:
    api()
    spec, state = _applied(write_spec, run, tmp_path)
    state["shots"][sid] = state["shots"]["a"]
    (tmp_path / "spec.state.json").write_text(json.dumps(state))
    for args in (["plan", str(spec)], ["apply", str(spec), "--yes"]):
        result = run(args)
        assert result.exit_code == 1 and "corrupt state file" in result.stderr
        # the state schema's wording (with the JSON path); "a\n" too: the patterns end in
        # ``(?!\n)$`` because Python's ``$`` matches before a final newline
        assert "is not a shot id" in result.stderr
    assert outside.untouched()


def test_a_state_file_that_is_a_link_out_of_the_project_is_refused(tmp_path: Path, outside: Sentinel,
                                                                    write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(one_shot_spec())
    (outside.path / "state.json").write_text('{"format": 1, "shots": {}}')
    outside.before = outside.snapshot()
    os.symlink(outside.path / "state.json", tmp_path / "spec.state.json")
    result = attempt(run, spec)
    assert result.exit_code == 1 and "state file: " in result.stderr and "is outside the project" in result.stderr
    assert emu.stats["requests"] == {}
    assert outside.untouched()


SAVED_PLAN_ATTACKS = [
    ("spec-outside", lambda doc, s: doc["spec"].update(path=str(s.path / "spec.yaml")), "spec.path"),
    ("state-outside", lambda doc, s: doc["state"].update(path=str(s.path / "secret.txt")), "state.path"),
    ("input-traversal", lambda doc, s: doc["inputs"].update({f"../{s.path.name}/secret.txt": "0" * 64}),
     "inputs"),
    ("input-absolute", lambda doc, s: doc["inputs"].update({str(s.path / "secret.txt"): "0" * 64}), "inputs"),
]


@pytest.mark.parametrize(("edit", "what"), [c[1:] for c in SAVED_PLAN_ATTACKS], ids=[c[0] for c in SAVED_PLAN_ATTACKS])
def test_a_saved_plan_naming_files_outside_is_refused(edit, what: str, tmp_path: Path, outside: Sentinel,
                                                      write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(one_shot_spec())
    (outside.path / "spec.yaml").write_text(spec.read_text())  # a spec that would write outside
    outside.before = outside.snapshot()
    saved = tmp_path / "plan.json"
    assert run(["plan", str(spec), "-o", str(saved)]).exit_code == 0
    doc = json.loads(saved.read_text())
    edit(doc, outside)
    saved.write_text(json.dumps(doc))
    result = attempt(run, saved)
    assert result.exit_code == 1
    assert f"corrupt plan file: {what}" in result.stderr and "points outside the project" in result.stderr
    assert emu.stats["requests"] == {}
    assert outside.untouched() and not (outside.path / ".spec.yaml.lock").exists()


# --- One output folder, one owner ---------------------------------------------------------------


@pytest.mark.parametrize(("extra", "where"), [("", ":2:7: name: "), ("output_dir: shared\n", ":3:13: output_dir: ")],
                         ids=["same-name", "same-output-dir"])
def test_two_specs_cannot_share_an_output_folder(extra: str, where: str, tmp_path: Path, outside: Sentinel,
                                                 write_spec, run, api) -> None:
    emu = api()
    first = write_spec(one_shot_spec(extra), "first.yaml")
    second = write_spec(one_shot_spec(extra).replace("prompt: x", "prompt: y"), "second.yaml")
    assert attempt(run, first).exit_code == 0
    folder = tmp_path / ("shared" if extra else "outputs/t")
    video = (folder / "a" / "1.mp4").read_bytes()
    for args in (["plan", str(second)], ["apply", str(second), "--yes"]):
        result = run(args)
        assert result.exit_code == 1
        assert f"second.yaml{where}" in result.stderr
        assert "belongs to the spec first.yaml" in result.stderr
    assert emu.stats["creates_total"] == 1
    assert (folder / "a" / "1.mp4").read_bytes() == video
    first.unlink()  # the owner is gone: the folder can be claimed
    assert attempt(run, second).exit_code == 0
    assert outside.untouched()


def test_an_apply_writing_into_the_folder_stops_another_spec_at_once(tmp_path: Path, write_spec, run, api) -> None:
    from runner.store.lock import output_lock

    emu = api()
    spec = write_spec(one_shot_spec())
    with output_lock(tmp_path / "outputs" / "t", tmp_path):
        result = attempt(run, spec)
    assert result.exit_code == 1
    assert "another apply is writing into" in result.stderr and "two specs must not share an output folder" \
        in result.stderr
    assert f"pid {os.getpid()}" in result.stderr
    assert emu.stats["creates_total"] == 0


def test_cleanup_deletes_only_dead_temp_files_of_its_own_shots(tmp_path: Path, outside: Sentinel, write_spec,
                                                               run, api) -> None:
    import subprocess
    import sys

    api()
    spec = write_spec(one_shot_spec())
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead = int(gone.stdout)  # a pid whose process has ended
    own = tmp_path / "outputs" / "t" / "a"
    other_spec = tmp_path / "outputs" / "t" / "zz"  # a folder of a shot this spec does not have
    own.mkdir(parents=True)
    other_spec.mkdir()
    leftovers = {own / f".tmp-1.mp4-{dead}-abc": False, own / ".tmp-1.mp4-xyz": False,
                 own / f".tmp-2.mp4-{os.getpid()}-live": True, other_spec / f".tmp-1.mp4-{dead}-abc": True}
    for path in leftovers:
        path.write_bytes(b"partial")
    os.symlink(outside.path / ".tmp-1.mp4-1-abc", own / ".tmp-3.mp4-1-link")
    assert attempt(run, spec).exit_code == 0
    assert {p: p.exists() for p in leftovers} == leftovers
    assert outside.untouched()


def test_paths_that_climb_within_the_project_still_work(tmp_path: Path, outside: Sentinel, run, api) -> None:
    """The confinement is to the project, not to the spec's folder: a spec in campaigns/ of a
    git project may write to ../outputs and read ../assets, through apply, a saved plan and
    the state file, which records the ``..`` path (never an absolute one)."""
    emu = api()
    (tmp_path / ".git").mkdir()
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "day.png").write_bytes((ROOT / "specs" / "assets" / "day.png").read_bytes())
    (tmp_path / "campaigns").mkdir()
    spec = tmp_path / "campaigns" / "spec.yaml"
    spec.write_text("version: 1\nname: t\noutput_dir: ../outputs\nshots:\n  - id: a\n    model: gen4_turbo\n"
                    "    image: ../assets/day.png\n    prompt: x\n    ratio: '1280:720'\n    duration: 5\n")
    saved = tmp_path / "plan.json"
    assert run(["plan", str(spec), "-o", str(saved)]).exit_code == 0
    assert list(json.loads(saved.read_text())["inputs"]) == ["../assets/day.png"]
    assert attempt(run, saved).exit_code == 0
    take = json.loads((tmp_path / "campaigns" / "spec.state.json").read_text())["shots"]["a"]["takes"][0]
    assert take["output"] == "../outputs/a/1.mp4" and (tmp_path / "outputs" / "a" / "1.mp4").is_file()
    assert run(["plan", str(spec), "--detailed-exitcode"]).exit_code == 0  # found again: nothing to do
    assert emu.stats["creates_total"] == 1
    assert outside.untouched()


# --- A tampered state file or plan file -------------------------------------------------------
# The state file is committed to git and a saved plan is handed from job to job: a pull
# request can edit either. Each is validated against its schema (schema/state.schema.json,
# schema/plan.schema.json) before anything in it is used.

TASK = "0c6e7bd4-7a7d-4d6c-9f0e-2d1e6f3a9b10"
TEXT_SPEC = "version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: '{prompt}'\n" \
            "    ratio: '1280:720'\n    duration: 5\n"


def valid_state() -> dict:
    take = {"take": 1, "fingerprint": "b" * 64, "output": "outputs/t/a/1.mp4", "sha256": "c" * 64, "bytes": 3,
            "credits": 60, "task_id": TASK, "finished": "2026-01-01T00:00:00Z", "source": "api"}
    pending = {"take": 2, "fingerprint": "d" * 64, "task_id": TASK, "created": "2026-01-01T00:00:00Z",
               "attempt": 1, "estimated": 60}
    return {"format": 1, "shots": {"a": {"fingerprint": "a" * 64, "model": "gen4.5", "mode": "text",
                                         "request": {"promptText": "x"}, "takes": [take], "pending": [pending]}}}


def _set(doc: dict, path: tuple, value) -> dict:
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


DELETE = object()
SHOT = ("shots", "a")
STATE_TAMPERING = [
    ("shots-a-list", ("shots",), [], '$.shots: [] is a list; expected an object'),
    ("document-null", None, "null", "$: null; expected an object"),
    ("take-a-string", (*SHOT, "takes", 0, "take"), "1", '$.shots.a.takes[0].take: "1" is a string; expected a whole'),
    ("missing-fingerprint", (*SHOT, "fingerprint"), DELETE, '$.shots.a: missing field "fingerprint"'),
    ("takes-null", (*SHOT, "takes"), None, "$.shots.a.takes: null; expected a list"),
    ("request-a-list", (*SHOT, "request"), [], "$.shots.a.request: [] is a list; expected an object"),
    ("huge-bytes", (*SHOT, "takes", 0, "bytes"), 10**30,
     "$.shots.a.takes[0].bytes: 1000000000000000000000000000000 is above the maximum"),
    ("negative-credits", (*SHOT, "takes", 0, "credits"), -5, "$.shots.a.takes[0].credits: -5 is below the minimum"),
    ("float-take", (*SHOT, "takes", 0, "take"), 1.5, "$.shots.a.takes[0].take: 1.5 is a number; expected a whole"),
    ("bool-take", (*SHOT, "pending", 0, "take"), True, "$.shots.a.pending[0].take: true is a boolean; expected a"),
    ("unknown-field", (*SHOT, "takes", 0, "shell"), "rm -rf", '$.shots.a.takes[0]: unknown field "shell"'),
    ("bad-sha256", (*SHOT, "takes", 0, "sha256"), "zz", '$.shots.a.takes[0].sha256: "zz" is not a sha256'),
    ("bad-mode", (*SHOT, "mode"), "telepathy", '$.shots.a.mode: "telepathy" is not one of "text"'),
    ("shot-id-traversal", ("shots", "../../etc"), {}, '$.shots["../../etc"]: "../../etc" is not a shot id'),
    ("model-newline", (*SHOT, "model"), "gen4.5\n", '$.shots.a.model: "gen4.5\\n" is not a model name'),
    ("journal-id-traversal", (*SHOT, "pending", 0, "task_id"), "../organization",
     '$.shots.a.pending[0].task_id: "../organization" is not a Runway task id'),
    ("journal-id-absolute", (*SHOT, "pending", 0, "task_id"), "/v1/organization",
     '$.shots.a.pending[0].task_id: "/v1/organization" is not a Runway task id'),
    ("journal-id-crlf", (*SHOT, "pending", 0, "task_id"), TASK + "\r\nX: 1",
     f'$.shots.a.pending[0].task_id: "{TASK}\\r\\nX: 1" is not a Runway task id'),
    ("journal-id-newline", (*SHOT, "pending", 0, "task_id"), TASK + "\n",
     f'$.shots.a.pending[0].task_id: "{TASK}\\n" is not a Runway task id'),
    ("journal-id-uppercase", (*SHOT, "pending", 0, "task_id"), TASK.upper(),
     f'$.shots.a.pending[0].task_id: "{TASK.upper()}" is not a Runway task id'),
    ("journal-id-number", (*SHOT, "pending", 0, "task_id"), 7,
     "$.shots.a.pending[0].task_id: 7 is a whole number; expected a string (or null)"),
    ("take-id-query", (*SHOT, "takes", 0, "task_id"), TASK + "?x=1",
     f'$.shots.a.takes[0].task_id: "{TASK}?x=1" is not a Runway task id'),
    ("failure-a-list", (*SHOT, "failure"), [], "$.shots.a.failure: [] is a list; expected an object or null"),
    ("format-a-string", ("format",), "1", '$.format: "1" is not one of 1'),
]


@pytest.mark.parametrize(("path", "value", "fragment"), [c[1:] for c in STATE_TAMPERING],
                         ids=[c[0] for c in STATE_TAMPERING])
def test_a_tampered_state_file_is_refused_with_its_json_path(path, value, fragment, write_spec, run, api,
                                                             tmp_path) -> None:
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    state = tmp_path / "spec.state.json"
    doc = json.loads(value) if path is None else _set(valid_state(), path, value)
    state.write_text(json.dumps(doc))
    before = state.read_bytes()
    for args in (["plan", str(spec)], ["apply", str(spec), "--yes", "--poll-interval", "0.02"]):
        result = run(args)
        assert result.exit_code == 1, result.stderr
        assert f"error: corrupt state file {state}: {fragment}" in result.stderr
        assert "restore it from git" in result.stderr and "delete the broken entry" in result.stderr
    assert emu.stats["requests"] == {}  # not even GET /v1/organization: nothing reached a URL
    assert state.read_bytes() == before  # never overwritten


def test_the_untampered_state_of_those_tests_is_valid(write_spec, run, tmp_path) -> None:
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    (tmp_path / "spec.state.json").write_text(json.dumps(valid_state()))
    assert run(["plan", str(spec)]).exit_code == 0


STATE_TEXT_TAMPERING = [
    ("nan", '{"format": 1, "shots": {"a": NaN}}', "NaN is not a number runner writes"),
    ("infinity", '{"format": 1, "shots": {}, "x": Infinity}', "Infinity is not a number runner writes"),
    ("overflowing-number", '{"format": 1, "shots": {"a": {"take": 1e999}}}', "1e999 is too large a number"),
    ("deep-nesting", "[" * 100_000, "nested too deeply"),
    ("not-json", "<<<<<<< HEAD\n{}\n=======\n", "not JSON"),
    ("huge-int-literal", '{"format": 1, "shots": {}, "n": ' + "9" * 5000 + "}", "not JSON"),
    ("not-utf8", b"\xff\xfe{}", "not JSON"),
]


@pytest.mark.parametrize(("text", "fragment"), [c[1:] for c in STATE_TEXT_TAMPERING],
                         ids=[c[0] for c in STATE_TEXT_TAMPERING])
def test_a_state_file_that_is_not_json_we_write_is_refused(text, fragment, write_spec, run, tmp_path) -> None:
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    state = tmp_path / "spec.state.json"
    state.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = run(["plan", str(spec)])
    assert result.exit_code == 1, result.stderr
    assert f"error: corrupt state file {state}: $: " in result.stderr and fragment in result.stderr


PLAN_TAMPERING = [
    ("only-a-kind", None, '{"kind": "runner-plan"}', '$: missing field "format"'),
    ("shots-an-object", ("shots",), {}, "$.shots: {} is an object; expected a list"),
    ("spec-missing", ("spec",), DELETE, '$: missing field "spec"'),
    ("spec-path-a-number", ("spec", "path"), 5, "$.spec.path: 5 is a whole number; expected a string"),
    ("spec-sha-not-hex", ("spec", "sha256"), "../x", '$.spec.sha256: "../x" is not a sha256'),
    ("inputs-a-list", ("inputs",), [], "$.inputs: [] is a list; expected an object"),
    ("options-unknown", ("options", "exec"), "sh", '$.options: unknown field "exec"'),
    ("max-credits-text", ("options", "max_credits"), "lots", '$.options.max_credits: "lots" is a string'),
    ("max-credits-negative", ("options", "max_credits"), -1, "$.options.max_credits: -1 is below the minimum"),
    ("select-a-string", ("options", "select"), "*", '$.options.select: "*" is a string; expected a list'),
    ("take-task-id-traversal", ("shots", 0, "takes", 0, "task_id"), "../organization",
     '$.shots[0].takes[0].task_id: "../organization" is not a Runway task id'),
    ("take-fingerprint-null", ("shots", 0, "takes", 0, "fingerprint"), None,
     "$.shots[0].takes[0].fingerprint: null; expected a string"),
    ("shot-id-a-path", ("shots", 0, "id"), "../../etc/passwd", '$.shots[0].id: "../../etc/passwd" is not a shot id'),
    ("format-newer-kind", ("format",), "2", '$.format: "2" is not one of 1'),
]


@pytest.mark.parametrize(("path", "value", "fragment"), [c[1:] for c in PLAN_TAMPERING],
                         ids=[c[0] for c in PLAN_TAMPERING])
def test_a_tampered_saved_plan_is_refused_with_its_json_path(path, value, fragment, write_spec, run, api,
                                                             tmp_path) -> None:
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    plan = tmp_path / "plan.json"
    assert run(["plan", str(spec), "-o", str(plan)]).exit_code == 0
    plan.write_text(value if path is None else json.dumps(_set(json.loads(plan.read_text()), path, value)))
    result = run(["apply", str(plan), "--yes", "--poll-interval", "0.02"])
    assert result.exit_code == 1, result.stderr
    assert f"error: corrupt plan file {plan}: {fragment}" in result.stderr
    assert "make the plan again with `runner plan -o`" in result.stderr
    assert emu.stats["requests"] == {}


@pytest.mark.parametrize("text", ['{"kind": "runner-plan", "x": NaN}', '{"kind": "runner-plan", "x": ' + "[" * 50_000,
                                  '{"kind": "runner-plan", "format": 1e999}'], ids=["nan", "deep", "overflow"])
def test_a_saved_plan_that_is_not_json_we_write_is_refused(text: str, write_spec, run, api, tmp_path) -> None:
    emu = api()
    write_spec(TEXT_SPEC.format(prompt="x"))
    plan = tmp_path / "plan.json"
    plan.write_text(text)
    result = run(["apply", str(plan), "--yes"])
    assert result.exit_code == 1 and result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert emu.stats["requests"] == {}


# --- Hostile API answers ---------------------------------------------------------------------
# The emulator's hostile mode (runner/emulator/hostile.py) answers as a broken or compromised
# API would; `configure(hostile=False)` makes the same tasks answer as a healthy API. Every
# case ends the run with exit 1 and a clear message, and nothing paid is lost: once the API
# behaves, the next apply finishes the task without creating it again.

def apply_text(run, spec: Path, *extra: str):
    return run(["apply", str(spec), "--yes", "--poll-interval", "0.02", *extra])


def journal_of(tmp_path: Path) -> list[dict]:
    return json.loads((tmp_path / "spec.state.json").read_text())["shots"]["a"]["pending"]


def finishes_once_healthy(run, emu, spec: Path, tmp_path: Path) -> None:
    emu.configure(hostile=False)
    again = apply_text(run, spec)
    assert again.exit_code == 0, again.stdout + again.stderr
    assert emu.stats["creates_total"] == 1  # the paid task was finished, not created again
    assert (tmp_path / "outputs" / "t" / "a" / "1.mp4").is_file()
    assert journal_of(tmp_path) == []


BAD_CREATE_IDS = ["id-traversal", "id-absolute", "id-query", "id-crlf", "id-newline", "id-uppercase", "id-number",
                  "id-null", "id-empty", "id-long", "id-missing", "not-an-object"]


@pytest.mark.parametrize("answer", BAD_CREATE_IDS)
def test_a_create_answered_with_an_id_that_is_not_one_is_journaled_and_never_polled(answer: str, write_spec, run,
                                                                                    api, tmp_path) -> None:
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt=f"x [[create:{answer}]]"))
    result = apply_text(run, spec)
    assert result.exit_code == 1, result.stderr
    assert "the API answered a create with" in result.stdout
    assert "may have been created; check the dashboard" in result.stdout
    assert "\r" not in result.stdout and "a" * 100 not in result.stdout  # the bogus id is not echoed raw
    (intent,) = journal_of(tmp_path)
    assert intent["task_id"] is None  # "may have been created": never created again silently
    requests = emu.stats["requests"]
    assert set(requests) == {"GET /v1/organization", "POST /v1/text_to_video"}  # no bogus URL was read
    assert requests["GET /v1/organization"] == 1
    emu.configure(hostile=False)
    again = apply_text(run, spec)  # reported again, not created again
    assert again.exit_code == 1 and "may have been created" in again.stdout
    assert emu.stats["creates_total"] == 1


@pytest.mark.parametrize("answer", ["estimate-text", "estimate-string", "estimate-negative", "estimate-huge"])
def test_a_create_with_a_malformed_estimate_is_polled_and_paid_once(answer: str, write_spec, run, api,
                                                                   tmp_path) -> None:
    # The id is journaled first; an estimate that cannot be one is only a warning: the task is
    # paid, so it is polled and its output kept, and its own reported cost is what is recorded.
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt=f"x [[create:{answer}]]"))
    result = apply_text(run, spec)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "with estimatedCost" in result.stderr and "which is not a credit count" in result.stderr
    assert journal_of(tmp_path) == [] and emu.stats["creates_total"] == 1


TASK_ANSWERS = [
    ("cost-text", "does not document"),
    ("cost-string", "does not document"),
    ("estimate-text", "does not document"),
    ("status-missing", "does not document"),
    ("status-lowercase", "does not document"),
    ("other-task", 'the answer is about task "00000000-0000-4000-8000-000000000000"'),
    ("output-crlf", "contains control characters or spaces"),
    ("output-tab", "contains control characters or spaces"),
    ("output-nul", "contains control characters or spaces"),
    ("output-not-a-list", "does not document"),
]


@pytest.mark.parametrize(("answer", "fragment"), TASK_ANSWERS, ids=[c[0] for c in TASK_ANSWERS])
def test_a_malformed_task_answer_keeps_the_paid_task(answer: str, fragment: str, write_spec, run, api,
                                                     tmp_path) -> None:
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt=f"x [[task:{answer}]]"))
    result = apply_text(run, spec)
    assert result.exit_code == 1, result.stderr
    assert fragment in result.stdout and "stays in the journal" in result.stdout
    assert "\r\n" not in result.stdout and "\x00" not in result.stdout
    (entry,) = journal_of(tmp_path)
    assert entry["task_id"]
    assert emu.stats["downloads"] == 0
    finishes_once_healthy(run, emu, spec, tmp_path)


@pytest.mark.parametrize("answer", ["cost-negative", "cost-huge"])
def test_a_task_cost_that_cannot_be_a_charge_is_recorded_as_unknown(answer: str, write_spec, run, api,
                                                                    tmp_path) -> None:
    # A number no task can cost (below 0, above 10^8 credits): the paid output is kept, the
    # charge is unknown (never negative, never absurd), and apply says so.
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt=f"x [[task:{answer}]]"))
    result = apply_text(run, spec)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "which cannot be a charge; recorded as unknown" in result.stdout + result.stderr
    take = json.loads((tmp_path / "spec.state.json").read_text())["shots"]["a"]["takes"][0]
    assert take["credits"] is None and emu.stats["creates_total"] == 1


@pytest.mark.parametrize("answer", ["never-finish", "status-unknown"])
def test_a_task_that_never_finishes_ends_apply_at_its_deadline(answer: str, write_spec, run, api, tmp_path) -> None:
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt=f"x [[task:{answer}]]"))
    result = apply_text(run, spec, "--task-timeout", "0.5")
    assert result.exit_code == 1, result.stderr
    (entry,) = journal_of(tmp_path)
    task_id = entry["task_id"]
    assert "unknown: a #1: " in result.stdout and f"the outcome of task {task_id} is unknown" in result.stdout
    if answer == "never-finish":
        assert f"task {task_id} did not finish within 0.5 s (--task-timeout)" in result.stdout
    assert "it is never created again" in result.stdout
    again = apply_text(run, spec, "--task-timeout", "0.5")  # still hostile: resumed, times out again, no create
    assert again.exit_code == 1 and emu.stats["creates_total"] == 1
    finishes_once_healthy(run, emu, spec, tmp_path)


@pytest.mark.parametrize("answer", ["balance-text", "tier-missing", "not-an-object"])
def test_a_malformed_organization_answer_stops_before_any_create(answer: str, write_spec, run, api) -> None:
    emu = api(broken_organization=answer)
    result = apply_text(run, write_spec(TEXT_SPEC.format(prompt="x")))
    assert result.exit_code == 1
    assert "error: the API answered GET /v1/organization with something it does not document" in result.stderr
    assert emu.stats["creates_total"] == 0


UPLOAD_ANSWERS = [
    ("uri-missing", "runwayUri null, which is not a runway:// URI"),
    ("uri-number", "runwayUri 7, which is not a runway:// URI"),
    ("fields-text", 'fields "none", which are not form fields'),
    ("url-internal", "refusing to upload to the storage URL the API answered with: http URLs are not allowed"),
    ("url-other-port", "refusing to upload to the storage URL the API answered with: http URLs are not allowed"),
    ("url-crlf", "contains control characters or spaces"),
]


@pytest.mark.parametrize(("answer", "fragment"), UPLOAD_ANSWERS, ids=[c[0] for c in UPLOAD_ANSWERS])
def test_a_malformed_upload_answer_fails_the_shot_before_its_create(answer: str, fragment: str, write_spec, run,
                                                                    api) -> None:
    emu = api(broken_upload=answer)
    result = apply_text(run, write_spec(spec_with_image("assets/sneaker.png")))
    assert result.exit_code == 1, result.stderr
    assert "uploading an input failed" in result.stdout and fragment in result.stdout
    assert "nothing was created" in result.stdout
    assert emu.stats["creates_total"] == 0
    assert emu.stats["uploads"] == 1 and not any(u for u in emu.emulator.world.uploads.values() if u["complete"])


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
