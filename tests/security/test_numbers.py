"""Numbers that are not numbers: every option and field refuses NaN, infinity, negatives and
integers beyond the arithmetic with exit 1, before anything is created."""

from __future__ import annotations

import json
import math

import click
import pytest
from attack_kit import ROOT, TEXT_SPEC

from runner.bounded import MAX_EXACT
from runner.cli import main
from runner.cli.options import Number

# --- Options ----------------------------------------------------------------------------------
# click's FloatRange lets nan and inf through (every comparison with NaN is false) and IntRange
# has no upper bound: `--poll-interval nan` paid for the creates and then never polled,
# `--max-output-mb inf` and `--lock-timeout nan` were internal errors. Every numeric option now
# takes runner.cli.options.Number over a runner.bounded.Bound.


def _options() -> list[tuple[str, click.Parameter]]:
    found = []
    stack: list[tuple[str, click.Command]] = [("runner", main)]
    while stack:
        name, command = stack.pop()
        if isinstance(command, click.Group):
            stack.extend((f"{name} {sub}", cmd) for sub, cmd in command.commands.items())
        found += [(name, p) for p in command.params]
    return found


NUMERIC = [(f"{name} {p.opts[0]}", p) for name, p in _options()
           if isinstance(p.type, click.types.IntParamType | click.types.FloatParamType | Number)]


def test_every_numeric_option_takes_a_bounded_number() -> None:
    # A new option with type=int, float, IntRange or FloatRange fails here: give it Number(Bound(...)).
    assert len(NUMERIC) >= 17, [n for n, _ in NUMERIC]
    plain = [name for name, p in NUMERIC if not isinstance(p.type, Number)]
    assert plain == [], f"numeric options without a bound: {plain}"
    for name, p in NUMERIC:
        bound = p.type.bound
        assert math.isfinite(bound.low) and math.isfinite(bound.high) and bound.high <= MAX_EXACT, name


@pytest.mark.parametrize(("name", "param"), NUMERIC, ids=[n for n, _ in NUMERIC])
def test_every_numeric_option_refuses_what_cannot_be_computed_with(name: str, param: click.Parameter) -> None:
    bound = param.type.bound
    refused = ["nan", "NaN", "inf", "-inf", "infinity", "1e400", "9" * 400, "-" + "9" * 400, "abc", "",
               str(bound.high * 2 + 1)]
    if bound.low >= 0:
        refused.append("-1")
    if bound.whole:
        refused += ["1.0", "2.5"]
    for text in refused:
        with pytest.raises(click.BadParameter):
            param.type.convert(text, param, None)
    middle = bound.low + (1 if bound.low_open or bound.whole else 0)
    assert param.type.convert(str(int(middle) if bound.whole else middle), param, None) == middle


APPLY_OPTIONS = [
    ("--max-output-mb", "inf", "inf is not a finite number; give MB above 0, at most 1,048,576"),
    ("--max-output-mb", "nan", "nan is not a finite number"),
    ("--lock-timeout", "nan", "nan is not a finite number; give seconds from 0 to 86,400"),
    ("--poll-interval", "nan", "nan is not a finite number; give seconds from 0.01 to 3,600"),
    ("--poll-interval", "inf", "inf is not a finite number"),
    ("--task-timeout", "inf", "inf is not a finite number"),
    ("--parallelism", "4.0", "4.0 is not a whole number; give a whole number from 1 to 1,000"),
    ("--parallelism", "9" * 40, "is too large a number"),
    ("--retries", "-1", "-1 is negative; give a whole number from 0 to 20"),
    ("--max-credits", "1" + "0" * 400, "is not a finite number"),  # a float of 401 digits is infinite
]


@pytest.mark.parametrize(("option", "value", "fragment"), APPLY_OPTIONS,
                         ids=[f"{o}={v[:8]}" for o, v, _ in APPLY_OPTIONS])
def test_apply_options_that_are_not_numbers_stop_before_anything_is_sent(option, value, fragment, write_spec, run,
                                                                         api, tmp_path) -> None:
    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    result = run(["apply", str(spec), "--yes", f"{option}={value}"])
    assert result.exit_code == 1, result.stderr
    assert f"Invalid value for '{option}': " in result.stderr and fragment in result.stderr
    assert emu.stats["requests"] == {} and not (tmp_path / "spec.state.json").exists()


