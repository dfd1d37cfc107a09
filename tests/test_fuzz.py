"""Any file, however broken, gets exit 0 or 1 and readable errors: never exit 3 (a bug)."""

from __future__ import annotations

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
