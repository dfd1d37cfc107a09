"""The money rules: budget, account balance and daily caps, and apply's running tally.

Each rule is checked at its boundary (equal is allowed, one more is not), through the
functions plan and apply both use, and end to end where a user sees it.
"""

from __future__ import annotations

import pytest

from runner.planner.budget import Spend, cap_problem, check_account, over_budget_by


@pytest.mark.parametrize(
    ("credits", "budget", "over"),
    [
        pytest.param(100, None, None, id="no-budget"),
        pytest.param(100, 100, None, id="exactly-the-budget"),
        pytest.param(101, 100, 1, id="one-over"),
        pytest.param(0, 0, None, id="zero-budget-nothing-to-pay"),
        pytest.param(1, 0, 1, id="zero-budget-one-credit"),
        pytest.param(100, 99.5, 0, id="fractional-budget-rounds-the-excess-down"),
        pytest.param(250, 100.0, 150, id="float-budget"),
    ],
)
def test_over_budget_by(credits: int, budget: float | None, over: int | None) -> None:
    assert over_budget_by(credits, budget) == over


def check(balance: int = 1000, needed: int = 0, planned: dict[str, int] | None = None,
          tiers: dict[str, dict[str, int | None]] | None = None, used: dict[str, int] | None = None):
    return check_account(balance=balance, needed=needed, planned=planned or {}, tiers=tiers or {},
                         daily_used=used or {})


@pytest.mark.parametrize(
    ("balance", "needed", "short"),
    [
        pytest.param(100, 100, None, id="balance-covers-exactly"),
        pytest.param(100, 101, 1, id="one-credit-short"),
        pytest.param(0, 50, 50, id="empty-account"),
        pytest.param(100, 0, None, id="nothing-needed"),
    ],
)
def test_balance_shortfall(balance: int, needed: int, short: int | None) -> None:
    assert check(balance=balance, needed=needed).short_by == short


def test_daily_caps_count_what_was_used_today() -> None:
    result = check(planned={"gen4.5": 3, "veo3.1": 2, "seedance2": 1},
                   tiers={"gen4.5": {"daily": 5, "concurrency": 2}, "veo3.1": {"daily": 4, "concurrency": None},
                          "seedance2": {"daily": None, "concurrency": 3}},
                   used={"gen4.5": 2, "veo3.1": 3})
    by_model = {m.model: m for m in result.models}
    assert [m.model for m in result.models] == ["gen4.5", "seedance2", "veo3.1"]  # sorted, stable output
    assert (by_model["gen4.5"].left_today, by_model["gen4.5"].over_cap) == (3, False)  # 3 planned, 3 left
    assert (by_model["veo3.1"].left_today, by_model["veo3.1"].over_cap) == (1, True)  # 2 planned, 1 left
    assert (by_model["seedance2"].left_today, by_model["seedance2"].over_cap) == (None, False)  # no cap
    assert by_model["gen4.5"].concurrency == 2 and by_model["seedance2"].concurrency == 3
    assert result.daily_left() == {"gen4.5": 3, "veo3.1": 1}


def test_a_capped_model_not_used_today_has_its_whole_cap_left() -> None:
    (allowance,) = check(planned={"gen4.5": 2}, tiers={"gen4.5": {"daily": 2}}).models
    assert (allowance.daily_cap, allowance.left_today, allowance.over_cap) == (2, 2, False)


def test_a_model_the_tier_does_not_list_has_no_cap() -> None:
    result = check(planned={"gen4.5": 50})
    assert result.models[0].daily_cap is None and not result.models[0].over_cap and result.daily_left() == {}


def test_spend_refuses_past_max_credits_counting_creates_already_reserved() -> None:
    spend = Spend(max_credits=100)
    assert spend.reserve("gen4.5", 60) is None
    assert spend.refusal("gen4.5", 40) is None  # 60 + 40 = 100: exactly the cap is allowed
    assert spend.reserve("gen4.5", 41) == "--max-credits 100 would be exceeded"
    assert spend.committed == 60  # a refused reservation takes nothing
    assert spend.reserve("gen4.5", 40) is None
    assert spend.committed == 100
    assert spend.refusal("gen4.5", 1) is not None
    assert spend.refusal("gen4.5", 0) is None  # a create priced 0 is not stopped by the cap


def test_spend_without_a_cap_never_refuses_for_money() -> None:
    spend = Spend()
    assert spend.reserve("gen4.5", 10**9) is None
    assert spend.refusal("gen4.5", 10**9) is None


