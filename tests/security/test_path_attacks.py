"""Files runner writes, moves and deletes stay inside the project, paths read back from the
state and saved plans are untrusted, one output folder has one owner."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from attack_kit import ROOT, attempt

# --- Files runner writes, moves and deletes stay inside the project ----------------------------
#
# The project (tmp_path, no git) sits beside a sentinel folder; every attack below must leave
# that folder exactly as it was: nothing written, truncated, moved, deleted or read into
# outputs or reports.


class Sentinel:
    """A folder beside the project with a file, a look-alike temp file and a state-shaped file."""

    def __init__(self, project: Path) -> None:
        self.path = project.parent / f"{project.name}-outside"
        self.path.mkdir()
        (self.path / "keep.mp4").write_bytes((ROOT / "specs" / "assets" / "clip.mp4").read_bytes())
        (self.path / ".tmp-1.mp4-1-abc").write_bytes(b"someone else's temp file")
        (self.path / "secret.txt").write_text("not yours")
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        return {p.relative_to(self.path).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
                for p in sorted(self.path.rglob("*")) if p.is_file()}

    def untouched(self) -> bool:
        return self.snapshot() == self.before


@pytest.fixture
def outside(tmp_path: Path) -> Sentinel:
    return Sentinel(tmp_path)


def one_shot_spec(extra: str = "", name: str = "t") -> str:
    """A text shot; ``extra`` lines go on line 3 (``output_dir`` there is at 3:13)."""
    return (f"version: 1\nname: {name}\n{extra}shots:\n  - id: a\n    model: gen4.5\n    prompt: x\n"
            "    ratio: '1280:720'\n    duration: 5\n")


def _escape(tmp_path: Path, outside: Sentinel, form: str) -> str:
    """Set up one way of pointing output_dir out of the project; returns the spec's extra line."""
    rel = f"../{outside.path.name}"
    if form == "traversal":
        return f"output_dir: {rel}/videos\n"
    if form == "deep-traversal":
        return "output_dir: outputs/../../../../../../tmp/runner-escape\n"
    if form == "absolute":
        return f"output_dir: {outside.path}\n"
    if form == "symlinked-output-dir":
        os.symlink(outside.path, tmp_path / "outputs")
        return "output_dir: outputs\n"
    if form == "symlink-loop":
        os.symlink(tmp_path / "loop-b", tmp_path / "loop-a")
        os.symlink(tmp_path / "loop-a", tmp_path / "loop-b")
        return "output_dir: loop-a/videos\n"
    if form == "nul-byte":
        return 'output_dir: "videos\\0x"\n'
    if form == "symlink-in-the-middle":
        os.symlink(outside.path, tmp_path / "media")
        return "output_dir: media/videos\n"
    os.symlink(outside.path, tmp_path / "outputs")  # the default outputs/<name>, through a linked outputs/
    return ""


OUTPUT_DIR_ESCAPES = [
    ("traversal", "resolves to", ":3:13: output_dir: "),
    ("deep-traversal", "resolves to", ":3:13: output_dir: "),
    ("absolute", "absolute path", ":3:13: output_dir: "),
    ("symlinked-output-dir", "resolves to", ":3:13: output_dir: "),
    ("symlink-in-the-middle", "resolves to", ":3:13: output_dir: "),
    ("symlink-loop", "resolves to nowhere usable", ":3:13: output_dir: "),
    ("nul-byte", "contains a NUL byte", ":3:13: output_dir: "),
    ("default-folder-through-a-link", "resolves to", ":2:7: name: "),
]


@pytest.mark.parametrize(("form", "fragment", "where"), OUTPUT_DIR_ESCAPES,
                         ids=[c[0] for c in OUTPUT_DIR_ESCAPES])
