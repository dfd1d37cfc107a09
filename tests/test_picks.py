"""Picks: `runner pick` records the chosen take beside the spec, `{from: X, take: picked}` waits
for it, builds on it and regenerates when it changes; a pick of a take generated again is
stale; the picks file is read back like every file runner reads back (issue 24)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from PIL import Image
from pixels import SAME, first_frame, mad

from runner.errors import PicksChanged
from runner.planner import make_plan
from runner.review.picking import Picker

POLL = ["--poll-interval", "0.02"]

SPEC = """
version: 1
name: story
shots:
  - id: motion
    model: gen4.5
    image: {from: keyart, take: picked}
    prompt: slow push in
    ratio: "1280:720"
    duration: 5
  - id: keyart
    model: gen4_image
    prompt: key art of a cabin
    ratio: "1920:1080"
    takes: 3
"""


def _plan(run, spec: Path, *args: str) -> dict[str, dict]:
    result = run(["plan", str(spec), "--format", "json", *args])
    assert result.exit_code == 0, result.stderr
    return {s["id"]: s for s in json.loads(result.stdout)["shots"]}


def test_a_dependent_waits_for_a_pick_builds_on_it_and_follows_a_new_one(write_spec, run, api, tmp_path) -> None:
    emu = api()
    spec = write_spec(SPEC)
    # Before any pick: motion waits, costs nothing, and the plan still has changes.
    plan = run(["plan", str(spec), "--detailed-exitcode"])
    assert plan.exit_code == 2, plan.stderr
    lines = plan.stdout.splitlines()
    assert lines[2].split()[:2] == ["+", "keyart"] and lines[3].split()[:2] == ["…", "motion"]  # graph order
    assert lines[3].endswith("waits for a pick of keyart (runner review)")
    assert "24 credits ($0.24)" in plan.stdout  # keyart's 3 takes only
    first = run(["apply", str(spec), "--yes", *POLL])
    assert first.exit_code == 0, first.stdout + first.stderr
    assert "waiting: motion: waits for a pick of keyart (runner review); nothing was made" in first.stdout
    assert emu.stats["creates_total"] == 3
    out = tmp_path / "outputs" / "story"
    files = [out / "keyart" / f"{n}.png" for n in (1, 2, 3)]
    assert len({p.read_bytes() for p in files}) == 3
    again = run(["apply", str(spec), "--yes", *POLL])
    assert again.exit_code == 0 and emu.stats["creates_total"] == 3  # still waiting, still free

    picked = run(["pick", str(spec), "keyart", "2", "--note", "warmest light"])
    assert picked.exit_code == 0, picked.stderr
    doc = yaml.safe_load((tmp_path / "spec.picks.yaml").read_text())
    state = json.loads((tmp_path / "spec.state.json").read_text())["shots"]["keyart"]
    take2 = next(t for t in state["takes"] if t["take"] == 2)
    assert doc["shots"]["keyart"]["take"] == 2
    assert doc["shots"]["keyart"]["sha256"] == take2["sha256"]
    assert doc["shots"]["keyart"]["fingerprint"] == take2["fingerprint"]
    assert doc["shots"]["keyart"]["note"] == "warmest light" and doc["shots"]["keyart"]["by"]
    assert _plan(run, spec)["motion"]["inputs_from"] == [{"shot": "keyart", "take": 2, "field": "image"}]
    built = run(["apply", str(spec), "--yes", *POLL])
    assert built.exit_code == 0, built.stdout + built.stderr
    assert emu.stats["creates_total"] == 4  # one more: motion
    frame = first_frame(out / "motion" / "1.mp4")
    assert mad(frame, Image.open(files[1])) < SAME  # it starts on take 2...
    assert mad(frame, Image.open(files[0])) > 3 * SAME and mad(frame, Image.open(files[2])) > 3 * SAME

    assert run(["pick", str(spec), "keyart", "3"]).exit_code == 0
    text = run(["plan", str(spec)]).stdout
    motion = next(line for line in text.splitlines() if " motion " in line)
    assert motion.split()[0] == "~" and motion.endswith("input keyart's pick changes (2 → 3)")
    assert "60 credits" in motion
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    assert emu.stats["creates_total"] == 5
    assert mad(first_frame(out / "motion" / "1.mp4"), Image.open(files[2])) < SAME


def test_a_pick_is_stale_once_its_shot_is_generated_again(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(SPEC)
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    assert run(["pick", str(spec), "keyart", "1"]).exit_code == 0
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    assert emu.stats["creates_total"] == 4
    # --replace makes take 1 anew: the plan says the pick becomes stale...
    shots = _plan(run, spec, "--replace", "keyart")
    assert "its pick (take 1) becomes stale: take 1 is generated again" in shots["keyart"]["reasons"]
    spec.write_text(spec.read_text().replace("key art of a cabin", "key art of a lighthouse"))
    shots = _plan(run, spec)
    assert any(r.startswith("its pick (take 1) is stale: keyart changed since take 1 was picked")
               for r in shots["keyart"]["reasons"])
    assert shots["motion"]["action"] == "wait" and shots["motion"]["credits"] == 0
    assert shots["motion"]["reasons"] == [
        "waits for a pick of keyart (runner review): the pick of take 1 is stale, keyart changed since take 1 "
        "was picked"]
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    assert emu.stats["creates_total"] == 7  # the new key art's 3 takes; nothing built on the stale pick
    listed = json.loads(run(["picks", str(spec), "--format", "json"]).stdout)
    assert listed[0]["shot"] == "keyart" and listed[0]["status"] == "stale"
    assert listed[0]["why"] == "take 1 was generated again since it was picked"
    # A new take can be picked; motion was made from the old key art, so its input changed.
    assert run(["pick", str(spec), "keyart", "2"]).exit_code == 0
    assert _plan(run, spec)["motion"]["reasons"] == ["input keyart changes"]


def test_pick_refuses_what_it_cannot_bind(write_spec, run, api) -> None:
    api()
    spec = write_spec(SPEC)
    result = run(["pick", str(spec), "keyart", "2"])
    assert result.exit_code == 1
    assert "keyart take 2 has not been generated; run `runner apply" in result.stderr
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    for args, says in ((["keyrat", "2"], "spec.yaml (did you mean 'keyart'?)"),
                       (["keyart", "4"], "keyart has 3 takes; choose take 1 to 3"),
                       (["keyart", "2", "--reject", "2"], "take 2 cannot be picked and rejected at once"),
                       (["keyart"], "say what to record")):
        result = run(["pick", str(spec), *args])
        assert result.exit_code == 1 and says in result.stderr, (args, result.stderr)
    # a file changed on disk is not the take the state records
    (spec.parent / "outputs" / "story" / "keyart" / "2.png").write_bytes(b"not the picture")
    result = run(["pick", str(spec), "keyart", "2"])
    assert result.exit_code == 1 and "is not the file the state records" in result.stderr
    assert not spec.with_name("spec.picks.yaml").exists()


def test_reject_note_clear_and_the_listing(write_spec, run, api) -> None:
    api()
    spec = write_spec(SPEC)
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    assert run(["picks", str(spec)]).stdout.split() == ["keyart", "-", "unpicked"]
    assert run(["pick", str(spec), "keyart", "3"]).exit_code == 0
    assert run(["pick", str(spec), "keyart", "--reject", "1", "--reject", "3"]).exit_code == 0
    doc = yaml.safe_load(spec.with_name("spec.picks.yaml").read_text())["shots"]["keyart"]
    assert "take" not in doc and [r["take"] for r in doc["rejects"]] == [1, 3]  # rejecting the pick unpicks it
    assert _plan(run, spec)["motion"]["action"] == "wait"
    assert run(["pick", str(spec), "keyart", "--note", "none of these"]).exit_code == 0
    line = run(["picks", str(spec)]).stdout
    assert "unpicked · rejected 1, 3 · note: none of these · by " in line
    assert run(["pick", str(spec), "keyart", "1"]).exit_code == 0  # picking a rejected take un-rejects it
    doc = yaml.safe_load(spec.with_name("spec.picks.yaml").read_text())["shots"]["keyart"]
    assert doc["take"] == 1 and [r["take"] for r in doc["rejects"]] == [3] and doc["note"] == "none of these"
    assert run(["pick", str(spec), "keyart", "--clear"]).exit_code == 0
    assert yaml.safe_load(spec.with_name("spec.picks.yaml").read_text())["shots"] == {}


def test_the_picks_file_is_stable_and_diff_friendly(write_spec, run, api) -> None:
    api()
    spec = write_spec(SPEC.replace("takes: 3", "takes: 2") + """
  - id: alt
    model: gen4_image
    prompt: another key art
    ratio: "1920:1080"
    takes: 2
