"""A loaded spec is a record: its shots' fields and request bodies cannot be changed by
accident (a planner or engine bug that edits a body would change what is fingerprinted
or sent), yet they serialize and validate like plain JSON data."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from runner.catalog.models import catalog
from runner.spec import load_spec, thaw

SPEC = """
version: 1
name: t
shots:
  - id: a
    model: seedance2
    prompt: "snow"
    references: [{image: assets/day.png}, {image: assets/night.png}]
    params: {seed: 7}
"""


@pytest.fixture
def shot(write_spec):
    return load_spec(write_spec(SPEC)).shots[0]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda s: s.request.body.__setitem__("promptText", "rain"), id="set-body-key"),
        pytest.param(lambda s: s.request.body.pop("promptText"), id="pop-body-key"),
        pytest.param(lambda s: s.request.body.update(seed=1), id="update-body"),
        pytest.param(lambda s: s.request.body["references"].append({"uri": "x"}), id="append-nested-list"),
        pytest.param(lambda s: s.request.body["references"][0].__setitem__("uri", "x"), id="set-nested-dict"),
        pytest.param(lambda s: s.fields.__setitem__("prompt", "rain"), id="set-shot-field"),
        pytest.param(lambda s: s.fields["params"].clear(), id="clear-params"),
        pytest.param(lambda s: s.matrix.__setitem__("x", 1), id="set-matrix"),
    ],
)
def test_shot_data_is_read_only(shot, change) -> None:
    with pytest.raises(TypeError, match="read-only"):
        change(shot)
    assert shot.request.body["promptText"] == "snow"


def test_read_only_data_serializes_and_validates_like_plain_json(shot) -> None:
    body = shot.request.body
    assert json.loads(json.dumps(body)) == thaw(body)
    assert list(catalog()["seedance2"].validator(shot.mode).iter_errors(body)) == []
    assert pickle.loads(pickle.dumps(body)) == body
    assert copy.deepcopy(body) is body  # nothing to copy: it cannot change


def test_thaw_gives_a_mutable_copy_and_leaves_the_record_alone(shot) -> None:
    body = thaw(shot.request.body)
    body["references"][0]["uri"] = "runway://uploads/x"
    body["promptText"] = "rain"
    assert shot.request.body["promptText"] == "snow"
    assert shot.request.body["references"][0]["uri"] == "assets/day.png"
