"""Every task endpoint beyond video and text_to_image as a shot kind: upscales, HDR, sound
effects, speech, video-to-audio, voice change, dubbing and isolation. Each kind validates
(errors at file:line:col), plans (priced where a source gives a price, else unpriced and
blocked under a cap), applies on the emulator to a verified file of the right type and
extension, and shows in the report (audio as <audio controls>)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image, ImageChops, ImageStat

from runner.emulator.audio import render_audio
from runner.inputs.media import probe_seconds, verify_output

LINE_SECONDS = 2.0  # assets/line.wav, the spoken line the voice shots work on
CLIP_SECONDS = 4.0  # assets/clip.mp4


def _with_line(spec: Path) -> Path:
    (spec.parent / "assets" / "line.wav").write_bytes(render_audio("a spoken line", LINE_SECONDS, "wav"))
    return spec


# id, model, shot fields, endpoint, output kind, extension, seconds of output (None: an image)
KINDS: list[tuple[str, str, dict[str, Any], str, str, str, float | None]] = [
    ("sfx", "eleven_text_to_sound_v2", {"prompt": "a door slams", "duration": 3}, "sound_effect", "audio", "mp3", 3.0),
    ("rain", "seed_audio", {"prompt": "@Audio1 in the rain", "references": [{"audio": "assets/line.wav"}],
                            "output_format": "ogg_opus"}, "sound_effect", "audio", "ogg", 5.0),
    ("foley", "mirelo_sfx_2_0", {"video": "assets/clip.mp4", "duration": 2.5, "params": {"format": "flac"}},
     "video_to_audio", "audio", "flac", 2.5),
    ("hello", "eleven_v3", {"prompt": "Hello there, friend!", "voice": "Maya"}, "text_to_speech", "audio", "mp3",
     20 / 15),
    ("cloned", "seed_audio", {"prompt": "Hello", "voice": {"audio": "assets/line.wav"}, "output_format": "wav"},
     "text_to_speech", "audio", "wav", 1.0),
    ("dub", "eleven_voice_dubbing", {"audio": "assets/line.wav", "params": {"targetLang": "es"}}, "voice_dubbing",
     "audio", "mp3", LINE_SECONDS),
    ("clean", "eleven_voice_isolation", {"audio": "assets/line.wav"}, "voice_isolation", "audio", "mp3", LINE_SECONDS),
    ("revoice", "eleven_multilingual_sts_v2", {"audio": "assets/line.wav", "voice": "Rachel"}, "speech_to_speech",
     "audio", "mp3", LINE_SECONDS),
    ("revoice-clip", "eleven_multilingual_sts_v2", {"video": "assets/clip.mp4", "voice": "Rachel"},
     "speech_to_speech", "audio", "mp3", CLIP_SECONDS),
    ("big", "magnific_precision_upscaler_v2", {"image": "assets/sneaker.png", "params": {"scaleFactor": 4}},
     "image_upscale", "image", "png", None),
    ("sharp", "magnific_video_upscaler_creative", {"video": "assets/clip.mp4"}, "video_upscale", "video", "mp4",
     CLIP_SECONDS),
    ("smooth", "enhance_frame_rate", {"video": "assets/clip.mp4", "params": {"targetFramerate": "60"}},
     "video_upscale", "video", "mp4", CLIP_SECONDS),
    ("hdr", "ruby", {"video": "assets/clip.mp4"}, "video_to_hdr", "video", "mp4", CLIP_SECONDS),
    ("hdr-mezzanine", "ruby", {"video": "assets/clip.mp4", "output_format": "hdr_prores"}, "video_to_hdr", "video",
     "mov", CLIP_SECONDS),
]
IDS = [k[0] for k in KINDS]


def spec_of(*kinds: tuple[str, str, dict[str, Any], str, str, str, float | None], **top: Any) -> str:
    shots = [{"id": sid, "model": model, **fields} for sid, model, fields, *_ in kinds]
    return yaml.safe_dump({"version": 1, "name": "media", **top, "shots": shots}, sort_keys=False)


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_each_kind_validates_to_its_endpoint(kind, write_spec, run) -> None:
    spec = _with_line(write_spec(spec_of(kind)))
    result = run(["validate", str(spec)])
    assert result.exit_code == 0, result.stderr
    plan = json.loads(run(["plan", str(spec), "--format", "json"]).stdout)
    (shot,) = plan["shots"]
    assert shot["model"] == kind[1]


def test_apply_makes_a_verified_file_of_each_kind(write_spec, run, api, tmp_path: Path) -> None:
    emu = api()
    spec = _with_line(write_spec(spec_of(*KINDS)))
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--format", "json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    state = json.loads(spec.with_name("spec.state.json").read_text())["shots"]
    tasks = emu.emulator.world.tasks
    for sid, _model, _fields, endpoint, kind, ext, seconds in KINDS:
        path = tmp_path / "outputs" / "media" / sid / f"1.{ext}"
        assert state[sid]["takes"][0]["output"] == f"outputs/media/{sid}/1.{ext}", sid
        assert verify_output(path, kind) is None, sid  # type: ignore[arg-type]
        assert tasks[state[sid]["takes"][0]["task_id"]].endpoint == endpoint, sid
        if seconds is not None:
            assert probe_seconds(path) == pytest.approx(seconds, abs=0.05), sid
    # Inputs went up as uploads, in each endpoint's own field.
    bodies = {t.model + ":" + t.endpoint: t.body for t in tasks.values()}
    assert bodies["eleven_voice_dubbing:voice_dubbing"]["audioUri"].startswith("runway://")
    assert bodies["seed_audio:sound_effect"]["referenceAudios"][0].startswith("runway://")
    assert bodies["seed_audio:text_to_speech"]["voice"]["type"] == "reference-audio"
    assert bodies["eleven_v3:text_to_speech"]["voice"] == {"type": "runway-preset", "presetId": "Maya"}
    media = [t.body["media"] for t in tasks.values() if t.endpoint == "speech_to_speech"]
    assert sorted(m["type"] for m in media) == ["audio", "video"]
    # An upscale is its input, scaleFactor (4) times larger: the emulator shows which image it got.
    with Image.open(tmp_path / "assets" / "sneaker.png") as source, \
            Image.open(tmp_path / "outputs" / "media" / "big" / "1.png") as img:
        assert img.size == (source.width * 4, source.height * 4)
        shown = img.convert("RGB").resize(source.size)
        diff = ImageChops.difference(shown, source.convert("RGB"))
        assert sum(ImageStat.Stat(diff).mean) / 3 < 4
    # Nothing changed: the next plan creates nothing.
    assert run(["plan", str(spec), "--detailed-exitcode"]).exit_code == 0
    assert emu.stats["creates_total"] == len(KINDS)


def test_report_plays_audio_and_counts_files_by_kind(write_spec, run, api, tmp_path: Path) -> None:
    api()
    picked = [k for k in KINDS if k[0] in ("sfx", "dub", "big", "hdr")]
    spec = _with_line(write_spec(spec_of(*picked)))
    assert run(["apply", str(spec), "--yes", "--poll-interval", "0.02"]).exit_code == 0
    result = run(["report", str(spec), "-o", str(tmp_path / "report.html")])
    assert result.exit_code == 0, result.stderr
    assert "(1 videos, 1 images, 2 audio)" in result.stdout
    page = (tmp_path / "report.html").read_text()
    assert '<audio controls preload=metadata src="outputs/media/sfx/1.mp3"></audio>' in page
    assert '<img src="outputs/media/big/1.png"' in page
    assert page.count("<video") == 1 and "media-src 'self' file:" in page


# Each bad shot as written in a spec (line 4 is "- id: x"), and where and what the error says.
BAD = [
    pytest.param("model: mirelo_sfx_2_0\n  prompt: boom\n  duration: 2\n  params: {numVariants: 3}",
                 "8:25: shot x: params.numVariants: a take is one file: leave numVariants out and use takes: N",
                 id="several-variants"),
    pytest.param("model: eleven_v3\n  prompt: hi",
                 "5:10: shot x: model: eleven_v3 has no text mode; it supports: speech; add voice:",
                 id="speech-without-voice"),
    pytest.param("model: eleven_v3\n  prompt: hi\n  voice: Mayaa",
                 "7:10: shot x: voice: 'Mayaa' is not available for eleven_v3 speech mode", id="unknown-preset"),
    pytest.param("model: seed_audio\n  prompt: hi\n  voice: Maya",
                 "7:10: shot x: voice: seed_audio speech mode takes a reference clip: voice: {audio: <file>}",
                 id="preset-on-seed-audio"),
    pytest.param("model: eleven_voice_isolation\n  audio: assets/sneaker.png",
                 "6:10: shot x: audio: 'assets/sneaker.png' is not an audio file", id="image-as-audio"),
    pytest.param("model: eleven_voice_dubbing\n  audio: assets/line.wav",
                 "4:3: shot x: params.targetLang: eleven_voice_dubbing audio mode needs params.targetLang (one of en,",
                 id="dubbing-without-language"),
    pytest.param("model: eleven_multilingual_sts_v2\n  audio: assets/line.wav\n  video: assets/clip.mp4\n  voice: Maya",
                 "6:3: shot x: audio: an audio input (audio mode) takes no video", id="audio-and-video"),
    pytest.param("model: eleven_text_to_sound_v2\n  prompt: boom\n  duration: 45",
                 "7:13: shot x: duration: must be 0.5–30 seconds", id="sound-too-long"),
    pytest.param("model: seed_audio\n  prompt: x\n  references: [{audio: a.wav}, {audio: a.wav}, {audio: a.wav},"
                 " {audio: a.wav}]",
                 "7:15: shot x: references: seed_audio takes up to three reference audio clips",
                 id="four-reference-clips"),
    pytest.param("model: magnific_precision_upscaler_v2\n  image: assets/sneaker.png\n  params: {scaleFactor: 3}",
                 "7:25: shot x: params.scaleFactor: 3 is not available for magnific_precision_upscaler_v2 image mode; "
                 "choose 2, 4, 8 or 16", id="scale-factor"),
    pytest.param("model: ruby\n  prompt: make it pop",
                 "5:10: shot x: model: ruby has no text mode; it supports: video; add video: (the file to work on)",
                 id="hdr-without-video"),
    pytest.param("model: gen4.5\n  prompt: a fox\n  voice: Maya",
                 "5:10: shot x: model: gen4.5 has no speech mode; it supports: text, image; voice is for speech models",
                 id="voice-on-a-video-model"),
]


@pytest.mark.parametrize(("shot", "where_what"), BAD)
def test_a_bad_media_shot_is_refused_at_its_line(shot: str, where_what: str, write_spec, run) -> None:
    spec = _with_line(write_spec(f"version: 1\nname: media\nshots:\n- id: x\n  {shot}\n"))
    (spec.parent / "a.wav").write_bytes((spec.parent / "assets" / "line.wav").read_bytes())
    result = run(["validate", str(spec)])
    assert result.exit_code == 1
    assert f"spec.yaml:{where_what}" in result.stderr, result.stderr


def test_hdr_is_priced_per_second_of_the_input_clip(write_spec, run) -> None:
    hdr = [k for k in KINDS if k[1] == "ruby"]
    spec = write_spec(spec_of(*hdr))
    plan = json.loads(run(["plan", str(spec), "--format", "json"]).stdout)
    # ruby: 20 credits per second of output (the SDK docstring), every HDR profile alike; 4 s clip.
    assert {s["id"]: s["credits"] for s in plan["shots"]} == {"hdr": 80, "hdr-mezzanine": 80}


def test_unpriced_kinds_are_blocked_under_a_cap_until_a_price_file_prices_their_unit(write_spec, run,
                                                                                    tmp_path: Path) -> None:
    picked = [k for k in KINDS if k[0] in ("hello", "smooth", "big")]
    spec = _with_line(write_spec(spec_of(*picked, budget={"max_credits": 100})))
    result = run(["plan", str(spec)])
    assert result.exit_code == 1
    assert "(eleven_v3: {credits_per_character: N})" in result.stderr
    assert "(enhance_frame_rate: {credits_per_second: N})" in result.stderr
    assert "(magnific_precision_upscaler_v2: {credits_per_image: N})" in result.stderr
    prices = tmp_path / "prices.yaml"
    prices.write_text("eleven_v3: {credits_per_character: 0.5}\nenhance_frame_rate: {credits_per_second: 3}\n"
                      "magnific_precision_upscaler_v2: {credits_per_image: 7}\n")
    priced = run(["plan", str(spec), "--prices", str(prices), "--format", "json"])
    assert priced.exit_code == 0, priced.stderr
    # 20 characters x 0.5; 4 s of video in (the probed clip) x 3; one image x 7.
    assert {s["id"]: s["credits"] for s in json.loads(priced.stdout)["shots"]} == {"hello": 10, "smooth": 12, "big": 7}


@pytest.mark.parametrize(("sid", "charged"), [("hello", 2), ("sharp", 40), ("big", 10), ("foley", 25)])
def test_unpriced_kinds_are_not_free_on_the_emulator(sid: str, charged: int, write_spec, run, api) -> None:
    # The emulator's flat defaults: 10 credits per second or per image, 0.1 per character
    # (20 characters: 2 credits); the runner reports what was charged.
    emu = api(video_max_side=64)
    spec = _with_line(write_spec(spec_of(*[k for k in KINDS if k[0] == sid])))
    assert json.loads(run(["plan", str(spec), "--format", "json"]).stdout)["shots"][0]["credits"] is None
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02", "--format", "json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert emu.stats["credits_charged"] == json.loads(result.stdout)["credits"]["charged"] == charged


def test_models_lists_each_kind_with_its_endpoint_and_price_unit(run) -> None:
    doc = {m["model"]: m for m in json.loads(run(["models", "--format", "json"]).stdout)}
    modes = {m["mode"]: (m["endpoint"], m["output"], m["price_unit"]) for m in doc["seed_audio"]["modes"]}
    assert modes == {"text": ("sound_effect", "audio", "second"), "reference": ("sound_effect", "audio", "second"),
                     "speech": ("text_to_speech", "audio", "character")}
    assert doc["ruby"]["kind"] == "video" and doc["ruby"]["pricing"]["credits_per_second"] == 20
    assert doc["magnific_precision_upscaler_v2"]["modes"][0]["price_unit"] == "image"
    table = run(["models"]).stdout
    assert "text_to_speech (per character)" in table and "image_upscale (per image)" in table


def test_media_inputs_of_every_new_endpoint_get_the_url_policy_before_anything_is_sent(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec("""
        version: 1
        name: media
        shots:
          - id: cloned
            model: seed_audio
            prompt: "hello"
            voice: {audio: "https://169.254.169.254/latest/voice.mp3"}
          - id: dub
            model: eleven_voice_dubbing
            audio: "https://10.0.0.7/line.mp3"
            params: {targetLang: es}
          - id: rain
            model: seed_audio
            prompt: "rain"
            references: [{audio: "http://example.com/rain.mp3"}]
        """)
    result = run(["apply", str(spec), "--yes", "--poll-interval", "0.02"])
    assert result.exit_code == 1
    assert "spec.yaml:7:20: shot cloned: voice.audio: IP address 169.254.169.254" in result.stderr
    assert "spec.yaml:10:12: shot dub: audio: IP address 10.0.0.7" in result.stderr
    assert "spec.yaml:15:26: shot rain: references[0].audio: http URLs are not allowed" in result.stderr
    assert emu.stats["creates_total"] == 0 and emu.stats["requests"] == {}


def _video_only(tmp_path: Path) -> bytes:
    from runner.emulator.media import render_video

    return render_video("silent", "1280:720", 1, fps=4, max_side=64)


BAD_AUDIO = [
    pytest.param(lambda _: b"<html>Access denied</html>", "", "not readable audio", id="an-error-page"),
    pytest.param(lambda _: render_audio("x", 2, "mp3")[:300], "", "", id="truncated-mp3"),
    pytest.param(_video_only, "", "has no audio stream", id="a-video-without-sound"),
    pytest.param(lambda _: render_audio("x", 1, "wav"), "text/html", "unexpected content type 'text/html'",
                 id="html-type"),
]


@pytest.mark.parametrize(("data", "ctype", "why"), BAD_AUDIO)
def test_an_audio_output_that_is_not_plausible_audio_is_refused(data, ctype: str, why: str, tmp_path: Path) -> None:
    path = tmp_path / "download"
    path.write_bytes(data(tmp_path))
    problem = verify_output(path, "audio", content_type=ctype, suffix=".mp3")
    assert problem is not None and why in problem


def test_a_sound_whose_length_the_model_picks_is_priced_at_its_longest(write_spec, run, tmp_path: Path) -> None:
    """eleven_text_to_sound_v2 without duration makes 0.5-30 s: with a price, the plan counts
    30 s as an upper bound, so a budget cap holds whatever length the model picks."""
    spec = write_spec("version: 1\nname: s\nbudget: {max_credits: 100}\nshots:\n"
                      "  - {id: bed, model: eleven_text_to_sound_v2, prompt: 'a warm pad'}\n")
    prices = tmp_path / "prices.yaml"
    prices.write_text("eleven_text_to_sound_v2: {credits_per_second: 2}\n")
    plan = run(["plan", str(spec), "--prices", str(prices), "--format", "json"])
    assert plan.exit_code == 0, plan.stderr
    (shot,) = json.loads(plan.stdout)["shots"]
    assert shot["credits"] == 60 and shot["upper_bound"] is True
    prices.write_text("eleven_text_to_sound_v2: {credits_per_second: 4}\n")  # 120 > the cap of 100
    over = run(["plan", str(spec), "--prices", str(prices)])
    assert over.exit_code == 1 and "Over budget" in over.stdout + over.stderr
