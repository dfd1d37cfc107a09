"""Any file, however broken, gets exit 0 or 1 and readable errors: never exit 3 (a bug)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [ROOT / "specs" / "demo.yaml", *sorted((ROOT / "examples").glob("*.yaml"))]
TOKENS = ["{{", "}}", "{%", ":", "- ", "[", "]", "{", "}", "&a", "*a", "!!str", "'", '"', "\t", "\n  ", "~",
          "null", "0", "-1", "1e999", "true", "<<: {}", "{{ x }}", "auto", "frames:", "matrix: {a: [1]}", "\x00"]


def mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(len(chars) + 1)
        op = rng.random()
        if op < 0.4:
            chars[pos:pos] = list(rng.choice(TOKENS))
        elif op < 0.7 and chars:
            del chars[pos:pos + rng.randint(1, 20)]
        else:
            start = rng.randrange(len(chars))
            chars[pos:pos] = chars[start:start + rng.randint(1, 40)]
    return "".join(chars)


@pytest.mark.parametrize("seed", range(300))
def test_mutated_specs_never_crash(seed: int, tmp_path: Path, run) -> None:
    rng = random.Random(seed)
    source = SEEDS[seed % len(SEEDS)]
    text = mutate(source.read_text(encoding="utf-8"), rng)
    spec = source.parent / f".fuzz-{seed}.yaml"
    try:
        spec.write_text(text, encoding="utf-8")
        result = run(["validate", str(spec)])
    finally:
        spec.unlink()
    assert result.exit_code in (0, 1), f"seed {seed}:\n{text}\n---\n{result.stderr}"
    assert "Traceback" not in result.stderr
    if result.exit_code == 1:
        assert result.stderr.startswith("error: ")


# --- Files runner reads back, and API answers --------------------------------------------------
# State files and saved plans are untrusted input too (committed, passed between CI jobs): any
# mutation of them gets exit 0 or 1 with a readable error, never exit 3. So do API answers.

CAMPAIGN = ("version: 1\nname: f\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 2}\n"
            "shots:\n  - id: a\n    prompt: one\n    takes: 2\n  - id: b\n    prompt: two\n")
TASK = "0c6e7bd4-7a7d-4d6c-9f0e-2d1e6f3a9b10"
ODD_VALUES = [None, "", "1", "x" * 300, -1, 0, 10**30, 1.5, True, [], {}, [1, [2]], {"a": {"b": None}},
              "../organization", "/v1/organization", TASK, TASK.upper(), TASK + "\r\n", "\x00", "é" * 3,
              "0" * 64, "2026-01-01T00:00:00Z", "api", "text"]


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A campaign applied once on the built-in emulator, with a saved plan of it."""
    from click.testing import CliRunner

    from runner.cli import main

    folder = tmp_path_factory.mktemp("applied")
    spec = folder / "f.yaml"
    spec.write_text(CAMPAIGN)
    result = CliRunner().invoke(main, ["apply", str(spec), "--emulator", "--yes"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["plan", str(spec), "-o", str(folder / "plan.json")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return folder


def nodes(doc, path=()):
    """Every (path, value) of a JSON document."""
    yield path, doc
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        yield from nodes(value, (*path, key))


def mutate_json(doc, rng: random.Random):
    """Change a JSON document in 1-4 places: replace a value, delete or add a key, duplicate an item."""
    for _ in range(rng.randint(1, 4)):
        path, value = rng.choice(list(nodes(doc)))
        if not path:
            if rng.random() < 0.1:
                doc = rng.choice(ODD_VALUES)
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        op = rng.random()
        if op < 0.6:
            parent[path[-1]] = rng.choice(ODD_VALUES)
        elif op < 0.75:
            del parent[path[-1]]
        elif op < 0.9 and isinstance(value, dict):
            value[rng.choice(["x", "take", "task_id", "../a", "shots"])] = rng.choice(ODD_VALUES)
        elif isinstance(value, list) and value:
            value.append(json.loads(json.dumps(rng.choice(value))))
    return doc


def mutated_text(doc, rng: random.Random) -> str:
    text = json.dumps(mutate_json(doc, rng), indent=2)
    return mutate(text, rng) if rng.random() < 0.2 else text  # sometimes not even JSON


def assert_clean(result, seed: int, text: str) -> None:
    assert result.exit_code in (0, 1), f"seed {seed}:\n{text[:3000]}\n---\n{result.stderr}"
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if result.exit_code == 1:  # says why: an error, or apply's summary of what failed
        assert "error: " in result.stderr or "Apply: " in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("seed", range(150))
def test_mutated_state_files_never_crash(seed: int, applied: Path, tmp_path: Path, run, api, monkeypatch) -> None:
    import shutil

    rng = random.Random(seed)
    folder = tmp_path / "c"
    shutil.copytree(applied, folder)
    state_file = folder / "f.state.json"
    doc = json.loads(state_file.read_text())
    # A journal with a created task and an intent of unknown outcome, as an interrupted apply leaves it.
    doc["shots"]["b"]["pending"] = [
        {"take": 1, "fingerprint": "e" * 64, "task_id": TASK, "created": "2026-01-01T00:00:00Z", "attempt": 1,
         "estimated": 24},
        {"take": 1, "fingerprint": "e" * 64, "task_id": None, "created": "2026-01-01T00:00:00Z", "attempt": 2,
         "estimated": 24}]
    text = mutated_text(doc, rng)
    state_file.write_text(text)
    assert_clean(run(["plan", str(folder / "f.yaml")]), seed, text)
    if seed % 5 == 0:  # and apply, which polls the journal's tasks: against an emulator
        emu = api()
        result = run(["apply", str(folder / "f.yaml"), "--yes", "--poll-interval", "0.02", "--task-timeout", "5"])
        assert_clean(result, seed, text)
        # Only the account check reads the organization: no task id from the file became that URL.
        assert emu.stats["requests"].get("GET /v1/organization", 0) <= 1


@pytest.mark.parametrize("seed", range(150))
def test_mutated_saved_plans_never_crash(seed: int, applied: Path, tmp_path: Path, run, monkeypatch) -> None:
    monkeypatch.delenv("RUNWAYML_API_SECRET", raising=False)  # nothing may be sent from a mutated plan
    rng = random.Random(seed)
    plan = tmp_path / "plan.json"
    text = mutated_text(json.loads((applied / "plan.json").read_text()), rng)
    plan.write_text(text)
    before = (applied / "f.state.json").read_bytes()
    assert_clean(run(["apply", str(plan), "--yes"]), seed, text)
    assert (applied / "f.state.json").read_bytes() == before


@pytest.mark.parametrize("seed", range(30))
def test_hostile_api_answers_never_crash(seed: int, write_spec, run, api, tmp_path: Path) -> None:
    from runner.emulator import hostile

    rng = random.Random(seed)
    markers = [f"[[create:{rng.choice(sorted(hostile.CREATE_ANSWERS))}]]" for _ in range(rng.randint(0, 1))]
    markers += [f"[[task:{rng.choice(sorted(hostile.TASK_ANSWERS))}]]" for _ in range(rng.randint(0, 2))]
    markers += [rng.choice(["", "[[task-html]]", "[[task-weird]]", "[[truncate]]", "[[lost-response]]"])]
    settings = {}
    if rng.random() < 0.2:
        settings["broken_organization"] = rng.choice(sorted(hostile.ORGANIZATION_ANSWERS))
    if rng.random() < 0.3:
        settings["broken_upload"] = rng.choice(sorted(hostile.UPLOAD_ANSWERS))
    api(**settings)
    image = "    image: assets/sneaker.png\n" if "broken_upload" in settings else ""
    spec = write_spec(f"version: 1\nname: h\nshots:\n  - id: a\n    model: gen4.5\n{image}"
                      f"    prompt: 'x {' '.join(markers)}'\n    ratio: '1280:720'\n    duration: 5\n")
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--task-timeout", "1"])
    assert_clean(result, seed, f"{markers} {settings}")
    assert "Traceback" not in result.stdout


@pytest.mark.parametrize("name", ["state.schema.json", "plan.schema.json"])
def test_the_fast_schema_check_agrees_with_jsonschema(name: str, applied: Path) -> None:
    """runner/store/fastcheck.py answers valid/invalid as jsonschema does, on every mutation."""
    import jsonschema

    from runner.store.documents import _fast, schema

    fast, slow = _fast(name), jsonschema.Draft202012Validator(schema(name))
    source = applied / ("f.state.json" if name.startswith("state") else "plan.json")
    valid = 0
    for seed in range(600):
        rng = random.Random(seed)
        doc = mutate_json(json.loads(source.read_text()), rng)
        expected = slow.is_valid(doc)
        assert fast(doc) == expected, (seed, doc)
        valid += expected
    assert 0 < valid < 600  # both kinds were seen


def test_the_fast_schema_check_knows_every_keyword_it_is_given() -> None:
    from runner.store.fastcheck import compile_schema

    with pytest.raises(ValueError, match="does not know the keyword"):
        compile_schema({"type": "object", "patternProperties": {"^a": {"type": "string"}}})
    check = compile_schema({"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}})
    # 1.0 is not a whole number for runner (catalog.models.validator): the fast check agrees
    assert check({"n": 1}) and not check({"n": 1.0}) and not check({"n": True}) and not check({"n": 0})


HOSTILE_TEMPLATES = [
    "{{{{ 10 ** {n} }}}}", "{{{{ 'x' * {n} }}}}", "{{{{ [1] * {n} }}}}", "{{{{ 'x'|center({n}) }}}}",
    "{{{{ '%0{n}d' % 1 }}}}", "{{{{ '{{:>{n}}}'.format(1) }}}}", "{{{{ range(99999)|join('x' * {n}) }}}}",
    "{{% macro f(n) %}}{{{{ f(n) }}}}{{% endmacro %}}{{{{ f({n}) }}}}",
    "{{{{ ('a' * 1000)|replace('a', 'b' * {n}) }}}}", "{{{{ ('a\\n' * 999)|indent({n}) }}}}",
    "{{{{ [0]|batch({n}, 0)|list }}}}", "{{{{ " + "(" * 400 + "{n}" + ")" * 400 + " }}}}",
    "{{% set a = range(999)|list %}}{{% set b = [a, a, a, a, a, a, a, a, a, a] %}}{{{{ [b, b, b, b, b] * {n} }}}}",
]


def structural_mutation(data: dict, rng: random.Random) -> tuple[dict, str]:
    """Grow the parsed spec in hostile ways: deep nesting, huge matrices, expensive templates.
    Returns the data and the raw text to put where the placeholder ``__DEEP__`` is."""
    shots = data.get("shots") if isinstance(data.get("shots"), list) else []
    shot = rng.choice(shots) if shots else {}
    op = rng.randrange(3)
    deep = ""
    if op == 0:
        depth = rng.choice([63, 65, 200, 3000, 20000])
        deep = rng.choice(["[" * depth + "]" * depth, "{a: " * depth + "1" + "}" * depth])
        (shot if shot and rng.random() < 0.5 else data.setdefault("vars", {}))[rng.choice(["x", "params"])] = "__DEEP__"
    elif op == 1 and shot:
        keys, values = rng.randint(1, 12), rng.randint(1, 12)
        if 200 < values ** keys <= 10_000:
            keys += 4  # small matrices are built; a mid-sized one would only make the test slow
        shot["matrix"] = {f"k{i}": list(range(values)) for i in range(keys)}
        shot["id"] = "v-" + "-".join(f"{{{{ k{i} }}}}" for i in range(keys))
    else:
        text = rng.choice(HOSTILE_TEMPLATES).format(n=rng.choice([3, 10**6 + 1, 10**9, 2**40]))
        target = shot if shot else data.setdefault("vars", {})
        target[rng.choice(["prompt", "id", "ratio", "duration"])] = text
    return data, deep


@pytest.mark.parametrize("seed", range(60))
def test_structurally_mutated_specs_never_crash(seed: int, run) -> None:
    import yaml

    rng = random.Random(seed)
    source = SEEDS[seed % len(SEEDS)]
    data, deep = structural_mutation(yaml.safe_load(source.read_text(encoding="utf-8")), rng)
    text = yaml.safe_dump(data, sort_keys=False, width=10**6).replace("__DEEP__", deep)
    spec = source.parent / f".fuzz-structure-{seed}.yaml"
    try:
        spec.write_text(text, encoding="utf-8")
        result = run(["validate", str(spec)])
    finally:
        spec.unlink()
    assert result.exit_code in (0, 1), f"seed {seed}:\n{text[:2000]}\n---\n{result.stderr}"
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if result.exit_code == 1:
        assert result.stderr.startswith("error: ")
