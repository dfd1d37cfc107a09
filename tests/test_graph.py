"""Generation graphs: a shot takes another shot's output ({from: keyart}). Validation errors
at file:line:col, a plan that propagates changes ("input keyart changes") with their cost,
apply that makes exactly the changed branch, sends the upstream as a runway:// upload, and
never pays for the dependents of a failed upstream."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from PIL import Image
from pixels import SAME, first_frame, mad

SPEC = """
version: 1
name: story
shots:
  - id: keyart
    model: gen4_image
    prompt: "key art of a cabin"
    ratio: "1920:1080"
  - id: motion
    model: gen4.5
    image: {from: keyart}
    prompt: "slow push in"
    ratio: "1280:720"
    duration: 5
  - id: other
    model: gen4.5
    prompt: "a lake at dawn"
    ratio: "1280:720"
    duration: 5
"""

POLL = ["--poll-interval", "0.02"]


def test_graph_validation_errors_name_file_line_and_column(write_spec, run) -> None:
    spec = write_spec("""
        version: 1
        name: bad
        defaults: {ratio: "1280:720", duration: 5}
        shots:
          - id: keyart
            model: gen4_image
            prompt: "key art"
            ratio: "1920:1080"
          - id: motion
            model: gen4.5
            image: {from: keyrat}
            prompt: "push in"
          - id: restyle
            model: aleph2
            video: {from: keyart}
            prompt: snow
          - id: second
            model: gen4.5
            image: {from: keyart, take: 3}
            prompt: x
          - id: a
            model: aleph2
            video: {from: b}
            prompt: a
          - id: b
            model: aleph2
            video: {from: a}
            prompt: b
          - id: nomedia
            model: gen4.5
            prompt: x
            params: {contentModeration: {from: keyart}}
        """)
    result = run(["validate", spec.name], cwd=spec.parent)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {spec.name}:11:12: shot motion: image: from: no shot with id 'keyrat' (did you mean 'keyart'?); "
        "from: names the id of another shot in this spec (after rendering)",
        f"error: {spec.name}:15:12: shot restyle: video: keyart makes an image (gen4_image), but video takes a "
        "video: take it from a shot that makes videos",
        f"error: {spec.name}:19:12: shot second: image: take 3 of keyart: keyart has 1 take; choose take 1 or "
        "raise its takes",
        f"error: {spec.name}:23:12: shot a: video: from: makes a cycle: a → b → a; a shot cannot take its own "
        "output, directly or through others",
        f"error: {spec.name}:32:33: shot nomedia: params.contentModeration: params.contentModeration takes no "
        "media, so it cannot take another shot's output ({from: ...}); use from: in a media field of this mode",
        "5 problems found; nothing was sent.",
    ]
    # A {from:} with a typo is a schema problem, worded for the from: form, not "must be a string".
    typo = write_spec("""
        version: 1
        name: typo
        shots:
          - id: typo
            model: gen4.5
            image: {from: keyart, tak: 2}
        """, name="typo.yaml")
    result = run(["validate", typo.name], cwd=typo.parent)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "error: typo.yaml:6:12: shot typo: image: unknown field 'tak' (did you mean 'take'?); allowed: from, take")


def _plan(run, spec, *args: str) -> dict[str, dict]:
    result = run(["plan", str(spec), "--format", "json", *args])
    assert result.exit_code == 0, result.stderr
    return {s["id"]: s for s in json.loads(result.stdout)["shots"]}


def test_a_change_upstream_regenerates_its_branch_only_and_reverting_is_free(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(SPEC)
    first = run(["apply", str(spec), "--yes", *POLL])
    assert first.exit_code == 0, first.stdout + first.stderr
    assert emu.stats["creates_total"] == 3
    # The upstream's output reached the API as an upload, never as a path or public URL.
    (motion,) = [t for t in emu.emulator.world.tasks.values() if t.body.get("promptText") == "slow push in"]
    assert motion.body["promptImage"].startswith("runway://")
    assert emu.stats["uploads"] == 1
    keyart = spec.parent / "outputs" / "story" / "keyart" / "1.png"
    assert emu.emulator.world.uploads[motion.body["promptImage"]]["sha256"] == hashlib.sha256(
        keyart.read_bytes()).hexdigest()

    spec.write_text(spec.read_text().replace("key art of a cabin", "key art of a lighthouse"))
    text = run(["plan", str(spec)])
    assert "~ keyart" in text.stdout and "prompt changed" in text.stdout
    assert "~ motion" in text.stdout and "input keyart changes" in text.stdout
    assert "= other" in text.stdout
    shots = _plan(run, spec)
    assert (shots["keyart"]["symbol"], shots["motion"]["symbol"], shots["other"]["symbol"]) == ("~", "~", "=")
    assert shots["motion"]["reasons"] == ["input keyart changes"]
    # gen4_image 1080p: 8 credits; gen4.5: 12 credits/s x 5 s: the dependent's cost counts.
    assert (shots["keyart"]["credits"], shots["motion"]["credits"]) == (8, 60)
    changed = run(["apply", str(spec), "--yes", *POLL])
    assert changed.exit_code == 0, changed.stdout + changed.stderr
    assert emu.stats["creates_total"] == 5  # exactly keyart and motion again

    spec.write_text(spec.read_text().replace("key art of a lighthouse", "key art of a cabin"))
    shots = _plan(run, spec)
    assert {s["action"] for s in shots.values()} == {"cached", "unchanged"}
    back = run(["apply", str(spec), "--yes", *POLL])
    assert back.exit_code == 0, back.stdout + back.stderr
    assert emu.stats["creates_total"] == 5  # the whole branch came back from the cache for free


def test_a_failed_upstream_costs_its_dependents_nothing(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(SPEC.replace("key art of a cabin", "key art [[fail:SAFETY.INPUT.TEXT]]"))
    result = run(["apply", str(spec), "--yes", *POLL, "--format", "json"])
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert emu.stats["creates_total"] == 2  # keyart (failed) and other; never motion
    assert emu.stats["creates_by_model"] == {"gen4.5": 1, "gen4_image": 1}
    assert "not started: input keyart failed" in result.stdout + result.stderr
    assert out["credits"]["charged"] == emu.stats["credits_charged"] == 60  # only `other`
    state = json.loads(spec.with_name("spec.state.json").read_text())["shots"]
    assert "motion" not in state or not state["motion"]["takes"]
    # The next apply (prompt fixed) makes keyart and motion, and nothing twice.
    spec.write_text(spec.read_text().replace("[[fail:SAFETY.INPUT.TEXT]]", "of a cabin"))
    again = run(["apply", str(spec), "--yes", *POLL])
    assert again.exit_code == 0, again.stdout + again.stderr
    assert emu.stats["creates_total"] == 4


def test_an_upstream_already_done_feeds_a_new_dependent_without_a_create(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(SPEC.replace("    image: {from: keyart}\n", ""))
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    assert emu.stats["creates_total"] == 3
    spec.write_text(SPEC.lstrip("\n"))
    shots = _plan(run, spec)
    assert shots["keyart"]["action"] == "unchanged" and shots["motion"]["symbol"] == "~"
    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert emu.stats["creates_total"] == 4  # motion only
    assert emu.stats["creates_by_model"] == {"gen4.5": 3, "gen4_image": 1}


def test_select_operators_take_dependents_or_dependencies(write_spec, run) -> None:
    spec = write_spec(SPEC + """
  - id: restyle
    model: aleph2
    video: {from: motion}
    prompt: snow
