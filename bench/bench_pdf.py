"""PDF reports: `render_pdf` against WeasyPrint alone, on the same HTML.

Run: `.venv/bin/python -m bench.bench_pdf [--rounds 5 --per-round 3
--reports-per-worker 4 --throughput-rounds 3]` (no database is touched). A
smoke run: `--quick`.

Printed, from one run:
- milliseconds per one-page and per ten-page report (medians of alternating
  rounds): `render_pdf` (template rendering, letterhead with its logo opened
  safely, the report URL fetcher, the HTML size and page limits) against the
  baseline, WeasyPrint's `HTML(string=html).write_pdf()` of the same HTML
  with its default fetcher, and the ratio ours / baseline;
- pages per second with two worker processes, each rendering ten-page
  reports after a warm-up, ours and the baseline alternating over
  `--throughput-rounds`, and the ratio.

Each ratio is the median of per-round ratios (the order rotating,
bench/rounds.py) with its interval and range; the figures go to var/bench/
(bench/results.py); `--quick` is a smoke run.

Both sides embed the same fonts, and WeasyPrint subsets every embedded font
for each PDF: that dominates a short report. It is done by fontTools unless
the HarfBuzz subsetting library (Debian: libharfbuzz-subset0) is installed;
the first line says which is in use.
"""

import argparse
import io
import multiprocessing
import os
import queue
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.template.loader import render_to_string  # noqa: E402
from django.test import override_settings  # noqa: E402
from PIL import Image  # noqa: E402
from pypdf import PdfReader  # noqa: E402
from weasyprint import HTML  # type: ignore[import-untyped]  # noqa: E402
from weasyprint.text.ffi import harfbuzz_subset  # type: ignore[import-untyped]  # noqa: E402

import core  # noqa: E402
from bench.results import Record, parse_arguments, start  # noqa: E402
from bench.rounds import alternate, timed_rounds  # noqa: E402
from core.utils.pdf import Letterhead, PageSetup, ReportFrame, render_pdf  # noqa: E402

#: The report: one results panel (25 rows) per page, pages split explicitly
#: so that "ten-page" is exactly ten pages.
TEMPLATE = """{% extends "core/pdf/base_report.html" %}
{% block title %}Cumulative report{% endblock %}
{% block footer_note %}Report {{ number }}{% endblock %}
{% block content %}
{% for panel in panels %}
<section style="{% if not forloop.last %}break-after: page{% endif %}">
<h1>{{ panel.name }}</h1>
<table>
<thead><tr><th>Test</th><th>Result</th><th>Unit</th><th>Reference</th></tr></thead>
<tbody>{% for row in panel.rows %}
<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
</section>
{% endfor %}
{% endblock %}
"""
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "loaders": [
                (
                    "django.template.loaders.locmem.Loader",
                    {"bench/report.html": TEMPLATE},
                ),
                "django.template.loaders.app_directories.Loader",
            ],
        },
    }
]
#: How long a worker waits for the other to be ready (imports, warm-up).
BARRIER_TIMEOUT_SECONDS = 300
#: What the baseline's relative URLs resolve against: core's static folder,
#: where report.css and the fonts are (ours finds them through the fetcher).
CORE_STATIC_URL = (Path(core.__file__).parent / "static").as_uri() + "/"


def letterhead() -> Letterhead:
    logo = io.BytesIO()
    Image.new("RGBA", (900, 300), (0, 80, 160, 255)).save(logo, "PNG")
    return Letterhead("Central Lab", ("12 MG Road", "Pune 411001"), logo.getvalue())


def context(pages: int) -> dict[str, Any]:
    rows = [
        (f"Haemoglobin {n} (हीमोग्लोबिन)", f"13.{n}", "g/dL", "13.0 - 17.0")
        for n in range(25)
    ]
    panels = [{"name": f"Panel {p + 1}", "rows": rows} for p in range(pages)]
    return {"panels": panels, "number": "R-2026-0001"}


def ours(pages: int) -> Callable[[], bytes]:
    head, values = letterhead(), context(pages)
    return lambda: render_pdf("bench/report.html", values, lab=head)


