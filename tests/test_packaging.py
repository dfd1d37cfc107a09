"""The distribution: `python -m build` makes a wheel and an sdist that install into a fresh
venv and work there, with the schema, model files and templates inside the wheel; the
workflows install a pinned runway-runner, never the bare name `runner` (someone else's).

No network: the build uses this environment's hatchling (--no-isolation), and the fresh
venv reads the dependencies from this environment's site-packages (a .pth line naming it —
not its .pth files, so this checkout's editable install stays out) and installs only the
wheel, `--no-deps --no-index`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import yaml

import runner

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / "examples" / "github-actions").glob("*.yml"))


def test_the_wheel_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # --no-isolation: hatchling comes from the test extra, so building needs no package index
    built = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "-o", str(dist), str(ROOT)],
                           capture_output=True, text=True, check=False, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next(dist.glob("runway_runner-*.whl"))
    assert next(dist.glob("runway_runner-*.tar.gz"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {"runner/schema/spec.schema.json", "runner/schema/models/gen4.5.json", "runner/py.typed",
            "runner/examples/github-actions/runner.yml", "runner/specs/assets/sneaker.png",
            "runner/emulator/fonts/DejaVuSans-subset.ttf", "runner/emulator/fonts/LICENSE"} <= set(names)

    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                          str(wheel)], capture_output=True, text=True, check=False, timeout=300)
    assert pip.returncode == 0, pip.stderr
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "examples" / "matrix-variants.yaml", work / "spec.yaml")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(venv / "bin" / "runner"), *args], cwd=work, capture_output=True, text=True,
                              check=False, timeout=300)

    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import runner; print(runner.__file__)"],
                           cwd=work, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(site)), where.stdout  # the wheel's copy, not this checkout
    assert run("--version").stdout.strip() == f"runner, version {runner.__version__}"
    valid = run("validate", "spec.yaml")
    assert valid.returncode == 0 and "spec.yaml: valid" in valid.stdout, valid.stderr
    assert run("schema").stdout.startswith("{")
    init = run("init", "camp", "--name", "spring", "--ci")
    assert init.returncode == 0, init.stderr
    assert "set RUNNER_PACKAGE" in init.stdout
    assert "RUNNER_PACKAGE" in (work / "camp" / ".github" / "workflows" / "runner.yml").read_text()
    assert (work / "camp" / "assets" / "first-frame.png").read_bytes() == \
        (ROOT / "specs" / "assets" / "sneaker.png").read_bytes()


def test_workflows_install_a_pinned_runway_runner_never_a_bare_name() -> None:
    assert WORKFLOWS
    for path in WORKFLOWS:
        text = path.read_text()
        assert not re.search(r"pip install\s+\"?runner\b", text), path
        pins = re.findall(r"pip install (\S+)", text)
        assert pins == ['"$RUNNER_PACKAGE"'] * len(pins) and pins, (path, pins)
        assert yaml.safe_load(text)["env"]["RUNNER_PACKAGE"].startswith("runway-runner @ git+https://"), path


def test_the_install_step_fails_loudly_until_the_pin_is_set(tmp_path: Path) -> None:
    for path in WORKFLOWS:
        flow = yaml.safe_load(path.read_text())
        for job in flow["jobs"].values():
            step = next(s for s in job["steps"] if "RUNNER_PACKAGE" in s.get("run", ""))
            for package, ok in ((flow["env"]["RUNNER_PACKAGE"], False), ("runner", False),
                                ("runway-runner", False), ("runway-runner==0.1.0", True),
                                ("runway-runner @ git+https://github.com/acme/runner@v0.1.0", True)):
                script = step["run"].replace('pip install "$RUNNER_PACKAGE"', 'echo would install "$RUNNER_PACKAGE"')
                env = {"RUNNER_PACKAGE": package, "PATH": "/usr/bin:/bin"}
                done = subprocess.run(["bash", "-e", "-c", script], env=env, capture_output=True, text=True,
                                      check=False, cwd=tmp_path)
                assert (done.returncode == 0) is ok, (path, package, done.stdout)
                if not ok:
                    assert "::error::" in done.stdout and "RUNNER_PACKAGE" in done.stdout
