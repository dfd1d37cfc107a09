"""Exact credits per cost rule, from the model catalog's pricing data."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.catalog.models import catalog
from runner.catalog.pricing import cost_of
from runner.inputs.assets import probe_seconds

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("model", "body", "credits", "upper"),
    [
        pytest.param("gen4.5", {"duration": 5, "ratio": "1280:720"}, 60, False, id="gen4.5-12/s"),
        pytest.param("gen4.5", {"duration": 10, "ratio": "1280:720", "outputFormat": "prores"}, 170, False,
                     id="gen4.5-prores-surcharge"),
        pytest.param("gen4_turbo", {"duration": 5}, 25, False, id="gen4_turbo-5/s"),
        pytest.param("gen4_turbo", {}, 50, False, id="gen4_turbo-default-10s"),
        pytest.param("seedance2", {"duration": 6, "ratio": "1280:720"}, 216, False, id="seedance2-36/s"),
        pytest.param("seedance2", {"duration": 6, "ratio": "1920:1080"}, 240, False, id="seedance2-1080p-40/s"),
        pytest.param("seedance2", {"duration": "auto", "ratio": "1280:720"}, 540, True, id="seedance2-auto-max"),
        pytest.param("veo3.1", {"duration": 8}, 320, False, id="veo3.1-audio-40/s"),
        pytest.param("veo3.1", {"duration": 8, "audio": False}, 160, False, id="veo3.1-no-audio-20/s"),
        pytest.param("veo3.1_fast", {"duration": 6}, 90, False, id="veo3.1_fast-audio-15/s"),
        pytest.param("veo3.1_fast", {"duration": 6, "audio": False}, 60, False, id="veo3.1_fast-no-audio-10/s"),
        pytest.param("veo3", {"duration": 8}, 320, False, id="veo3-legacy-40/s"),
        pytest.param("seedance2_mini", {"duration": 2}, 64, False, id="minimum-credits"),
    ],
)
def test_credits(model: str, body: dict, credits: int, upper: bool) -> None:
    cost = cost_of(catalog()[model], {"model": model, **body})
    assert (cost.credits, cost.upper_bound) == (credits, upper)


def test_act_two_is_priced_by_the_probed_performance_clip() -> None:
    seconds = probe_seconds(ROOT / "specs" / "assets" / "actor.mp4")
    assert seconds == pytest.approx(4.0)
    cost = cost_of(catalog()["act_two"], {"model": "act_two"}, input_seconds=seconds)
    assert cost.credits == 20


def test_unknown_price_is_reported_not_guessed() -> None:
    cost = cost_of(catalog()["kling3.0_pro"], {"model": "kling3.0_pro", "duration": 5})
    assert cost.credits is None and "no known price" in cost.note