""")
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    assert run(["pick", str(spec), "keyart", "2"]).exit_code == 0
    assert run(["pick", str(spec), "alt", "1"]).exit_code == 0
    text = spec.with_name("spec.picks.yaml").read_text()
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert body[:3] == ["version: 1", "shots:", "  alt:"]  # sorted by id, whatever the order of picking
    assert [line.split(":")[0].strip() for line in body[3:8]] == ["take", "fingerprint", "sha256", "by", "at"]
    before = text
    assert run(["pick", str(spec), "alt", "2"]).exit_code == 0
    changed = [(a, b) for a, b in zip(before.splitlines(), spec.with_name("spec.picks.yaml").read_text().splitlines(),
                                      strict=True) if a != b]
    assert {a.split(":")[0].strip() for a, _ in changed} <= {"take", "fingerprint", "sha256", "at"}


def test_a_write_based_on_an_old_file_is_refused(write_spec, run, api) -> None:
    api()
    spec = write_spec(SPEC)
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    page = Picker(make_plan(spec))  # a review opened now...
    assert run(["pick", str(spec), "keyart", "3"]).exit_code == 0  # ...and a pick made elsewhere meanwhile
    with pytest.raises(PicksChanged, match="changed on disk since it was read; nothing was written"):
        page.pick("keyart", 1, expected=page.picks.sha256)
    assert yaml.safe_load(spec.with_name("spec.picks.yaml").read_text())["shots"]["keyart"]["take"] == 3
    assert page.picks.get("keyart").take == 3  # it read the file again, for the page to show
    page.pick("keyart", 1, expected=page.picks.sha256)
    assert yaml.safe_load(spec.with_name("spec.picks.yaml").read_text())["shots"]["keyart"]["take"] == 1


def test_picks_work_with_matrices_and_a_store(write_spec, run, api, tmp_path) -> None:
    emu = api()
    spec = write_spec("""
        version: 1
        name: cities
        shots:
          - id: "keyart-{{ city | slug }}"
            model: gen4_image
            prompt: "key art of {{ city }}"
            ratio: "1920:1080"
            takes: 2
            matrix: {city: [Tokyo, Lima]}
          - id: "motion-{{ city | slug }}"
            model: gen4.5
            image: {from: "keyart-{{ city | slug }}", take: picked}
            prompt: "{{ city }} comes alive"
            ratio: "1280:720"
            duration: 5
            matrix: {city: [Tokyo, Lima]}
        """)
    store = ["--store", str(tmp_path / "store")]
    assert run(["apply", str(spec), "--yes", *POLL, *store]).exit_code == 0
    assert emu.stats["creates_total"] == 4
    assert not spec.with_name("spec.state.json").exists()  # the state lives in the store
    assert run(["pick", str(spec), "keyart-lima", "2", *store]).exit_code == 0
    shots = _plan(run, spec, *store)
    assert shots["motion-lima"]["action"] == "create" and shots["motion-tokyo"]["action"] == "wait"
    assert shots["motion-tokyo"]["reasons"] == ["waits for a pick of keyart-tokyo (runner review)"]
    assert run(["apply", str(spec), "--yes", *POLL, *store]).exit_code == 0
    assert emu.stats["creates_total"] == 5
    out = tmp_path / "outputs" / "cities"
    assert mad(first_frame(out / "motion-lima" / "1.mp4"), Image.open(out / "keyart-lima" / "2.png")) < SAME


HOSTILE = [
    pytest.param("version: 1\nshots:\n  keyart:\n    take: 2\n", "spec.picks.yaml:4:5",
                 "a pick names its take, fingerprint and sha256 together", id="take-without-binding"),
    pytest.param("version: 1\nshots:\n  ../../etc:\n    note: x\n", "spec.picks.yaml:3:3", "is not a shot id",
                 id="path-as-shot-id"),
    pytest.param("version: 1\nshots:\n  keyart:\n    note: \"\\e[2J\\e]0;pwned\\a\"\n", "spec.picks.yaml:4:11",
                 "one line of plain text", id="terminal-escape-in-note"),
    pytest.param("version: 1\nshots:\n  keyart:\n    take: 2\n    fingerprint: " + "a" * 64 + "\n    sha256: x\n",
                 "spec.picks.yaml:6:13", "is not a sha256", id="bad-sha256"),
    pytest.param("version: 1\nshots:\n  keyart:\n    take: !!python/object/apply:os.system [id]\n",
                 "spec.picks.yaml:4:11", "unsupported YAML tag", id="python-tag"),
    pytest.param("version: 2\nshots: {}\n", "spec.picks.yaml:1:10", "written by a newer runner", id="newer-format"),
    pytest.param("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                 "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                 "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n", "spec.picks.yaml:",
                 "", id="alias-bomb"),
    pytest.param("version: 1\nshots:\n  keyart:\n    rejects: [{take: 1, sha256: " + "b" * 64 + "}, {take: 1, sha256: "
                 + "c" * 64 + "}]\n", "spec.picks.yaml:4:", "rejected twice", id="double-reject"),
    pytest.param("version: 1\nshots:\n  keyart:\n    take: 1\n    take: 2\n", "spec.picks.yaml:5:5", "duplicate key",
                 id="duplicate-key"),
]


@pytest.mark.parametrize(("text", "where", "says"), HOSTILE)
def test_a_hostile_picks_file_is_refused_at_file_line(write_spec, run, text: str, where: str, says: str) -> None:
    spec = write_spec(SPEC)
    spec.with_name("spec.picks.yaml").write_text(text)
    result = run(["plan", spec.name], cwd=spec.parent)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: corrupt picks file {where}"), result.stderr
    assert says in result.stderr and "Nothing was changed" in result.stderr
    assert spec.with_name("spec.picks.yaml").read_text() == text
