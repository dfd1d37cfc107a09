"""A take's file is `output_dir/<shot id>/<take>.<ext>`, derived by runner; a path that a state
file, a store's snapshot or journal step, a local journal line or a saved plan names is never
trusted (issue 21).

Anyone who can edit `s.state.json` in a pull request, or write a store's objects, could name
`NOTES.md`, the spec, another spec's state or `.git/config` as a take's output, with its byte
size: apply then moved that file into outputs, and `runner pull` wrote a planted blob over
`.git/config` (whose `core.fsmonitor` the next `git status` runs). Each test asserts exit 1, a
message that says where the path came from (file:line, or the store key), and that the file
named is byte for byte unchanged.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from runner.inputs.paths import OutputLayout
from runner.store.steps import encode_step

SPEC = ("version: 1\nname: t\nshots:\n  - id: a\n    model: gen4.5\n    prompt: x\n    ratio: '1280:720'\n"
        "    duration: 5\n")
GIT_CONFIG = b"[core]\n\trepositoryformatversion = 0\n"
PLANTED = b'[core]\n\tfsmonitor = "touch pwned"\n'


def project(tmp_path: Path) -> Path:
    """A clone: the spec, a NOTES.md, another spec's state and a .git folder with a config."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_bytes(GIT_CONFIG)
    (tmp_path / "NOTES.md").write_text("# notes\n")
    (tmp_path / "other.state.json").write_text('{"format": 1, "shots": {}}\n')
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC)
    return spec


def entry(output: str, data: bytes, *, fingerprint: str = "f" * 64, take: int = 1) -> dict:
    done = {"take": take, "fingerprint": fingerprint, "output": output, "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data), "credits": 50, "task_id": None, "finished": "2026-01-01T00:00:00Z", "source": "api"}
    return {"fingerprint": "e" * 64, "model": "gen4.5", "mode": "text", "request": {}, "takes": [done], "pending": []}


def plant_blob(store: Path, data: bytes) -> None:
    sha = hashlib.sha256(data).hexdigest()
    blob = store / "blobs" / "sha256" / sha[:2] / sha
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)


def write_state(tmp_path: Path, shots: dict) -> str:
    """Write a state file as runner does (indented, sorted keys); returns ``path:line`` of its take's output."""
    text = json.dumps({"format": 1, "shots": shots}, indent=2, sort_keys=True)
    (tmp_path / "s.state.json").write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if '"output"' in row)
    return f"{tmp_path / 's.state.json'}:{line}"


def files(tmp_path: Path) -> dict[str, bytes]:
    return {name: (tmp_path / name).read_bytes() for name in (".git/config", "NOTES.md", "s.yaml", "other.state.json")}


# The paths a tampered state names for take 1 of shot a; each must be refused.
NOT_DERIVED = {
    "git-config": ".git/config",
    "notes": "NOTES.md",
    "the-spec": "s.yaml",
    "another-state": "other.state.json",
    "another-shot": "outputs/t/b/1.mp4",
    "another-take": "outputs/t/a/2.mp4",
    "not-an-output-extension": "outputs/t/a/1.sh",
    "dot-segment": "outputs/t/./a/1.mp4",
    "climbs-back": "outputs/t/a/../../../NOTES.md",
    "part-one": "outputs/t/a/1-1.mp4",
}


