"""Money reconciliation: the emulator answers POST /v1/organization/usage as the SDK documents
it (the call shapes of the SDK's own tests: no arguments, both dates, raw and streamed
responses), and `runner usage` compares the state with it — and finds a charge the state
does not know of."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import runwayml


def today() -> date:
    """The UTC day, read when a test has made its tasks (a suite may run across midnight)."""
    return datetime.now(UTC).date()

SPEC = """\
version: 1
name: books
defaults: {model: gen4.5, ratio: "1280:720", duration: 5}
shots:
  - id: "hero-{{ c }}"
    prompt: "a shoe in {{ c }}"
    matrix: {c: [a, b]}
  - id: turntable
    model: gen4_turbo
    image: assets/sneaker.png
    prompt: slow turn
"""


def sdk(url: str) -> runwayml.RunwayML:
    return runwayml.RunwayML(base_url=url, api_key="key_test_only", max_retries=0)


def finish(client: runwayml.RunwayML, task_id: str) -> None:
    for _ in range(2000):  # the emulator's clock runs fast; this bounds the loop, not the time
        if client.tasks.retrieve(task_id).status == "SUCCEEDED":
            return
        time.sleep(0.01)
    raise AssertionError(f"task {task_id} did not succeed")


def test_usage_endpoint_takes_the_sdks_call_shapes(emulator) -> None:
    client = sdk(emulator.base_url)
    empty = client.organization.retrieve_usage()
    assert empty.models == [] and empty.results == []
    task = client.text_to_video.create(model="gen4.5", prompt_text="a shoe", ratio="1280:720", duration=5)
    finish(client, task.id)
    day = today()  # the day the emulator booked the task on
    usage = client.organization.retrieve_usage(before_date=day + timedelta(days=1), start_date=day)
    assert usage.models == ["gen4.5"]
    assert [(r.date, [(u.model, u.amount) for u in r.used_credits]) for r in usage.results] == \
        [(day, [("gen4.5", 60)])]
    raw = client.organization.with_raw_response.retrieve_usage(start_date=day.isoformat())
    assert raw.http_request.headers.get("X-Stainless-Lang") == "python"
    assert raw.parse().results[0].used_credits[0].amount == 60
    with client.organization.with_streaming_response.retrieve_usage(start_date=day) as streamed:
        assert streamed.parse().models == ["gen4.5"]
    assert client.organization.retrieve_usage().results == []  # by default: the 30 days before today
    before = client.organization.retrieve_usage(start_date=day - timedelta(days=10), before_date=day)
    assert before.results == []  # today is not included when beforeDate is today


@pytest.mark.parametrize(("body", "field"), [
    ({"startDate": "2026-13-01"}, "startDate"),
    ({"startDate": "2026-01-10", "beforeDate": "2026-01-10"}, "beforeDate"),
    ({"startDate": "2026-01-01", "beforeDate": "2026-06-01"}, "beforeDate"),
])
def test_usage_endpoint_refuses_bad_windows_like_the_api(emulator, body, field) -> None:
    client = sdk(emulator.base_url)
    with pytest.raises(runwayml.BadRequestError) as caught:
        client.post("/v1/organization/usage", body=body, cast_to=object)
    assert caught.value.body["issues"][0]["path"] == [field]


def test_runner_usage_agrees_after_apply_then_finds_a_planted_charge(api, run, write_spec) -> None:
    emu = api()
    spec = write_spec(SPEC)
    assert run(["apply", str(spec), "--yes"]).exit_code == 0
    day = today()
    agreed = run(["usage", str(spec)])
    assert agreed.exit_code == 0, agreed.stderr
    assert f"  {day.isoformat()}  gen4.5" in agreed.stdout and "agree" in agreed.stdout
    assert "Total: states 145, account 145 credits" in agreed.stdout

    client = sdk(emu.base_url)  # a charge on the same key that no state records
    finish(client, client.text_to_video.create(model="gen4.5", prompt_text="x", ratio="1280:720", duration=4).id)
    found = run(["usage", str(spec)])
    assert found.exit_code == 1
    assert "gen4.5: the states record 120, the account shows 168 (+48)" in found.stderr
    assert "another spec or tool on this API key" in found.stderr
    assert f"{day.isoformat()}  gen4.5" in found.stdout and "+48" in found.stdout
    assert "gen4_turbo" in found.stdout and "+" not in found.stdout.split("gen4_turbo")[1].splitlines()[0]

    as_json = run(["usage", str(spec), "--format", "json", "--since", (day - timedelta(days=3)).isoformat()])
    doc = json.loads(as_json.stdout)
    assert as_json.exit_code == 1 and doc["ok"] is False
    assert doc["differences"] == [{"model": "gen4.5", "state": 120, "account": 168, "difference": 48}]


def test_runner_usage_without_specs_shows_the_account(api, run) -> None:
    emu = api()
    client = sdk(emu.base_url)
    finish(client, client.text_to_video.create(model="gen4.5", prompt_text="x", ratio="1280:720", duration=5).id)
    shown = run(["usage"])
    assert shown.exit_code == 0 and "Total: states 0, account 60 credits" in shown.stdout


@pytest.mark.parametrize(("since", "says"), [("yesterday", "is not a date"),
                                             ((today() + timedelta(days=9)).isoformat(), "in the future")])
def test_runner_usage_bad_since_is_an_error(api, run, since, says) -> None:
    api()
    result = run(["usage", "--since", since])
    assert result.exit_code == 1 and says in result.stderr
