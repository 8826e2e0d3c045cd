"""A benchmark run's record: the options every benchmark shares (--quick,
--results, --no-pin), each figure and ratio with its spread over the rounds
and its verdict, and the JSON file they are written to.

The file (one per run, `<benchmark>-<UTC time>-<commit>.json` in the results
directory: --results, else BENCH_RESULTS_DIR, else var/bench/) holds:

- `schema` ("lis-bench/1"), `benchmark`, `commit` (git HEAD, `dirty` when the
  work tree had changes), `timestamp` (UTC, ISO 8601), `cpu_count` (the
  machine's), `pinning` (server and load CPUs, and the note printed),
  `parameters` (the command line's options);
- `figures`: per variant and metric, the per-round `values`, their `median`,
  the interval of the median `low`-`high` at `confidence`, `min`, `max`,
  and `target` / `verdict` when the figure has a target of its own;
- `ratios`: the same for `subject` / `baseline`, one ratio per round;
- `verdicts`: each target's overall verdict (met, missed, inconclusive).

CI keeps the directory as an artifact (docs/benchmarks.md), so a figure can
be followed from commit to commit.
"""

import argparse
import datetime as dt
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.pinning import Pinning, plan_pinning
from bench.rounds import Spread, Target, per_round_ratios, verdict

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA = "lis-bench/1"
RESULTS_DIR_VARIABLE = "BENCH_RESULTS_DIR"
DEFAULT_RESULTS_DIR = REPO_ROOT / "var" / "bench"


def parse_arguments(
    parser: argparse.ArgumentParser,
    quick: Mapping[str, Any],
    argv: Sequence[str] | None = None,
) -> argparse.Namespace:
    """Add the shared options to `parser` and parse `argv`. With --quick the
    options named in `quick` default to its values (a smoke pass of a few
    short rounds, for CI); an option given explicitly still wins."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a short pass: {', '.join(f'{k}={v}' for k, v in quick.items())}",
    )
    parser.add_argument(
        "--results",
        type=Path,
        help=f"directory of the JSON figures (default ${RESULTS_DIR_VARIABLE}, "
        "else var/bench/)",
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="leave every process on every CPU"
    )
    args = parser.parse_args(argv)
    if args.quick:
        parser.set_defaults(**quick)
        args = parser.parse_args(argv)
    return args


def results_dir(args: argparse.Namespace) -> Path:
    """Where this run's file goes: --results, $BENCH_RESULTS_DIR, var/bench/."""
    chosen = args.results or os.environ.get(RESULTS_DIR_VARIABLE)
    return Path(chosen) if chosen else DEFAULT_RESULTS_DIR


