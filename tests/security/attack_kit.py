"""What the attack tests share: specs with one input, one apply call, the journal of shot a."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
KEY = "key_" + "5eC7e7" * 12  # looks like a Runway key; must never be echoed
TEXT_SPEC = "version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: '{prompt}'\n" \
            "    ratio: '1280:720'\n    duration: 5\n"


def spec_with_image(ref: str, extra: str = "") -> str:
    return (f"version: 1\nname: t\n{extra}shots:\n  - id: a\n    model: gen4_turbo\n    image: {json.dumps(ref)}\n"
            "    prompt: x\n    ratio: '1280:720'\n")


def attempt(run, spec: Path):
    return run(["apply", str(spec), "--yes", "--poll-interval", "0.02"])


def apply_text(run, spec: Path, *extra: str):
    return run(["apply", str(spec), "--yes", "--poll-interval", "0.02", *extra])


def journal_of(tmp_path: Path) -> list[dict]:
    return json.loads((tmp_path / "spec.state.json").read_text())["shots"]["a"]["pending"]
