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
