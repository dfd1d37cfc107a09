"""Templates: typed single expressions, slug, strict undefined, sandbox limits."""

from __future__ import annotations

import pytest

from runner.spec.templating import TemplateProblem, render, slug


def test_single_expression_keeps_its_type() -> None:
    assert render("{{ d }}", {"d": 5}) == 5
    assert render("{{ d * 2 }}s", {"d": 5}) == "10s"
    assert render("{{ flag }}", {"flag": False}) is False


def test_plain_strings_pass_through() -> None:
    assert render("no templates here", {}) == "no templates here"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("São Paulo", "sao-paulo"), ("  Hello, World! ", "hello-world"), ("A/B\\C", "a-b-c"), ("x__y", "x-y")],
)
def test_slug(text: str, expected: str) -> None:
    assert slug(text) == expected


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("{{ missing }}", "undefined variable 'missing'"),
        ("{{ city | }}", "template syntax error"),
        ("{{ ''.__class__ }}x", "not allowed in the sandbox"),
        ("{{ cycler }}", "undefined variable 'cycler'"),
        ("{% for i in range(10**9) %}{% endfor %}", "Range too big"),
        ("{{ 'x' * 200000 }} ", "longer than 100,000 characters"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
    ],
)
def test_template_problems(source: str, fragment: str) -> None:
    with pytest.raises(TemplateProblem) as info:
        render(source, {"city": "Rome"})
    assert fragment in info.value.message


def test_no_access_to_environment_or_files() -> None:
    for source in ("{{ self.__init__.__globals__ }}", "{{ config }}", "{{ lipsum.__globals__.os }}"):
        with pytest.raises(TemplateProblem):
            render(source, {})
