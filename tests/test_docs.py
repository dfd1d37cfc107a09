"""The docs: every example of README.md and docs/*.md is run (tools/docs_examples.py, with sybil),
the generated pages are current, the site builds with mkdocs --strict, the README stays short."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import docs_examples as dx
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = dx.examples()
SPECS = [e for e in EXAMPLES if e.parsed.language == "yaml"]
CONSOLES = [e for e in EXAMPLES if e.parsed.language == "console"]


@pytest.mark.parametrize("example", SPECS, ids=dx.example_id)
def test_each_yaml_block_is_a_spec_that_validates_in_the_demo_project(example) -> None:
    example.evaluate()


@pytest.mark.parametrize("example", CONSOLES, ids=dx.example_id)
def test_each_console_block_is_what_runner_prints(example) -> None:
    example.evaluate()


def test_every_page_is_searched_for_examples() -> None:
    pages = {Path(e.path).relative_to(ROOT).as_posix() for e in EXAMPLES}
    assert {"README.md", "docs/getting-started.md", "docs/plan.md", "docs/writing-specs.md"} <= pages
    assert set(dx.documents()) >= {ROOT / "README.md", *(ROOT / "docs").glob("*.md")}


def _page(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return page


CONSOLE = """# a page

<!-- console
setup: |
  sed -i 's/name: spring-launch/name: renamed/' specs/demo.yaml
-->
```console
$ runner validate specs/demo.yaml
SHOWN
```
"""


def test_a_console_block_that_drifted_fails_and_update_writes_what_runner_printed(tmp_path: Path) -> None:
    page = _page(tmp_path, CONSOLE.replace("SHOWN", "specs/demo.yaml: valid — 9 shots"))
    [example] = dx.examples([page])
    with pytest.raises(AssertionError, match=r"(?s)-specs/demo.yaml: valid — 9 shots\n\+specs/demo.yaml: valid"):
        example.evaluate()

    assert dx.update(page) == 1
    assert "outputs go to specs/outputs/renamed\n```" in page.read_text()   # the setup ran first
    [example] = dx.examples([page])
    example.evaluate()
    assert dx.update(page) == 0                                             # stable


def test_an_ellipsis_stands_for_lines_or_text(tmp_path: Path) -> None:
    page = _page(tmp_path, CONSOLE.replace("SHOWN", "...: valid — ... shots, ...\n...").replace(
        "validate specs/demo.yaml", "validate specs/demo.yaml; echo exit $?"))
    [example] = dx.examples([page])
    example.evaluate()
    assert not dx.matches(["a", "...", "d"], ["a", "b", "c"])
    assert dx.matches(["a ... c"], ["a b c"]) and not dx.matches(["a ... c"], ["a b", "c"])


@pytest.mark.parametrize(("first", "problem"), [
    ("", "does not validate"),                                   # an error shown as if valid
    ("# invalid: choose 1280:720", "do not say 'choose 1280:720'"),                  # the wrong error expected
])
def test_a_yaml_block_must_be_what_its_first_line_says(first: str, problem: str, tmp_path: Path) -> None:
    spec = "version: 1\nname: x\nshots:\n  - {id: a, model: gen4.5, prompt: p, ratio: '1280:720', duration: 12}\n"
    page = _page(tmp_path, f"```yaml\n{first}\n{spec}```\n" if first else f"```yaml\n{spec}```\n")
    [example] = dx.examples([page])
    with pytest.raises(AssertionError, match=problem):
        example.evaluate()


def test_an_invalid_block_that_validates_fails(tmp_path: Path) -> None:
    page = _page(tmp_path, "```yaml\n# invalid\nversion: 1\nname: x\nshots:\n"
                           "  - {id: a, model: gen4.5, prompt: p, ratio: '1280:720', duration: 5}\n```\n")
    [example] = dx.examples([page])
    with pytest.raises(AssertionError, match="must fail validation"):
        example.evaluate()


def test_the_generated_pages_are_current() -> None:
    from gen_docs import models_page, render

    assert (ROOT / "docs" / "spec.md").read_text() == render(), "run python tools/gen_docs.py"
    models = (ROOT / "docs" / "models.md").read_text()
    assert models == models_page(models), "run python tools/gen_docs.py"


def test_the_models_page_names_every_model_file_and_its_price() -> None:
    models = (ROOT / "docs" / "models.md").read_text()
    for path in (ROOT / "schema" / "models").glob("*.json"):
        assert f"\n### {path.stem}\n" in models, path.stem
    assert "### gen4.5\n\nMakes video; current; credits: **12**." in models


def test_the_emulator_page_names_every_endpoint_it_serves() -> None:
    from runner.catalog.endpoints import ENDPOINTS

    page = (ROOT / "docs" / "emulator.md").read_text()
    assert [ep for ep in ENDPOINTS if f"`{ep}`" not in page] == []


def test_the_site_builds_with_mkdocs_strict(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    security = (tmp_path / "site" / "security" / "index.html").read_text()
    assert "Threats and defences" in security                       # SECURITY.md, included
    assert "runner state unlock" in (tmp_path / "site" / "commands" / "index.html").read_text()


def test_the_readme_is_short_and_its_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme.count("\n") <= 400
    for target, anchor in re.findall(r"\]\(([^)#]+)(?:#([^)]*))?\)", readme):
        if target.startswith("http"):
            continue
        assert (ROOT / target).exists(), target
        if anchor:   # the id Python-Markdown gives a heading, as the site has it
            headings = re.findall(r"^#+ (.+)$", (ROOT / target).read_text(), re.MULTILINE)
            ids = {re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", h).strip().lower()) for h in headings}
            assert anchor in ids, f"{target}#{anchor}"
