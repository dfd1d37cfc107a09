"""The examples in README.md and docs/*.md, found with sybil and checked (tests/test_docs.py).

Two kinds of fenced block are examples; docs/development.md ("Examples in the docs") is the guide.

* ```yaml blocks are specs. Each is saved in a fresh copy of the demo project next to
  specs/demo.yaml (so `assets/…` are the demo's), at its title (```yaml title="specs/x.yaml")
  or as specs/example.yaml, and `runner validate` must pass. A block whose first line starts
  with `# invalid` must fail, with errors located in that file; text after `# invalid:` must be
  in the errors. A block whose first line starts with `# not a spec` need only be YAML.
* ```console blocks are runner sessions. Each `$ ` line is run by bash in a fresh copy of the
  demo project; what it prints (stdout and stderr, in order) must be the lines under it, up to
  the next `$ `. A line `...` stands for any lines (none too), `...` inside a line for any text.
  Apply's progress lines (`[   0.2s] …`) differ from run to run: they are left out. An HTML
  comment right above the block sets it up (YAML, every key optional):

      <!-- console
      project: empty    # demo (default): specs/ (demo.yaml, assets), examples/, schema/; empty: nothing
      setup: |          # bash, run first, its output not shown; must succeed
        runner apply specs/demo.yaml --emulator --yes
      emulator: true    # an emulator on loopback, named by RUNWAYML_BASE_URL / RUNWAYML_API_SECRET
      -->

  The page's titled yaml blocks are written into the project first.

    python tools/docs_examples.py [FILE…]            # run the console blocks, show each difference
    python tools/docs_examples.py --update [FILE…]   # write what runner printed into those that differ
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sybil import Document, Example, Region, Sybil
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

ROOT = Path(__file__).resolve().parent.parent
INFO = re.compile(r"(?P<language>yaml|console)(?:[ \t]+(?P<attributes>[^\n]*))?\n")
TITLE = re.compile(r"""title=["']([^"']+)["']""")
SETUP = re.compile(r"<!--[ \t]*console\b(?P<options>(?:(?!-->).)*)-->\s*\Z", re.DOTALL)
PROGRESS = re.compile(r"^\[ *\d+(?:\.\d+)?s\] ")
COMMAND_TIMEOUT = 300


def documents(root: Path = ROOT) -> list[Path]:
    """README.md and every page under docs/, so a new page is checked without being listed."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


# --- parsing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    """One example: its language, text (fence prefix removed), title, and where it sits."""

    language: str
    source: str
    title: str | None
    options: dict[str, Any] = field(default_factory=dict)
    prefix: str = ""
    content: tuple[int, int] = (0, 0)   # the block's text between the fences, in the document


def _options(document: Document, start: int) -> dict[str, Any]:
    match = SETUP.search(document.text[max(0, start - 4000):start])
    if match is None:
        return {}
    where = f"{document.path}:{document.text.count(chr(10), 0, start) + 1}"
    try:
        options = yaml.safe_load(match["options"]) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{where}: the console comment above this block is not YAML (use `setup: |`): {e}") from e
    if not isinstance(options, dict) or set(options) - {"project", "setup", "emulator"}:
        raise ValueError(f"{where}: the console comment takes project, setup and emulator, not {options!r}")
    return options


def parse_blocks(document: Document) -> Iterator[Region]:
    """A sybil parser: the yaml and console blocks of a Markdown document."""
    lexer = RawFencedCodeBlockLexer(info_pattern=INFO, mapping={"language": "language",
                                                               "attributes": "attributes",
                                                               "source": "source"})
    for region in lexer(document):
        language = region.lexemes["language"]
        title = TITLE.search(region.lexemes["attributes"] or "")
        text = document.text
        fence = re.match(r"[ \t>]*(?:(?:[-*+]|\d+[.)])[ \t]+)?", text[region.start:])
        body_start = text.index("\n", region.start) + 1
        body_end = text.rfind("\n", 0, region.end) + 1
        block = Block(language, str(region.lexemes["source"]), title[1] if title else None,
                      _options(document, region.start) if language == "console" else {},
                      " " * len(fence.group(0)) if fence else "", (body_start, body_end))
        yield Region(region.start, region.end, block, evaluate_spec if language == "yaml" else evaluate_console)


SYBIL = Sybil(parsers=[parse_blocks], path=str(ROOT), patterns=["*.md"])