def baseline(pages: int) -> Callable[[], bytes]:
    """WeasyPrint alone on the HTML render_pdf produces (rendered once here)."""
    head = letterhead()
    frame = ReportFrame(
        language="en",
        direction="ltr",
        page=PageSetup(),
        letterhead=head,
        logo_src=head.logo_data_uri(),
        watermark=None,
    )
    html = render_to_string("bench/report.html", {**context(pages), "pdf": frame})
    return lambda: HTML(string=html, base_url=CORE_STATIC_URL).write_pdf()


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def worker(side: str, reports: int, barrier: Any, results: Any) -> None:
    """One worker process: warm up, wait for the other, render `reports`."""
    with override_settings(TEMPLATES=TEMPLATES):
        action = (ours if side == "ours" else baseline)(10)
        pages = page_count(action())  # warm-up: imports, fonts, templates
        barrier.wait(timeout=BARRIER_TIMEOUT_SECONDS)
        started = time.perf_counter()
        for _ in range(reports):
            action()
        results.put((pages * reports, started, time.perf_counter()))


def pages_per_second(side: str, reports: int, processes: int = 2) -> float:
    """Pages per second of `processes` workers started together (wall time
    from the first start to the last finish)."""
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(processes), spawn.Queue()
    workers = [
        spawn.Process(target=worker, args=(side, reports, barrier, results))
        for _ in range(processes)
    ]
    for process in workers:
        process.start()
    finished: list[tuple[int, float, float]] = []
    while len(finished) < processes:
        try:
            finished.append(results.get(timeout=1))
        except queue.Empty:
            failed = [p.exitcode for p in workers if p.exitcode not in (None, 0)]
            if failed:
                for process in workers:
                    process.terminate()
                raise RuntimeError(
                    f"A worker exited with code {failed[0]}; its traceback is above."
                ) from None
    for process in workers:
        process.join()
    pages = sum(item[0] for item in finished)
    wall = max(item[2] for item in finished) - min(item[1] for item in finished)
    return pages / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=3)
    parser.add_argument("--reports-per-worker", type=int, default=4)
    parser.add_argument("--throughput-rounds", type=int, default=3)
    quick = {"rounds": 3, "per_round": 1, "reports_per_worker": 1}
    args = parse_arguments(parser, quick | {"throughput_rounds": 2})
    subsetter = "HarfBuzz" if harfbuzz_subset is not None else "fontTools"
    print(
        f"font subsetting: {subsetter}; medians of {args.rounds} rounds x "
        f"{args.per_round} renders per side"
    )
    # Both sides render in this process, or in two workers meant to use every
    # CPU: there is no server and load generator to keep apart.
    record = start("bench_pdf", args, unpinned="no server and load generator")
    with override_settings(TEMPLATES=TEMPLATES):
        for pages in (1, 10):
            actions = {"ours": ours(pages), "baseline": baseline(pages)}
            counts = {name: page_count(action()) for name, action in actions.items()}
            assert counts == {"ours": pages, "baseline": pages}, counts
            timings = timed_rounds(actions, args.per_round, args.rounds)
            metric = f"seconds per {pages}-page report"
            mine, base = (
                record.figure(name, metric, timings[name], "s").spread.median * 1e3
                for name in ("ours", "baseline")
            )
            ratio = record.ratio(
                metric, "ours", "baseline", timings["ours"], timings["baseline"]
            )
            print(
                f"{pages:2d}-page report: render_pdf {mine:7.1f} ms | WeasyPrint "
                f"alone {base:7.1f} ms | ours / baseline {ratio.describe()}"
            )
    throughput(args, record)
    record.write()


def throughput(args: argparse.Namespace, record: Record) -> None:
    """Pages per second of two workers, ours and the baseline alternating
    over args.throughput_rounds rounds."""
    rates = alternate(
        {
            side: partial(pages_per_second, side, args.reports_per_worker)
            for side in ("ours", "baseline")
        },
        args.throughput_rounds,
    )
    metric = "pages per second, 2 workers"
    mine, base = (
        record.figure(side, metric, rates[side], "/s").spread.median
        for side in ("ours", "baseline")
    )
    # The baseline's rate over ours: our time per page as a multiple of its.
    ratio = record.ratio(metric, "baseline", "ours", rates["baseline"], rates["ours"])
    print(
        f"2 workers, ten-page reports: render_pdf {mine:5.1f} pages/s | "
        f"WeasyPrint alone {base:5.1f} pages/s | ours / baseline "
        f"{ratio.describe()} the time per page"
    )


if __name__ == "__main__":
    main()
