"""`runner export SPEC --to DIR`: the picked takes as <shot>.<ext> with a manifest, checked
against the state, from the output folder or the store, never from the API (issue 24)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

POLL = ["--poll-interval", "0.02"]

SPEC = """
version: 1
name: story
shots:
  - id: keyart
    model: gen4_image
    prompt: key art of a cabin
    ratio: "1920:1080"
    takes: 3
  - id: motion
    model: gen4.5
    image: {from: keyart, take: picked}
    prompt: slow push in
    ratio: "1280:720"
    duration: 5
    seed: 42
"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _made(run, write_spec, *store: str) -> Path:
    spec = write_spec(SPEC)
    assert run(["apply", str(spec), "--yes", *POLL, *store]).exit_code == 0
    assert run(["pick", str(spec), "keyart", "2", "--note", "warmest", *store]).exit_code == 0
    assert run(["apply", str(spec), "--yes", *POLL, *store]).exit_code == 0
    return spec


def test_export_writes_the_picked_takes_and_a_manifest(write_spec, run, api, tmp_path: Path) -> None:
    emu = api()
    spec = _made(run, write_spec)
    creates = emu.stats["creates_total"]
    result = run(["export", str(spec), "--to", str(tmp_path / "delivery")])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Exported 2 files to ")
    delivery = tmp_path / "delivery"
    assert sorted(p.name for p in delivery.iterdir()) == ["keyart.png", "manifest.json", "motion.mp4"]
    out = tmp_path / "outputs" / "story"
    assert _sha(delivery / "keyart.png") == _sha(out / "keyart" / "2.png")  # the picked take
    manifest = json.loads((delivery / "manifest.json").read_text())
    files = {f["file"]: f for f in manifest["files"]}
    assert files["keyart.png"]["sha256"] == _sha(out / "keyart" / "2.png")
    assert files["motion.mp4"]["sha256"] == _sha(delivery / "motion.mp4")
    keyart, motion = files["keyart.png"], files["motion.mp4"]
    assert (keyart["shot"], keyart["take"], keyart["picked"], keyart["note"]) == ("keyart", 2, True, "warmest")
    assert keyart["picked_by"] and keyart["picked_at"] and keyart["model"] == "gen4_image"
    assert keyart["prompt"] == "key art of a cabin" and keyart["credits"] == 8 and len(keyart["task_id"]) == 36
    assert (motion["seed"], motion["prompt"], motion["credits"]) == (42, "slow push in", 60)
    assert manifest["spec"]["path"] == "spec.yaml" and "git" in manifest["spec"]
    assert manifest["left_out"] == []
    assert emu.stats["creates_total"] == creates  # an export makes nothing


def test_unpicked_shots_are_listed_and_all_takes_exports_them(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = write_spec(SPEC)
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    result = run(["export", str(spec), "--to", "d1"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "left out: keyart: unpicked: 3 takes and no pick (runner review)" in result.stdout
    assert "left out: motion: waits for a pick of keyart (runner review)" in result.stdout
    assert sorted(p.name for p in (tmp_path / "d1").iterdir()) == ["manifest.json"]
    result = run(["export", str(spec), "--to", "d2", "--all-takes"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    takes = sorted(p.name for p in (tmp_path / "d2" / "keyart").iterdir())
    assert takes == ["1.png", "2.png", "3.png"]
    manifest = json.loads((tmp_path / "d2" / "manifest.json").read_text())
    assert [(f["file"], f["picked"]) for f in manifest["files"]] == [
        ("keyart/1.png", False), ("keyart/2.png", False), ("keyart/3.png", False)]


def test_an_out_of_date_or_altered_take_is_never_delivered(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = _made(run, write_spec)
    spec.write_text(spec.read_text().replace("slow push in", "fast push in"))
    result = run(["export", str(spec), "--to", "d"], cwd=tmp_path)
    assert "left out: motion: out of date: prompt changed" in result.stdout
    assert not (tmp_path / "d" / "motion.mp4").exists() and (tmp_path / "d" / "keyart.png").exists()
    (tmp_path / "outputs" / "story" / "keyart" / "2.png").write_bytes(b"tampered")
    result = run(["export", str(spec), "--to", "d"], cwd=tmp_path)
    assert "keyart: take 2: outputs/story/keyart/2.png is not the file the state records" in result.stdout
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["files"] == []


def test_export_refuses_a_folder_of_other_files(write_spec, run, api, tmp_path: Path) -> None:
    api()
    spec = _made(run, write_spec)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    result = run(["export", str(spec), "--to", str(tmp_path / "mine")])
    assert result.exit_code == 1 and "is not empty and holds no runner export" in result.stderr
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]
    # an earlier export is refreshed in place
    assert run(["export", str(spec), "--to", str(tmp_path / "d")]).exit_code == 0
    assert run(["export", str(spec), "--to", str(tmp_path / "d")]).exit_code == 0


def test_export_from_the_store_on_a_fresh_checkout_makes_no_api_call(write_spec, run, api, tmp_path: Path,
                                                                      monkeypatch) -> None:
    emu = api()
    store = ["--store", str(tmp_path / "store")]
    spec = _made(run, write_spec, *store)
    picked = _sha(tmp_path / "outputs" / "story" / "keyart" / "2.png")
    shutil.rmtree(tmp_path / "outputs")  # a fresh checkout: no outputs, the state and files in the store
    requests = sum(emu.stats["requests"].values())
    monkeypatch.delenv("RUNWAYML_BASE_URL")
    result = run(["export", str(spec), "--to", str(tmp_path / "delivery"), *store])
    assert result.exit_code == 0, result.stderr
    assert "Exported 2 files" in result.stdout and "2 from the store" in result.stdout
    assert _sha(tmp_path / "delivery" / "keyart.png") == picked
    assert sum(emu.stats["requests"].values()) == requests
