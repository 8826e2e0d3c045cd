"""bench/rounds.py: the order of the rounds, ratios per round, the interval
of a median, and verdicts that say "inconclusive" when the spread straddles
the target."""

import pytest

from bench.rounds import (
    INCONCLUSIVE,
    MET,
    MISSED,
    AtLeast,
    AtMost,
    Spread,
    alternate,
    combine,
    median_interval,
    per_round_ratios,
    rotation,
    verdict,
)

pytestmark = pytest.mark.engine_independent


def test_each_round_starts_one_variant_further_along() -> None:
    orders = [rotation(["plain", "ours", "library"], i) for i in range(4)]

    assert orders == [
        ["plain", "ours", "library"],
        ["ours", "library", "plain"],
        ["library", "plain", "ours"],
        ["plain", "ours", "library"],
    ]


def test_two_variants_alternate_abab_then_baba() -> None:
    assert [rotation("AB", i) for i in range(3)] == [["A", "B"], ["B", "A"], ["A", "B"]]


def test_alternate_runs_every_measure_once_per_round_in_rotated_order() -> None:
    calls: list[str] = []

    def measure(name: str, figure: float) -> float:
        calls.append(name)
        return figure + len(calls)

    progress: list[tuple[int, str]] = []
    figures = alternate(
        {"a": lambda: measure("a", 10.0), "b": lambda: measure("b", 20.0)},
        rounds=3,
        on_figure=lambda index, name, _: progress.append((index, name)),
    )

    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert figures == {"a": [11.0, 14.0, 15.0], "b": [22.0, 23.0, 26.0]}
    assert progress[:3] == [(0, "a"), (0, "b"), (1, "b")]


def test_a_ratio_is_taken_per_round_against_the_same_rounds_baseline() -> None:
    # A neighbour halved both sides in round 2: the per-round ratio is
    # unmoved, while the ratio of medians would mix rounds.
    assert per_round_ratios([2.0, 1.0, 2.2], [1.0, 0.5, 1.1]) == [2.0, 2.0, 2.0]


def test_ratios_need_one_figure_of_each_per_round() -> None:
    with pytest.raises(ValueError, match="3 figures against 2"):
        per_round_ratios([1.0, 2.0, 3.0], [1.0, 2.0])


@pytest.mark.parametrize(
    ("count", "dropped", "confidence"),
    [
        (1, 0, 0.0),
        (3, 0, 0.75),
        (5, 0, 0.9375),  # min-max of 5
        (9, 1, 0.9609375),  # 2nd to 8th of 9
        (15, 3, 0.96484375),  # 4th to 12th of 15
    ],
)
def test_the_interval_of_a_median_is_the_narrowest_reaching_90_percent(
    count: int, dropped: int, confidence: float
) -> None:
    assert median_interval(count) == (dropped, pytest.approx(confidence))


def test_a_spread_has_the_median_its_interval_and_the_range() -> None:
    spread = Spread.of([0.9, 0.5, 0.8, 0.85, 1.2, 0.82, 0.88, 0.79, 0.81])

    assert spread.median == 0.82
    assert (spread.low, spread.high) == (0.79, 0.9)  # 2nd and 8th of 9
    assert (spread.minimum, spread.maximum) == (0.5, 1.2)
    assert spread.values[0] == 0.9  # kept in round order
    assert spread.describe() == ("0.82x (96% CI 0.79-0.90, range 0.50-1.20, 9 rounds)")


def test_one_round_has_no_spread() -> None:
    assert Spread.of([1.5]).describe() == "1.50x (1 round: no spread)"


@pytest.mark.parametrize(
    ("values", "target", "expected"),
    [
        ([0.81, 0.85, 0.88], AtLeast(0.8), MET),
        ([0.78, 0.83, 0.88], AtLeast(0.8), INCONCLUSIVE),  # straddles 0.8
        ([0.70, 0.75, 0.79], AtLeast(0.8), MISSED),
        ([1.6, 1.8, 1.9], AtMost(2.0), MET),
        ([1.8, 1.9, 2.4], AtMost(2.0), INCONCLUSIVE),
        ([2.1, 2.2, 2.3], AtMost(2.0), MISSED),
        ([2.0, 2.0, 2.0], AtMost(2.0), MET),  # the bound itself meets it
        ([0.5, 0.6], AtLeast(0.8), INCONCLUSIVE),  # 2 rounds: 50% confidence
    ],
)
def test_the_verdict_compares_the_interval_with_the_target(
    values: list[float], target: AtLeast | AtMost, expected: str
) -> None:
    assert verdict(Spread.of(values), target) == expected


def test_a_median_within_the_target_with_a_wide_spread_is_inconclusive() -> None:
    # bench_http's complaint: 0.39x one run, 0.99x the next.
    spread = Spread.of([0.39, 0.99, 0.85, 0.92, 0.88])

    assert spread.median == 0.88
    assert verdict(spread, AtLeast(0.8)) == INCONCLUSIVE


def test_targets_read_as_their_bound() -> None:
    assert str(AtMost(2.0)) == "<= 2x"
    assert str(AtLeast(650, " jobs/s")) == ">= 650 jobs/s"


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([MET, MET], MET),
        ([MET, INCONCLUSIVE], INCONCLUSIVE),
        ([INCONCLUSIVE, MISSED, MET], MISSED),
        ([], INCONCLUSIVE),
    ],
)
def test_parts_of_a_target_combine_to_the_worst(
    verdicts: list[str], expected: str
) -> None:
    assert combine(verdicts) == expected
