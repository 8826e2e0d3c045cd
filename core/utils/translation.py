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

A lab may word any text its own way per language (`LabTranslation`). The text
for (key, language, lab) is the first of:

    the lab's override
    -> its parents' overrides (nearest first; at the same distance, the
       lower lab id, i.e. the older lab)
    -> the language's default
    -> English

A child lab inherits its parents' wording because a collection centre prints
its processing lab's reports; a parent never takes a child's wording, and
unrelated or sibling labs never see each other's. An override whose key has
left the catalogue is ignored.

Overrides are read through the instance cache, one hash per lab
(`LabTranslation_CentreId{lab_id}_List`), which every committed save or delete
invalidates; a warm lookup costs one query (the lab's ancestors), two when
the lab has more than one ancestor.

Example, in a view that renders a report:

    texts = lab_texts(lab.pk, lab.language)
    context = {"texts": texts, "direction": text_direction(lab.language)}
"""

from collections import defaultdict
from collections.abc import Iterator
from typing import Any, Literal

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from core.models.translation import LabTranslation
from core.tenancy.hierarchy import ancestor_lab_ids, parent_links
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
    "message.result_pending": pgettext_lazy("lab report", "Result awaited"),
    "message.critical_value": pgettext_lazy(
        "lab report", "Critical value: please contact the laboratory at once."
    ),
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


def default_text(key: str, language: str) -> str:
    """The catalogue's text for `key` in `language`, English where the
    language has no translation. No lab involved."""
    check_key(key)
    with translation.override(check_language(language)):
        return str(REPORT_TEXTS[key])


def lab_texts(lab_id: int, language: str) -> dict[str, str]:
    """Every catalogue text as `lab_id` prints it in `language` (see the
    module docstring for the order). One call per report.

    Example: `lab_texts(3, "hi")["report.title"]` -> "प्रयोगशाला रिपोर्ट",
    or the lab's own wording.
    """
    check_language(language)
    with translation.override(language):
        texts = {key: str(text) for key, text in REPORT_TEXTS.items()}
    found: dict[str, str] = {}
    for key, text in _overrides(lab_id, language):
        found.setdefault(key, text)  # the nearest lab's override wins
    texts.update(found)
    return texts


def lab_text(key: str, language: str, lab_id: int, **params: Any) -> str:
    """The text for `key` as `lab_id` prints it in `language`, with `params`
    filled into its placeholders when given.

    Example: `lab_text("report.page_of", "ar", 3, page=1, pages=2)`
    -> "صفحة 1 من 2".
    """
    check_key(key)
    check_language(language)
    text = next(
        (text for found, text in _overrides(lab_id, language) if found == key),
        None,
    )
    if text is None:
        text = default_text(key, language)
    return text % params if params else text


def override_lab_ids(lab_id: int) -> list[int]:
    """The labs whose overrides apply to `lab_id`, in order: the lab, then
    its ancestors by distance (parents, grandparents, ...), lower id first
    at the same distance. One query, two with more than one ancestor.

    Example: with 1 -> 2 -> 4 and 3 -> 4, `override_lab_ids(4)` is [4, 2, 3, 1].
    """
    ancestors = ancestor_lab_ids(lab_id)
    if len(ancestors) <= 1:
        return [lab_id, *ancestors]
    parents: defaultdict[int, list[int]] = defaultdict(list)
    for child, parent in parent_links([lab_id, *ancestors]):
        parents[child].append(parent)
    order, level = [lab_id], [lab_id]
    while level:
        level = sorted({p for lab in level for p in parents[lab]} - set(order))
        order.extend(level)
    return order


def _overrides(lab_id: int, language: str) -> Iterator[tuple[str, str]]:
    """(key, text) of the overrides in `language` along the lab's chain,
    nearest lab first; keys no longer in the catalogue are skipped."""
    for chain_lab_id in override_lab_ids(lab_id):
        for row in LabTranslation.get_cached_list(chain_lab_id):
            if row.language == language and row.key in REPORT_TEXTS:
                yield row.key, row.text