""")
    assert set(_plan(run, spec, "--select", "keyart+")) == {"keyart", "motion", "restyle"}
    assert set(_plan(run, spec, "--select", "motion+")) == {"motion", "restyle"}
    assert set(_plan(run, spec, "--select", "+motion")) == {"keyart", "motion"}
    assert set(_plan(run, spec, "--select", "+restyle", "--exclude", "keyart")) == {"motion", "restyle"}
    assert set(_plan(run, spec, "--select", "mot*")) == {"motion"}
    # restyle bills the length of its input clip, which motion makes: 5 s, known before apply.
    assert _plan(run, spec)["restyle"]["credits"] == 140


def test_a_matrix_of_images_feeds_a_matrix_of_videos(write_spec, run, api, tmp_path: Path) -> None:
    emu = api()
    spec = write_spec("""
        version: 1
        name: cities
        shots:
          - id: "keyart-{{ city | slug }}"
            model: gen4_image
            prompt: "key art of {{ city }}"
            ratio: "1920:1080"
            matrix: {city: [Tokyo, São Paulo]}
          - id: "motion-{{ city | slug }}"
            model: gen4.5
            image: {from: "keyart-{{ city | slug }}"}
            prompt: "{{ city }} comes alive"
            ratio: "1280:720"
            duration: 5
            matrix: {city: [Tokyo, São Paulo]}
        """)
    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 0, result.stdout + result.stderr
    tasks = list(emu.emulator.world.tasks.values())
    images = {t.body["promptText"]: t for t in tasks if t.model == "gen4_image"}
    videos = {t.body["promptText"]: t for t in tasks if t.model == "gen4.5"}
    assert set(videos) == {"Tokyo comes alive", "São Paulo comes alive"}
    # Each video got its own city's key art: two different uploads, one per image.
    uris = {city: videos[f"{city} comes alive"].body["promptImage"] for city in ("Tokyo", "São Paulo")}
    assert all(u.startswith("runway://") for u in uris.values()) and len(set(uris.values())) == 2
    out = tmp_path / "outputs" / "cities"
    for (city, slug), other in zip((("Tokyo", "tokyo"), ("São Paulo", "sao-paulo")), ("sao-paulo", "tokyo"),
                                   strict=True):
        image = out / f"keyart-{slug}" / "1.png"
        assert emu.emulator.world.uploads[uris[city]]["sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
        # ...and the video shows it: its first frame is that key art, not the other city's.
        frame = first_frame(out / f"motion-{slug}" / "1.mp4")
        assert mad(frame, Image.open(image)) < SAME, city
        assert mad(frame, Image.open(out / f"keyart-{other}" / "1.png")) > 3 * SAME, city  # a picture apart
    assert len(images) == 2 and emu.stats["uploads"] == 2
    state = json.loads(spec.with_name("spec.state.json").read_text())["shots"]
    assert set(state) == {"keyart-tokyo", "keyart-sao-paulo", "motion-tokyo", "motion-sao-paulo"}


def test_a_saved_plan_carries_the_graph_and_an_edited_graph_is_refused(write_spec, run, api, tmp_path: Path) -> None:
    emu = api()
    write_spec(SPEC)
    assert run(["plan", "spec.yaml", "-o", "plan.json"], cwd=tmp_path).exit_code == 0
    doc = json.loads((tmp_path / "plan.json").read_text())
    edges = {s["id"]: s["inputs_from"] for s in doc["shots"]}
    assert edges == {"keyart": [], "motion": [{"shot": "keyart", "take": 1, "field": "image"}], "other": []}
    for bad, says in (({"shot": "../x", "take": 1, "field": "image"}, "$.shots[1].inputs_from[0].shot"),
                      ({"shot": "other", "take": 1, "field": "image"}, "the outputs or the cache changed")):
        edited = json.loads(json.dumps(doc))
        edited["shots"][1]["inputs_from"] = [bad]
        (tmp_path / "edited.json").write_text(json.dumps(edited))
        result = run(["apply", "edited.json", "--yes"], cwd=tmp_path)
        assert result.exit_code == 1 and says in result.stderr, result.stderr
    assert emu.stats["creates_total"] == 0
    result = run(["apply", "plan.json", "--yes", *POLL], cwd=tmp_path)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert emu.stats["creates_total"] == 3


def test_a_crash_between_upstream_and_dependent_resumes_without_paying_twice(write_spec, make_emulator) -> None:
    emu = make_emulator()
    spec = write_spec(SPEC)
    env = {**os.environ, "RUNWAYML_BASE_URL": emu.base_url, "RUNWAYML_API_SECRET": "key_test_only"}
    cmd = [sys.executable, "-m", "runner", "apply", str(spec), "--yes", *POLL]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill_at_motion(event) -> None:  # motion's task id is journaled; keyart is done
        if event.prompt == "slow push in":
            proc.kill()

    emu.on("first_read", kill_at_motion)
    assert proc.wait(timeout=120) == -signal.SIGKILL
    assert emu.stats["creates_by_model"].get("gen4_image") == 1
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert emu.stats["creates_by_model"] == {"gen4.5": 2, "gen4_image": 1}  # motion and other once each
    state = json.loads(spec.with_name("spec.state.json").read_text())["shots"]
    assert all(s["pending"] == [] and len(s["takes"]) == 1 for s in state.values())


def test_a_media_field_in_params_takes_a_shots_output_too(write_spec, run, api, tmp_path: Path) -> None:
    emu = api()
    spec = write_spec(SPEC + """
  - id: edit
    model: aleph2
    video: {from: motion}
    prompt: snow
    params: {keyframes: [{uri: {from: keyart}, seconds: 0}]}
