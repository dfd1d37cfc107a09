"""The CLI as a user meets it: exit codes, stdout vs stderr, help, formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner.catalog.models import catalog, schema_dir
from runner.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_demo_and_every_example_validate(run) -> None:
    specs = [ROOT / "specs" / "demo.yaml", *sorted((ROOT / "examples").rglob("*.yaml"))]
    specs = [s for s in specs if "github-actions" not in s.parts]
    result = run(["validate", *map(str, specs)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count(": valid — ") == len(specs)


def test_all_problems_are_reported_at_once_in_file_order(write_spec, run) -> None:
    spec = write_spec(
        """
        version: 1
        name: t
        defaults: {model: gen4.5, ratio: "1280:720", duration: 5}
        shots:
          - id: a
            prompt: x
            duration: 12
          - id: b
            model: veo3.1
            prompt: y
            duration: 5
          - id: c
            model: gen4_turbo
            prompt: z
        """
    )
    result = run(["validate", str(spec)])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert [e.split(": ")[1].rsplit(":", 2)[1] for e in errors] == ["7", "11", "13"]
    assert "3 problems found; nothing was sent." in result.stderr


def test_validate_json_reports_problems_as_data(write_spec, run) -> None:
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: x\n    ratio: '1:1'\n")
    result = run(["validate", "--format", "json", str(spec)])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["valid"] is False
    fields = {(p["field"], p["line"], p["column"]) for p in doc["problems"]}
    assert ("ratio", 7, 12) in fields and ("duration", 4, 5) in fields


def test_legacy_model_validates_with_a_warning(write_spec, run) -> None:
    spec = write_spec("version: 1\nname: t\nshots:\n  - id: a\n    model: veo3\n    prompt: x\n    ratio: '1280:720'\n")
    result = run(["validate", str(spec)])
    assert result.exit_code == 0
    assert "warning:" in result.stderr and "legacy model; switch to veo3.1" in result.stderr


def test_defaults_apply_only_where_the_model_takes_the_field(write_spec, run) -> None:
    spec = write_spec(
        """
        version: 1
        name: t
        defaults: {model: gen4.5, ratio: "1280:720", duration: 5, audio: false}
        shots:
          - id: text
            prompt: a field of flowers
          - id: perf
            model: act_two
            character: {image: assets/hero.png}
            performance: assets/actor.mp4
        """
    )
    result = run(["validate", "--format", "json", str(spec)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["specs"][0]["shots"] == 2


def test_shot_variable_and_typed_matrix_values(write_spec, run) -> None:
    spec = write_spec(
        """
        version: 1
        name: t
        shots:
          - id: "clip-{{ d }}s"
            model: veo3.1_fast
            prompt: "a {{ shot.model }} test of {{ d }} seconds"
            ratio: "1280:720"
            duration: "{{ d }}"
            matrix: {d: [4, 6, 8]}
        """
    )
    result = run(["validate", "--format", "json", str(spec)])
    assert result.exit_code == 0, result.stderr


def test_models_lists_every_model_and_marks_legacy(run) -> None:
    result = run(["models"])
    assert result.exit_code == 0
    for name in catalog():
        assert name in result.stdout
    assert "legacy → aleph2" in result.stdout


def test_models_json_and_detail(run) -> None:
    doc = json.loads(run(["models", "--format", "json"]).stdout)
    assert {m["model"] for m in doc} == set(catalog())
    detail = run(["models", "gen4.5"])
    assert "1584:672" in detail.stdout and "2-10" in detail.stdout


def test_models_unknown_suggests(run) -> None:
    result = run(["models", "veo31"])
    assert result.exit_code == 1
    assert "did you mean 'veo3.1'?" in result.stderr


def test_schema_prints_the_spec_schema(run) -> None:
    result = run(["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads((schema_dir() / "spec.schema.json").read_text())


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_examples_and_is_in_the_readme_or_docs(command: str, run) -> None:
    result = run([command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout
    # in the README or a page of the docs site (docs/*.md), where the README points for details
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert any(f"runner {command}" in page.read_text(encoding="utf-8") for page in pages)


def test_console_script_end_to_end() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "validate", "specs/demo.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "specs/demo.yaml: valid" in proc.stdout


def test_spec_reference_is_generated_from_the_schema() -> None:
    from gen_docs import render

    assert (ROOT / "docs" / "spec.md").read_text() == render(), "run python tools/gen_docs.py"


def test_the_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    shown = readme.split("**Run the whole test suite**", 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert shown == ci
    assert "ruff check" in ci and "mypy --strict runner" in ci and "lint-imports" in ci


@pytest.mark.parametrize("args", [
    ["plan", "spec.yaml", "--max-credits", "abc"],          # a bad option value
    ["plan", "spec.yaml", "--detailed-exitcode", "--nope"],  # an unknown option
    ["plna", "spec.yaml"],                                   # an unknown command
    ["state", "unlock"],                                     # a missing argument, in a sub-group
    ["apply", "spec.yaml", "--task-timeout", "nan"],
])
def test_usage_errors_exit_1_never_2_which_means_changes(args: list[str], write_spec, run, tmp_path) -> None:
    write_spec("version: 1\nname: u\nshots:\n  - {id: a, model: gen4.5, prompt: x, ratio: '1280:720'}\n")
    result = run(args, cwd=tmp_path)
    assert result.exit_code == 1, result.stderr
    assert "Error:" in result.stderr and "Try '" in result.stderr


def test_top_level_help_shows_the_demo_command_of_the_readme(run) -> None:
    """`runner --help` is where a newcomer looks first: it names the README's demo command."""
    demo = "runner apply specs/demo.yaml --emulator --yes"
    result = run(["--help"])
    assert result.exit_code == 0 and "Try the demo" in result.stdout and demo in result.stdout
    assert demo in (ROOT / "README.md").read_text()
