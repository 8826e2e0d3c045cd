"""Labels never carry patient data or anything a caller chooses: after many
requests with distinct patients (names, phones, emails, ids) in several
labs, raw URLs, query strings and odd methods, every `lis_` family has the
same series as after the first round, no label value holds a patient
datum, a path or a number, and a route label is always the name of a URL
pattern: so the HTTP families' series are bounded by the URL patterns the
code declares (times methods, status classes and buckets), whatever the
traffic, and every other family by MAX_SERIES_PER_FAMILY.

(The bound is not one number for the HTTP families: the suite's other tests
share the process's registry and reach any of the project's routes.)"""

import re
import secrets
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from prometheus_client.samples import Sample

from core.metrics.families import (
    HTTP_BUCKETS_SECONDS,
    HTTP_METHODS,
    STATUS_CLASSES,
    UNRESOLVED,
)
from core.models import ApiKey
from tests.core.metrics.scrape import samples, scrape_text
from tests.core.webhooks.fixtures import new_patient

pytestmark = pytest.mark.django_db
#: Most series any family but the HTTP ones may have (a histogram has a
#: series per bucket).
MAX_SERIES_PER_FAMILY = 400
#: A label value: names made of letters, `_`, `-`, `.` and `:` only (route
#: names, job paths, fixed values); `status` is a class such as `4xx`.
LABEL_VALUE = re.compile(r"[A-Za-z_.:-]+")
STATUS_CLASS = re.compile(r"[1-5]xx")


def traffic(labs: list[Any], tag: str) -> list[str]:
    """One round of requests with new patients in each lab; the patient
    data it used (names, phones, emails, ids), to look for in labels."""
    data: list[str] = []
    for number, lab in enumerate(labs):
        first, last = f"Zelda{tag}{number}", f"Quill{secrets.token_hex(3)}"
        phone, email = f"+9198765{number:02d}{tag[-3:]}", f"z{tag}{number}@example.com"
        patient = new_patient(
            lab, first_name=first, last_name=last, phone=phone, email=email
        )
        data += [first, last, phone, email, str(patient.pk)]
        _, key = ApiKey.create(lab, f"Cardinality {tag}")
        client = Client(headers={"X-API-Key": key})
        client.get(f"/api/patients/{patient.pk}/")
        client.get(f"/api/patients/{patient.pk + 100_000}/")  # not found
        client.get(f"/api/patients/?sex=F&name={first}")
        client.post(
            "/api/patients/search/", {"phone": phone}, content_type="application/json"
        )
        client.post(
            "/api/patients/",
            {"first_name": f"{first}x", "last_name": last, "sex": "F"},
            content_type="application/json",
        )
        client.get(f"/api/patients/{first}/")  # no pattern matches
        client.get(f"/{first}/{phone}/{email}")
        client.get(f"/core/files/labs/{lab.pk}/{first}.pdf")
        client.generic(f"X{tag.upper()}", f"/api/patients/{patient.pk}/")
        Client().get(f"/admin/patients/patient/{patient.pk}/change/")
    return data


def route_names() -> set[str]:
    """Every value the `route` label may take: the name of each URL pattern
    the project declares (with its namespaces), and UNRESOLVED."""
    names = {UNRESOLVED}

    def walk(patterns: list[Any], namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = (
                    f"{namespace}{pattern.namespace}:"
                    if pattern.namespace
                    else namespace
                )
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(namespace + pattern.name)

    walk(get_resolver().url_patterns, "")
    return names


def http_series_bound(routes: int) -> int:
    """Most series an HTTP family may have: a series per route, method
    (or OTHER), status class (or OTHER) and bucket (plus +Inf, count, sum)."""
    methods, statuses = len(HTTP_METHODS) + 1, len(STATUS_CLASSES) + 1
    return routes * methods * statuses * (len(HTTP_BUCKETS_SECONDS) + 3)


def lis_series(text: str) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {
        (s.name, tuple(sorted(s.labels.items())))
        for s in samples(text)
        if s.name.startswith("lis_")
    }


def check_label(sample: Sample, data: list[str]) -> None:
    for label, label_value in sample.labels.items():
        if label == "le":  # a histogram bucket's fixed bound
            continue
        if label == "status":
            assert STATUS_CLASS.fullmatch(label_value), (sample.name, label_value)
            continue
        # no digit: no id, phone or number of any kind; no "/": no path
        assert LABEL_VALUE.fullmatch(label_value), (sample.name, label, label_value)
        for datum in data:
            assert datum.lower() not in label_value.lower(), (sample.name, datum)


def test_labels_are_bounded_and_carry_no_patient_data(labs: dict[str, Any]) -> None:
    every_lab = list(labs.values())
    before = lis_series(scrape_text())  # the suite's earlier tests' series
    data = traffic(every_lab, "one")
    scrape_text()  # so that the scrapes' own series are there from now on
    first = lis_series(scrape_text())

    data += traffic(every_lab, "two") + traffic(every_lab[:2], "three")
    text = scrape_text()

    assert lis_series(text) == first  # new patients, ids, URLs: no new series
    per_family: dict[str, int] = {}
    for sample in samples(text):
        if sample.name.startswith("lis_"):
            check_label(sample, data)
            family = re.sub(r"_(bucket|count|sum|total)$", "", sample.name)
            per_family[family] = per_family.get(family, 0) + 1
    # The routes this traffic added are names of the project's URL patterns,
    # never paths (earlier tests of the suite may have served their own
    # URLconfs, whose names are just as fixed).
    routes = {
        dict(labels)["route"] for _, labels in first - before if "route" in dict(labels)
    }
    declared = route_names()
    assert routes <= declared, routes - declared
    served = {s.labels["route"] for s in samples(text) if "route" in s.labels}
    assert {"patients:detail", "patients:list", UNRESOLVED} <= served
    http = {f for f in per_family if f.startswith("lis_http_")}
    assert http and all(per_family[f] <= http_series_bound(len(declared)) for f in http)
    others = [count for family, count in per_family.items() if family not in http]
    assert others and max(others) <= MAX_SERIES_PER_FAMILY
