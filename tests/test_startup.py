"""Start-up: each command imports only what it needs (pre-commit runs `runner validate` on every
commit; a plan sends nothing). Each case runs the command in a fresh interpreter that records,
for every watched package, the chain of runner modules whose import brought it in, so that a
module added at the top of some file says which one it was. The timings are bench/startup.py's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Runs `python -m runner ARGS...`; prints {package: [runner frames of its first import]} as JSON.
SPY = r"""
import json, runpy, sys, traceback
watched = set(sys.argv[1].split(","))
found = {}

class Spy:
    def find_spec(self, name, path=None, target=None):
        # "runner.engine.client" is watched as itself, "av.video" as "av"
        key = name if name in watched else name.partition(".")[0]
        if key in watched and key not in found:
            found[key] = [f"{f.filename.rpartition('/runner/')[2]}:{f.lineno}" for f in traceback.extract_stack()
                          if "/runner/" in f.filename and "site-packages" not in f.filename] or ["?"]
        return None  # only watching: the usual finders import it

sys.meta_path.insert(0, Spy())
sys.argv = ["runner", *sys.argv[2:]]
code = 0
try:
    runpy.run_module("runner", run_name="__main__")
except SystemExit as e:
    code = e.code
sys.stdout.flush()
print("\n@@" + json.dumps({"exit": code, "imported": found}))
"""

HEAVY = ["runwayml", "av", "starlette", "uvicorn", "httpx", "PIL", "rich", "runner.emulator", "runner.engine.client"]
# The planner's and the engine's packages load their modules on first use, and the command line
# reads two light ones (the budget cap, apply's option ranges): what must stay out is the rest.
NOT_FOR_VALIDATE = [*HEAVY, "diskcache", "filelock", "obstore", "runner.planner.make", "runner.planner.records",
                    "runner.store", "runner.engine.outcome", "runner.engine.run", "runner.engine.loop"]


def imports(args: list[str], cwd: Path, cache: Path, watched: list[str]) -> dict[str, list[str]]:
    env = {**os.environ, "RUNNER_CACHE_DIR": str(cache), "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", SPY, ",".join(watched), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout.rpartition("\n@@")[2])
    assert report["exit"] in (0, None), done.stderr
    return dict(report["imported"])


def explain(found: dict[str, list[str]], command: str) -> str:
    """`runner validate` imported av: cli/main.py:81 > spec/build.py:12 > … (the last module imported it)."""
    return "\n".join(f"`runner {command}` imported {name}: {' > '.join(chain)} (the last runner module imported it; "
                     "import it inside the function that needs it)" for name, chain in sorted(found.items()))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    (tmp_path / ".git").mkdir()
    return tmp_path


def test_version_loads_neither_the_spec_layers_nor_their_libraries(project: Path, tmp_path: Path) -> None:
    found = imports(["--version"], project, tmp_path / "cache", [*NOT_FOR_VALIDATE, "yaml", "jinja2", "jsonschema",
                                                                  "runner.spec", "runner.catalog"])
    assert not found, explain(found, "--version")


def test_validate_of_still_images_loads_no_sdk_emulator_media_store_or_planner(project: Path, tmp_path: Path) -> None:
    spec = project / "specs" / "stills.yaml"
    spec.write_text("version: 1\nname: stills\ndefaults: {model: gen4.5, ratio: '1280:720', duration: 5}\nshots:\n"
                    "  - {id: a, prompt: 'a {{ \"cabin\" | upper }}'}\n"
                    "  - {id: b, model: gen4_turbo, image: assets/sneaker.png, prompt: turn}\n", encoding="utf-8")
    found = imports(["validate", "specs/stills.yaml"], project, tmp_path / "cache", NOT_FOR_VALIDATE)
    assert not found, explain(found, "validate specs/stills.yaml")


def test_validate_of_the_demo_probes_its_clips_once_per_machine(project: Path, tmp_path: Path) -> None:
    """The demo's clips are measured with PyAV the first time (their length and size are checked
    against the models' limits); after that the cache knows them and validate loads no PyAV."""
    cache = tmp_path / "cache"
    first = imports(["validate", "specs/demo.yaml"], project, cache, NOT_FOR_VALIDATE)
    assert set(first) == {"av"}, explain(first, "validate specs/demo.yaml")
    again = imports(["validate", "specs/demo.yaml"], project, cache, NOT_FOR_VALIDATE)
    assert not again, explain(again, "validate specs/demo.yaml (clips known)")


def test_plan_sends_nothing_so_loads_no_sdk_emulator_or_display(project: Path, tmp_path: Path) -> None:
    """plan reads the state and the cache (diskcache, the store layer) but sends nothing and draws
    no live display: no runwayml, httpx, Starlette, uvicorn, Pillow, rich; no PyAV once the clips'
    lengths are cached (the first plan probes them)."""
    cache = tmp_path / "cache"
    imports(["plan", "specs/demo.yaml"], project, cache, [])
    found = imports(["plan", "specs/demo.yaml"], project, cache, HEAVY)
    assert not found, explain(found, "plan specs/demo.yaml")


def test_the_spy_sees_an_import_and_names_the_module_that_made_it(project: Path, tmp_path: Path) -> None:
    """The checks above can fail: `runner models` draws a rich table, and the chain ends at the
    line of views.py that imports rich."""
    found = imports(["models", "gen4.5"], project, tmp_path / "cache", ["rich"])
    assert found["rich"][-1].startswith("cli/views.py:"), found
    assert found["rich"][0] == "__main__.py:5", found


def test_a_clip_changed_after_validate_is_measured_again(write_spec, run) -> None:
    """The probe cache is keyed by the file's path, size and mtime, like the hash cache: a clip
    replaced by a longer one is probed again and its length refused."""
    spec = write_spec("""
        version: 1
        name: t
        shots:
          - {id: a, model: seedance2, video: assets/clip.mp4, prompt: make it snow}
    """)
    assert run(["validate", str(spec)]).exit_code == 0
    clip = spec.parent / "assets" / "clip.mp4"
    clip.write_bytes((ROOT / "tests" / "corpus" / "assets" / "long.mp4").read_bytes())
    again = run(["validate", str(spec)])
    assert again.exit_code == 1
    assert "'assets/clip.mp4' is 16.0 s long; seedance2 video mode takes a clip of at most 15 s" in again.stderr