def examples(paths: list[Path] | None = None) -> list[Example]:
    """Every example of the given documents (default: README.md and docs/)."""
    return [example for path in (paths or documents()) for example in SYBIL.parse(path)]


def _shown(path: str | Path) -> str:
    path = Path(path)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def example_id(example: Example) -> str:
    return f"{_shown(example.path)}:{example.line}"


# --- the demo project ------------------------------------------------------------------------

def make_project(folder: Path, kind: str = "demo") -> Path:
    """A fresh project like a checkout of this repository: a git folder with the demo in specs/."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    if kind == "demo":
        (folder / "specs").mkdir()
        shutil.copy2(ROOT / "specs" / "demo.yaml", folder / "specs" / "demo.yaml")
        shutil.copytree(ROOT / "specs" / "assets", folder / "specs" / "assets")
        shutil.copytree(ROOT / "examples", folder / "examples",
                        ignore=shutil.ignore_patterns("outputs", "*.state.json", ".*.lock*", "__pycache__"))
        shutil.copytree(ROOT / "schema", folder / "schema")
        shutil.copy2(ROOT / ".gitignore", folder / ".gitignore")
    elif kind != "empty":
        raise ValueError(f"project: {kind!r} is not one of demo, empty")
    return folder


def _spec_path(project: Path, title: str | None) -> Path:
    path = (project / (title or "specs/example.yaml")).resolve()
    if not path.is_relative_to(project.resolve()) or path.suffix not in (".yaml", ".yml"):
        raise ValueError(f"title {title!r}: a spec's title is a .yaml path inside the project (specs/x.yaml)")
    return path


# --- yaml blocks -----------------------------------------------------------------------------

def check_spec(source: str, title: str | None, project: Path) -> str | None:
    """None when the block is what its first line says (a valid spec, an invalid one, YAML)."""
    first = source.split("\n", 1)[0].strip()
    if first.startswith("# not a spec"):
        yaml.safe_load(source)
        return None
    path = _spec_path(project, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    code, output = _validate(path)
    if not first.startswith("# invalid"):
        return None if code == 0 else f"the spec does not validate (exit {code}):\n{output}"
    expected = first.removeprefix("# invalid").lstrip(":").strip()
    located = re.search(rf"^error: {re.escape(str(path))}:\d+:\d+: ", output, re.MULTILINE)
    if code != 1 or located is None or "Traceback" in output:
        return f"a '# invalid' block must fail validation (exit 1) at a line of the block; got exit {code}:\n{output}"
    if expected not in output:
        return f"the errors do not say {expected!r}:\n{output}"
    return None


def _validate(path: Path) -> tuple[int, str]:
    from click.testing import CliRunner

    from runner.cli import main

    result = CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def evaluate_spec(example: Example) -> str | None:
    block: Block = example.parsed
    with tempfile.TemporaryDirectory(prefix="runner-docs-") as tmp:
        return check_spec(block.source, block.title, make_project(Path(tmp) / "project"))


# --- console blocks --------------------------------------------------------------------------

@dataclass
class Step:
    command: str
    output: list[str]


def steps(source: str) -> list[Step]:
    """`$ ` lines and the output under each (a command ending in a backslash goes on)."""
    found: list[Step] = []
    continued = False
    for line in source.rstrip("\n").split("\n"):
        if continued:
            found[-1].command += "\n" + line
        elif line.startswith("$ "):
            found.append(Step(line[2:], []))
        elif found:
            found[-1].output.append(line.rstrip())
        else:
            raise ValueError(f"a console block starts with '$ ': {line!r}")
        continued = line.endswith("\\") and (continued or line.startswith("$ "))
    for step in found:
        while step.output and not step.output[-1]:
            step.output.pop()
    return found


def matches(expected: list[str], actual: list[str]) -> bool:
    """The lines match, with `...` for any lines (a line of its own) or any text (within one)."""
    pattern = "".join(r"(?:[^\n]*\n)*?" if line == "..." else
                      re.escape(line).replace(re.escape("..."), r"[^\n]*") + r"\n" for line in expected)
    return re.fullmatch(pattern, "".join(line + "\n" for line in actual)) is not None


def _environment(home: Path) -> dict[str, str]:
    """What a user's shell would have: runner on PATH, a cache of its own, no keys, no colour."""
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home), "RUNNER_CACHE_DIR": str(home / ".cache" / "runner"),
        "LANG": "C.UTF-8", "TZ": "UTC", "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120",
        "PYTHONUNBUFFERED": "1", "GIT_CONFIG_GLOBAL": os.devnull,
    }


