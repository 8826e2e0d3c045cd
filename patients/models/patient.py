"""Patients: the sample domain model, showing each BaseModel hook in use."""

import datetime as dt
from collections.abc import Collection, Iterable
from typing import Any, Self

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models

from admin.account.models import Lab
from core.models import (
    BaseManager,
    BaseModel,
    BlindIndexField,
    CacheType,
    EncryptedFieldsMixin,
    EncryptedTextField,
    LabScopedMixin,
)
from core.models.lab_scoped import LabScopedQuerySet
from core.tenancy import LabScope
from core.utils.date import Age, age_between, today_in
from core.webhooks import WebhookEventsMixin

#: Oldest documented human lifespan is 122 years; anything older is a typo.
MAX_AGE_YEARS = 130
#: The longest E.164 number is 15 digits after the "+"; staff type spaces.
MAX_PHONE_INPUT_LENGTH = 20


def normalise_phone(raw: str, country: str | None) -> str | None:
    """`raw` in E.164 form, read as a local number of `country` (ISO 3166
    alpha-2) when it has no country code; None when it cannot be dialled.

    Example: `normalise_phone("098765 43210", "IN")` -> `"+919876543210"`.
    """
    try:
        parsed = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    e164: str = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164


def normalise_email(raw: str) -> str:
    """The form an email is stored and looked up in: trimmed, lower case."""
    return raw.strip().lower()


class PatientQuerySet(LabScopedQuerySet):
    """Lab-scoped patients, with lookups by contact details through their
    blind indexes (the columns themselves are encrypted). A blind index is
    computed with a key of its row's lab, so every lookup names the labs it
    searches: each lab's rows are matched with that lab's own index."""

    def with_phone(
        self, phone: str, countries: Iterable[str | None], lab_ids: Collection[int]
    ) -> Self:
        """Patients of `lab_ids` whose phone is `phone`, read as a local
        number of any of `countries` when it has no country code; nobody for
        an undiallable one."""
        field: BlindIndexField = self.model._meta.get_field("phone_index")
        numbers = [normalise_phone(phone, country) for country in countries]
        return self.filter(field.matching(numbers, lab_ids))

    def with_email(self, email: str, lab_ids: Collection[int]) -> Self:
        """Patients of `lab_ids` whose email is `email` (any case,
        surrounding spaces)."""
        field: BlindIndexField = self.model._meta.get_field("email_index")
        return self.filter(field.matching([email], lab_ids))

    def find_by_phone(self, scope: LabScope, phone: str) -> Self:
        """Patients of the labs of `scope` whose phone is `phone`, written
        any way staff write it: E.164, with spaces or dashes, or as a local
        number in the scope lab's country. Family members may share a
        number, so this is a queryset. An undiallable number finds nobody.

        Example: `Patient.objects.find_by_phone(request.scope, "+91 98765 43210")`.
        """
        lab_id = scope.lab_id
        country = Lab.objects.filter(pk=lab_id).values_list("country", flat=True)
        lab_ids = list(scope.lab_ids)
        return self.in_scope(scope).with_phone(phone, [country.first()], lab_ids)

    def find_by_email(self, scope: LabScope, email: str) -> Self:
        """Patients of the labs of `scope` whose email is `email`."""
        return self.in_scope(scope).with_email(email, list(scope.lab_ids))


class PatientManager(BaseManager.from_queryset(PatientQuerySet)):  # type: ignore[misc]
    """Patient.objects: every PatientQuerySet method."""


