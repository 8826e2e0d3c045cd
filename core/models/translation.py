"""LabTranslation: a lab's own wording for one report text in one language,
and the lookups that apply it (`lab_texts`, `lab_text`).

Report labels and messages have default texts per language (the catalogue in
`core.utils.translation`, translated with gettext). A lab that words one
differently ("Referred By" -> "Consultant") stores an override here, one row
per (lab, key, language).

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

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from core.models.base import BaseModel
from core.models.caching import CacheType
from core.models.lab_scoped import LabScopedMixin
from core.tenancy.hierarchy import ancestor_lab_ids, parent_links
from core.utils.date.formatting import check_language
from core.utils.translation import (
    FALLBACK_LANGUAGE,
    REPORT_TEXTS,
    check_key,
    default_text,
    default_texts,
)

#: Longest override text; a label or a short paragraph fits, a page does not.
MAX_TEXT_LENGTH = 1000
#: A named %-placeholder such as "%(page)s", filled in when the text is used.
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def report_text_key_choices() -> list[tuple[str, str]]:
    """The keys of the default catalogue, as field choices (read at use)."""
    return [(key, key) for key in sorted(REPORT_TEXTS)]


def language_choices() -> list[tuple[str, str]]:
    """The languages of settings.LANGUAGES (read at use, so tests can change it)."""
    return list(settings.LANGUAGES)


class LabTranslation(LabScopedMixin, BaseModel):
    """A lab's override of one catalogue text in one language.

    - `key`: a catalogue key such as "report.referred_by" (choices).
    - `language`: a code of settings.LANGUAGES ("en", "ar", "hi").
    - `text`: the lab's wording. It keeps exactly the placeholders of the
      default text ("%(page)s"), so filling it in cannot fail at print time.

    Children of the lab inherit the override unless they have their own (see
    the module docstring). Changes are activity-logged like every
    BaseModel save.
    """

    cache_type = CacheType.LIST

    key = models.CharField(max_length=64, choices=report_text_key_choices)
    language = models.CharField(max_length=8, choices=language_choices)
    text = models.CharField(max_length=MAX_TEXT_LENGTH)

    mandatory_fields = ("lab", "key", "language", "text")

    class Meta:
        ordering = ("lab_id", "key", "language")  # "lab" would join Lab for its name
        constraints = [
            models.UniqueConstraint(
                fields=["lab", "key", "language"], name="unique_lab_translation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"

    def validate(self, *args: Any, **kwargs: Any) -> None:
        """Base checks (a blank text is a missing mandatory value), then:
        the text keeps the default text's placeholders."""
        super().validate(*args, **kwargs)
        expected = default_placeholders(self.key)
        found = set(PLACEHOLDER.findall(self.text))
        if found != expected:
            wanted = ", ".join(f"%({name})s" for name in sorted(expected)) or "none"
            raise ValidationError(
                {
                    "text": f"The text for {self.key} must contain exactly these "
                    f"placeholders: {wanted}."
                },
                code="placeholders",
            )

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        self.text = self.text.strip()


def default_placeholders(key: str) -> set[str]:
    """Placeholder names of `key`'s English default; empty for an unknown key
    (the key's own choice check reports that).

    Example: `default_placeholders("report.page_of")` -> `{"page", "pages"}`.
    """
    if key not in REPORT_TEXTS:
        return set()
    return set(PLACEHOLDER.findall(default_text(key, FALLBACK_LANGUAGE)))


def lab_texts(lab_id: int, language: str) -> dict[str, str]:
    """Every catalogue text as `lab_id` prints it in `language` (see the
    module docstring for the order). One call per report.

    Example: `lab_texts(3, "hi")["report.title"]` -> "प्रयोगशाला रिपोर्ट",
    or the lab's own wording.
    """
    texts = default_texts(language)
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
