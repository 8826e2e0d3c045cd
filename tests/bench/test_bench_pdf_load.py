"""bench/bench_pdf_load.py: the verdict on the target (the control scenario
is shown, not judged). The run itself is exercised by running the bench."""

import pytest

from bench.bench_pdf_load import SCENARIOS, HeavyLoad, report

pytestmark = pytest.mark.engine_independent


def _loads(*names: str) -> dict[str, HeavyLoad]:
    return {name: HeavyLoad("", "", SCENARIOS[name]) for name in names}


def test_pdf_scenarios_within_twice_the_idle_p99_meet_the_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    p99s = {"idle": [10.0, 12.0, 11.0], "review": [20.0, 22.0, 21.0],
            "largest": [15.0, 30.0, 16.0], "reads": [90.0, 95.0, 99.0]}  # fmt: skip

    met = report(p99s, _loads("review", "largest", "reads"))

    printed = capsys.readouterr().out
    assert met is True  # reads, at 8.6x, is the control
    assert "idle p99 of the patient list: 11.00 ms (median of 3 runs)" in printed
    assert "review   (5,000 rows, 183 KB): loaded p99 21.00 ms, 1.91x idle" in printed
    assert "reads    (patient list): loaded p99 95.00 ms, 8.64x idle" in printed
    assert printed.rstrip().endswith("in every PDF scenario: met")


def test_one_pdf_scenario_past_twice_the_idle_p99_misses_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    p99s = {"idle": [10.0], "review": [19.0], "largest": [21.0]}

    assert report(p99s, _loads("review", "largest")) is False
    assert "NOT met" in capsys.readouterr().out
