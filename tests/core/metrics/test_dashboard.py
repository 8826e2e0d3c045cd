"""deploy/grafana/lis-core.json, the sample dashboard: valid JSON whose every
panel queries only metrics the exposition really has (names as
prometheus_client's parser reads them from a scrape), and covers every
family of the project."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.core.metrics.scrape import scrape_text

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "lis-core.json"
#: The PromQL the dashboard uses besides metric names.
PROMQL_WORDS = {"sum", "rate", "histogram_quantile", "by"}
#: The sample names of a family, by its type.
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
}


def queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of every panel."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` selects: what is left once label matchers,
    ranges, `by (...)` clauses, numbers and PromQL's words are removed.

    Example: `metric_names('sum by (route) (rate(lis_x_total{a="b"}[5m]))')`
    -> `{"lis_x_total"}`.
    """
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\bby\s*\([^)]*\)|\b\d+(\.\d+)?\b", " ", expr)
    return set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare)) - PROMQL_WORDS


def exposed_names(text: str) -> dict[str, str]:
    """Sample name -> family name, for every `lis_` family of the scrape."""
    return {
        family.name + suffix: family.name
        for family in text_string_to_metric_families(text)
        if family.name.startswith("lis_")
        for suffix in SUFFIXES[family.type]
    }


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, route) "
        '(rate(lis_a_bucket{status="5xx"}[$__rate_interval]))) / lis_b'
    )
    assert metric_names(expr) == {"lis_a_bucket", "lis_b"}


@pytest.mark.django_db
def test_every_panel_queries_metrics_the_exposition_has() -> None:
    exposed = exposed_names(scrape_text())

    for title, expr in queries():
        names = metric_names(expr)
        assert names, (title, expr)
        assert names <= set(exposed), (title, sorted(names - set(exposed)))


@pytest.mark.django_db
def test_every_family_has_a_panel() -> None:
    exposed = exposed_names(scrape_text())
    queried = set().union(*(metric_names(expr) for _, expr in queries()))

    assert {exposed[name] for name in queried} == set(exposed.values())


def test_every_panel_uses_the_dashboards_datasource() -> None:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]

    assert panels
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
