"""bench/bench_pdf_load.py: the verdict on the target (the control scenario
is shown, not judged). The run itself is exercised by running the bench."""

import argparse

import pytest

from bench.bench_pdf_load import SCENARIOS, HeavyLoad, report
from bench.pinning import plan_pinning
from bench.results import Record


def _record() -> Record:
    return Record("bench_pdf_load", argparse.Namespace(), plan_pinning(enabled=False))


pytestmark = pytest.mark.engine_independent


def _loads(*names: str) -> dict[str, HeavyLoad]:
    return {name: HeavyLoad("", "", SCENARIOS[name]) for name in names}


def test_pdf_scenarios_within_twice_the_idle_p99_in_every_round_meet_the_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    p99s = {"idle": [10.0, 12.0, 11.0], "review": [20.0, 22.0, 21.0],
            "largest": [15.0, 20.0, 16.0], "reads": [90.0, 95.0, 99.0]}  # fmt: skip

    verdict = report(p99s, _loads("review", "largest", "reads"), _record())

    printed = capsys.readouterr().out
    assert verdict == "met"  # reads, at 9x, is the control
    assert "idle p99 of the patient list: 11.00 ms (median of 3 runs)" in printed
    # per round 2.00, 1.83, 1.91
    assert (
        "review   (5,000 rows, 183 KB): loaded p99 21.00 ms; loaded / idle 1.91x "
        "(75% CI 1.83-2.00 = range, 3 rounds) <= 2x: met;"
    ) in printed
    assert (
        "reads    (patient list): loaded p99 95.00 ms; loaded / idle 9.00x (75% CI"
        in printed
    )
    assert printed.rstrip().endswith("in every PDF scenario: met")


def test_a_pdf_scenario_past_twice_the_idle_p99_in_one_round_is_inconclusive(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # largest per round: 1.5, 2.5, 1.45: the median meets 2x, the spread does not
    p99s = {"idle": [10.0, 12.0, 11.0], "review": [15.0, 15.0, 15.0],
            "largest": [15.0, 30.0, 16.0]}  # fmt: skip

    verdict = report(p99s, _loads("review", "largest"), _record())

    assert verdict == "inconclusive"
    assert "in every PDF scenario: inconclusive" in capsys.readouterr().out


def test_a_pdf_scenario_past_twice_the_idle_p99_in_every_round_misses_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    p99s = {"idle": [10.0, 10.0, 10.0], "review": [19.0, 19.0, 19.0],
            "largest": [21.0, 25.0, 30.0]}  # fmt: skip

    assert report(p99s, _loads("review", "largest"), _record()) == "missed"
    assert "in every PDF scenario: missed" in capsys.readouterr().out
