"""No untranslated text on a report (issue 16 point 2): every registered
report (server-only ones too), rendered in every language of LANGUAGES,
prints every word in that language's script, except the report's data
(names, tests, as the lab wrote them) and what is the same in every
language (SAME_IN_EVERY_LANGUAGE). A heading hard-coded in English, a
text missing from a catalogue, an untranslated watermark fails it. And a
lab's own wording of a text replaces the default on its reports."""

import re
import unicodedata

import pytest
from django.conf import settings

from core.models import LabTranslation
from tests.patients.report_examples import (
    EXAMPLES,
    PATIENT_ID,
    UNITS,
    WORDS,
    drawn_text,
    report_lab,
)

pytestmark = pytest.mark.django_db

#: Printed the same in every language: units, identifiers, the sex code
#: the example's client sends, and time zone abbreviations (tzdata's, in
#: Latin letters whatever the language; "IST" is the Hindi lab's zone).
SAME_IN_EVERY_LANGUAGE = [*UNITS, PATIENT_ID, "M", "IST"]
#: The script of each language's words (Unicode character names start so).
SCRIPTS = {"en": "LATIN", "ar": "ARABIC", "hi": "DEVANAGARI"}


def words_of(text: str) -> set[str]:
    """The runs of letters in `text` (marks and digits split them)."""
    return set(re.findall(r"[^\W\d_]+", text))


def script_of(word: str) -> str:
    """The script of the first letter of `word`, e.g. "ARABIC"."""
    return unicodedata.name(word[0]).split()[0]


def untranslated(text: str, language: str) -> set[str]:
    """The words of `text` in another script than `language`'s, but for
    the same-everywhere list and the data's words."""
    data = " ".join([*SAME_IN_EVERY_LANGUAGE, *map(str, WORDS[language].values())])
    allowed = words_of(data)
    return {
        word
        for word in words_of(text) - allowed
        if script_of(word) != SCRIPTS[language]
    }


def test_every_language_has_a_script_to_check() -> None:
    assert {code for code, _ in settings.LANGUAGES} == set(SCRIPTS)


@pytest.mark.parametrize("language", [code for code, _ in settings.LANGUAGES])
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_report_prints_no_untranslated_text(name: str, language: str) -> None:
    lab = report_lab(language)

    text = drawn_text(EXAMPLES[name].render(lab))

    assert untranslated(text, language) == set(), text


def test_a_labs_own_wording_replaces_the_default_on_its_reports() -> None:
    lab = report_lab("en")
    for key, wording in [
        ("report.result", "Finding"),
        ("report.page_of", "Sheet %(page)s/%(pages)s"),
        ("watermark.corrected", "AMENDED"),
    ]:
        LabTranslation(lab=lab, key=key, language="en", text=wording).save()

    text = drawn_text(EXAMPLES["patients.release"].render(lab))

    assert {"Finding", "Sheet 1/1", "AMENDED"} <= set(re.split(r"\s{2,}|\n", text))
    assert "Result" not in text and "Page" not in text and "CORRECTED" not in text
