"""Test-only models: a BaseModel whose hooks record calls and can be told to fail.

Tables come from the app's migrations, applied by the test database set-up.
"""

import uuid
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection, models

from core.models import BaseModel, CacheType, LabScopedMixin


class HookFailure(Exception):
    """Raised by a hook that a test told to fail."""


class Instrument(BaseModel):
    """An analyser with a serial number; every hook appends to `calls`."""

    name = models.CharField(max_length=50)
    serial = models.CharField(max_length=20, blank=True)
    calibrated_on = models.DateField(null=True, blank=True)
    reading = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    channels = models.PositiveSmallIntegerField(default=1)

    mandatory_fields = ("name", "serial")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, bool]] = []
        self.hook_kwargs: dict[str, dict[str, Any]] = {}
        self.fail_in: str | None = None

    def _record(self, hook: str) -> None:
        self.calls.append((hook, connection.in_atomic_block))
        if self.fail_in == hook:
            raise HookFailure(f"{hook} failed on purpose")

    def validate(self, *args: Any, **kwargs: Any) -> None:
        self._record("validate")
        super().validate(*args, **kwargs)

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        self._record("before_save")
        if self.reading is not None:
            self.reading = self.reading.quantize(Decimal("0.001"))

    def after_save(self, *args: Any, **kwargs: Any) -> None:
        self._record("after_save")
        self.hook_kwargs["after_save"] = kwargs

    def before_delete(self, *args: Any, **kwargs: Any) -> None:
        self._record("before_delete")
        self.hook_kwargs["before_delete"] = kwargs

    def after_delete(self, *args: Any, **kwargs: Any) -> None:
        self._record("after_delete")
        self.hook_kwargs["after_delete"] = kwargs


class PortableInstrument(Instrument):
    """A multi-table child: its own table below Instrument's."""

    battery_hours = models.PositiveSmallIntegerField(default=8)


class Specimen(LabScopedMixin, BaseModel):
    """An INSTANCE-cached lab-scoped model with every awkward field type."""

    cache_type = CacheType.INSTANCE

    label = models.CharField(max_length=50)
    collected_on = models.DateField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    volume_ml = models.DecimalField(
        max_digits=7, decimal_places=3, null=True, blank=True
    )
    tracking_id = models.UUIDField(default=uuid.uuid4)
    results = models.JSONField(default=dict, blank=True)
    fasting = models.BooleanField(default=False)
    notes = models.TextField(blank=True)

    mandatory_fields = ("lab", "label")


class CatalogueTest(LabScopedMixin, BaseModel):
    """A LIST-cached master-data model: a lab's test catalogue."""

    cache_type = CacheType.LIST

    code = models.CharField(max_length=20)
    price = models.DecimalField(max_digits=8, decimal_places=2)

    mandatory_fields = ("lab", "code", "price")


class SingleRowCatalogue(CatalogueTest):
    """LIST-cached, but single rows may be cached on their own too."""

    allow_individual_instance_caching = True

    class Meta:
        proxy = True


class Tube(LabScopedMixin, BaseModel):
    """A sample tube: its barcode unique per lab, as a domain app's would
    be. `before_write`, when a test sets it, runs just before the row is
    written (after validation): a test plays the other writer of a race."""

    barcode = models.CharField(max_length=30)
    collected_at = models.DateTimeField(null=True, blank=True)

    mandatory_fields = ("lab", "barcode")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lab", "barcode"], name="tube_barcode")
        ]

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        hook = getattr(self, "before_write", None)
        if hook is not None:
            hook(self)


class GuardedInstrument(Instrument):
    """An Instrument whose `before_save` refuses the name "Refused" with
    errors on `name`, on `channels` and on the whole record: a rule only
    the save can check (it runs after `validate()`), as a hook's rule or a
    lost race is. The admin test shows these on the form. Its
    `before_delete` refuses to delete the serial "LOCKED", as a model rule
    the admin does not know of in advance."""

    REFUSED_NAME = "Refused"
    LOCKED_SERIAL = "LOCKED"
    #: Saving this name changes the row behind the save's back first, as
    #: another person's edit landing between the form's check and the write.
    RACED_NAME = "Raced"

    class Meta:
        proxy = True

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        super().before_save(*args, **kwargs)
        if self.name == self.RACED_NAME:
            type(self).objects.filter(pk=self.pk).update_without_hooks(serial="X")
        if self.name == self.REFUSED_NAME:
            raise ValidationError(
                {
                    "name": "This name is taken by a retired analyser.",
                    "channels": "Channels cannot be set while the name is refused.",
                    NON_FIELD_ERRORS: "The analyser is being calibrated.",
                }
            )

    def before_delete(self, *args: Any, **kwargs: Any) -> None:
        super().before_delete(*args, **kwargs)
        if self.serial == self.LOCKED_SERIAL:
            raise ValidationError("The analyser is locked; unlock it first.")
