"""Values that forge lines: a newline (or a carriage return, or a terminal escape) in a value
read from a file or from the API must never start a line of runner's output. A CI log reads
``::error::…`` at the start of a line as a workflow command, and a terminal obeys ``\\x1b[``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from attack_kit import TEXT_SPEC, apply_text

FORGED = "::error::FORGED"


def assert_no_forged_line(*texts: str) -> None:
    for text in texts:
        assert "\r" not in text and "\x1b" not in text, text
        for line in text.splitlines():
            assert not line.lstrip().startswith(FORGED), f"a forged line: {line!r}"


def test_a_failure_reason_from_the_api_stays_on_its_line(write_spec, run, api, tmp_path) -> None:
    # The task fails with a failure text (and a failure code) that carry newlines, a carriage
    # return and a terminal escape: apply's progress, its summary, and the next plan (which shows
    # the failure the state file remembers) keep each on one line, escaped.
    api()
    spec = write_spec(TEXT_SPEC.format(prompt="x [[fail:INTERNAL.BAD_OUTPUT.CODE01]] [[task:failure-newlines]]"))
    result = apply_text(run, spec, "--retries", "0")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "Task failed\\n::error::FORGED line\\r\\x1b[2Kgone" in result.stdout
    assert_no_forged_line(result.stdout, result.stderr)
    planned = run(["plan", str(spec)])
    assert "failed last time" in planned.stdout and "::error::FORGED" in planned.stdout
    assert_no_forged_line(planned.stdout, planned.stderr)
    markdown = run(["plan", str(spec), "--format", "markdown"])
    assert "::error::FORGED" in markdown.stdout
    assert_no_forged_line(markdown.stdout)


def test_a_failure_reason_planted_in_the_state_file_stays_on_its_line(write_spec, run, api, tmp_path) -> None:
    # A pull request edits the reason the state file remembers for a refused take.
    api()
    spec = write_spec(TEXT_SPEC.format(prompt="x [[fail:INTERNAL]]"))
    assert apply_text(run, spec, "--retries", "0").exit_code == 1
    state_file = tmp_path / "spec.state.json"
    state = json.loads(state_file.read_text())
    (failure,) = state["shots"]["a"]["failure"].values()
    failure["reason"] = f"bad\n{FORGED}\r\x1b]0;title\x07"
    state_file.write_text(json.dumps(state))
    for fmt in ("text", "markdown"):
        planned = run(["plan", str(spec), "--format", fmt])
        assert FORGED in planned.stdout, planned.stdout + planned.stderr
        assert_no_forged_line(planned.stdout, planned.stderr)


def test_a_lock_holder_file_cannot_forge_the_busy_message(write_spec, run, tmp_path) -> None:
    # `.spec.yaml.lock.holder` names who holds the apply lock; another process holds it, and the
    # file says more than a pid and a host.
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    lock = tmp_path / ".spec.yaml.lock"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time, filelock
        with filelock.FileLock({str(lock)!r}):
            print("held", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        (tmp_path / ".spec.yaml.lock.holder").write_text(f"pid 1 on ci\n{FORGED}\x1b[2K")
        result = run(["apply", str(spec), "--yes", "--emulator"])
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert result.exit_code == 1
    assert "another apply of" in result.stderr and f"pid 1 on ci\\n{FORGED}" in result.stderr
    assert_no_forged_line(result.stdout, result.stderr)


def test_errors_from_files_and_answers_are_one_line_each(write_spec, run, api, tmp_path) -> None:
    # The one boundary (cli/boundary.py) prints every error on one line, whatever it quotes:
    # here a price file whose YAML error quotes its text.
    prices = tmp_path / "prices.yaml"
    prices.write_text(f'"gen4.5": {{credits_per_second: [unclosed\n{FORGED}\n')
    spec = write_spec(TEXT_SPEC.format(prompt="x"))
    result = run(["plan", str(spec), "--prices", str(prices)])
    assert result.exit_code == 1 and "cannot read the price file" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error: ")]) == 1
    assert_no_forged_line(result.stdout, result.stderr)


def test_a_spec_whose_file_name_holds_a_newline_cannot_forge_a_line(write_spec, run, tmp_path) -> None:
    # A pull request commits `specs/x<newline>::error::FORGED.yaml`; CI runs `runner validate specs/*.yaml`.
    invalid = write_spec("version: 1\nname: t\nshots: []\n", name=f"x\n{FORGED}.yaml")
    result = run(["validate", str(invalid)])
    assert result.exit_code == 1 and f"x\\n{FORGED}.yaml" in result.stderr
    assert_no_forged_line(result.stdout, result.stderr)
    valid = write_spec(TEXT_SPEC.format(prompt="x"), name=f"y\n{FORGED}.yaml")
    for command in (["validate", str(valid)], ["plan", str(valid)]):
        result = run(command)
        assert result.exit_code == 0 and f"y\\n{FORGED}.yaml" in result.stdout
        assert_no_forged_line(result.stdout, result.stderr)