def test_spend_stops_a_model_at_its_daily_cap_only() -> None:
    spend = Spend(daily_left={"gen4.5": 1})
    assert spend.reserve("gen4.5", 10) is None
    assert spend.reserve("gen4.5", 10) == "the daily cap of gen4.5 is reached"
    assert spend.refusal("veo3.1", 10) is None  # other models are not capped by it
    assert spend.reserve("veo3.1", 10) is None
    assert "veo3.1" not in spend.daily_left and spend.daily_left == {"gen4.5": 0}


def test_spend_counts_each_create_once_against_the_cap() -> None:
    spend = Spend(daily_left={"gen4.5": 2})
    spend.reserve("gen4.5", 10)
    assert spend.refusal("gen4.5", 10) is None and spend.daily_left == {"gen4.5": 1}


def test_spend_with_no_creates_left_today_refuses_the_first() -> None:
    assert Spend(daily_left={"gen4.5": 0}).refusal("gen4.5", 1) == "the daily cap of gen4.5 is reached"


def test_a_released_reservation_frees_its_credits_and_daily_slot() -> None:
    spend = Spend(max_credits=50, daily_left={"gen4.5": 1})
    assert spend.reserve("gen4.5", 50) is None
    assert spend.reserve("gen4.5", 1) is not None  # both the cap and the daily slot are taken
    spend.release("gen4.5", 50)  # the API refused it: it surely did not happen
    assert (spend.committed, spend.daily_left) == (0, {"gen4.5": 1})
    assert spend.reserve("gen4.5", 50) is None


def test_a_lost_answer_stays_counted_and_is_possibly_charged() -> None:
    spend = Spend(max_credits=100, daily_left={"gen4.5": 2})
    assert spend.reserve("gen4.5", 60) is None
    spend.lost_answer(60)
    assert (spend.committed, spend.possibly_charged, spend.daily_left) == (60, 60, {"gen4.5": 1})
    assert spend.reserve("gen4.5", 41) == "--max-credits 100 would be exceeded"
    spend.lost_answer(0)
    assert spend.possibly_charged == 60


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param(None, None, id="no-cap"),
        pytest.param(0, None, id="zero-is-a-cap"),
        pytest.param(0.5, None, id="fractional"),
        pytest.param(10**9, None, id="large"),
        pytest.param(float("nan"), "nan is not a finite number of credits", id="nan"),
        pytest.param(float("inf"), "inf is not a finite number of credits", id="inf"),
        pytest.param(float("-inf"), "-inf is not a finite number of credits", id="minus-inf"),
        pytest.param(-1, "-1 is negative", id="negative"),
        pytest.param(-0.001, "-0.001 is negative", id="slightly-negative"),
        pytest.param("100", "'100' is not a number of credits", id="text"),
        pytest.param(True, "True is not a number of credits", id="bool"),
    ],
)
def test_cap_problem(value: object, problem: str | None) -> None:
    assert cap_problem(value) == problem


def test_a_cap_that_is_not_a_number_refuses_every_create() -> None:
    assert Spend(max_credits=float("nan")).refusal("gen4.5", 0) is not None  # fails closed


def test_plan_over_budget_exits_1_and_says_by_how_much(write_spec, run) -> None:
    spec = write_spec("version: 1\nname: t\nbudget: {max_credits: 119}\n"
                      "defaults: {model: gen4.5, ratio: '1280:720', duration: 5}\n"
                      "shots:\n  - id: a\n    prompt: one\n  - id: b\n    prompt: two\n")
    result = run(["plan", str(spec)])
    assert result.exit_code == 1
    assert "the plan costs 120 credits, 1 over the budget of 119" in result.stderr
    assert run(["plan", str(spec), "--max-credits", "120"]).exit_code == 0  # exactly the budget is fine


@pytest.mark.parametrize(
    ("value", "cost"),
    [
        pytest.param(48, 48, id="credits"),
        pytest.param(0, 0, id="refunded"),
        pytest.param(12.5, 12.5, id="fraction"),
        pytest.param(-1, None, id="negative"),
        pytest.param(float("nan"), None, id="nan"),
        pytest.param(float("inf"), None, id="inf"),
        pytest.param("48", None, id="text"),
        pytest.param(True, None, id="bool"),
        pytest.param(None, None, id="missing"),
    ],
)
def test_a_cost_in_an_answer_counts_only_when_it_can_be_a_charge(value: object, cost: float | None) -> None:
    from runner.engine.client import cost_value

    assert cost_value(value) == cost


