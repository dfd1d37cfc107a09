"""Where a store is, and what comes back from it (issue 21).

A spec is committed, a saved plan is handed from job to job: neither may send the state, the
lock and the outputs somewhere else than the user chose. ``--store`` and ``RUNNER_STORE`` are the
user's own choice; a spec's ``store:`` folder must stay inside the project, and a saved plan
never chooses the store. A blob read back is bounded by the size the state records.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.store.blobs import blob_key
from runner.store.objects import open_store

SPEC = ("version: 1\nname: t\n{store}shots:\n  - id: a\n    model: gen4.5\n    prompt: x\n    ratio: '1280:720'\n"
        "    duration: 5\n")


def project(tmp_path: Path, store_line: str = "") -> Path:
    (tmp_path / ".git").mkdir(exist_ok=True)
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.format(store=store_line))
    return spec


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the project, which nothing may write into."""
    folder = tmp_path.parent / f"{tmp_path.name}-outside"
    folder.mkdir()
    return folder


STORE_FORMS = ["symlink", "symlink-in-the-middle", "git-folder", "dot-dot", "absolute", "file-url"]


def store_line(form: str, tmp_path: Path, outside: Path) -> tuple[str, str]:
    """The spec's ``store:`` line for one way of pointing it elsewhere, and what the error says."""
    if form == "symlink":
        (tmp_path / "linkstore").symlink_to(outside)  # a link committed in the repository
        return "store: linkstore\n", "outside the project root"
    if form == "symlink-in-the-middle":
        (tmp_path / "data").symlink_to(outside)
        return "store: data/store\n", "outside the project root"
    if form == "git-folder":
        return "store: .git/store\n", "inside a .git folder"
    # Refused by the spec's schema already (no `..`, no absolute path, bucket schemes only).
    value = {"dot-dot": f"../{outside.name}", "absolute": str(outside), "file-url": f"file://{outside}"}[form]
    return f"store: {value}\n", "does not match the required pattern"


@pytest.mark.parametrize("form", STORE_FORMS)
def test_a_specs_store_folder_stays_inside_the_project(form: str, tmp_path: Path, outside: Path, run, api) -> None:
    emu = api()
    line, says = store_line(form, tmp_path, outside)
    spec = project(tmp_path, line)
    for command in (["validate", str(spec)], ["plan", str(spec)],
                    ["apply", str(spec), "--yes", "--poll-interval", "0.02"], ["pull", str(spec)]):
        refused = run(command)
        assert refused.exit_code == 1, (command, refused.stdout, refused.stderr)
        assert f"{spec.name}:3:8: store: " in refused.stderr and says in refused.stderr, refused.stderr
    assert list(outside.iterdir()) == [] and not (tmp_path / ".git" / "store").exists()
    assert emu.stats["requests"] == {}


def test_a_store_folder_inside_the_project_works(tmp_path: Path, run, api) -> None:
    api()
    spec = project(tmp_path, "store: team-store\n")
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02"]).exit_code == 0
    assert open_store(str(tmp_path / "team-store")).keys("specs/t") == ["specs/t/state.json"]


