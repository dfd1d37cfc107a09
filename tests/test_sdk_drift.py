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


def test_regenerating_the_model_files_changes_nothing() -> None:
    """tools/gen_models.py (SDK bodies, overlay, and the limits it reads from the SDK's prose)
    reproduces every committed model file exactly."""
    import json

    import gen_models

    built = gen_models.build()
    committed = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in gen_models.OUT.glob("*.json")}
    assert sorted(built) == sorted(committed)
    for name, doc in built.items():
        assert doc == committed[name], f"{name}.json differs from what tools/gen_models.py writes; regenerate it"


def test_prose_limits_are_read_from_the_sdk_docstrings() -> None:
    limits = catalog()["seedance2"].limits["fields"]
    assert limits["text_to_video"]["references"] == {"max_items": 9}  # "image references (up to 9)"
    assert limits["text_to_video"]["referenceVideos"] == {"max_total_seconds": 15}
    assert limits["video_to_video"]["referenceAudio"] == {"max_total_seconds": 15}
    assert limits["image_to_video"]["promptText"] == {"max_utf16": 3500}
    assert limits["image_to_video"]["*"] == {"data_uri_bytes": 5 * 1024 * 1024}  # "up to 5MB"
    assert catalog()["kling_4"].limits["fields"]["text_to_video"]["referenceVideos"] == {
        "max_items": 5, "max_total_seconds": 30}