# --- caps against the API's own figures -------------------------------------------------------

def test_a_take_reserves_the_table_figure_until_the_api_says_more() -> None:
    spend = Spend(max_credits=100)
    assert spend.price("gen4_turbo", 1, 5.0) == 1
    assert spend.reserve("gen4_turbo", 1) is None
    assert spend.reported("gen4_turbo", 1, 25, 5.0) == 25  # the reservation grows to the API's figure
    assert spend.committed == 25
    assert spend.per_unit == {"gen4_turbo": 5.0} and spend.per_take == {}
    assert spend.price("gen4_turbo", 1, 5.0) == 25  # later takes: 5 credits per second billed
    assert spend.price("gen4_turbo", 1, 10.0) == 50
    assert spend.price("gen4_turbo", 60, 10.0) == 60  # never below the table's own figure
    assert spend.price("gen4.5", 7, 5.0) == 7  # other models keep their table price


def test_a_figure_at_or_below_the_reservation_changes_nothing() -> None:
    spend = Spend(max_credits=100)
    spend.reserve("gen4.5", 60)
    assert spend.reported("gen4.5", 60, 60, 5.0) == 60
    assert spend.reported("gen4.5", 60, 40, 5.0) == 60  # a lower estimate (a refund to come) is not counted yet
    assert spend.reported("gen4.5", 60, 59.5, 5.0) == 60  # 59.5 is 60 whole credits
    assert (spend.committed, spend.per_unit, spend.per_take) == (60, {}, {})
    assert spend.reported("gen4.5", 60, 60.2, 5.0) == 61  # part of a credit is a whole one
    assert spend.committed == 61


def test_the_dearest_figure_seen_decides_a_models_price() -> None:
    spend = Spend()
    spend.reported("gen4.5", 10, 60, 5.0)
    spend.reported("gen4.5", 10, 40, 5.0)  # 8/s: less than the 12/s seen before
    assert spend.per_unit == {"gen4.5": 12.0}
    spend.reported("gen4.5", 10, 100, 5.0)
    assert spend.per_unit == {"gen4.5": 20.0}
    assert spend.price("gen4.5", 0, 0.5) == 10  # 20/s x 0.5 s


def test_a_take_without_units_is_priced_per_take() -> None:
    # An unpriced model under --allow-unpriced reserves 0; once the API names a figure, its
    # takes reserve that much each.
    spend = Spend(max_credits=100)
    assert spend.reported("kling3.0_pro", 0, 50, None) == 50
    spend.reported("kling3.0_pro", 0, 30, None)
    assert spend.per_take == {"kling3.0_pro": 50} and spend.per_unit == {}
    assert spend.price("kling3.0_pro", 0, None) == 50
    assert spend.price("kling3.0_pro", 0, 5.0) == 50
    assert spend.refusal("kling3.0_pro", 51) == ("--max-credits 100 would be exceeded: kling3.0_pro costs 51 a take "
                                                  "by the API's own figures, more than the price table says; fix its "
                                                  "price")
    assert spend.refusal("gen4.5", 51) == "--max-credits 100 would be exceeded"


def test_a_grown_reservation_counts_against_the_cap() -> None:
    spend = Spend(max_credits=100)
    spend.reserve("gen4_turbo", 1)
    spend.reported("gen4_turbo", 1, 25, 5.0)
    for _ in range(3):
        assert spend.reserve("gen4_turbo", spend.price("gen4_turbo", 1, 5.0)) is None
    assert spend.committed == 100
    assert spend.reserve("gen4_turbo", spend.price("gen4_turbo", 1, 5.0)) is not None
    assert spend.refusal("gen4_turbo", 0) is None


def test_prices_below_a_credit_are_learnt_as_they_are() -> None:
    spend = Spend()
    assert spend.price("eleven_voice_isolation", 0, None) == 0  # nothing seen: the table's own 0
    assert spend.reported("eleven_voice_isolation", 0, 1, 12.0) == 1
    assert spend.per_unit == {"eleven_voice_isolation": 1 / 12}
    assert spend.price("eleven_voice_isolation", 0, 24.0) == 2


def test_a_release_gives_back_exactly_one_daily_slot() -> None:
    spend = Spend(daily_left={"gen4.5": 3})
    spend.reserve("gen4.5", 1)
    spend.release("gen4.5", 1)
    assert spend.daily_left == {"gen4.5": 3}
