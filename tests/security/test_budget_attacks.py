"""Budgets can be bypassed (hardening issue 13, class 6): a spec, an option, a price file or an
API answer that would let apply spend past a cap, or make its spend look lower, is refused
with exit 1, a message that says where and what to do, and — where nothing should be
created — not a single create on the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

POLL = ["--poll-interval", "0.02"]


def spec_text(model: str = "gen4.5", budget: str = "", ratio: str = "1280:720") -> str:
    return (f"version: 1\nname: t\n{budget}shots:\n  - id: a\n    model: {model}\n    prompt: x\n"
            f"    ratio: '{ratio}'\n    duration: 5\n")


def apply(run, spec: Path, *extra: str):
    return run(["apply", str(spec), "--yes", *POLL, *extra])


# --- models with no known price under a cap ------------------------------------------------

UNPRICED = [
    pytest.param("budget: {max_credits: 1}\n", (), "budget.max_credits 1", id="spec-budget"),
    pytest.param("", ("--max-credits", "100000"), "--max-credits 100000", id="cli-cap"),
    pytest.param("budget: {max_credits: 0}\n", (), "budget.max_credits 0", id="zero-budget"),
    pytest.param("budget: {max_credits: 5000}\n", ("--allow-unpriced", "gen4.5"), "budget.max_credits 5000",
                 id="another-model-allowed"),
]


@pytest.mark.parametrize(("budget", "extra", "cap"), UNPRICED)
def test_an_unpriced_model_is_refused_under_any_cap(budget: str, extra: tuple[str, ...], cap: str, write_spec, run,
                                                    api) -> None:
    emu = api()
    spec = write_spec(spec_text("kling3.0_pro", budget, "1920:1080"))
    result = apply(run, spec, *extra)
    assert result.exit_code == 1
    line = 4 + budget.count("\n")  # the shot's id
    assert (f"spec.yaml:{line}:9: shot a: model: kling3.0_pro has no known price for this request, and {cap} is set"
            in result.stderr)
    assert "--prices file (kling3.0_pro: {credits_per_second: N})" in result.stderr
    assert "--allow-unpriced kling3.0_pro" in result.stderr
    assert emu.stats["requests"] == {}
    plan = run(["plan", str(spec), *extra])
    assert plan.exit_code == 1 and "price unknown" in plan.stdout and "at least 0 credits" in plan.stdout


def test_an_unpriced_model_goes_through_when_named_or_priced(write_spec, run, api, tmp_path: Path) -> None:
    emu = api(video_fps=2, video_max_side=64)
    spec = write_spec(spec_text("kling3.0_pro", "budget: {max_credits: 1000}\n", "1920:1080"))
    assert apply(run, spec, "--allow-unpriced", "kling3.0_pro").exit_code == 0
    assert emu.stats["creates_total"] == 1
    prices = tmp_path / "prices.yaml"
    prices.write_text("kling3.0_pro: {credits_per_second: 300}\n")  # 1500 credits: over the budget now
    spec.write_text(spec.read_text().replace("prompt: x", "prompt: y"))
    over = apply(run, spec, "--prices", str(prices))
    assert over.exit_code == 1 and "the plan costs 1500 credits, 500 over the budget of 1000" in over.stderr
    assert emu.stats["creates_total"] == 1


def test_without_a_cap_an_unpriced_model_is_only_flagged(write_spec, run) -> None:
    spec = write_spec(spec_text("kling3.0_pro", "", "1920:1080") + "  - id: b\n    model: gen4.5\n    prompt: y\n"
                      "    ratio: '1280:720'\n    duration: 5\n")
    result = run(["plan", str(spec)])
    assert result.exit_code == 0
    assert "at least 60 credits ($0.60); 1 shot(s) of unknown price, not counted" in result.stdout


def test_allow_unpriced_names_a_real_model(write_spec, run) -> None:
    result = run(["plan", str(write_spec(spec_text())), "--allow-unpriced", "klingg"])
    assert result.exit_code == 1 and "--allow-unpriced: unknown model 'klingg'" in result.stderr


# --- caps that are not numbers ----------------------------------------------------------------

BAD_SPEC_CAPS = [
    pytest.param(".nan", "nan is not a budget", id="nan"),
    pytest.param(".NaN", "nan is not a budget", id="nan-capitalised"),
    pytest.param(".inf", "inf is not a budget", id="infinite"),
    pytest.param("-.inf", "-inf is below minimum of 0", id="minus-infinite"),
    pytest.param("-1", "-1 is below minimum of 0", id="negative"),
    pytest.param("'100'", "must be a number, not '100'", id="a-string"),
    pytest.param("true", "must be a number, not True", id="a-boolean"),
]


@pytest.mark.parametrize(("value", "fragment"), BAD_SPEC_CAPS)
def test_spec_caps_that_are_not_budgets_are_refused_with_their_line(value: str, fragment: str, write_spec, run,
                                                                    api) -> None:
    emu = api()
    spec = write_spec(spec_text(budget=f"budget:\n  max_credits: {value}\n"))
    for command in (["validate", str(spec)], ["plan", str(spec)], ["apply", str(spec), "--yes"]):
        result = run(command)
        assert result.exit_code == 1, result.stderr
        assert "spec.yaml:4:16: budget.max_credits: " in result.stderr and fragment in result.stderr
    assert emu.stats["requests"] == {}


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "-1", "-0.5", "infinity", "1e400", "9" * 400, "1e13"])
def test_cli_caps_that_are_not_budgets_are_refused(value: str, write_spec, run, api) -> None:
    emu = api()
    spec = write_spec(spec_text())
    for command in ("plan", "apply"):
        result = run([command, str(spec), "--yes" if command == "apply" else "--detailed-exitcode",
                      f"--max-credits={value}"])
        assert result.exit_code == 1, result.stderr
        # the option's type (runner.cli.options.Number over planner.budget.CAP): exit 1, not click's 2
        assert "Invalid value for '--max-credits': " in result.stderr
        assert "give credits from 0 to 1,000,000,000,000" in result.stderr
    assert emu.stats["requests"] == {}


# --- price files that would make creates look free -------------------------------------------

BAD_PRICES = [
    pytest.param("gen4.5: {credits_per_second: -12}\n", "1:30: gen4.5.credits_per_second: -12 is negative",
                 id="negative-rate"),
    pytest.param("gen4.5: {credits_per_second: 0}\n", "1:30: gen4.5.credits_per_second: 0 is zero", id="zero-rate"),
    pytest.param("gen4.5: {credits_per_second: .nan}\n", "gen4.5.credits_per_second: nan is not a finite number",
                 id="nan-rate"),
    pytest.param("gen4.5: {credits_per_second: .inf}\n", "inf is not a finite number", id="infinite-rate"),
    pytest.param("gen4.5: {credits_per_second: " + "9" * 400 + "}\n",  # was an OverflowError, exit 3
                 "a number of 400 digits is more than any price (at most 1,000,000 credits a unit)", id="400-digits"),
    pytest.param("gen4.5: {credits_per_second: 1.0e+300}\n", "1e+300 is more than any price", id="1e300"),
    pytest.param("gen4.5: {credits_per_second: twelve}\n", "'twelve' is not a number of credits", id="a-word"),
    pytest.param("gen4.5: {credits_per_second: '12'}\n", "'12' is not a number of credits", id="a-quoted-number"),
    pytest.param("gen4.5: {credits_per_second: null}\n", "None is not a number of credits", id="null"),
    pytest.param("gen4.5: {credits_per_second: true}\n", "True is not a number of credits", id="a-boolean"),
    pytest.param("gen4.5:\n  output_format_surcharge:\n    per_second: {prores: -5}\n",
                 "3:26: gen4.5.output_format_surcharge.per_second.prores: -5 is negative", id="negative-surcharge"),
    pytest.param("seedance2:\n  by_resolution: {720p: 0}\n", "2:25: seedance2.by_resolution.720p: 0 is zero",
                 id="zero-resolution-tier"),
    pytest.param("gen4.5: {per_reference_image: -10}\n", "gen4.5.per_reference_image: -10 is negative",
                 id="negative-extra"),
    pytest.param("gen4.5: {credits_per_second: 12, minimum_credits: .nan}\n", "minimum_credits: nan is not a finite",
                 id="nan-minimum"),
]


@pytest.mark.parametrize(("text", "fragment"), BAD_PRICES)
def test_price_files_that_would_make_creates_look_free_are_refused(text: str, fragment: str, write_spec, run, api,
                                                                   tmp_path: Path) -> None:
    emu = api()
    spec = write_spec(spec_text())
    prices = tmp_path / "prices.yaml"
    prices.write_text(text)
    for command in (["plan", str(spec)], ["apply", str(spec), "--yes"]):
        result = run([*command, "--prices", str(prices)])
        assert result.exit_code == 1, result.stderr
        assert f"error: {prices}:" in result.stderr and fragment in result.stderr
        assert "nothing was sent" in result.stderr
    assert emu.stats["requests"] == {}


def test_every_problem_of_a_price_file_is_reported_at_once(write_spec, run, tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("gen4.5: {credits_per_second: -1}\nveo3.1: {credits_per_second: 0}\nnope: {}\n")
    result = run(["plan", str(write_spec(spec_text())), "--prices", str(prices)])
    assert result.exit_code == 1 and "3 problems found" in result.stderr
    assert f"{prices}:3:1: nope: unknown model 'nope'" in result.stderr


# --- API answers that would lower the spend -------------------------------------------------

@pytest.mark.parametrize("answer", ["-500", '"-7"', "-1"], ids=["negative", "negative-as-text", "minus-one"])
def test_a_negative_cost_in_an_answer_is_never_a_charge(answer: str, write_spec, run, api, tmp_path: Path) -> None:
    emu = api()
    spec = write_spec(spec_text().replace("prompt: x", f"prompt: 'x [[cost:{answer}]]'"))
    result = run(["apply", str(spec), "--yes", *POLL, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    # not negative, and not the run's spend going down: the table's figure, marked as such
    assert doc["credits"]["charged"] == doc["credits"]["from_table"] == 60
    assert "which cannot be a charge; the price table's figure is recorded instead" in result.stderr
    assert any("cannot be a charge" in n for n in doc["notes"])
    take = json.loads((tmp_path / "spec.state.json").read_text())["shots"]["a"]["takes"][0]
    assert (take["credits"], take["credits_from"]) == (60, "table") and emu.stats["creates_total"] == 1


@pytest.mark.parametrize("answer", ['"abc"', "-0.5", "{}"], ids=["a-word", "a-fraction-of-a-credit", "an-object"])
def test_a_non_numeric_cost_is_an_undocumented_answer(answer: str, write_spec, run, api, tmp_path: Path) -> None:
    # The SDK's strict models refuse it: the paid task stays in the journal, nothing is recorded.
    api()
    spec = write_spec(spec_text().replace("prompt: x", f"prompt: 'x [[cost:{answer}]]'"))
    result = run(["apply", str(spec), "--yes", *POLL, "--format", "json"])
    assert result.exit_code == 1
    assert "does not document" in result.stdout + result.stderr
    assert json.loads(result.stdout)["credits"]["charged"] == 0
    pending = json.loads((tmp_path / "spec.state.json").read_text())["shots"]["a"]["pending"]
    assert len(pending) == 1 and pending[0]["task_id"]


# --- caps against the API's own figures (hardening round 3, issue 21 item 5) -------------------

CHEAP = "gen4_turbo: {credits_per_second: 0.000000001}\n"  # the real price: 5/s, 25 a 5 s take
TURBO = ("version: 1\nname: t\nbudget: {max_credits: 100}\nshots:\n  - id: a\n    model: gen4_turbo\n"
         "    image: assets/sneaker.png\n    prompt: x\n    ratio: '1280:720'\n    duration: 5\n    takes: 15\n")


def test_a_price_far_below_the_published_one_is_refused_before_anything_is_sent(write_spec, run, api,
                                                                                tmp_path: Path) -> None:
    emu = api()
    spec = write_spec(TURBO)
    prices = tmp_path / "prices.yaml"
    prices.write_text(CHEAP)
    for command in (["plan", str(spec)], ["apply", str(spec), "--yes", *POLL]):
        result = run([*command, "--prices", str(prices)])
        assert result.exit_code == 1
        assert (f"{prices}:1:34: gen4_turbo.credits_per_second: 1e-09 is below a tenth of the published price (5)"
                in result.stderr) and "--trust-prices" in result.stderr
    assert emu.stats["requests"] == {}


@pytest.mark.parametrize("parallelism", [1, 4])
def test_a_cap_holds_against_the_apis_figures_when_the_table_is_wrong(parallelism: int, write_spec, run, api,
                                                                      tmp_path: Path) -> None:
    # The plan says 15 credits for 15 takes; every task costs 25. The caps follow the API's
    # estimatedCost: creates stop before the cap would be passed, naming the model, and the
    # spend passes the cap by at most `parallelism` takes at their real price.
    emu = api(max_concurrent=parallelism)
    spec = write_spec(TURBO)
    prices = tmp_path / "prices.yaml"
    prices.write_text(CHEAP)
    result = run(["apply", str(spec), "--yes", *POLL, "--prices", str(prices), "--trust-prices",
                  "--parallelism", str(parallelism), "--format", "json"])
    assert result.exit_code == 1  # takes were not started
    doc = json.loads(result.stdout)
    charged = emu.stats["credits_charged"]
    assert charged <= 100 + parallelism * 25
    assert charged == doc["credits"]["charged"] and emu.stats["creates_total"] == charged // 25 < 15
    refused = doc["outcomes"]["not_started"]
    assert len(refused) == 15 - emu.stats["creates_total"]
    assert all("gen4_turbo costs 25 a take by the API's own figures, more than the price table says" in o["reason"]
               for o in refused)
    assert "warning: gen4_turbo: the API puts a take" in result.stderr
    assert [d["model"] for d in doc["drift"]] == ["gen4_turbo"]
    assert doc["drift"][0]["fix"] == "gen4_turbo: {credits_per_second: 5}"


def test_without_the_apis_figures_the_cap_holds_at_the_table(write_spec, run, api, tmp_path: Path) -> None:
    # The same with a price the table allows (a tenth): 3 credits a take planned, 25 charged.
    emu = api(max_concurrent=1)
    spec = write_spec(TURBO.replace("takes: 15", "takes: 5"))
    prices = tmp_path / "prices.yaml"
    prices.write_text("gen4_turbo: {credits_per_second: 0.5}\n")
    result = run(["apply", str(spec), "--yes", *POLL, "--prices", str(prices), "--parallelism", "1"])
    assert result.exit_code == 1
    assert emu.stats["credits_charged"] == 100 and emu.stats["creates_total"] == 4
    assert "gen4_turbo: planned 12, charged 100 (table 1 per 2 s; the API billed 5/s)" in result.stdout