""")
    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 0, result.stdout + result.stderr
    (edit,) = [t for t in emu.emulator.world.tasks.values() if t.model == "aleph2"]
    keyart = tmp_path / "outputs" / "story" / "keyart" / "1.png"
    motion = tmp_path / "outputs" / "story" / "motion" / "1.mp4"
    for uri, made in ((edit.body["keyframes"][0]["uri"], keyart), (edit.body["videoUri"], motion)):
        assert uri.startswith("runway://")
        assert emu.emulator.world.uploads[uri]["sha256"] == hashlib.sha256(made.read_bytes()).hexdigest()


def test_dependents_keep_the_models_concurrency_limit(write_spec, run, api) -> None:
    """A fan-out (one key art feeding four videos) does not start more gen4.5 tasks at once
    than the account's tier allows: dependents take the same per-model slots as any shot."""
    emu = api(max_concurrent=1)
    spec = write_spec("""
        version: 1
        name: fan
        shots:
          - id: keyart
            model: gen4_image
            prompt: "key art"
            ratio: "1920:1080"
          - id: "motion-{{ n }}"
            model: gen4.5
            image: {from: keyart}
            prompt: "motion {{ n }}"
            ratio: "1280:720"
            duration: 2
            matrix: {n: [1, 2, 3, 4]}
        """)
    result = run(["apply", str(spec), "--yes", "--parallelism", "8", *POLL])
    assert result.exit_code == 0, result.stdout + result.stderr
    videos = sorted((t for t in emu.emulator.world.tasks.values() if t.model == "gen4.5"), key=lambda t: t.created)
    assert len(videos) == 4
    for before, after in zip(videos, videos[1:], strict=False):
        assert before.end is not None and after.created >= before.end  # one at a time, never overlapping


def test_replacing_an_upstream_regenerates_what_was_made_from_it(write_spec, run, api, tmp_path: Path) -> None:
    """--replace keyart makes a new key art (same request, new file): motion, made from the old
    file, is out of date and regenerates with it ("input keyart is replaced"); other stays."""
    emu = api()
    spec = write_spec(SPEC)
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    plan = json.loads(run(["plan", str(spec), "--replace", "keyart", "--format", "json"]).stdout)
    changed = {s["id"]: s["reasons"] for s in plan["shots"] if s["symbol"] == "~"}
    assert changed == {"keyart": ["--replace"], "motion": ["input keyart is replaced (--replace)"]}
    assert plan["summary"]["credits"] == 8 + 60
    assert run(["apply", str(spec), "--yes", "--replace", "keyart", *POLL]).exit_code == 0
    assert emu.stats["creates_total"] == 3 + 2
    out = tmp_path / "outputs" / "story"
    assert mad(first_frame(out / "motion" / "1.mp4"), Image.open(out / "keyart" / "1.png")) < SAME
    assert run(["plan", str(spec), "--detailed-exitcode"]).exit_code == 0  # nothing left to do
