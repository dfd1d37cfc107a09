"""The Python API (docs/api.md): runner.plan is what `runner plan` prints, runner.apply
carries a plan out on the emulator, runner.apply_async from asyncio code, and a plan that
went stale before apply is refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import runner
from runner.emulator import EmulatorConfig
from runner.errors import SpecErrors, StalePlanError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted([*ROOT.glob("examples/*.yaml"), *ROOT.glob("examples/multi-file/*.yaml"), ROOT / "specs/demo.yaml"])
FAST = EmulatorConfig().updated({"time_scale": 0.002, "pending_seconds": 1.0, "generation_seconds": 20.0})

SPEC = """\
version: 1
name: api
defaults: {model: gen4.5, ratio: "1280:720", duration: 5}
shots:
  - id: "hero-{{ c }}"
    prompt: "a shoe in {{ c }}"
    matrix: {c: [a, b]}
  - id: turntable
    model: gen4_turbo
    image: assets/sneaker.png
    prompt: slow turn
"""


@pytest.mark.parametrize("spec", EXAMPLES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_api_plan_is_the_cli_plan(spec: Path, run) -> None:
    cli = run(["plan", str(spec), "--format", "json"])
    assert cli.exit_code in (0, 1), cli.stderr  # budget-exceeded.yaml is over budget on purpose
    plan = runner.plan(spec)
    assert plan.to_dict() == json.loads(cli.stdout)
    assert plan.credits == plan.to_dict()["summary"]["credits"]
    assert [s.id for s in plan.changes] == [s["id"] for s in plan.to_dict()["shots"] if s["action"] != "unchanged"]


def test_api_apply_on_the_emulator_then_nothing_to_do(write_spec) -> None:
    spec = write_spec(SPEC)
    plan = runner.plan(spec)
    assert plan.credits == 145 and len(plan.changes) == 3  # 2 × 5 s × 12 + 5 s × 5
    seen: list[tuple[str, str]] = []

    class Progress:
        def update(self, shot: str, take: int, status: str, progress: float | None = None) -> None:
            seen.append((shot, status))

        def note(self, message: str) -> None:
            pass

    with runner.Emulator(config=FAST) as url:
        emulator = runner.Emulator  # the class is what the package exports
        result = runner.apply(plan, emulator=url, progress=Progress())
        assert result.ok and not result.failed
        assert sorted(o.shot for o in result.done) == ["hero-a", "hero-b", "turntable"]
        assert result.credits_charged == plan.credits == 145
        assert {shot for shot, _ in seen} == {"hero-a", "hero-b", "turntable"}
        again = runner.plan(spec)
        assert again.credits == 0 and not again.changes
        nothing = runner.apply(again, emulator=url)
        assert nothing.ok and nothing.credits_charged == 0
    assert emulator is runner.api.Emulator
    assert len(list((spec.parent / "outputs" / "api").rglob("*.mp4"))) == 3


def test_api_apply_counts_on_the_emulators_books(write_spec) -> None:
    spec = write_spec(SPEC)
    emulator = runner.Emulator(config=FAST)
    with emulator as url:
        runner.apply(runner.plan(spec, select=("hero-*",)), emulator=url)
        stats = emulator.stats()
    assert stats["creates_total"] == 2 and stats["credits_charged"] == 120


def test_api_apply_async_from_an_event_loop(write_spec) -> None:
    spec = write_spec(SPEC)

    async def main(url: str) -> runner.ApplyResult:
        ticks = 0

        async def heartbeat() -> None:  # the caller's loop keeps running during apply
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(heartbeat())
        result = await runner.apply_async(runner.plan(spec), emulator=url)
        beat.cancel()
        assert ticks > 1
        return result

    with runner.Emulator(config=FAST) as url:
        result = asyncio.run(main(url))
    assert result.ok and len(result.done) == 3 and result.credits_charged == 145


def test_api_refuses_a_plan_that_went_stale(write_spec) -> None:
    spec = write_spec(SPEC)
    plan = runner.plan(spec)
    spec.write_text(SPEC.replace("slow turn", "fast turn"))
    with runner.Emulator(config=FAST) as url, pytest.raises(StalePlanError, match="the spec changed"):
        runner.apply(plan, emulator=url)
    assert not (spec.parent / "outputs").exists()


def test_api_errors_are_the_error_models_classes(write_spec) -> None:
    spec = write_spec(SPEC.replace("duration: 5", "duration: 50"))
    with pytest.raises(SpecErrors) as caught:
        runner.plan(spec)
    assert "spec.yaml:3:" in str(caught.value.problems[0]) and "duration" in str(caught.value.problems[0])


def test_api_apply_uses_the_prices_the_plan_was_made_with(write_spec, tmp_path: Path) -> None:
    spec = write_spec(SPEC)
    prices = tmp_path / "prices.yaml"
    prices.write_text("gen4.5: {credits_per_second: 20}\n")
    plan = runner.plan(spec, prices=prices)
    assert plan.credits == 2 * 5 * 20 + 25
    with runner.Emulator(config=FAST) as url:
        prices.write_text("gen4.5: {credits_per_second: 30}\n")
        with pytest.raises(StalePlanError, match="the prices changed"):
            runner.apply(plan, emulator=url)
        prices.write_text("gen4.5: {credits_per_second: 20}\n")
        assert runner.apply(plan, emulator=url).ok