def test_the_python_api_refuses_the_same_numbers(write_spec, api, tmp_path) -> None:
    import runner
    from runner.errors import RunnerError

    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    for options in ({"poll_interval": math.nan}, {"poll_interval": math.inf}, {"max_output_mb": math.inf},
                    {"lock_timeout": math.nan}, {"parallelism": 4.0}, {"task_timeout": -1.0}, {"retries": 10**400}):
        with pytest.raises(RunnerError, match="nothing was done") as caught:  # (a deadline, should one get through)
            runner.apply(spec, emulator=emu.base_url, **{"task_timeout": 2.0, **options})
        assert f"--{next(iter(options)).replace('_', '-')}: " in str(caught.value)
    assert emu.stats["requests"] == {} and not (tmp_path / "spec.state.json").exists()


# --- Spec fields ------------------------------------------------------------------------------
# JSON Schema's minimum/maximum let NaN through, counts 1.0 as an integer, and most model
# schemas leave seeds and durations unbounded: a 400-digit budget passed validate and crashed
# plan (OverflowError, exit 3), `{from: a, take: 1.0}` crashed it in int("1.0").

BIG = "9" * 400
OK = "    ratio: '1280:720'\n    duration: 5\n"  # what a gen4.5 text shot needs besides the field tried


def spec_text(*, top: str = "", model: str = "gen4.5", fields: str = OK) -> str:
    return f"version: 1\nname: t\n{top}shots:\n  - id: a\n    model: {model}\n    prompt: x\n{fields}"


SPEC_NUMBERS = [
    ("budget-400-digits", dict(top=f"budget: {{max_credits: {BIG}}}\n"), "spec.yaml:3:23: budget.max_credits: ",
     "a number of 400 digits is too large a number"),
    ("budget-above-10-12", dict(top="budget: {max_credits: 10000000000000}\n"), "spec.yaml:3:23: budget.max_credits: ",
     "is above maximum of 1000000000000"),
    ("from-take-float", dict(fields=OK + "  - id: b\n    model: gen4_turbo\n    image: {from: a, take: 1.0}\n"
                             "    prompt: y\n    ratio: '1280:720'\n"), "spec.yaml:11:12: shot b: image: ",
     "must be a whole number, not 1.0"),
    ("params-from-take-float", dict(fields=OK + "  - id: b\n    model: gen4_turbo\n    prompt: y\n    ratio: "
                                    "'1280:720'\n    params: {promptImage: {from: a, take: 1.0}}\n"),
     "shot b: params.promptImage.take: ", "take must be a whole number from 1 to 20, not 1.0"),
    ("seed-float", dict(fields=OK + "    seed: 1.0\n"), "spec.yaml:9:11: shot a: seed: ",
     "must be a whole number, not 1.0"),
    ("seed-negative", dict(fields=OK + "    seed: -1\n"), "spec.yaml:9:11: shot a: seed: ",
     "-1 is below minimum of 0"),
    ("seed-2-32", dict(fields=OK + "    seed: 4294967296\n"), "spec.yaml:9:11: shot a: seed: ",
     "4294967296 is above maximum of 4294967295"),
    ("seed-400-digits", dict(fields=OK + f"    seed: {BIG}\n"), "spec.yaml:9:11: shot a: seed: ",
     "a number of 400 digits is too large a number"),
    ("seed-from-a-template", dict(fields=OK + "    seed: '{{ 10 ** 20 }}'\n"), "spec.yaml:9:11: shot a: seed: ",
     "100000000000000000000 is too large a number"),
    ("seed-in-params", dict(fields=OK + "    params: {seed: 4294967296}\n"), "shot a: params.seed: ",
     "is not a seed: seeds are whole numbers from 0 to 4,294,967,295"),
    ("duration-float-for-a-whole-model", dict(fields="    ratio: '1280:720'\n    duration: 5.0\n"),
     "spec.yaml:8:15: shot a: duration: ", "must be a whole number, not 5.0"),
    ("duration-nan", dict(model="mirelo_sfx_2_0", fields="    duration: .nan\n"), "spec.yaml:7:15: shot a: duration: ",
     "nan is not a finite number"),
    ("duration-400-digits", dict(model="mirelo_sfx_2_0", fields=f"    duration: {BIG}\n"),
     "spec.yaml:7:15: shot a: duration: ", "is too large a number"),
    ("duration-negative", dict(model="mirelo_sfx_2_0", fields="    duration: -5\n"),
     "spec.yaml:7:15: shot a: duration: ", "-5 is less than or equal to the minimum of 0"),
    ("duration-from-a-template", dict(model="gemini_omni_flash_1.1", fields="    duration: '{{ 10 ** 7 }}'\n"),
     "spec.yaml:7:15: shot a: duration: ", "10000000 is not a duration: give seconds above 0 and at most 3,600"),
    ("duration-zero", dict(model="gemini_omni_flash_1.1", fields="    duration: 0\n"),
     "spec.yaml:7:15: shot a: duration: ", "less than or equal to the minimum of 0"),
    ("takes-400-digits", dict(fields=OK + f"    takes: {BIG}\n"), "spec.yaml:9:12: shot a: takes: ",
     "a number of 400 digits is too large a number"),
    ("vars-infinite", dict(top="vars: {n: .inf}\n"), "spec.yaml:3:11: vars.n: ", "inf is not a finite number"),
    ("matrix-nan", dict(fields=OK + "    matrix: {n: [1, .nan]}\n"), "spec.yaml:9:21: shot a: matrix.n[1]: ",
     "nan is not a finite number"),
]