@pytest.mark.parametrize("source", ["store-snapshot", "store-step", "state-file"])
@pytest.mark.parametrize("output", list(NOT_DERIVED.values()), ids=list(NOT_DERIVED))
def test_pull_writes_only_a_takes_own_file(output: str, source: str, tmp_path: Path, run) -> None:
    spec = project(tmp_path)
    store = tmp_path.parent / f"{tmp_path.name}-store"
    plant_blob(store, PLANTED)
    shots = {"a": entry(output, PLANTED)}
    (store / "specs" / "t").mkdir(parents=True)
    if source == "store-snapshot":
        (store / "specs" / "t" / "state.json").write_text(json.dumps({"format": 1, "spec": "s.yaml", "upto": 0,
                                                                      "shots": shots}))
        where = f"{store}/specs/t/state.json"
    elif source == "store-step":
        (store / "specs" / "t" / "journal").mkdir()
        (store / "specs" / "t" / "journal" / "000000000001.json").write_text(
            json.dumps({"seq": 1, "writer": "w", "shots": shots}))
        where = f"{store}/specs/t/journal/000000000001.json"
    else:  # a committed state file, taken into a new store
        where = write_state(tmp_path, shots)
    before = files(tmp_path)
    pulled = run(["pull", str(spec), "--store", str(store)])
    assert pulled.exit_code == 1, pulled.stdout + pulled.stderr
    assert where in pulled.stderr and "takes[0].output" in pulled.stderr, pulled.stderr
    assert "nothing was read, moved, restored or pulled for it" in pulled.stderr
    assert files(tmp_path) == before
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize("output", ["NOTES.md", "s.yaml", "other.state.json", ".git/config"])
def test_apply_on_a_fresh_clone_moves_nothing_a_state_file_names(output: str, tmp_path: Path, run, api) -> None:
    emu = api()
    spec = project(tmp_path)
    plan = json.loads(run(["plan", str(spec), "--format", "json"]).stdout)
    fingerprint = plan["shots"][0]["takes"][0]["fingerprint"]  # so that the plan would take it as a move
    target = (tmp_path / output).read_bytes()
    where = write_state(tmp_path, {"a": entry(output, target, fingerprint=fingerprint)})
    before = files(tmp_path)
    for command in (["plan", str(spec)], ["apply", str(spec), "--yes", "--poll-interval", "0.02"],
                    ["report", str(spec), "-o", str(tmp_path / "report.html")]):
        refused = run(command)
        assert refused.exit_code == 1, refused.stdout + refused.stderr
        assert where in refused.stderr, refused.stderr
        assert f'shots.a.takes[0].output "{output}" is not the file runner makes for take 1 of shot a ' \
               "(outputs/t/a/1.<ext>)" in refused.stderr
    assert files(tmp_path) == before
    assert emu.stats["requests"] == {}


def test_push_never_sends_a_file_a_state_names(tmp_path: Path, run) -> None:
    # `.git/config` (or any file whose content the state's author knows) must not leave for the store.
    spec = project(tmp_path)
    (tmp_path / "s.state.json").write_text(json.dumps({"format": 1, "shots": {"a": entry(".git/config", GIT_CONFIG)}}))
    store = tmp_path.parent / f"{tmp_path.name}-store"
    pushed = run(["push", str(spec), "--store", str(store)])
    assert pushed.exit_code == 1 and "is not the file runner makes" in pushed.stderr, pushed.stderr
    assert not (store / "blobs").exists()


def test_a_local_journal_line_naming_another_file_is_refused_at_its_line(tmp_path: Path, run, api) -> None:
    emu = api()
    spec = project(tmp_path)
    (tmp_path / "s.state.json").write_text('{"format": 1, "shots": {}}\n')
    journal = tmp_path / "s.state.journal"
    journal.write_bytes(encode_step(1, {}) + encode_step(2, {"a": entry("NOTES.md", b"# notes\n")}))
    refused = run(["apply", str(spec), "--yes"])
    assert refused.exit_code == 1 and f"{journal}:2" in refused.stderr, refused.stderr
    assert "is not the file runner makes" in refused.stderr
    assert emu.stats["requests"] == {}


def test_a_saved_plan_naming_another_file_for_a_take_is_refused(tmp_path: Path, run, api) -> None:
    emu = api()
    spec = project(tmp_path)
    plan_file = tmp_path / "plan.json"
    assert run(["plan", str(spec), "-o", str(plan_file)]).exit_code == 0
    doc = json.loads(plan_file.read_text())
    doc["shots"][0]["takes"][0]["output"] = ".git/config"
    plan_file.write_text(json.dumps(doc))
    before = files(tmp_path)
    refused = run(["apply", str(plan_file), "--yes"])
    assert refused.exit_code == 1, refused.stderr
    assert "$.shots[0].takes[0].output" in refused.stderr and "is not the file runner makes" in refused.stderr
    assert files(tmp_path) == before and emu.stats["requests"] == {}


def test_a_move_takes_only_the_output_the_state_records(tmp_path: Path, run, api) -> None:
    # A renamed shot moves its file; a file put in its place (another content) is not moved.
    api()
    spec = project(tmp_path)
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02"]).exit_code == 0
    made = tmp_path / "outputs" / "t" / "a" / "1.mp4"
    head = b"\x00\x00\x00\x18ftypmp42 not the generated take"
    swapped = head + b"\x00" * (made.stat().st_size - len(head))
    made.write_bytes(swapped)  # same size, other bytes
    spec.write_text(SPEC.replace("id: a", "id: b"))
    moved = run(["apply", str(spec), "--yes", "--poll-interval", "0.02"])
    assert moved.exit_code == 1, moved.stdout + moved.stderr
    assert "not moved: outputs/t/a/1.mp4 is not the output the state records" in moved.stdout + moved.stderr
    assert made.read_bytes() == swapped and not (tmp_path / "outputs" / "t" / "b" / "1.mp4").exists()


