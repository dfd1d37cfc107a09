"""Specs that attack runner itself: template sandbox escapes and bombs, matrix and YAML bombs,
ids that would become paths, API keys in a spec. Each fails closed with a clear message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from attack_kit import KEY, attempt

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


def test_a_matrix_cannot_multiply_the_template_time_limit(write_spec, run, api, monkeypatch) -> None:
    # Each variant renders under the 2 s a template may take, but 40 of them add up: the spec's
    # templates share SPEC_SECONDS (30 s; 0.5 s here, so that the test is quick). The build stops
    # at the template where the time ran out, with one located error; nothing is sent.
    from runner.spec import limits

    monkeypatch.setattr(limits, "SPEC_SECONDS", 0.5)
    emu = api()
    slow = "{% for i in range(100000) %}{% endfor %}{{ n }}"
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: \"v{{ n }}\"\n    model: gen4.5\n"
                      f"    prompt: {json.dumps(slow)}\n    ratio: '1280:720'\n    duration: 5\n"
                      f"    matrix: {{n: {list(range(40))}}}\n")
    result = attempt(run, spec)
    assert result.exit_code == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert ":6:13: shot v" in errors[0] and ": prompt: template too expensive: the spec's templates have rendered " \
        "for 0.5 s in all, matrix variants included; simplify them or split the spec (limit 0.5 s of rendering " \
        "per spec)" in errors[0]
    assert "shot v39" not in errors[0]  # it stopped where the time ran out, not after every variant
    assert emu.stats["requests"] == {}


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
