"""Patients: the sample domain model, showing each BaseModel hook in use."""

import datetime as dt
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import models

from core.models import BaseModel, CacheType, LabScopedMixin
from core.utils.date import Age, age_between, today_in

#: Oldest documented human lifespan is 122 years; anything older is a typo.
MAX_AGE_YEARS = 130


class Patient(LabScopedMixin, BaseModel):
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

    Patients are read far more often than written (every sample, every
    report), so they are cached one at a time:
    `Patient.get_cached_instance(patient_id, lab_id)`.
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
    phone = models.CharField(
        max_length=20, blank=True, help_text="Stored in E.164 form, e.g. +919876543210."
    )
    email = models.EmailField(blank=True)

    mandatory_fields = ("lab", "first_name", "sex")

    class Meta:
        ordering = ("last_name", "first_name", "id")

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def validate(self, *args: Any, **kwargs: Any) -> None:
        super().validate(*args, **kwargs)
        errors: dict[str, str] = {}
        if self.date_of_birth is not None:
            today = today_in(self.lab.zone)
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
        if self.phone and self._parsed_phone() is None:
            errors["phone"] = (
                "Enter a phone number that can be dialled, with its country code "
                f"(e.g. +91 98765 43210) or as a local number in {self.lab.country}."
            )
        if errors:
            raise ValidationError(errors)

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        self.first_name = " ".join(self.first_name.split())
        self.last_name = " ".join(self.last_name.split())
        self.email = self.email.strip().lower()
        parsed = self._parsed_phone() if self.phone else None
        if parsed is not None:
            self.phone = phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.E164
            )

    def _parsed_phone(self) -> phonenumbers.PhoneNumber | None:
        try:
            parsed = phonenumbers.parse(self.phone, self.lab.country)
        except phonenumbers.NumberParseException:
            return None
        return parsed if phonenumbers.is_valid_number(parsed) else None

    def age_on(self, on: dt.date) -> Age | None:
        """The age on a given date, or None without a date of birth."""
        if self.date_of_birth is None:
            return None
        return age_between(self.date_of_birth, on)

    @property
    def age(self) -> Age | None:
        """The age today in the lab's time zone."""
        return self.age_on(today_in(self.lab.zone))
