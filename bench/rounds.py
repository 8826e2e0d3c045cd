"""Alternating rounds, the spread of their figures, and verdicts that say
"inconclusive" when the spread is wider than the margin being tested.

On a shared machine a neighbour's load comes and goes within seconds, so one
long run of each variant compares two different machines. Instead every
variant runs once per short round, the order rotating from round to round
(ABC, BCA, CAB, ...), and a ratio is taken per round, against the baseline
of the same round: a neighbour slows both sides of it. A ratio is then
quoted as the median of the per-round ratios with an interval.

The interval is the distribution-free confidence interval of the median
(order statistics, from the binomial distribution: no assumption about how
the noise is shaped, exact for any number of rounds, and deterministic).
With few rounds it is the whole range, at the confidence the rounds allow:
min-max of 5 rounds holds the true median with probability 1 - 2/2^5 =
94%.

Example::

    figures = alternate({"plain": time_plain, "ours": time_ours}, rounds=9)
    spread = Spread.of(per_round_ratios(figures["ours"], figures["plain"]))
    verdict(spread, AtMost(2.0))  # "met", "missed" or "inconclusive"
"""

import math
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

#: The confidence the interval of a median aims for.
CONFIDENCE = 0.90
#: Below this confidence (fewer than 3 rounds) no verdict is given.
LEAST_CONFIDENCE = 0.75

MET, MISSED, INCONCLUSIVE = "met", "missed", "inconclusive"


def rotation(names: Sequence[str], round_index: int) -> list[str]:
    """The order of `names` in round `round_index` (0-based): each round
    starts one further along, so every variant runs first, middle and last
    equally often.

    Example: `rotation("ABC", 1) == ["B", "C", "A"]`.
    """
    if not names:
        return []
    shift = round_index % len(names)
    return [*names[shift:], *names[:shift]]


def alternate(
    measures: Mapping[str, Callable[[], float]],
    rounds: int,
    on_figure: Callable[[int, str, float], None] | None = None,
) -> dict[str, list[float]]:
    """Run every measure once per round, in rotated order; each measure
    returns its figure for the round (seconds per call, requests per
    second...). The figures by name, in round order (index i is round i).
    `on_figure(round_index, name, figure)` is called after each, to print
    progress.

    Example: `{"plain": [0.00031, 0.00035], "ours": [0.00052, 0.00060]}`.
    """
    figures: dict[str, list[float]] = {name: [] for name in measures}
    for index in range(rounds):
        for name in rotation(list(measures), index):
            figure = measures[name]()
            figures[name].append(figure)
            if on_figure is not None:
                on_figure(index, name, figure)
    return figures


