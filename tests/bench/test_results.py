"""bench/results.py: the shared options (--quick, --results) and the JSON
file of a run, with the fields docs/benchmarks.md documents."""

import argparse
import json
import re
from pathlib import Path

import pytest

from bench.pinning import plan_pinning
from bench.results import Record, parse_arguments, results_dir
from bench.rounds import AtLeast, AtMost

pytestmark = pytest.mark.engine_independent


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=200)
    return parse_arguments(parser, {"rounds": 3, "per_round": 20}, argv)


def test_quick_shortens_the_defaults_and_explicit_options_still_win() -> None:
    assert (parse([]).rounds, parse([]).per_round) == (15, 200)
    assert (parse(["--quick"]).rounds, parse(["--quick"]).per_round) == (3, 20)
    assert parse(["--quick", "--rounds", "7"]).rounds == 7


def test_the_results_directory_is_the_option_then_the_variable_then_var_bench(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BENCH_RESULTS_DIR", raising=False)
    assert results_dir(parse([])).parts[-2:] == ("var", "bench")
    monkeypatch.setenv("BENCH_RESULTS_DIR", str(tmp_path / "ci"))
    assert results_dir(parse([])) == tmp_path / "ci"
    assert results_dir(parse(["--results", str(tmp_path)])) == tmp_path


def test_a_run_is_written_as_json_with_the_documented_fields(tmp_path: Path) -> None:
    args = parse(["--quick", "--results", str(tmp_path / "out")])
    record = Record("bench_demo", args, plan_pinning(enabled=False))
    record.figure("plain", "seconds per save", [0.001, 0.0012, 0.0011], "s")
    ratio = record.ratio(
        "seconds per save", "ours", "plain", [0.0018, 0.0026, 0.002],
        [0.001, 0.0012, 0.0011], AtMost(2.0),
    )  # fmt: skip
    record.figure(
        "ours", "jobs/s", [700.0, 690.0, 640.0], "/s", AtLeast(650, " jobs/s")
    )
    record.conclude("ours <= 2x plain", str(ratio.verdict))

    path = record.write()

    assert path.parent == tmp_path / "out"
    assert re.fullmatch(r"bench_demo-\d{8}T\d{6}Z-\w{7}\.json", path.name)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["schema"] == "lis-bench/1"
    assert document["benchmark"] == "bench_demo"
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", document["commit"])
    assert isinstance(document["dirty"], bool)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", document["timestamp"])
    assert document["cpu_count"] >= 1
    assert document["pinning"] == {
        "server": [], "load": [], "note": "pinning: none (--no-pin)",
    }  # fmt: skip
    assert document["parameters"]["rounds"] == 3
    assert document["parameters"]["results"] == str(tmp_path / "out")
    [saved_ratio] = document["ratios"]
    assert saved_ratio["subject"] == "ours" and saved_ratio["baseline"] == "plain"
    assert saved_ratio["values"] == pytest.approx([1.8, 2.1667, 1.8182], abs=1e-4)
    assert saved_ratio["median"] == pytest.approx(1.8182, abs=1e-4)
    assert (saved_ratio["low"], saved_ratio["high"]) == (
        pytest.approx(1.8),
        pytest.approx(2.1667, abs=1e-4),
    )
    assert saved_ratio["confidence"] == 0.75
    assert saved_ratio["target"] == "<= 2x"
    assert saved_ratio["verdict"] == "inconclusive"  # 1.80-2.17 straddles 2x
    plain, jobs = document["figures"]
    assert plain["variant"] == "plain" and plain["metric"] == "seconds per save"
    assert plain["unit"] == "s" and plain["target"] is None
    assert (plain["min"], plain["max"]) == (0.001, 0.0012)
    assert (jobs["target"], jobs["verdict"]) == (">= 650 jobs/s", "inconclusive")
    assert document["verdicts"] == {"ours <= 2x plain": "inconclusive"}
