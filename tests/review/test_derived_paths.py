"""The review page serves, and `runner export` delivers, only a take's derived file
(`output_dir/<shot>/<take>.<ext>`, one check: `OutputLayout.problem`) holding the bytes the state
records; nothing is written inside `.git` (issues 21 and 24).

A pull request can edit `spec.state.json` to name `.git/config`, the spec, or another shot's or
take's file as a take's output, with that file's own sha256 and size: a review that served it
would show it to whoever opens the page, an export would copy it into a delivery folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from test_app import _logged_in

GIT_CONFIG = b"[core]\n\trepositoryformatversion = 0\n[secret]\n\ttoken = hunter2\n"


def _tamper(spec: Path, shot: str, take: int, output: str) -> None:
    """Name ``output`` as ``take`` of ``shot`` in the state, with that file's sha256 and size."""
    data = (spec.parent / output).read_bytes()
    state_file = spec.with_name("spec.state.json")
    doc = json.loads(state_file.read_text())
    done = next(t for t in doc["shots"][shot]["takes"] if t["take"] == take)
    done.update(output=output, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    state_file.write_text(json.dumps(doc, indent=2))


@pytest.mark.parametrize("output", [".git/config", "spec.yaml", "outputs/story/motion/1.mp4",
                                    "outputs/story/keyart/2.png", "outputs/story/clip-tokyo/1.mp4"])
def test_a_file_a_tampered_state_names_is_neither_served_nor_exported(campaign: Path, client_for, run,
                                                                      output: str) -> None:
    root = campaign.parent
    (root / ".git").mkdir()
    (root / ".git" / "config").write_bytes(GIT_CONFIG)
    if output.endswith("motion/1.mp4"):  # motion waits for a pick: give it a file to point at
        (root / output).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / "outputs/story/clip-lima/1.mp4", root / output)
    target = (root / output).read_bytes()
    session, client = _logged_in(client_for, campaign)  # the page was open before the edit
    assert client.get("/media/keyart/1").status_code == 200
    _tamper(campaign, "keyart", 1, output)
    for url in ("/media/keyart/1", "/poster/keyart/1", "/media/keyart/2"):
        response = client.get(url)
        assert response.status_code == 404 and response.content != target, url
        assert b"hunter2" not in response.content and b"key art of a cabin" not in response.content, url
    page = client.get("/")
    assert page.status_code == 500 and "corrupt state file" in page.text
    assert "is not the file runner makes for take 1 of shot keyart" in page.text and "hunter2" not in page.text
    # A fresh review refuses the campaign at once; export refuses it and writes nothing.
    result = run(["review", str(campaign), "--no-open", "--port", "0"])
    assert result.exit_code == 1 and "is not the file runner makes for take 1 of shot keyart" in result.stderr
    delivery = root / "delivery"
    result = run(["export", str(campaign), "--to", str(delivery), "--all-takes"])
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "is not the file runner makes for take 1 of shot keyart" in result.stderr
    assert not delivery.exists() or not any(delivery.iterdir())
    assert (root / output).read_bytes() == target and (root / ".git" / "config").read_bytes() == GIT_CONFIG


def test_a_shot_folder_linked_into_git_after_the_page_opened_is_not_followed(campaign: Path, client_for) -> None:
    # The state is untouched (the plan is kept): the shot folder becomes a link to a copy of its
    # own files inside .git, so that the bytes still match the state. Only the derived-path
    # check of each served file sees it.
    root = campaign.parent
    folder = root / "outputs" / "story" / "clip-tokyo"
    session, client = _logged_in(client_for, campaign)
    assert client.get("/media/clip-tokyo/1").status_code == 200
    hidden = root / ".git" / "stash" / "clip-tokyo"
    shutil.copytree(folder, hidden)
    shutil.rmtree(folder)
    os.symlink(hidden, folder)
    for url in ("/media/clip-tokyo/1", "/poster/clip-tokyo/2"):
        assert client.get(url).status_code == 404, url
    assert client.get("/media/clip-lima/1").status_code == 200  # other shots are served as before


def test_a_take_file_changed_on_disk_is_not_served(campaign: Path, client_for) -> None:
    # The derived path holds other bytes than the state records (the file was replaced since):
    # the page shows no file rather than a picture nobody could pick (runner pick refuses it too).
    take1 = campaign.parent / "outputs" / "story" / "keyart" / "1.png"
    original = take1.read_bytes()
    session, client = _logged_in(client_for, campaign)
    assert client.get("/media/keyart/1").content == original
    take1.write_bytes((take1.parent / "2.png").read_bytes())
    assert client.get("/media/keyart/1").status_code == 404
    assert client.get("/poster/keyart/1").status_code == 404
    take1.write_bytes(original)
    assert client.get("/media/keyart/1").content == original


@pytest.mark.parametrize("to", [".git/delivery", ".git", "hooks/delivery"])
def test_export_writes_nothing_inside_git(campaign: Path, run, to: str) -> None:
    root = campaign.parent
    (root / ".git" / "hooks").mkdir(parents=True)
    os.symlink(root / ".git" / "hooks", root / "hooks")  # a committed link into .git
    before = sorted(p.relative_to(root / ".git") for p in (root / ".git").rglob("*"))
    result = run(["export", str(campaign), "--to", str(root / to), "--all-takes"])
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "lies inside a .git folder, where runner never writes" in result.stderr
    assert sorted(p.relative_to(root / ".git") for p in (root / ".git").rglob("*")) == before