def _bash(command: str, cwd: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    proc = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=COMMAND_TIMEOUT, check=False)
    lines = [line.rstrip() for line in proc.stdout.rstrip("\n").split("\n") if not PROGRESS.match(line)]
    while lines and not lines[-1]:
        lines.pop()
    return proc.returncode, lines if lines != [""] else []


@contextlib.contextmanager
def _maybe_emulator(wanted: bool) -> Iterator[dict[str, str]]:
    if not wanted:
        yield {}
        return
    from runner.emulator import EmulatorConfig, running_emulator

    with running_emulator(EmulatorConfig(time_scale=0.01)) as emu:
        yield {"RUNWAYML_BASE_URL": emu.base_url, "RUNWAYML_API_SECRET": "emulator-secret"}


def run_console(block: Block, titled: dict[str, str]) -> list[Step]:
    """Run the block's commands in a fresh project; the steps with what they printed."""
    with tempfile.TemporaryDirectory(prefix="runner-docs-") as tmp:
        project = make_project(Path(tmp) / "project", block.options.get("project", "demo"))
        for title, text in titled.items():
            path = _spec_path(project, title)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        env = _environment(Path(tmp) / "home")
        with _maybe_emulator(bool(block.options.get("emulator"))) as api:
            env.update(api)
            if block.options.get("setup"):
                code, lines = _bash("set -e\n" + block.options["setup"], project, env)
                if code != 0:
                    raise AssertionError(f"the console block's setup failed (exit {code}):\n" + "\n".join(lines))
            return [Step(step.command, _bash(step.command, project, env)[1]) for step in steps(block.source)]


def titled_specs(document: Document) -> dict[str, str]:
    """The page's yaml blocks that have a title: the files its console blocks may use."""
    return {region.parsed.title: region.parsed.source for _, region in document.regions
            if region.parsed.language == "yaml" and region.parsed.title}


def difference(expected: list[Step], actual: list[Step]) -> str | None:
    """None when every command printed what the block shows, else a diff per command."""
    problems = []
    for want, got in zip(expected, actual, strict=True):
        if not matches(want.output, got.output):
            diff = difflib.unified_diff(want.output, got.output, "shown", "printed", lineterm="")
            problems.append(f"$ {want.command}\n" + "\n".join(diff))
    return "\n\n".join(problems) or None


def render(found: list[Step], prefix: str) -> str:
    """The block's text for these steps, each command's output under it, blank lines between."""
    lines: list[str] = []
    for i, step in enumerate(found):
        lines += [f"$ {step.command}", *step.output]
        if i < len(found) - 1 and step.output:
            lines.append("")
    return "".join(f"{prefix}{line}".rstrip() + "\n" for line in lines)


def evaluate_console(example: Example) -> str | None:
    block: Block = example.parsed
    found = run_console(block, titled_specs(example.document))
    problem = difference(steps(block.source), found)
    if problem:
        return f"{problem}\n(python tools/docs_examples.py --update {_shown(example.path)} writes it)"
    return None


# --- the tool --------------------------------------------------------------------------------

def update(path: Path) -> int:
    """Rewrite the console blocks of one document whose output differs; how many were."""
    document = SYBIL.parse(path)
    changed: list[tuple[tuple[int, int], str]] = []
    for example in document:
        block: Block = example.parsed
        if block.language != "console":
            continue
        found = run_console(block, titled_specs(document))
        if difference(steps(block.source), found):
            changed.append((block.content, render(found, block.prefix)))
            print(f"{example_id(example)}: updated")
    text = document.text
    for (start, end), new in sorted(changed, reverse=True):
        text = text[:start] + new + text[end:]
    if changed:
        path.write_text(text, encoding="utf-8")
    return len(changed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--update", action="store_true", help="write what runner printed into the blocks")
    parser.add_argument("files", nargs="*", type=Path, help="default: README.md and docs/")
    args = parser.parse_args(argv)
    files = [path.resolve() for path in args.files] or documents()
    if args.update:
        print(f"{sum(update(path) for path in files)} block(s) updated")
        return 0
    failed = 0
    for example in examples(files):
        try:
            example.evaluate()
        except AssertionError as problem:   # sybil's failure
            failed += 1
            print(f"{example_id(example)}: {problem}\n")
    print(f"{failed} example(s) differ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
