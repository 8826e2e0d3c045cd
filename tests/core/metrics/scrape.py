"""Reading /core/view/metrics/ as Prometheus does: the exposition parsed by
prometheus_client's own parser (`text_string_to_metric_families`), not by
code of ours."""

from typing import Any

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

METRICS = "/core/view/metrics/"


def scrape_text(client: Client | None = None, **extra: Any) -> str:
    """The exposition's text (from loopback: allowed by default)."""
    response = (client or Client()).get(METRICS, **extra)
    assert response.status_code == 200, response.content
    return response.content.decode()


def samples(text: str) -> list[Sample]:
    """Every sample of the exposition."""
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def families(text: str) -> dict[str, list[Sample]]:
    """Samples by family name (a counter's family has no `_total`)."""
    return {
        family.name: list(family.samples)
        for family in text_string_to_metric_families(text)
    }


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels`
    (0 when there is none: a labelled series appears at its first event)."""
    return sum(
        sample.value
        for sample in samples(text)
        if sample.name == name
        and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def scrape_value(name: str, **labels: str) -> float:
    """`value` of a fresh scrape."""
    return value(scrape_text(), name, **labels)
