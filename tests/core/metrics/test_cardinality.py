"""Labels never carry patient data or anything a caller chooses: after many
requests with distinct patients (names, phones, emails, ids) in several
labs, raw URLs, query strings and odd methods, every `lis_` family has the
same series as after the first round, bounded in number, and no label value
holds a patient datum, a path or a number."""

import re
import secrets
from typing import Any

import pytest
from django.test import Client
from prometheus_client.samples import Sample

from core.models import ApiKey
from tests.core.metrics.scrape import samples, scrape_text
from tests.core.webhooks.fixtures import new_patient

pytestmark = pytest.mark.django_db
#: Most series any one family may have (histograms: a series per bucket).
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
    assert per_family and max(per_family.values()) <= MAX_SERIES_PER_FAMILY
    routes = {s.labels["route"] for s in samples(text) if "route" in s.labels}
    assert {"patients:detail", "patients:list", "unresolved"} <= routes
