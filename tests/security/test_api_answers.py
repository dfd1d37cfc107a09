"""Hostile API answers (the emulator's hostile mode): every case ends the run with exit 1 and a
clear message, and nothing paid is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from attack_kit import TEXT_SPEC, apply_text, journal_of, spec_with_image

# --- Hostile API answers ---------------------------------------------------------------------
# The emulator's hostile mode (runner/emulator/hostile.py) answers as a broken or compromised
# API would; `configure(hostile=False)` makes the same tasks answer as a healthy API. Every
# case ends the run with exit 1 and a clear message, and nothing paid is lost: once the API
# behaves, the next apply finishes the task without creating it again.

def finishes_once_healthy(run, emu, spec: Path, tmp_path: Path) -> None:
    emu.configure(hostile=False)
    again = apply_text(run, spec)
    assert again.exit_code == 0, again.stdout + again.stderr
    assert emu.stats["creates_total"] == 1  # the paid task was finished, not created again
    assert (tmp_path / "outputs" / "t" / "a" / "1.mp4").is_file()
    assert journal_of(tmp_path) == []


BAD_CREATE_IDS = ["id-traversal", "id-absolute", "id-query", "id-crlf", "id-newline", "id-uppercase", "id-number",
                  "id-null", "id-empty", "id-long", "id-missing", "not-an-object"]


@pytest.mark.parametrize("answer", BAD_CREATE_IDS)
def test_a_create_answered_with_an_id_that_is_not_one_is_journaled_and_never_polled(answer: str, write_spec, run,
                                                                                    api, tmp_path) -> None:
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt=f"x [[create:{answer}]]"))
    result = apply_text(run, spec)
    assert result.exit_code == 1, result.stderr
    assert "the API answered a create with" in result.stdout
    assert "may have been created; check the dashboard" in result.stdout
    assert "\r" not in result.stdout and "a" * 100 not in result.stdout  # the bogus id is not echoed raw
    (intent,) = journal_of(tmp_path)
    assert intent["task_id"] is None  # "may have been created": never created again silently
    requests = emu.stats["requests"]
    assert set(requests) == {"GET /v1/organization", "POST /v1/text_to_video"}  # no bogus URL was read
    assert requests["GET /v1/organization"] == 1
    emu.configure(hostile=False)
    again = apply_text(run, spec)  # reported again, not created again
    assert again.exit_code == 1 and "may have been created" in again.stdout
    assert emu.stats["creates_total"] == 1


@pytest.mark.parametrize("answer", ["estimate-text", "estimate-string", "estimate-negative", "estimate-huge"])
def test_a_create_with_a_malformed_estimate_is_polled_and_paid_once(answer: str, write_spec, run, api,
                                                                   tmp_path) -> None:
    # The id is journaled first; an estimate that cannot be one is only a warning: the task is
    # paid, so it is polled and its output kept, and its own reported cost is what is recorded.
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt=f"x [[create:{answer}]]"))
    result = apply_text(run, spec)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "with estimatedCost" in result.stderr and "which is not a credit count" in result.stderr
    assert journal_of(tmp_path) == [] and emu.stats["creates_total"] == 1


TASK_ANSWERS = [
    ("cost-text", "does not document"),
    ("cost-string", "does not document"),
    ("estimate-text", "does not document"),
    ("status-missing", "does not document"),
    ("status-lowercase", "does not document"),
    ("other-task", 'the answer is about task "00000000-0000-4000-8000-000000000000"'),
    ("output-crlf", "contains control characters or spaces"),
    ("output-tab", "contains control characters or spaces"),
    ("output-nul", "contains control characters or spaces"),
    ("output-not-a-list", "does not document"),
    # JSON true is not a number: the SDK's models read {"credits": true} as a cost of 1
    ("cost-bool", "does not document (cost.credits is true or false, not a number)"),
    ("estimate-bool", "does not document (estimatedCost.credits is true or false, not a number)"),
]


@pytest.mark.parametrize(("answer", "fragment"), TASK_ANSWERS, ids=[c[0] for c in TASK_ANSWERS])
def test_a_malformed_task_answer_keeps_the_paid_task(answer: str, fragment: str, write_spec, run, api,
                                                     tmp_path) -> None:
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt=f"x [[task:{answer}]]"))
    result = apply_text(run, spec)
    assert result.exit_code == 1, result.stderr
    assert fragment in result.stdout and "stays in the journal" in result.stdout
    assert "\r\n" not in result.stdout and "\x00" not in result.stdout
    (entry,) = journal_of(tmp_path)
    assert entry["task_id"]
    assert emu.stats["downloads"] == 0
    finishes_once_healthy(run, emu, spec, tmp_path)


@pytest.mark.parametrize("answer", ["cost-negative", "cost-huge"])
def test_a_task_cost_that_cannot_be_a_charge_is_recorded_as_unknown(answer: str, write_spec, run, api,
                                                                    tmp_path) -> None:
    # A number no task can cost (below 0, above 10^8 credits): the paid output is kept, the
    # charge is the table's figure, marked so (never negative, never absurd), and apply says so.
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt=f"x [[task:{answer}]]"))
    result = apply_text(run, spec)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "which cannot be a charge; the price table's figure is recorded instead" in result.stdout + result.stderr
    take = json.loads((tmp_path / "spec.state.json").read_text())["shots"]["a"]["takes"][0]
    assert (take["credits"], take["credits_from"]) == (60, "table") and emu.stats["creates_total"] == 1


@pytest.mark.parametrize("answer", ["never-finish", "status-unknown"])
def test_a_task_that_never_finishes_ends_apply_at_its_deadline(answer: str, write_spec, run, api, tmp_path) -> None:
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt=f"x [[task:{answer}]]"))
    result = apply_text(run, spec, "--task-timeout", "0.5")
    assert result.exit_code == 1, result.stderr
    (entry,) = journal_of(tmp_path)
    task_id = entry["task_id"]
    assert "unknown: a #1: " in result.stdout and f"the outcome of task {task_id} is unknown" in result.stdout
    if answer == "never-finish":
        assert f"task {task_id} did not finish within 0.5 s (--task-timeout)" in result.stdout
    assert "it is never created again" in result.stdout
    again = apply_text(run, spec, "--task-timeout", "0.5")  # still hostile: resumed, times out again, no create
    assert again.exit_code == 1 and emu.stats["creates_total"] == 1
    finishes_once_healthy(run, emu, spec, tmp_path)


@pytest.mark.parametrize("answer", ["balance-text", "tier-missing", "not-an-object", "balance-bool"])
def test_a_malformed_organization_answer_stops_before_any_create(answer: str, write_spec, run, api) -> None:
    emu = api(broken_organization=answer)
    result = apply_text(run, write_spec(TEXT_SPEC.format(prompt="x")))
    assert result.exit_code == 1
    assert "error: the API answered GET /v1/organization with something it does not document" in result.stderr
    assert emu.stats["creates_total"] == 0


UPLOAD_ANSWERS = [
    ("uri-missing", "runwayUri null, which is not a runway:// URI"),
    ("uri-number", "runwayUri 7, which is not a runway:// URI"),
    ("fields-text", 'fields "none", which are not form fields'),
    ("url-internal", "refusing to upload to the storage URL the API answered with: http URLs are not allowed"),
    ("url-other-port", "refusing to upload to the storage URL the API answered with: http URLs are not allowed"),
    ("url-crlf", "contains control characters or spaces"),
]


@pytest.mark.parametrize(("answer", "fragment"), UPLOAD_ANSWERS, ids=[c[0] for c in UPLOAD_ANSWERS])
def test_a_malformed_upload_answer_fails_the_shot_before_its_create(answer: str, fragment: str, write_spec, run,
                                                                    api) -> None:
    emu = api(broken_upload=answer)
    result = apply_text(run, write_spec(spec_with_image("assets/sneaker.png")))
    assert result.exit_code == 1, result.stderr
    assert "uploading an input failed" in result.stdout and fragment in result.stdout
    assert "nothing was created" in result.stdout
    assert emu.stats["creates_total"] == 0
    assert emu.stats["uploads"] == 1 and not any(u for u in emu.emulator.world.uploads.values() if u["complete"])


# --- Answers nested past any parser's depth ---------------------------------------------------
# A JSON answer nested 100,000 levels (200 KB) made the SDK's parser, or our walk of its
# result, raise RecursionError: exit 3 mid-apply. Every answer is now parsed by the one
# bounded parser (runner/bounded.py parse_json) before the SDK's models see it.

def test_a_task_answer_nested_too_deeply_keeps_the_paid_task(write_spec, run, api, tmp_path) -> None:
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt="x [[task:deep]]"))
    result = apply_text(run, spec)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "internal error" not in result.stderr
    assert "does not document (nested too deeply (more than 100 levels))" in result.stdout
    assert "stays in the journal" in result.stdout
    (entry,) = journal_of(tmp_path)
    assert entry["task_id"]
    finishes_once_healthy(run, emu, spec, tmp_path)


def test_a_create_answer_nested_too_deeply_is_journaled_as_maybe_created(write_spec, run, api, tmp_path) -> None:
    emu = api()
    result = apply_text(run, write_spec(TEXT_SPEC.format(prompt="x [[create:deep]]")))
    assert result.exit_code == 1 and "internal error" not in result.stderr
    assert "the API answered a create with something that is not JSON runner accepts (nested too deeply" \
        in result.stdout
    assert "may have been created" in result.stdout
    (intent,) = journal_of(tmp_path)
    assert intent["task_id"] is None and emu.stats["creates_total"] == 1


def test_an_organization_answer_nested_too_deeply_stops_before_any_create(write_spec, run, api) -> None:
    emu = api(broken_organization="deep")
    result = apply_text(run, write_spec(TEXT_SPEC.format(prompt="x")))
    assert result.exit_code == 1 and "internal error" not in result.stderr
    assert "error: the API answered GET /v1/organization with something it does not document (nested too " \
           "deeply" in result.stderr
    assert emu.stats["creates_total"] == 0


def test_an_upload_answer_nested_too_deeply_fails_the_shot_before_its_create(write_spec, run, api) -> None:
    emu = api(broken_upload="deep")
    result = apply_text(run, write_spec(spec_with_image("assets/sneaker.png")))
    assert result.exit_code == 1 and "internal error" not in result.stderr
    assert "nested too deeply" in result.stdout and "nothing was created" in result.stdout
    assert emu.stats["creates_total"] == 0


def test_a_usage_answer_nested_too_deeply_is_an_api_error(run, api) -> None:
    api(broken_usage="deep")
    result = run(["usage"])
    assert result.exit_code == 1 and "internal error" not in result.stderr, result.stderr
    assert "error: the API answered POST /v1/organization/usage with something it does not document (nested " \
           "too deeply" in result.stderr


def test_a_usage_amount_that_is_a_boolean_is_not_a_credit(run, api) -> None:
    api(broken_usage="amount-bool")
    result = run(["usage", "--since", "2025-12-01"])
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "does not document (results[0].usedCredits[0].amount is true or false, not a number)" in result.stderr
