"""A tampered state file or saved plan is refused with its JSON path before anything in it is
used."""

from __future__ import annotations

import json

import pytest
from attack_kit import TEXT_SPEC

# --- A tampered state file or plan file -------------------------------------------------------
# The state file is committed to git and a saved plan is handed from job to job: a pull
# request can edit either. Each is validated against its schema (schema/state.schema.json,
# schema/plan.schema.json) before anything in it is used.

TASK = "0c6e7bd4-7a7d-4d6c-9f0e-2d1e6f3a9b10"


def valid_state() -> dict:
    take = {"take": 1, "fingerprint": "b" * 64, "output": "outputs/t/a/1.mp4", "sha256": "c" * 64, "bytes": 3,
            "credits": 60, "task_id": TASK, "finished": "2026-01-01T00:00:00Z", "source": "api"}
    pending = {"take": 2, "fingerprint": "d" * 64, "task_id": TASK, "created": "2026-01-01T00:00:00Z",
               "attempt": 1, "estimated": 60}
    return {"format": 1, "shots": {"a": {"fingerprint": "a" * 64, "model": "gen4.5", "mode": "text",
                                         "request": {"promptText": "x"}, "takes": [take], "pending": [pending]}}}


def _set(doc: dict, path: tuple, value) -> dict:
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


DELETE = object()
SHOT = ("shots", "a")
STATE_TAMPERING = [
    ("shots-a-list", ("shots",), [], '$.shots: [] is a list; expected an object'),
    ("document-null", None, "null", "$: null; expected an object"),
    ("take-a-string", (*SHOT, "takes", 0, "take"), "1", '$.shots.a.takes[0].take: "1" is a string; expected a whole'),
    ("missing-fingerprint", (*SHOT, "fingerprint"), DELETE, '$.shots.a: missing field "fingerprint"'),
    ("takes-null", (*SHOT, "takes"), None, "$.shots.a.takes: null; expected a list"),
    ("request-a-list", (*SHOT, "request"), [], "$.shots.a.request: [] is a list; expected an object"),
    ("huge-bytes", (*SHOT, "takes", 0, "bytes"), 10**30,
     "$.shots.a.takes[0].bytes: 1000000000000000000000000000000 is above the maximum"),
    ("negative-credits", (*SHOT, "takes", 0, "credits"), -5, "$.shots.a.takes[0].credits: -5 is below the minimum"),
    ("float-take", (*SHOT, "takes", 0, "take"), 1.5, "$.shots.a.takes[0].take: 1.5 is a number; expected a whole"),
    ("bool-take", (*SHOT, "pending", 0, "take"), True, "$.shots.a.pending[0].take: true is a boolean; expected a"),
    ("unknown-field", (*SHOT, "takes", 0, "shell"), "rm -rf", '$.shots.a.takes[0]: unknown field "shell"'),
    ("bad-sha256", (*SHOT, "takes", 0, "sha256"), "zz", '$.shots.a.takes[0].sha256: "zz" is not a sha256'),
    ("bad-mode", (*SHOT, "mode"), "telepathy", '$.shots.a.mode: "telepathy" is not one of "text"'),
    ("shot-id-traversal", ("shots", "../../etc"), {}, '$.shots["../../etc"]: "../../etc" is not a shot id'),
    ("model-newline", (*SHOT, "model"), "gen4.5\n", '$.shots.a.model: "gen4.5\\n" is not a model name'),
    ("journal-id-traversal", (*SHOT, "pending", 0, "task_id"), "../organization",
     '$.shots.a.pending[0].task_id: "../organization" is not a Runway task id'),
    ("journal-id-absolute", (*SHOT, "pending", 0, "task_id"), "/v1/organization",
     '$.shots.a.pending[0].task_id: "/v1/organization" is not a Runway task id'),
    ("journal-id-crlf", (*SHOT, "pending", 0, "task_id"), TASK + "\r\nX: 1",
     f'$.shots.a.pending[0].task_id: "{TASK}\\r\\nX: 1" is not a Runway task id'),
    ("journal-id-newline", (*SHOT, "pending", 0, "task_id"), TASK + "\n",
     f'$.shots.a.pending[0].task_id: "{TASK}\\n" is not a Runway task id'),
    ("journal-id-uppercase", (*SHOT, "pending", 0, "task_id"), TASK.upper(),
     f'$.shots.a.pending[0].task_id: "{TASK.upper()}" is not a Runway task id'),
    ("journal-id-number", (*SHOT, "pending", 0, "task_id"), 7,
     "$.shots.a.pending[0].task_id: 7 is a whole number; expected a string (or null)"),
    ("take-id-query", (*SHOT, "takes", 0, "task_id"), TASK + "?x=1",
     f'$.shots.a.takes[0].task_id: "{TASK}?x=1" is not a Runway task id'),
    ("failure-a-list", (*SHOT, "failure"), [], "$.shots.a.failure: [] is a list; expected an object or null"),
    ("format-a-string", ("format",), "1", '$.format: "1" is not one of 1'),
]


@pytest.mark.parametrize(("path", "value", "fragment"), [c[1:] for c in STATE_TAMPERING],
                         ids=[c[0] for c in STATE_TAMPERING])
