"""Every file in tests/corpus/invalid must fail validation at the places it declares.

Each file ends with one or more lines ``# expect: LINE:COL: message fragment``; the test
checks the exit code, that each expected location is reported with that fragment, and
that nothing else is reported.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus" / "invalid"
FILES = sorted(CORPUS.glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.+)$", re.MULTILINE)


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 40


@pytest.mark.parametrize("spec", FILES, ids=[f.stem for f in FILES])
def test_invalid_spec(spec: Path, run) -> None:
    expected = EXPECT.findall(spec.read_text(encoding="utf-8"))
    assert expected, f"{spec.name} declares no '# expect:' line"
    result = run(["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stdout == ""
    shown = os.path.relpath(spec)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(expected), result.stderr
    for line, col, fragment in expected:
        prefix = f"error: {shown}:{line}:{col}: "
        matching = [e for e in errors if e.startswith(prefix)]
        assert matching, f"no error at {line}:{col} in:\n{result.stderr}"
        assert any(fragment in e for e in matching), f"{fragment!r} not in {matching}"
    assert "Traceback" not in result.stderr
    assert "nothing was sent" in result.stderr
