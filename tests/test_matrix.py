"""Matrix expansion follows GitHub Actions' documented include/exclude rules."""

from __future__ import annotations

from runner.spec.matrix import expand


def combos(matrix, include=(), exclude=()):
    return [c for c, _ in expand(matrix, list(include), list(exclude))]


def test_cartesian_product_in_key_order() -> None:
    assert combos({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"},
    ]


def test_exclude_removes_partial_matches() -> None:
    assert combos({"a": [1, 2], "b": ["x", "y"]}, exclude=[{"a": 1}]) == [{"a": 2, "b": "x"}, {"a": 2, "b": "y"}]


def test_include_github_docs_example() -> None:
    # The example from GitHub's "Expanding or adding matrix configurations" docs.
    result = combos(
        {"fruit": ["apple", "pear"], "animal": ["cat", "dog"]},
        include=[
            {"color": "green"},
            {"color": "pink", "animal": "cat"},
            {"fruit": "apple", "shape": "circle"},
            {"fruit": "banana"},
            {"fruit": "banana", "animal": "cat"},
        ],
    )
    assert result == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


def test_include_only_makes_one_combination_each() -> None:
    assert combos({}, include=[{"city": "Rome"}, {"city": "Oslo"}]) == [{"city": "Rome"}, {"city": "Oslo"}]


def test_no_matrix_is_one_plain_shot() -> None:
    assert expand({}, [], []) == [({}, "shot")]