def median_seconds(action: Callable[[], object], count: int) -> float:
    """The median of `count` timings of `action()`, in seconds."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def timed_rounds(
    actions: Mapping[str, Callable[[], object]], count: int, rounds: int
) -> dict[str, list[float]]:
    """alternate() of each action's median seconds per call over `count`
    calls: per action, one figure per round.

    Example: `timed_rounds({"orm": get, "hit": hit}, 500, 15)["hit"]` is 15
    medians."""
    return alternate(
        {
            name: partial(median_seconds, action, count)
            for name, action in actions.items()
        },
        rounds,
    )


def per_round_ratios(
    subject: Sequence[float], baseline: Sequence[float]
) -> list[float]:
    """subject / baseline, round by round (both measured in the same round).

    Example: `per_round_ratios([2, 3], [1, 2]) == [2.0, 1.5]`.
    """
    if len(subject) != len(baseline):
        raise ValueError(
            f"{len(subject)} figures against {len(baseline)}: a ratio per round "
            "needs one of each per round."
        )
    return [s / b for s, b in zip(subject, baseline, strict=True)]


def median_interval(count: int, confidence: float = CONFIDENCE) -> tuple[int, float]:
    """How many of the lowest (and of the highest) of `count` sorted values
    the interval of their median leaves out, and the interval's confidence:
    the narrowest symmetric interval of order statistics that holds the
    true median with probability >= `confidence`, or the whole range when
    `count` is too small to reach it.

    Example: `median_interval(9) == (1, 0.9609375)`: the 2nd to 8th of 9.
    """
    if count < 1:
        raise ValueError("no values: a median needs at least one")
    best = (0, 1 - 2 * 0.5**count)
    for dropped in range(1, (count + 1) // 2):
        # P(x(d+1) <= median <= x(n-d)) = 1 - 2 P(Binomial(n, 1/2) <= d)
        tail = sum(math.comb(count, k) for k in range(dropped + 1)) / 2**count
        coverage = 1 - 2 * tail
        if coverage < confidence:
            break
        best = (dropped, coverage)
    return best


@dataclass(frozen=True)
class Spread:
    """Figures of several rounds: their median, the interval of that
    median (`low`-`high`, at `confidence`), and their whole range.

    Example: `Spread.of([0.8, 0.9, 1.0, 0.85, 0.95])` has median 0.9, low
    0.8, high 1.0 (min-max of 5 rounds, confidence 0.9375).
    """

    values: tuple[float, ...]
    median: float
    low: float
    high: float
    confidence: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, values: Iterable[float]) -> "Spread":
        """The spread of `values` (at least one)."""
        figures = tuple(values)
        ordered = sorted(figures)
        dropped, confidence = median_interval(len(ordered))
        return cls(
            values=figures,
            median=statistics.median(ordered),
            low=ordered[dropped],
            high=ordered[-1 - dropped],
            confidence=confidence,
            minimum=ordered[0],
            maximum=ordered[-1],
        )

    def describe(self, unit: str = "x", digits: int = 2) -> str:
        """The median with its interval and range, for a printed line.

        Example: `"0.83x (90% CI 0.78-0.88, range 0.70-0.95, 9 rounds)"`.
        """
        f = f"{{:.{digits}f}}"
        spaced = unit in ("", "x") or unit.startswith((" ", "/"))
        text = f"{f.format(self.median)}{unit if spaced else ' ' + unit}"
        rounds = len(self.values)
        if rounds < 2:
            return f"{text} (1 round: no spread)"
        interval = (
            f"{self.confidence:.0%} CI {f.format(self.low)}-{f.format(self.high)}"
        )
        if (self.low, self.high) == (self.minimum, self.maximum):
            return f"{text} ({interval} = range, {rounds} rounds)"
        return (
            f"{text} ({interval}, range {f.format(self.minimum)}-"
            f"{f.format(self.maximum)}, {rounds} rounds)"
        )


@dataclass(frozen=True)
class Target:
    """A bound a figure must stay within; see AtMost and AtLeast."""

    bound: float
    unit: str = "x"

    def holds(self, value: float) -> bool:
        raise NotImplementedError

    def __str__(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class AtMost(Target):
    """The figure must be <= bound (a cost: a time, a ratio of times)."""

    def holds(self, value: float) -> bool:
        return value <= self.bound

    def __str__(self) -> str:
        return f"<= {self.bound:g}{self.unit}"


@dataclass(frozen=True)
class AtLeast(Target):
    """The figure must be >= bound (a rate: requests or jobs per second)."""

    def holds(self, value: float) -> bool:
        return value >= self.bound

    def __str__(self) -> str:
        return f">= {self.bound:g}{self.unit}"


def verdict(spread: Spread, target: Target) -> str:
    """MET when the whole interval of the median meets `target`, MISSED
    when none of it does, INCONCLUSIVE when it straddles the bound (the
    spread is wider than the margin) or the rounds are too few to trust
    (confidence below LEAST_CONFIDENCE).

    Example: a median of 0.83x with interval 0.78-0.88 against ">= 0.8x"
    is inconclusive; with interval 0.81-0.88 it is met.
    """
    if spread.confidence < LEAST_CONFIDENCE:
        return INCONCLUSIVE
    low, high = target.holds(spread.low), target.holds(spread.high)
    if low and high:
        return MET
    if not low and not high:
        return MISSED
    return INCONCLUSIVE


def combine(verdicts: Iterable[str]) -> str:
    """One verdict for several parts of a target (insert and update, each
    endpoint...): MISSED if any part missed, else INCONCLUSIVE if any was,
    else MET.

    Example: `combine(["met", "inconclusive"]) == "inconclusive"`.
    """
    found = set(verdicts)
    if MISSED in found:
        return MISSED
    if INCONCLUSIVE in found or not found:
        return INCONCLUSIVE
    return MET
