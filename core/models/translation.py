"""LabTranslation: a lab's own wording for one report text in one language.

Report labels and messages have default texts per language (the catalogue in
`core.utils.translation`, translated with gettext). A lab that words one
differently ("Referred By" -> "Consultant") stores an override here, one row
per (lab, key, language). Reads go through `core.utils.translation.lab_text`,
which also applies the lab's parents' overrides; rows are cached per lab
(`CacheType.LIST`: the hash `LabTranslation_CentreId{lab_id}_List`) and the
hash entry is invalidated after every committed save or delete.
"""

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from core.models.base import BaseModel
from core.models.caching import CacheType
from core.models.lab_scoped import LabScopedMixin

#: Longest override text; a label or a short paragraph fits, a page does not.
MAX_TEXT_LENGTH = 1000
#: A named %-placeholder such as "%(page)s", filled in when the text is used.
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def report_text_key_choices() -> list[tuple[str, str]]:
    """The keys of the default catalogue, as field choices (read at use)."""
    # Local import: core.utils.translation reads this model, so a module-level
    # import here would be circular.
    from core.utils.translation import REPORT_TEXTS

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
    `core.utils.translation`). Changes are activity-logged like every
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
        """Base checks, then: the text is not blank and keeps the default
        text's placeholders."""
        super().validate(*args, **kwargs)
        if not self.text.strip():
            raise ValidationError(
                {"text": "Enter the lab's wording; it is blank."}, code="blank"
            )
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
    from core.utils.translation import (  # circular; see above
        FALLBACK_LANGUAGE,
        REPORT_TEXTS,
        default_text,
    )

    if key not in REPORT_TEXTS:
        return set()
    return set(PLACEHOLDER.findall(default_text(key, FALLBACK_LANGUAGE)))
