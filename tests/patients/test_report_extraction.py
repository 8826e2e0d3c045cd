"""A released report's text extracts as it reads (issue 16 point 4): every
term of a corpus of real lab terms in English, Arabic and Hindi
(report_terms.py), printed as a released report's test names and units,
comes back intact from pdftotext and from pypdf, tools we did not write.

Each test prints its extraction rate per language (`pytest -s` shows it).
"""

import pytest

from patients.release import release_pdf
from tests.pdf_tools import EXTRACTORS, extract
from tests.patients.report_examples import report_lab
from tests.patients.report_terms import TERMS, UNITS, corpus_size
from patients.models import Patient, Report

pytestmark = pytest.mark.django_db


def corpus_report(language: str) -> bytes:
    """The released PDF of a report whose results are the language's terms,
    each with a unit of the corpus."""
    lab = report_lab(language)
    patient = Patient(lab=lab, first_name="Asha", sex="F")
    patient.save()
    results = [
        {"test": term, "value": 10 + n, "unit": UNITS[n % len(UNITS)]}
        for n, term in enumerate(TERMS[language])
    ]
    report = Report(lab=lab, patient=patient, title=TERMS[language][0], results=results)
    report.save()
    return release_pdf(report)


def test_the_corpus_has_at_least_fifty_terms() -> None:
    assert corpus_size() >= 50
    assert all(len(terms) >= 20 for terms in TERMS.values())


@pytest.mark.parametrize("extractor", sorted(EXTRACTORS))
@pytest.mark.parametrize("language", sorted(TERMS))
def test_every_term_extracts_intact(language: str, extractor: str) -> None:
    pdf = corpus_report(language)

    found = extract(pdf, [*TERMS[language], *UNITS], extractor)

    print(found.summary(language))
    assert found.missing == (), found.text