class Patient(WebhookEventsMixin, EncryptedFieldsMixin, LabScopedMixin, BaseModel):
    """A person whose samples a lab tests.

    Hooks, each for a real reason:
    - `validate`: refuses a date of birth in the future (in the lab's time
      zone) or more than 130 years ago, and a phone number that cannot be
      dialled from the lab's country.
    - `before_save`: tidies names and stores the phone in E.164 form
      (`+919876543210`), so one number is always written one way and lookups
      by phone match.
    - `age` / `age_on`: the age in years, months and days, derived from the
      date of birth (never stored, so it cannot go stale).

    The phone and email are encrypted (EncryptedFieldsMixin), with blind
    indexes for lookups: `Patient.objects.find_by_phone(scope, "98765 43210")`.

    Patients are read far more often than written (every sample, every
    report), so they are cached one at a time:
    `Patient.get_cached_instance(patient_id, lab_id)`; the cache holds the
    ciphertext of the phone and email, never the plaintext.

    Creates, updates and deletes are webhook events (`patient.created`,
    `patient.updated`, `patient.deleted`) for the lab's subscriptions; see
    `webhook_payload` for what they carry.
    """

    cache_type = CacheType.INSTANCE

    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        OTHER = "O", "Other"
        UNKNOWN = "U", "Unknown"

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField(null=True, blank=True)
    phone = EncryptedTextField(
        max_length=MAX_PHONE_INPUT_LENGTH,
        blank=True,
        default="",
        help_text="Stored in E.164 form, e.g. +919876543210. Encrypted.",
    )
    email = EncryptedTextField(
        max_length=254,
        blank=True,
        default="",
        validators=[EmailValidator()],
        help_text="Encrypted.",
    )
    phone_index = BlindIndexField(source="phone")
    email_index = BlindIndexField(source="email", normalizer=normalise_email)

    mandatory_fields = ("lab", "first_name", "sex")

    # LabScopedMixin and BaseModel declare `objects` differently for mypy.
    objects = PatientManager()  # type: ignore[misc]

    class Meta:
        ordering = ("last_name", "first_name", "id")

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def validate(self, *args: Any, **kwargs: Any) -> None:
        super().validate(*args, **kwargs)
        errors: dict[str, str] = {}
        lab = self.cached_lab
        if self.date_of_birth is not None:
            today = today_in(lab.zone)
            if self.date_of_birth > today:
                errors["date_of_birth"] = (
                    f"The date of birth {self.date_of_birth.isoformat()} is in the "
                    "future; check the year."
                )
            elif age_between(self.date_of_birth, today).years > MAX_AGE_YEARS:
                errors["date_of_birth"] = (
                    f"The date of birth {self.date_of_birth.isoformat()} gives an "
                    f"age over {MAX_AGE_YEARS} years; check the year."
                )
        if self.phone and normalise_phone(self.phone, lab.country) is None:
            errors["phone"] = (
                "Enter a phone number that can be dialled, with its country code "
                f"(e.g. +91 98765 43210) or as a local number in {lab.country}."
            )
        if errors:
            raise ValidationError(errors)

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        self.first_name = " ".join(self.first_name.split())
        self.last_name = " ".join(self.last_name.split())
        self.email = normalise_email(self.email)
        if self.phone:
            country = self.cached_lab.country
            self.phone = normalise_phone(self.phone, country) or self.phone

    def webhook_payload(self) -> dict[str, Any]:
        """What webhook events carry about the patient: enough for the lab's
        own systems (HIS, EMR) to match the record; the encrypted contact
        details (phone, email) are left out, and fetched through the API by
        a receiver that needs them.

        Example: `{"id": 12, "lab_id": 3, "first_name": "Asha",
        "last_name": "Rao", "sex": "F", "date_of_birth": "1990-04-01",
        "version": 2}`.
        """
        return {
            "id": self.pk,
            "lab_id": self.lab_id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "sex": self.sex,
            "date_of_birth": self.date_of_birth,
            "version": self.version,
        }

    def age_on(self, on: dt.date) -> Age | None:
        """The age on a given date, or None without a date of birth."""
        if self.date_of_birth is None:
            return None
        return age_between(self.date_of_birth, on)

    @property
    def age(self) -> Age | None:
        """The age today in the lab's time zone."""
        return self.age_on(today_in(self.cached_lab.zone))
