"""The integration guide's forms reach the API as the installed SDK documents them (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

from runner.emulator import HookEvent

POLL = ["--poll-interval", "0.02"]


def test_guide_image_reference_form_arrives_as_promptimage_items_without_position(write_spec, run, api) -> None:
    emu = api()
    bodies: list[dict] = []
    emu.on("create", lambda event: bodies.append(dict(event.body)) if isinstance(event, HookEvent) else None)
    spec = write_spec("""
        version: 1
        name: t
        shots:
          - id: styled
            model: seedance2
            image: assets/day.png
            references: [{image: assets/night.png}, {image: assets/hero.png}]
            prompt: the cabin at dusk
            duration: 4
    """)
    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 0, result.stderr
    assert len(bodies) == 1
    body = bodies[0]
    images = body["promptImage"]
    # The SDK's reference-image mode: a list of {uri} items, no position, image first; no `references` key.
    assert [sorted(item) for item in images] == [["uri"], ["uri"], ["uri"]]
    assert all(item["uri"].startswith("runway://") for item in images)
    assert len({item["uri"] for item in images}) == 3
    assert "references" not in body
    assert {k: body[k] for k in ("model", "promptText", "duration")} == {
        "model": "seedance2", "promptText": "the cabin at dusk", "duration": 4}
    assert (Path(spec).parent / "outputs" / "t" / "styled" / "1.mp4").is_file()


def test_keyframes_with_references_are_refused_at_the_references_line(write_spec, run) -> None:
    spec = write_spec("""
        version: 1
        name: t
        shots:
          - id: a
            model: seedance2
            frames: {first: assets/day.png}
            references:
              - image: assets/night.png
    """)
    result = run(["validate", str(spec)])
    assert result.exit_code == 1
    assert "spec.yaml:7:5: shot a: references: references cannot be combined with frames" in result.stderr


def test_every_problem_of_every_stage_in_one_validate(write_spec, run) -> None:
    spec = write_spec("""
        version: 1
        name: t
        vars: {product: shoe}
        shots:
          - id: a
            model: gen4.5
            promt: "a {{ product }}"
          - id: b
            model: gen45
            prompt: "a {{ prodct }}"
          - id: c
            model: gen4.5
            prompt: "a {{ product }}"
            ratio: '1280:720'
            duration: 12
    """)
    result = run(["validate", str(spec), "--format", "json"])
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [(p["line"], p["column"], p["shot"], p["field"]) for p in problems] == [
        (7, 5, "a", "promt"), (9, 12, "b", "model"), (10, 13, "b", "prompt"), (15, 15, "c", "duration")]
    assert "unknown field 'promt' (did you mean 'prompt'?)" in problems[0]["message"]
    assert "unknown model 'gen45'" in problems[1]["message"]
    assert "undefined variable 'prodct'" in problems[2]["message"]
    assert "12 is above gen4.5 text mode's maximum of 10 seconds" in problems[3]["message"]


def test_seedance2_video_to_video_is_priced_by_the_requested_duration(write_spec, run) -> None:
    spec = write_spec("""
        version: 1
        name: t
        shots:
          - id: six
            model: seedance2
            video: assets/clip.mp4
            prompt: make it snow
            duration: 6
          - id: default
            model: seedance2
            video: assets/clip.mp4
            prompt: make it rain
    """)
    result = run(["plan", str(spec), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    credits = {s["id"]: s["credits"] for s in json.loads(result.stdout)["shots"]}
    assert credits == {"six": 6 * 36, "default": 5 * 36}  # clip.mp4 is 4 s: its length is not what is billed


def _one_text_shot(write_spec, prompt: str):
    return write_spec(f"""
        version: 1
        name: t
        shots:
          - id: a
            model: gen4.5
            prompt: "{prompt}"
            ratio: '1280:720'
            duration: 4
    """)


def test_an_asset_failure_of_a_text_only_shot_does_not_blame_an_input_file(write_spec, run, api) -> None:
    emu = api()
    spec = _one_text_shot(write_spec, "x [[fail:ASSET.INVALID]]")
    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 1
    assert "ASSET.INVALID: the API reported an asset problem" in result.stdout
    assert "fix the input file" not in result.stdout + result.stderr
    plan = run(["plan", str(spec)])  # not blocked: there is no input to fix, so it is tried again
    assert plan.exit_code == 0 and "take 1 failed last time: ASSET.INVALID" in plan.stdout
    assert "  ~ a " in plan.stdout and "  ! a " not in plan.stdout
    assert emu.stats["creates_total"] == 1


def test_a_refused_shot_shows_its_code_and_reason_in_plan_and_report(write_spec, run, api) -> None:
    api()
    spec = _one_text_shot(write_spec, "bad [[fail:SAFETY.INPUT.TEXT]]")
    assert run(["apply", str(spec), "--yes", *POLL]).exit_code == 1
    plan = run(["plan", str(spec)])
    assert "SAFETY.INPUT.TEXT last time" in plan.stdout
    assert run(["report", str(spec)]).exit_code == 0
    page = spec.with_name("spec.report.html").read_text()
    assert "SAFETY.INPUT.TEXT: refused by content moderation" in page
    assert "<span class=status-failed>failed</span>" in page and ">not generated<" not in page


def test_a_create_the_api_refuses_is_remembered_with_its_reason(write_spec, run, api) -> None:
    emu = api()
    spec = write_spec("""
        version: 1
        name: t
        shots:
          - id: a
            model: gen4_turbo
            image: runway://gone/abc.png
            prompt: x
            ratio: '1280:720'
            duration: 4
    """)
    result = run(["apply", str(spec), "--yes", *POLL])
    assert result.exit_code == 1
    said = result.stdout + result.stderr
    assert said.lower().count("upload not found or expired") == 1
    assert "uploading again" not in said and "expire after 24 h" in said
    plan = run(["plan", str(spec)])
    assert "take 1 failed last time: REJECTED:" in plan.stdout and "Upload not found or expired" in plan.stdout
    assert run(["report", str(spec)]).exit_code == 0
    page = spec.with_name("spec.report.html").read_text()
    assert "<span class=status-failed>failed</span>" in page and "REJECTED" in page
    assert ">partial<" not in page and "0 of 1 takes" not in page
    assert emu.stats["creates_total"] == 0


def test_legacy_model_warnings_are_in_the_markdown_plan(write_spec, run) -> None:
    spec = write_spec("""
        version: 1
        name: t
        shots:
          - id: a
            model: gen4_aleph
            video: assets/clip.mp4
            prompt: make it snow
    """)
    result = run(["plan", str(spec), "--format", "markdown"])
    assert result.exit_code == 0, result.stderr
    assert "spec.yaml:5:12: shot a: model: gen4_aleph is a legacy model; switch to aleph2  \n" in result.stdout
    assert "⚠️ warning: " in result.stdout


def test_a_model_files_own_data_uri_and_url_limits_are_applied(tmp_path: Path) -> None:
    """A model file may state a smaller data-URI size or URL length than the API-wide ones
    the inputs layer applies; inputlimits reads them from the file."""
    import base64
    import dataclasses

    from runner.catalog.models import catalog
    from runner.spec.compile import compile_request
    from runner.spec.inputlimits import limit_problems

    info = catalog()["gen4_turbo"]
    small = dataclasses.replace(info, limits={**info.limits, "fields": {}, "data_uri_bytes": 1024, "url_chars": 40})
    png = (Path(__file__).parent.parent / "specs" / "assets" / "sneaker.png").read_bytes()
    data = "data:image/png;base64," + base64.b64encode(png).decode()
    fields = {"image": data, "prompt": "x", "ratio": "1280:720", "duration": 5}
    request, origins = compile_request(small, "image", fields)
    [problem] = limit_problems(small, request, origins, tmp_path)
    assert problem.field == "image"
    assert problem.message == (f"the data URI holds about {len(png) / 1024:.1f} KB; gen4_turbo image mode takes "
                               "data URIs of at most 1.0 KB: use a local file (it is uploaded)")
    assert list(limit_problems(info, request, origins, tmp_path)) == []  # 5 MB: fine
    url = "https://example.com/" + "a" * 40 + ".png"
    request, origins = compile_request(small, "image", {**fields, "image": url})
    [problem] = limit_problems(small, request, origins, tmp_path)
    assert problem.message == f"the URL is {len(url)} characters; gen4_turbo image mode takes at most 40"
