"""The ledger of Fusion's schedules: one row per slot that was claimed.

A slot is one time a schedule fires (`slot_at`, in UTC), for one lab or for
none. The unique constraint on (schedule, lab, slot) is what makes a slot
run exactly once across any number of workers and engines: the worker whose
INSERT wins enqueues the job in the same transaction (core/fusion/schedules/
claims.py), so a slot is either claimed and enqueued, or neither.
"""

from django.db import models
from django.utils import timezone

#: `lab_id` of a schedule that is not per lab. Not NULL: NULLs are distinct
#: in a unique constraint on PostgreSQL and SQLite alike, so two rows with
#: no lab and the same slot would both be accepted.
NO_LAB = 0


class SlotOutcome(models.TextChoices):
    """What the claiming worker did with the slot."""

    ENQUEUED = "enqueued", "Enqueued"
    SKIPPED = "skipped", "Skipped (missed, catch_up='skip')"


class FusionScheduleSlot(models.Model):
    """One claimed slot of a schedule (settings.FUSION_SCHEDULES).

    `missed` counts the earlier slots that were missed (older than
    FUSION_SCHEDULE_GRACE_SECONDS when a worker first saw them) and folded
    into this one: with catch_up="once" this slot ran for them all; with
    "skip" none of them ran, this one included (outcome SKIPPED).
    Infrastructure rows, like the other Fusion tables: a plain Model.
    """

    schedule = models.CharField(max_length=100)
    lab_id = models.BigIntegerField(
        default=NO_LAB, help_text="The lab of a per-lab schedule; 0 for none."
    )
    slot_at = models.DateTimeField(help_text="When the slot fired (UTC).")
    outcome = models.CharField(
        max_length=10, choices=SlotOutcome.choices, default=SlotOutcome.ENQUEUED
    )
    job_id = models.CharField(max_length=64, blank=True)
    missed = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(
        default=timezone.now, help_text="The scheduler clock's time of the claim."
    )

    class Meta:
        ordering = ["-slot_at", "-id"]
        verbose_name = "Fusion schedule slot"
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "lab_id", "slot_at"],
                name="fusion_schedule_slot_once",
            )
        ]

    def __str__(self) -> str:
        lab = f" lab {self.lab_id}" if self.lab_id != NO_LAB else ""
        return f"{self.schedule}{lab} at {self.slot_at.isoformat()} ({self.outcome})"
