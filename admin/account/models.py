"""Labs, the links between them, and users.

Labs form a hierarchy through LabRelation rows (parent -> child). A parent
lab sees its descendants' data; a child never sees its parent's or a
sibling's. Queries over the hierarchy live on the `LabRelations` proxy in
`proxies/lab_relation.py`.
"""

import zoneinfo
from collections.abc import Collection
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import F, Q

from core.auth.signed_in_users import (
    CachedSessionHashMixin,
    forget_signed_in_users,
)
from core.models import BaseModel, CacheType
from core.models.activity_log_base import forget_parent_labs
from core.tenancy.facts import forget_lab_facts
from core.utils.numbers import Digits, NumberStyle, has_native_digits
from core.utils.transactions import run_after_commit

#: PostgreSQL advisory-lock key serialising changes to the lab hierarchy, so
#: two concurrent links cannot each pass the cycle check and form a cycle
#: together. Any constant unique within the database will do.
LAB_HIERARCHY_LOCK_KEY = 7_201_001


def validate_time_zone(value: str) -> None:
    """Refuse a name that is not an IANA time zone."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"{value!r} is not a time zone; use an IANA name such as "
            "'Asia/Kolkata' or 'Europe/London'.",
            code="invalid_time_zone",
        )


def language_choices() -> list[tuple[str, str]]:
    """The languages a lab may choose, from settings.LANGUAGES (read at use)."""
    return list(settings.LANGUAGES)


class Lab(BaseModel):
    """A laboratory (a tenant). Its time zone decides its "today" and report
    times; its language, the language of its reports; its digits, whether
    its reports write numbers in Latin digits or in the language's own
    (core.utils.numbers, with the language's separators); its country, the
    region for phone numbers written without a country code."""

    name = models.CharField(max_length=200)
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone]
    )
    language = models.CharField(max_length=8, choices=language_choices, default="en")
    digits = models.CharField(
        max_length=8,
        choices=[
            (Digits.LATIN.value, "Latin (0-9)"),
            (Digits.NATIVE.value, "The language's own"),
        ],
        default=Digits.LATIN.value,
        help_text="The digits of the lab's reports: Latin, or its language's "
        "own (Arabic-Indic for Arabic, Devanagari for Hindi).",
    )
    country = models.CharField(
        max_length=2, default="IN", help_text="ISO 3166-1 alpha-2 code, e.g. IN."
    )
    is_active = models.BooleanField(default=True)
    session_epoch = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Bumped when the lab is deactivated: sessions signed in "
        "before end, and stay ended if it is reactivated.",
    )

    #: Read on most requests (a lab's time zone and country): cached.
    cache_type = CacheType.INSTANCE
    mandatory_fields = ("name", "time_zone", "language", "country")

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def validate(self, *args: Any, **kwargs: Any) -> None:
        """Base checks, then: native digits only for a language that has
        its own (English has none, and would silently print Latin ones)."""
        super().validate(*args, **kwargs)
        if self.digits == Digits.NATIVE and not has_native_digits(self.language):
            raise ValidationError(
                {
                    "digits": f"Language {self.language!r} has no digits of its "
                    "own; choose Latin digits, or a language such as Arabic or "
                    "Hindi."
                },
                code="no_native_digits",
            )

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        self.name = " ".join(self.name.split())
        self.country = self.country.upper()
        if self.initial_value("is_active") and not self.is_active:
            self.session_epoch += 1  # ends the lab's sessions (core.tenancy)

    def after_save(self, *args: Any, **kwargs: Any) -> None:
        # Sessions are re-authorised from cached lab facts: forget them
        # once this change is visible.
        self.on_commit(forget_lab_facts)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The lab's time zone as a tzinfo."""
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def number_style(self) -> NumberStyle:
        """How the lab's reports write numbers (its language and digits)."""
        return NumberStyle.of(self.language, self.digits)


class LabRelation(BaseModel):
    """A parent -> child link between two labs. A lab may have several
    parents (a collection centre serving two processing labs); cycles are
    refused."""

    parent_lab = models.ForeignKey(
        Lab, on_delete=models.PROTECT, related_name="child_relations"
    )
    child_lab = models.ForeignKey(
        Lab, on_delete=models.PROTECT, related_name="parent_relations"
    )

    mandatory_fields = ("parent_lab", "child_lab")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["parent_lab", "child_lab"], name="unique_lab_relation"
            ),
            models.CheckConstraint(
                condition=~Q(parent_lab=F("child_lab")),
                name="lab_relation_not_to_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent_lab_id} -> {self.child_lab_id}"

    def validate(self, *args: Any, **kwargs: Any) -> None:
        """Refuse a link that would make a lab its own ancestor."""
        super().validate(*args, **kwargs)
        # Local import: the proxy module imports this one.
        from admin.account.proxies.lab_relation import LabRelations

        _lock_hierarchy()
        parent_id, child_id = self.parent_lab_id, self.child_lab_id
        if parent_id == child_id:
            raise ValidationError(
                {"child_lab": "A lab cannot be its own parent."}, code="cycle"
            )
        if parent_id in LabRelations.get_child_labs(child_id):
            raise ValidationError(
                {
                    "child_lab": f"Lab {child_id} is already an ancestor of lab "
                    f"{parent_id}; linking them would create a cycle."
                },
                code="cycle",
            )

    def after_save(self, *args: Any, **kwargs: Any) -> None:
        forget_parent_labs()  # entries record a lab's parent; it may have changed
        self.on_commit(forget_lab_facts)  # who sees which labs has changed

    def after_delete(self, *args: Any, **kwargs: Any) -> None:
        forget_parent_labs()
        self.on_commit(forget_lab_facts)


def _lock_hierarchy() -> None:
    """Serialise hierarchy changes until the transaction ends (PostgreSQL).

    SQLite needs nothing: its writers are serialised by the database lock.
    """
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LAB_HIERARCHY_LOCK_KEY])