@pytest.mark.parametrize(("command", "target"), [(["plan", "-o"], ".git/plan.json"),
                                                 (["report", "-o"], ".git/hooks/report.html")])
def test_runner_never_writes_inside_a_git_folder(command: list[str], target: str, tmp_path: Path, run) -> None:
    spec = project(tmp_path)
    (tmp_path / ".git" / "hooks").mkdir()
    result = run([command[0], str(spec), command[1], str(tmp_path / target)])
    assert result.exit_code == 1 and "inside a .git folder" in result.stderr, result.stderr
    assert not (tmp_path / target).exists() and files(tmp_path)[".git/config"] == GIT_CONFIG


def test_an_output_dir_inside_git_is_refused_at_its_line(tmp_path: Path, run) -> None:
    spec = project(tmp_path)
    spec.write_text(SPEC.replace("name: t\n", "name: t\noutput_dir: .git/hooks\n"))
    result = run(["validate", str(spec)])
    assert result.exit_code == 1 and ":3:13: output_dir: " in result.stderr, result.stderr
    assert "inside a .git folder" in result.stderr


def test_a_shot_folder_linked_into_git_is_refused_before_paying(tmp_path: Path, run, api) -> None:
    emu = api()
    spec = project(tmp_path)
    (tmp_path / "outputs" / "t").mkdir(parents=True)
    (tmp_path / "outputs" / "t" / "a").symlink_to(tmp_path / ".git")
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02"])
    assert result.exit_code == 1 and "shot a: id: its output folder" in result.stderr, result.stderr
    assert emu.stats["requests"] == {} and sorted(p.name for p in (tmp_path / ".git").iterdir()) == ["config"]


LAYOUT = OutputLayout(Path("/p/campaign"), Path("/p/campaign/outputs/t"), Path("/p"))


@pytest.mark.parametrize(("output", "ok"), [
    ("outputs/t/a/1.mp4", True), ("outputs/t/a/1.png", True), ("outputs/t/a/1.jpg", True),
    ("outputs/t/a/1-2.mp4", True), ("outputs/t/a/1-12.mp3", True),  # a take's other files (multi-output)
    ("outputs/t/a/1-1.mp4", False), ("outputs/t/a/1-0.mp4", False), ("outputs/t/a/01.mp4", False),
    ("outputs/t/a/2.mp4", False), ("outputs/t/a/1.mp4.sh", False), ("outputs/t/a/1", False),
    ("outputs/t/ab/1.mp4", False), ("outputs/t/a/x/1.mp4", False), ("/p/campaign/outputs/t/a/1.mp4", False),
    ("outputs/t/a/1.MP4", False), ("outputs/t/a/1.mp4\n", False), ("", False), (None, False),
])
def test_the_derived_path_of_a_take(output: object, ok: bool) -> None:
    assert (LAYOUT.problem(output, shot_id="a", take=1) is None) is ok
    assert LAYOUT.name("a", 1, "mp4") == "outputs/t/a/1.mp4" and LAYOUT.name("a", 3, "wav", 2) == "outputs/t/a/3-2.wav"


def test_a_move_a_killed_apply_did_not_record_is_found_in_place(tmp_path: Path, run, api) -> None:
    # A rename moves the files first and records the entry after: killed in between, the state
    # still names the old folder, and the files are in the new one. Nothing is paid again.
    emu = api()
    spec = project(tmp_path)
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02"]).exit_code == 0
    spec.write_text(SPEC.replace("id: a", "id: b"))
    (tmp_path / "outputs" / "t" / "b").mkdir()
    (tmp_path / "outputs" / "t" / "a" / "1.mp4").rename(tmp_path / "outputs" / "t" / "b" / "1.mp4")
    moved = run(["apply", str(spec), "--yes", "--poll-interval", "0.02"])
    assert moved.exit_code == 0, moved.stdout + moved.stderr
    state = json.loads((tmp_path / "s.state.json").read_text())["shots"]
    assert list(state) == ["b"] and state["b"]["takes"][0]["output"] == "outputs/t/b/1.mp4"
    assert emu.stats["creates_total"] == 1
