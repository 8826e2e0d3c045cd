"""Report texts in a lab's language, with each lab's own wording.

Two layers:

1. The interface (admin, forms) uses Django's i18n unchanged: LocaleMiddleware
   picks each user's language among settings.LANGUAGES (Accept-Language,
   then the language cookie), and templates read the direction from
   `LANGUAGE_BIDI` or `{% get_current_language_bidi %}`.
2. Report labels and messages come from a catalogue of keys, `REPORT_TEXTS`:
   English source texts marked for gettext with the context "lab report",
   translated in `core/locale/<language>/LC_MESSAGES/django.po` and compiled
   to the committed `django.mo` beside it. gettext, not a data module,
   because it is what Django's makemessages / compilemessages and every
   translators' tool read, and what a Django engineer looks for; the context
   keeps a report's "Result" apart from any other "Result" Django translates.
   The keys live here, in code, so overrides and imports can be checked
   against them.

A lab's own wording (`LabTranslation`) and the lookups that apply it,
`lab_texts` and `lab_text`, are in core/models/translation.py: they read
the database, and this module reads nothing but the catalogue.
"""

from typing import Literal

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from core.utils.date.formatting import check_language

#: The language every text falls back to; each catalogue msgid is English.
FALLBACK_LANGUAGE = "en"

#: Every report text: key -> English source text (translated by gettext).
#: Adding a key: add it here, run `manage.py makemessages -l ar -l hi` in
#: core/, translate the new entries and run `manage.py compilemessages`.
REPORT_TEXTS: dict[str, Promise] = {
    "report.title": pgettext_lazy("lab report", "Laboratory Report"),
    "report.patient_name": pgettext_lazy("lab report", "Patient Name"),
    "report.patient_id": pgettext_lazy("lab report", "Patient ID"),
    "report.age_sex": pgettext_lazy("lab report", "Age / Sex"),
    "report.referred_by": pgettext_lazy("lab report", "Referred By"),
    "report.collected_at": pgettext_lazy("lab report", "Sample Collected"),
    "report.received_at": pgettext_lazy("lab report", "Sample Received"),
    "report.reported_at": pgettext_lazy("lab report", "Reported"),
    "report.test_name": pgettext_lazy("lab report", "Test"),
    "report.result": pgettext_lazy("lab report", "Result"),
    "report.unit": pgettext_lazy("lab report", "Unit"),
    "report.reference_range": pgettext_lazy("lab report", "Reference Range"),
    "report.released_by": pgettext_lazy("lab report", "Released By"),
    "report.page_of": pgettext_lazy("lab report", "Page %(page)s of %(pages)s"),
    "report.end_of_report": pgettext_lazy("lab report", "End of Report"),
    "report.edition": pgettext_lazy("lab report", "Edition"),
    "report.released_at": pgettext_lazy("lab report", "Released"),
    "report.corrected": pgettext_lazy("lab report", "Corrected report"),
    "report.replaces_edition": pgettext_lazy("lab report", "Replaces edition"),
    "message.result_pending": pgettext_lazy("lab report", "Result awaited"),
    "message.critical_value": pgettext_lazy(
        "lab report", "Critical value: please contact the laboratory at once."
    ),
    # The watermarks of core.utils.pdf.registry.WATERMARKS, by their lower
    # case ("DRAFT" -> "watermark.draft"; ReportFrame.watermark_key).
    "watermark.draft": pgettext_lazy("lab report", "DRAFT"),
    "watermark.corrected": pgettext_lazy("lab report", "CORRECTED"),
}


def check_key(key: str) -> str:
    """`key` if the catalogue has it, else ValueError naming the valid keys."""
    if key not in REPORT_TEXTS:
        raise ValueError(
            f"{key!r} is not a report text key; use one of: "
            f"{', '.join(sorted(REPORT_TEXTS))}."
        )
    return key


def text_direction(language: str) -> Literal["ltr", "rtl"]:
    """The writing direction of `language`, for `<html dir="...">`.

    Example: `text_direction("ar")` -> "rtl"; "en" and "hi" -> "ltr".
    """
    info = translation.get_language_info(check_language(language))
    return "rtl" if info["bidi"] else "ltr"


def default_texts(language: str) -> dict[str, str]:
    """Every catalogue text in `language` (English where it has no
    translation), by key. No lab involved."""
    with translation.override(check_language(language)):
        return {key: str(text) for key, text in REPORT_TEXTS.items()}


def default_text(key: str, language: str) -> str:
    """The catalogue's text for `key` in `language`, English where the
    language has no translation. No lab involved."""
    check_key(key)
    with translation.override(check_language(language)):
        return str(REPORT_TEXTS[key])