def git_commit() -> tuple[str, bool]:
    """(HEAD's commit, whether the work tree has changes); ("unknown",
    False) outside a git checkout."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607
            cwd=REPO_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=REPO_ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False
    return head, bool(status.strip())


@dataclass(frozen=True)
class Measured:
    """A figure or a ratio over the rounds, with its target's verdict.

    Example: `Measured("insert ours/plain", Spread.of([1.6, 1.7, 1.8]), "x",
    AtMost(2.0), "met")`.
    """

    name: str
    spread: Spread
    unit: str
    target: Target | None
    verdict: str | None

    def describe(
        self, scale: float = 1.0, digits: int = 2, unit: str | None = None
    ) -> str:
        """The median, interval and range (times `scale`, in `unit`: 1e6
        and " us" for seconds shown in microseconds), and the verdict when
        there is a target.

        Example: `"1.71x (75% CI 1.60-1.80 = range, 3 rounds) <= 2x: met"`.
        """
        shown = self.spread
        if scale != 1.0:
            shown = Spread.of(value * scale for value in self.spread.values)
        text = shown.describe(self.unit if unit is None else unit, digits)
        if self.target is not None:
            text += f" {self.target}: {self.verdict}"
        return text

    def as_json(self) -> dict[str, Any]:
        spread = self.spread
        return {
            "name": self.name,
            "unit": self.unit,
            "values": list(spread.values),
            "median": spread.median,
            "low": spread.low,
            "high": spread.high,
            "confidence": spread.confidence,
            "min": spread.minimum,
            "max": spread.maximum,
            "target": str(self.target) if self.target is not None else None,
            "verdict": self.verdict,
        }


class Record:
    """What one run measured, printed as it goes and written at the end.

    Example::

        record = Record("bench_save", args, pinning)
        ours = record.figure("ours", "seconds per insert", values, "s")
        ratio = record.ratio("insert", "ours", "plain", ours_values,
                             plain_values, target=AtMost(1.5))
        record.write()
    """

    def __init__(
        self, benchmark: str, args: argparse.Namespace, pinning: Pinning
    ) -> None:
        self.benchmark = benchmark
        self.args = args
        self.pinning = pinning
        self.figures: list[dict[str, Any]] = []
        self.ratios: list[dict[str, Any]] = []
        self.verdicts: dict[str, str] = {}

    def figure(
        self,
        variant: str,
        metric: str,
        values: Sequence[float],
        unit: str,
        target: Target | None = None,
    ) -> Measured:
        """Record `variant`'s per-round `values` of `metric`."""
        measured = _measure(f"{variant} {metric}", values, unit, target)
        self.figures.append(
            {"variant": variant, "metric": metric, **measured.as_json()}
        )
        return measured

    def ratio(
        self,
        metric: str,
        subject: str,
        baseline: str,
        subject_values: Sequence[float],
        baseline_values: Sequence[float],
        target: Target | None = None,
    ) -> Measured:
        """Record subject / baseline of `metric`, one ratio per round."""
        ratios = per_round_ratios(subject_values, baseline_values)
        measured = _measure(f"{metric} {subject}/{baseline}", ratios, "x", target)
        self.ratios.append(
            {
                "metric": metric,
                "subject": subject,
                "baseline": baseline,
                **measured.as_json(),
            }
        )
        return measured

    def conclude(self, target: str, outcome: str) -> str:
        """Record a target's overall verdict; returns it."""
        self.verdicts[target] = outcome
        return outcome

    def as_json(self) -> dict[str, Any]:
        commit, dirty = git_commit()
        parameters = {
            key: str(value) if isinstance(value, Path) else value
            for key, value in vars(self.args).items()
        }
        return {
            "schema": SCHEMA,
            "benchmark": self.benchmark,
            "commit": commit,
            "dirty": dirty,
            "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "cpu_count": os.cpu_count(),
            "pinning": self.pinning.as_json(),
            "parameters": parameters,
            "figures": self.figures,
            "ratios": self.ratios,
            "verdicts": self.verdicts,
        }

    def write(self) -> Path:
        """Write the record to the results directory; print and return its path."""
        document = self.as_json()
        directory = results_dir(self.args)
        directory.mkdir(parents=True, exist_ok=True)
        stamp = document["timestamp"].replace("-", "").replace(":", "")[:15]
        path = directory / f"{self.benchmark}-{stamp}Z-{document['commit'][:7]}.json"
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        print(f"figures written to {path}")
        return path


def _measure(
    name: str, values: Sequence[float], unit: str, target: Target | None
) -> Measured:
    spread = Spread.of(values)
    outcome = verdict(spread, target) if target is not None else None
    return Measured(name, spread, unit, target, outcome)


def start(
    benchmark: str, args: argparse.Namespace, unpinned: str | None = None
) -> Record:
    """The run's record, after planning the pinning and moving this process
    to the load CPUs; with `unpinned` (why), nothing is pinned. Prints the
    pinning note."""
    if unpinned is None:
        pinning = plan_pinning(enabled=not args.no_pin)
        pinning.pin_self()
    else:
        pinning = Pinning(frozenset(), frozenset(), None, f"pinning: none ({unpinned})")
    print(pinning.note)
    return Record(benchmark, args, pinning)
