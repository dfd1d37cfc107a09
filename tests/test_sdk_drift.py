"""The installed runwayml SDK is the source of truth: our model files must match it.

When a new SDK adds a model, a ratio or a field, these tests fail; run
``python tools/gen_models.py`` to regenerate schema/models and review the diff.
"""

from __future__ import annotations

import pytest
from sdk_schemas import sdk_bodies

from runner.catalog.models import catalog

SDK = sdk_bodies()


def test_every_sdk_video_model_has_a_file() -> None:
    missing = sorted(set(SDK) - set(catalog()))
    assert not missing, f"models in the SDK without a file in schema/models: {missing}"


def test_models_gone_from_the_sdk_are_marked_legacy() -> None:
    for name, info in catalog().items():
        if name not in SDK:
            assert info.status == "legacy" and info.replacement, f"{name} is not in the SDK and not marked legacy"


@pytest.mark.parametrize("model", sorted(SDK))
def test_ratios_and_endpoints_match_the_sdk(model: str) -> None:
    info = catalog()[model]
    for endpoint, body in SDK[model].items():
        assert endpoint in info.document["$defs"], f"{model}: SDK has {endpoint}, our file does not"
        ours = info.properties(endpoint).get("ratio", {}).get("enum", [])
        theirs = body["properties"].get("ratio", {}).get("enum", [])
        assert sorted(map(str, ours)) == sorted(map(str, theirs)), f"{model} {endpoint} ratios differ"


@pytest.mark.parametrize("model", sorted(SDK))
def test_request_bodies_match_the_sdk_exactly(model: str) -> None:
    info = catalog()[model]
    for endpoint, body in SDK[model].items():
        assert info.document["$defs"][endpoint] == body, f"{model} {endpoint}: regenerate with tools/gen_models.py"
