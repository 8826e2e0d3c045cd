"""What the save benchmarks share: timing a call, and the insert and update
each of them measures on every model under comparison."""

import statistics
import time
from collections.abc import Callable
from decimal import Decimal


def time_per_call(action: Callable[[int], None], count: int) -> float:
    """Median seconds per call of `action(i)` over `count` calls."""
    samples = []
    for i in range(count):
        started = time.perf_counter()
        action(i)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def time_prepared(prepare: Callable[[], Callable[[int], None]], count: int) -> float:
    """time_per_call of the action `prepare()` returns (prepared afresh for
    each round: an update's row, a new wrapper)."""
    return time_per_call(prepare(), count)


def insert(model: type) -> Callable[[int], None]:
    """A new row per call."""

    def action(i: int) -> None:
        model(name=f"r{i}", reading=Decimal("1.250"), channels=2).save()

    return action


def update(model: type) -> Callable[[int], None]:
    """One row, a field changed and saved per call."""
    row = model(name="row", reading=Decimal("1.000"))
    row.save()

    def action(i: int) -> None:
        row.channels = i % 30
        row.save()

    return action
