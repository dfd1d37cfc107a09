"""The storyboard example end to end on the emulator: key art per city -> animation ->
upscale + foley, and a sound bed. The emulator's outputs show their inputs, so the wiring
is checked by pixels three levels down, and a change to one city's key art regenerates
exactly that city's branch (4 creates); reverting it costs nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av
from PIL import Image
from pixels import SAME, first_frame, mad

ROOT = Path(__file__).resolve().parents[1]
POLL = ["--poll-interval", "0.02"]
CITIES = ("tokyo", "lagos", "lima")


def audio_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        return float(container.duration or 0) / av.time_base


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("1.*"))}


def task_ids(spec: Path) -> dict[str, str]:
    shots = json.loads(spec.with_name("storyboard.state.json").read_text())["shots"]
    return {sid: entry["takes"][0]["task_id"] for sid, entry in shots.items()}


def test_the_storyboard_runs_as_a_graph_and_a_change_regenerates_one_branch(run, api, tmp_path: Path) -> None:
    emu = api()
    text = (ROOT / "examples" / "storyboard.yaml").read_text(encoding="utf-8")
    spec = tmp_path / "storyboard.yaml"
    spec.write_text(text, encoding="utf-8")
    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert emu.stats["creates_total"] == 13
    out = tmp_path / "outputs" / "storyboard"

    for city in CITIES:
        art = Image.open(out / f"keyart-{city}" / "1.png")
        # The animation starts on its city's key art, the upscale plays that animation.
        assert mad(first_frame(out / f"motion-{city}" / "1.mp4"), art) < SAME, city
        assert mad(first_frame(out / f"hd-{city}" / "1.mp4"), art) < SAME + 2, city
        assert abs(audio_seconds(out / f"foley-{city}" / "1.mp3") - 5) < 0.2, city
    assert abs(audio_seconds(out / "sound-bed" / "1.mp3") - 15) < 0.2
    before = digests(out)
    tasks_before = task_ids(spec)

    spec.write_text(text.replace("poster key art", "poster key art at night"), encoding="utf-8")
    # Every city's key art prompt changed: the sound bed alone is untouched.
    plan = json.loads(run(["plan", str(spec), "--format", "json", "--select", "keyart-lima+"]).stdout)
    changed = {s["id"]: s["reasons"] for s in plan["shots"] if s["symbol"] == "~"}
    assert set(changed) == {"keyart-lima", "motion-lima", "hd-lima", "foley-lima"}
    assert any("input motion-lima changes" in r for r in changed["hd-lima"])
    assert run(["apply", str(spec), "--yes", "--select", "keyart-lima+", *POLL]).exit_code == 0
    assert emu.stats["creates_total"] == 13 + 4
    after = digests(out)
    # New pictures down Lima's branch (the emulator's foley is a tone of the prompt: same bytes)
    assert {k for k in before if before[k] != after[k]} == {"keyart-lima/1.png", "motion-lima/1.mp4",
                                                            "hd-lima/1.mp4"}
    tasks_after = task_ids(spec)
    assert {k for k in tasks_before if tasks_before[k] != tasks_after[k]} == {
        "keyart-lima", "motion-lima", "hd-lima", "foley-lima"}

    spec.write_text(text, encoding="utf-8")  # revert: the whole branch comes back for free
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 0
    assert emu.stats["creates_total"] == 13 + 4
    assert digests(out) == before