def test_output_dir_outside_the_project_is_refused(form: str, fragment: str, where: str, tmp_path: Path,
                                                   outside: Sentinel, write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(one_shot_spec(_escape(tmp_path, outside, form)))
    for command in (["validate", str(spec)], ["plan", str(spec)]):
        result = run(command)
        assert result.exit_code == 1
        assert f"spec.yaml{where}" in result.stderr and fragment in result.stderr
    result = attempt(run, spec)
    assert result.exit_code == 1 and f"spec.yaml{where}" in result.stderr
    assert fragment in result.stderr
    assert emu.stats["requests"] == {}
    assert outside.untouched() and not Path("/tmp/runner-escape").exists()


@pytest.mark.parametrize("link", ["shot-folder", "take-file"])
def test_a_link_out_of_the_project_inside_outputs_is_refused_before_paying(link: str, tmp_path: Path,
                                                                           outside: Sentinel, write_spec, run,
                                                                           api) -> None:
    emu = api()
    spec = write_spec(one_shot_spec())
    shot_folder = tmp_path / "outputs" / "t" / "a"
    if link == "shot-folder":
        shot_folder.parent.mkdir(parents=True)
        os.symlink(outside.path, shot_folder)
    else:
        shot_folder.mkdir(parents=True)
        os.symlink(outside.path / "keep.mp4", shot_folder / "1.mp4")
    result = attempt(run, spec)
    assert result.exit_code == 1
    assert "spec.yaml:4:9: shot a: id: its output folder" in result.stderr and "outside the project" in result.stderr
    assert emu.stats["requests"] == {}
    assert outside.untouched()


@pytest.mark.parametrize("form", ["absolute", "traversal", "through-a-link"])
@pytest.mark.parametrize("command", ["report", "plan"])
def test_report_and_saved_plan_are_written_only_inside_the_project(command: str, form: str, tmp_path: Path,
                                                                   outside: Sentinel, write_spec, run) -> None:
    spec = write_spec(one_shot_spec())
    target = {"absolute": str(outside.path / "out.html"),
              "traversal": str(tmp_path / ".." / outside.path.name / "out.html"),
              "through-a-link": str(tmp_path / "link" / "out.html")}[form]
    os.symlink(outside.path, tmp_path / "link")
    result = run([command, str(spec), "-o", target])
    assert result.exit_code == 1
    assert "-o/--out: " in result.stderr and "is outside the project" in result.stderr
    assert outside.untouched()


def test_init_never_writes_through_links(tmp_path: Path, outside: Sentinel, run) -> None:
    campaign = tmp_path / "campaign"
    campaign.mkdir()
    (tmp_path / ".git").mkdir()  # the project: the git top level
    os.symlink(outside.path / "gitignore-target", campaign / ".gitignore")  # dangling: open() would create it
    result = run(["init", str(campaign), "--name", "spring"])
    assert result.exit_code == 1 and ".gitignore already exists" in result.stderr
    (campaign / ".gitignore").unlink()
    os.symlink(outside.path, campaign / "assets")
    result = run(["init", str(campaign), "--name", "spring"])
    assert result.exit_code == 1
    assert "runner init: " in result.stderr and "is outside the project" in result.stderr
    assert not (campaign / "spring.yaml").exists()
    assert outside.untouched() and not (outside.path / "gitignore-target").exists()


@pytest.mark.parametrize("name", [".spec.yaml.lock", ".spec.yaml.lock.holder"])
def test_a_lock_file_that_is_a_link_is_refused_not_truncated(name: str, tmp_path: Path, outside: Sentinel,
                                                             write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(one_shot_spec())
    os.symlink(outside.path / "secret.txt", tmp_path / name)
    result = attempt(run, spec)
    assert result.exit_code == 1 and f"{name} is a symlink" in result.stderr
    assert emu.stats["requests"] == {}
    assert outside.untouched()


# --- Paths read back from the state file and saved plans are untrusted -------------------------


def _applied(write_spec, run, tmp_path: Path) -> tuple[Path, dict]:
    spec = write_spec(one_shot_spec())
    assert attempt(run, spec).exit_code == 0
    return spec, json.loads((tmp_path / "spec.state.json").read_text())


STATE_OUTPUT_ATTACKS = [
    ("absolute", lambda s: str(s.path / "keep.mp4"), "is an absolute path"),
    ("traversal", lambda s: f"../{s.path.name}/keep.mp4", "resolves outside the project"),
    ("traversal-inside-a-path", lambda s: f"outputs/t/../../../{s.path.name}/keep.mp4", "resolves outside the project"),
    ("through-a-link", lambda s: "outputs/link/keep.mp4", "resolves outside the project"),
]


@pytest.mark.parametrize(("output", "why"), [c[1:] for c in STATE_OUTPUT_ATTACKS],
                         ids=[c[0] for c in STATE_OUTPUT_ATTACKS])
def test_a_state_file_pointing_outside_is_corrupt(output, why: str, tmp_path: Path, outside: Sentinel,
                                                  write_spec, run, api) -> None:
    """The state file is committed, so a pull request can edit it: a take naming a file outside
    the project (here with the right size, so a renamed shot would otherwise move it into
    outputs, and the report would embed it) makes every command stop before reading it."""
    emu = api()
    spec, state = _applied(write_spec, run, tmp_path)
    os.symlink(outside.path, tmp_path / "outputs" / "link")
    take = state["shots"]["a"]["takes"][0]
    take["output"] = output(outside)
    take["bytes"] = (outside.path / "keep.mp4").stat().st_size
    state["shots"]["b"] = state["shots"].pop("a")  # the spec's shot a would be a "move" from b
    (tmp_path / "spec.state.json").write_text(json.dumps(state))
    requests = dict(emu.stats["requests"])
    for args in (["plan", str(spec)], ["apply", str(spec), "--yes"], ["report", str(spec)]):
        result = run(args)
        assert result.exit_code == 1, args
        assert "corrupt state file: shots.b.takes[0].output points outside the project" in result.stderr
        assert why in result.stderr
    assert emu.stats["requests"] == requests
    assert outside.untouched() and not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("sid", ["../../x", "a/b", ".hidden", "A", "a\n"])
def test_shot_ids_in_the_state_file_must_be_ids(sid: str, tmp_path: Path, outside: Sentinel, write_spec, run,
                                                api) -> None:
    api()
    spec, state = _applied(write_spec, run, tmp_path)
    state["shots"][sid] = state["shots"]["a"]
    (tmp_path / "spec.state.json").write_text(json.dumps(state))
    for args in (["plan", str(spec)], ["apply", str(spec), "--yes"]):
        result = run(args)
        assert result.exit_code == 1 and "corrupt state file" in result.stderr
        # the state schema's wording (with the JSON path); "a\n" too: the patterns end in
        # ``(?!\n)$`` because Python's ``$`` matches before a final newline
        assert "is not a shot id" in result.stderr
    assert outside.untouched()


def test_a_state_file_that_is_a_link_out_of_the_project_is_refused(tmp_path: Path, outside: Sentinel,
                                                                    write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(one_shot_spec())
    (outside.path / "state.json").write_text('{"format": 1, "shots": {}}')
    outside.before = outside.snapshot()
    os.symlink(outside.path / "state.json", tmp_path / "spec.state.json")
    result = attempt(run, spec)
    assert result.exit_code == 1 and "state file: " in result.stderr and "is outside the project" in result.stderr
    assert emu.stats["requests"] == {}
    assert outside.untouched()


SAVED_PLAN_ATTACKS = [
    ("spec-outside", lambda doc, s: doc["spec"].update(path=str(s.path / "spec.yaml")), "spec.path"),
    ("state-outside", lambda doc, s: doc["state"].update(path=str(s.path / "secret.txt")), "state.path"),
    ("input-traversal", lambda doc, s: doc["inputs"].update({f"../{s.path.name}/secret.txt": "0" * 64}),
     "inputs"),
    ("input-absolute", lambda doc, s: doc["inputs"].update({str(s.path / "secret.txt"): "0" * 64}), "inputs"),
]


@pytest.mark.parametrize(("edit", "what"), [c[1:] for c in SAVED_PLAN_ATTACKS], ids=[c[0] for c in SAVED_PLAN_ATTACKS])
def test_a_saved_plan_naming_files_outside_is_refused(edit, what: str, tmp_path: Path, outside: Sentinel,
                                                      write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(one_shot_spec())
    (outside.path / "spec.yaml").write_text(spec.read_text())  # a spec that would write outside
    outside.before = outside.snapshot()
    saved = tmp_path / "plan.json"
    assert run(["plan", str(spec), "-o", str(saved)]).exit_code == 0
    doc = json.loads(saved.read_text())
    edit(doc, outside)
    saved.write_text(json.dumps(doc))
    result = attempt(run, saved)
    assert result.exit_code == 1
    assert f"corrupt plan file: {what}" in result.stderr and "points outside the project" in result.stderr
    assert emu.stats["requests"] == {}
    assert outside.untouched() and not (outside.path / ".spec.yaml.lock").exists()


# --- One output folder, one owner ---------------------------------------------------------------


@pytest.mark.parametrize(("extra", "where"), [("", ":2:7: name: "), ("output_dir: shared\n", ":3:13: output_dir: ")],
                         ids=["same-name", "same-output-dir"])
def test_two_specs_cannot_share_an_output_folder(extra: str, where: str, tmp_path: Path, outside: Sentinel,
                                                 write_spec, run, api) -> None:
    emu = api()
    first = write_spec(one_shot_spec(extra), "first.yaml")
    second = write_spec(one_shot_spec(extra).replace("prompt: x", "prompt: y"), "second.yaml")
    assert attempt(run, first).exit_code == 0
    folder = tmp_path / ("shared" if extra else "outputs/t")
    video = (folder / "a" / "1.mp4").read_bytes()
    for args in (["plan", str(second)], ["apply", str(second), "--yes"]):
        result = run(args)
        assert result.exit_code == 1
        assert f"second.yaml{where}" in result.stderr
        assert "belongs to the spec first.yaml" in result.stderr
    assert emu.stats["creates_total"] == 1
    assert (folder / "a" / "1.mp4").read_bytes() == video
    first.unlink()  # the owner is gone: the folder can be claimed
    assert attempt(run, second).exit_code == 0
    assert outside.untouched()


def test_an_apply_writing_into_the_folder_stops_another_spec_at_once(tmp_path: Path, write_spec, run, api) -> None:
    from runner.store.lock import output_lock

    emu = api()
    spec = write_spec(one_shot_spec())
    with output_lock(tmp_path / "outputs" / "t", tmp_path):
        result = attempt(run, spec)
    assert result.exit_code == 1
    assert "another apply is writing into" in result.stderr and "two specs must not share an output folder" \
        in result.stderr
    assert f"pid {os.getpid()}" in result.stderr
    assert emu.stats["creates_total"] == 0


def test_cleanup_deletes_only_dead_temp_files_of_its_own_shots(tmp_path: Path, outside: Sentinel, write_spec,
                                                               run, api) -> None:
    import subprocess
    import sys

    api()
    spec = write_spec(one_shot_spec())
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead = int(gone.stdout)  # a pid whose process has ended
    own = tmp_path / "outputs" / "t" / "a"
    other_spec = tmp_path / "outputs" / "t" / "zz"  # a folder of a shot this spec does not have
    own.mkdir(parents=True)
    other_spec.mkdir()
    leftovers = {own / f".tmp-1.mp4-{dead}-abc": False, own / ".tmp-1.mp4-xyz": False,
                 own / f".tmp-2.mp4-{os.getpid()}-live": True, other_spec / f".tmp-1.mp4-{dead}-abc": True}
    for path in leftovers:
        path.write_bytes(b"partial")
    os.symlink(outside.path / ".tmp-1.mp4-1-abc", own / ".tmp-3.mp4-1-link")
    assert attempt(run, spec).exit_code == 0
    assert {p: p.exists() for p in leftovers} == leftovers
    assert outside.untouched()


def test_paths_that_climb_within_the_project_still_work(tmp_path: Path, outside: Sentinel, run, api) -> None:
    """The confinement is to the project, not to the spec's folder: a spec in campaigns/ of a
    git project may write to ../outputs and read ../assets, through apply, a saved plan and
    the state file, which records the ``..`` path (never an absolute one)."""
    emu = api()
    (tmp_path / ".git").mkdir()
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "day.png").write_bytes((ROOT / "specs" / "assets" / "day.png").read_bytes())
    (tmp_path / "campaigns").mkdir()
    spec = tmp_path / "campaigns" / "spec.yaml"
    spec.write_text("version: 1\nname: t\noutput_dir: ../outputs\nshots:\n  - id: a\n    model: gen4_turbo\n"
                    "    image: ../assets/day.png\n    prompt: x\n    ratio: '1280:720'\n    duration: 5\n")
    saved = tmp_path / "plan.json"
    assert run(["plan", str(spec), "-o", str(saved)]).exit_code == 0
    assert list(json.loads(saved.read_text())["inputs"]) == ["../assets/day.png"]
    assert attempt(run, saved).exit_code == 0
    take = json.loads((tmp_path / "campaigns" / "spec.state.json").read_text())["shots"]["a"]["takes"][0]
    assert take["output"] == "../outputs/a/1.mp4" and (tmp_path / "outputs" / "a" / "1.mp4").is_file()
    assert run(["plan", str(spec), "--detailed-exitcode"]).exit_code == 0  # found again: nothing to do
    assert emu.stats["creates_total"] == 1
    assert outside.untouched()
