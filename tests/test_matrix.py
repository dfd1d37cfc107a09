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


def test_count_agrees_with_expansion_without_building_it() -> None:
    """count() is what the caps are checked with: exact without includes, at most len(include) over."""
    import random

    from runner.spec.matrix import count

    rng = random.Random(7)
    for _ in range(3000):
        keys = rng.sample("abcd", rng.randint(0, 3))
        matrix = {k: [rng.choice([1, 2, 3, True, "x"]) for _ in range(rng.randint(1, 3))] for k in keys}
        exclude = [{k: rng.choice([1, 2, 3, "x"]) for k in rng.sample("abcde", rng.randint(1, 2))}
                   for _ in range(rng.randint(0, 4))]
        include = [{k: rng.choice([1, 2, 9]) for k in rng.sample("abce", rng.randint(1, 2))}
                   for _ in range(rng.randint(0, 2))]
        built = len(expand(matrix, include, exclude))
        assert built <= count(matrix, include, exclude) <= built + len(include)
        if not include:
            assert count(matrix, [], exclude) == built


def test_count_of_a_huge_matrix_is_immediate() -> None:
    from runner.spec.matrix import count

    values = list(range(10))
    excluded = 10**11 + 10**10 - 10**9  # a=0, or b=1 and c=2, counted once when both hold
    assert count({k: values for k in "abcdefghijkl"}, [], [{"a": 0}, {"b": 1, "c": 2}]) == 10**12 - excluded