def test_a_tampered_state_file_is_refused_with_its_json_path(path, value, fragment, write_spec, run, api,
                                                             tmp_path) -> None:
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    state = tmp_path / "spec.state.json"
    doc = json.loads(value) if path is None else _set(valid_state(), path, value)
    state.write_text(json.dumps(doc))
    before = state.read_bytes()
    for args in (["plan", str(spec)], ["apply", str(spec), "--yes", "--poll-interval", "0.02"]):
        result = run(args)
        assert result.exit_code == 1, result.stderr
        assert f"error: corrupt state file {state}: {fragment}" in result.stderr
        assert "restore it from git" in result.stderr and "delete the broken entry" in result.stderr
    assert emu.stats["requests"] == {}  # not even GET /v1/organization: nothing reached a URL
    assert state.read_bytes() == before  # never overwritten


def test_the_untampered_state_of_those_tests_is_valid(write_spec, run, tmp_path) -> None:
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    (tmp_path / "spec.state.json").write_text(json.dumps(valid_state()))
    assert run(["plan", str(spec)]).exit_code == 0


STATE_TEXT_TAMPERING = [
    ("nan", '{"format": 1, "shots": {"a": NaN}}', "NaN is not a number runner writes"),
    ("infinity", '{"format": 1, "shots": {}, "x": Infinity}', "Infinity is not a number runner writes"),
    ("overflowing-number", '{"format": 1, "shots": {"a": {"take": 1e999}}}', "1e999 is too large a number"),
    ("deep-nesting", "[" * 100_000, "nested too deeply"),
    ("not-json", "<<<<<<< HEAD\n{}\n=======\n", "not JSON"),
    ("huge-int-literal", '{"format": 1, "shots": {}, "n": ' + "9" * 5000 + "}", "not JSON"),
    ("not-utf8", b"\xff\xfe{}", "not JSON"),
]


@pytest.mark.parametrize(("text", "fragment"), [c[1:] for c in STATE_TEXT_TAMPERING],
                         ids=[c[0] for c in STATE_TEXT_TAMPERING])
def test_a_state_file_that_is_not_json_we_write_is_refused(text, fragment, write_spec, run, tmp_path) -> None:
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    state = tmp_path / "spec.state.json"
    state.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = run(["plan", str(spec)])
    assert result.exit_code == 1, result.stderr
    assert f"error: corrupt state file {state}: $: " in result.stderr and fragment in result.stderr


PLAN_TAMPERING = [
    ("only-a-kind", None, '{"kind": "runner-plan"}', '$: missing field "format"'),
    ("shots-an-object", ("shots",), {}, "$.shots: {} is an object; expected a list"),
    ("spec-missing", ("spec",), DELETE, '$: missing field "spec"'),
    ("spec-path-a-number", ("spec", "path"), 5, "$.spec.path: 5 is a whole number; expected a string"),
    ("spec-sha-not-hex", ("spec", "sha256"), "../x", '$.spec.sha256: "../x" is not a sha256'),
    ("inputs-a-list", ("inputs",), [], "$.inputs: [] is a list; expected an object"),
    ("options-unknown", ("options", "exec"), "sh", '$.options: unknown field "exec"'),
    ("max-credits-text", ("options", "max_credits"), "lots", '$.options.max_credits: "lots" is a string'),
    ("max-credits-negative", ("options", "max_credits"), -1, "$.options.max_credits: -1 is below the minimum"),
    ("select-a-string", ("options", "select"), "*", '$.options.select: "*" is a string; expected a list'),
    ("take-task-id-traversal", ("shots", 0, "takes", 0, "task_id"), "../organization",
     '$.shots[0].takes[0].task_id: "../organization" is not a Runway task id'),
    ("take-fingerprint-null", ("shots", 0, "takes", 0, "fingerprint"), None,
     "$.shots[0].takes[0].fingerprint: null; expected a string"),
    ("shot-id-a-path", ("shots", 0, "id"), "../../etc/passwd", '$.shots[0].id: "../../etc/passwd" is not a shot id'),
    ("format-newer-kind", ("format",), "2", '$.format: "2" is not one of 1'),
]


@pytest.mark.parametrize(("path", "value", "fragment"), [c[1:] for c in PLAN_TAMPERING],
                         ids=[c[0] for c in PLAN_TAMPERING])
def test_a_tampered_saved_plan_is_refused_with_its_json_path(path, value, fragment, write_spec, run, api,
                                                             tmp_path) -> None:
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    plan = tmp_path / "plan.json"
    assert run(["plan", str(spec), "-o", str(plan)]).exit_code == 0
    plan.write_text(value if path is None else json.dumps(_set(json.loads(plan.read_text()), path, value)))
    result = run(["apply", str(plan), "--yes", "--poll-interval", "0.02"])
    assert result.exit_code == 1, result.stderr
    assert f"error: corrupt plan file {plan}: {fragment}" in result.stderr
    assert "make the plan again with `runner plan -o`" in result.stderr
    assert emu.stats["requests"] == {}


@pytest.mark.parametrize("text", ['{"kind": "runner-plan", "x": NaN}', '{"kind": "runner-plan", "x": ' + "[" * 50_000,
                                  '{"kind": "runner-plan", "format": 1e999}'], ids=["nan", "deep", "overflow"])
def test_a_saved_plan_that_is_not_json_we_write_is_refused(text: str, write_spec, run, api, tmp_path) -> None:
    emu = api()
    write_spec(TEXT_SPEC.format(prompt="x"))
    plan = tmp_path / "plan.json"
    plan.write_text(text)
    result = run(["apply", str(plan), "--yes"])
    assert result.exit_code == 1 and result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert emu.stats["requests"] == {}