@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_users_own_store_may_be_anywhere(how: str, tmp_path: Path, outside: Path, run, api,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    api()
    spec = project(tmp_path)
    extra = ["--store", str(outside)] if how == "option" else []
    if how == "environment":
        monkeypatch.setenv("RUNNER_STORE", str(outside))
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02", *extra]).exit_code == 0
    assert open_store(str(outside)).keys("specs/t") == ["specs/t/state.json"]


def test_a_saved_plan_never_chooses_the_store(tmp_path: Path, outside: Path, run, api) -> None:
    emu = api()
    spec = project(tmp_path)
    plan_file = tmp_path / "plan.json"
    assert run(["plan", str(spec), "-o", str(plan_file)]).exit_code == 0
    doc = json.loads(plan_file.read_text())
    elsewhere = outside / "not-yet"
    for store in (str(elsewhere), "s3://another-bucket/x"):
        doc["state"]["store"] = store  # an edit in the plan file
        plan_file.write_text(json.dumps(doc))
        refused = run(["apply", str(plan_file), "--yes", "--poll-interval", "0.02"])
        assert refused.exit_code == 1, refused.stdout + refused.stderr
        assert "state.store: the plan was made against the store" in refused.stderr
        assert "but this apply would use the local state file" in refused.stderr
    assert not elsewhere.exists() and list(outside.iterdir()) == []  # not even the folder was made
    assert emu.stats["requests"] == {} and not (tmp_path / "s.state.json").exists()


def test_a_saved_plan_is_applied_only_with_the_store_it_was_made_with(tmp_path: Path, outside: Path, run, api,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    emu = api()
    spec = project(tmp_path)
    plan_file = tmp_path / "plan.json"
    assert run(["plan", str(spec), "-o", str(plan_file), "--store", str(outside)]).exit_code == 0
    refused = run(["apply", str(plan_file), "--yes"])
    assert refused.exit_code == 1 and "state.store" in refused.stderr, refused.stderr
    local = tmp_path / "local-plan.json"
    assert run(["plan", str(spec), "-o", str(local)]).exit_code == 0
    monkeypatch.setenv("RUNNER_STORE", str(outside))
    refused = run(["apply", str(local), "--yes"])
    assert refused.exit_code == 1 and "made against the local state file" in refused.stderr, refused.stderr
    assert emu.stats["requests"] == {}
    applied = run(["apply", str(plan_file), "--yes", "--poll-interval", "0.02", "--store", str(outside)])
    assert applied.exit_code == 0, applied.stderr
    assert emu.stats["creates_total"] == 1


# --- Blobs read back from a store -------------------------------------------------------------

@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "folder":
        return str(tmp_path / "store")
    return str(request.getfixturevalue("make_bucket")())


SPARSE = 64 * 2**30


def grow(store: str, key: str, size: int) -> None:
    """Replace the blob at ``key`` by a longer object (a sparse file for a folder store)."""
    if store.startswith("s3://"):
        open_store(store).write(key, b"\0" * size)
        return
    with open(Path(store) / key, "r+b") as f:
        f.truncate(size)


@pytest.mark.parametrize("command", ["pull", "apply"])
def test_a_blob_longer_than_the_state_records_is_stopped_there(command: str, store: str, tmp_path: Path, run,
                                                               api, monkeypatch: pytest.MonkeyPatch) -> None:
    emu = api()
    (tmp_path / "a").mkdir()
    made = project(tmp_path / "a")
    assert run(["apply", str(made), "--yes", "--poll-interval", "0.02", "--store", store]).exit_code == 0
    take = json.loads(json.dumps(_state(store)))["a"]["takes"][0]
    # The folder store's blob becomes a sparse 64 GB file: read to the end, it would fill the disk.
    grow(store, blob_key(take["sha256"]), SPARSE if not store.startswith("s3://") else 8 * 2**20)

    fresh = tmp_path / "b"
    fresh.mkdir()
    spec = project(fresh)
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "cache-b"))
    args = ["pull", str(spec)] if command == "pull" else ["apply", str(spec), "--yes", "--poll-interval", "0.02"]
    refused = run([*args, "--store", store])
    assert refused.exit_code == 1, refused.stdout + refused.stderr
    assert f"the blob is longer than the {take['bytes']:,} bytes the state records" in refused.stderr
    assert blob_key(take["sha256"]) in refused.stderr
    assert list(fresh.rglob("*.mp4")) == [] and list(fresh.rglob(".tmp-*")) == []  # nothing written, nothing left
    assert emu.stats["creates_total"] == 1


def _state(store: str) -> dict:
    from runner.store.shared import SharedState
    from runner.store.state import State

    shared = SharedState(open_store(store), "t", "s.yaml")
    return json.loads(shared.load(State(Path("s.state.json"))).to_json())["shots"]