#: Changes to a user that end the user's sessions (core.tenancy.session).
SESSION_ENDING_FIELDS = ("lab", "kind")


class UserQuerySet(models.QuerySet["User"]):
    """Bulk updates and deletes of users forget the users' cached copies
    after commit, as a save or delete does (see signed_in_users); an update
    that deactivates users or changes their lab or kind ends their
    sessions, as a save does."""

    def update(self, **kwargs: Any) -> int:
        ids = list(self.values_list("pk", flat=True))
        if _ends_sessions(kwargs):
            kwargs["session_epoch"] = F("session_epoch") + 1
        updated = super().update(**kwargs)
        run_after_commit(forget_signed_in_users, ids, using=self.db)
        return updated

    def delete(self) -> tuple[int, dict[str, int]]:
        ids = list(self.values_list("pk", flat=True))
        deleted = super().delete()
        run_after_commit(forget_signed_in_users, ids, using=self.db)
        return deleted


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    """Django's user manager on UserQuerySet."""


class User(CachedSessionHashMixin, AbstractUser):
    """A person who signs in: lab staff or a doctor, attached to a home lab.

    Signed-in users are cached in Redis between requests
    (core/auth/signed_in_users.py); every way of changing a user here
    forgets its cached copy once the change commits."""

    class Kind(models.TextChoices):
        STAFF = "staff", "Lab staff"
        DOCTOR = "doctor", "Doctor"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STAFF)
    lab = models.ForeignKey(
        Lab, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )

    session_epoch = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Bumped when the user is deactivated or moved to another lab "
        "or kind: sessions signed in before end, and stay ended.",
    )

    objects: ClassVar[UserManager] = UserManager()

    #: The values the session rules depend on, as loaded (None: not loaded).
    _loaded_access: tuple[Any, ...] | None = None

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Collection[str], values: Collection[Any],
        **kwargs: Any,
    ) -> "User":  # fmt: skip
        user: User = super().from_db(db, field_names, values, **kwargs)
        user._loaded_access = user._access()
        return user

    def save(self, *args: Any, **kwargs: Any) -> None:
        loaded = self._loaded_access
        if loaded is not None and _access_lost(loaded, self._access()):
            self.session_epoch += 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "session_epoch"}
        super().save(*args, **kwargs)
        self._loaded_access = self._access()
        run_after_commit(forget_signed_in_users, [self.pk], using=self._state.db)

    def _access(self) -> tuple[Any, ...]:
        # Deferred fields (a cached user's password) are not read here.
        return (self.__dict__.get("is_active"), self.__dict__.get("lab_id"),
                self.__dict__.get("kind"))  # fmt: skip

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        pk = self.pk
        deleted = super().delete(*args, **kwargs)
        run_after_commit(forget_signed_in_users, [pk], using=self._state.db)
        return deleted


def _ends_sessions(changes: dict[str, Any]) -> bool:
    """Whether a bulk update with `changes` ends the users' sessions."""
    if changes.get("is_active", True) is False:
        return True
    return any(
        name in changes or f"{name}_id" in changes for name in SESSION_ENDING_FIELDS
    )


def _access_lost(loaded: tuple[Any, ...], now: tuple[Any, ...]) -> bool:
    """Whether a user changed from `loaded` to `now` in a way that ends
    their sessions: deactivated, or given another lab or kind."""
    was_active, lab_id, kind = loaded
    return bool(was_active and now[0] is False) or (lab_id, kind) != now[1:]