@pytest.mark.parametrize(("fill", "where", "fragment"), [c[1:] for c in SPEC_NUMBERS], ids=[c[0] for c in SPEC_NUMBERS])
def test_spec_numbers_that_cannot_be_computed_with_are_refused_at_their_line(fill, where, fragment, write_spec, run,
                                                                           api) -> None:
    emu = api()
    spec = write_spec(spec_text(**fill))
    for command in (["validate", str(spec)], ["plan", str(spec)], ["apply", str(spec), "--yes"]):
        result = run(command)
        assert result.exit_code == 1, (command, result.stdout + result.stderr)
        assert "internal error" not in result.stderr
        assert where in result.stderr and fragment in result.stderr, result.stderr
        assert BIG not in result.stderr  # a 400-digit number is not echoed whole
    assert emu.stats["requests"] == {}


def _numeric_schemas(node: object, path: str = "$") -> list[tuple[str, dict]]:
    found = []
    if isinstance(node, dict):
        kinds = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
        if "integer" in kinds or "number" in kinds:
            found.append((path, node))
        for key, value in node.items():
            found += _numeric_schemas(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _numeric_schemas(value, f"{path}[{i}]")
    return found


@pytest.mark.parametrize("name", ["spec.schema.json", "state.schema.json", "plan.schema.json"])
def test_every_number_in_our_schemas_is_bounded(name: str) -> None:
    # A new numeric field without a minimum and a maximum fails here. (Exceptions: takes and a
    # shot's duration have a semantic check with better words, spec/finish.py and spec/bodycheck.py;
    # the price a plan records is the planner's own arithmetic.)
    checked_elsewhere = {"spec.schema.json": ("takes", "duration"), "plan.schema.json": ("credits", "usd",
                         "upper_bound", "spent_credits", "over_by", "create", "regenerate", "unchanged", "cached",
                         "moved", "removed", "resume", "blocked", "generations", "format")}
    found = _numeric_schemas(json.loads((ROOT / "schema" / name).read_text()))
    assert found
    unbounded = [path for path, node in found
                 if ("minimum" not in node and "exclusiveMinimum" not in node or "maximum" not in node)
                 and "enum" not in node and "const" not in node
                 and not any(f".{key}" in path for key in checked_elsewhere.get(name, ()))]
    assert unbounded == []


def test_a_whole_number_written_as_a_float_is_refused_in_the_state_file(write_spec, run, api, tmp_path) -> None:
    from test_tampered_files import valid_state

    emu = api()
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    state = valid_state()
    state["shots"]["a"]["takes"][0]["take"] = 1.0
    (tmp_path / "spec.state.json").write_text(json.dumps(state))
    result = run(["plan", str(spec)])
    assert result.exit_code == 1
    assert "$.shots.a.takes[0].take: 1.0 is a number; expected a whole number" in result.stderr
    assert emu.stats["requests"] == {}


# --- runner usage --since ---------------------------------------------------------------------

def test_usage_since_the_year_one_is_refused_before_any_call(run, api) -> None:
    emu = api()
    result = run(["usage", "--since", "0001-01-01"])
    assert result.exit_code == 1
    assert "error: --since 0001-01-01 is " in result.stderr and "runner usage compares at most 1,098 days " \
           "(13 calls of 90 days)" in result.stderr
    assert emu.stats["requests"] == {}


def test_usage_over_three_years_is_thirteen_calls(run, api) -> None:
    from datetime import UTC, datetime, timedelta

    emu = api()
    since = datetime.now(UTC).date() - timedelta(days=3 * 366 - 1)
    assert run(["usage", "--since", since.isoformat()]).exit_code == 0
    assert emu.stats["requests"] == {"POST /v1/organization/usage": 13}


def test_apply_options_are_documented_with_their_type(run) -> None:
    result = run(["apply", "--help"])
    assert "--parallelism N" in result.stdout and "--poll-interval NUMBER" in result.stdout

