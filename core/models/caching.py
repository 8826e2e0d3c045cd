"""CachingMixin: instances cached in one hash per model and lab.

Mixed into BaseModel. What a model caches is decided by two class options
(declared on BaseModel):

- `cache_type = CacheType.NONE` (default): nothing is cached; the methods
  below read the database.
- `cache_type = CacheType.INSTANCE`: `get_cached_instance(id, lab_id)` caches
  rows one at a time, on first read.
- `cache_type = CacheType.LIST`: for small master data (a lab's test
  catalogue). `get_cached_list(lab_id)` caches the lab's whole list in the
  hash. `get_cached_instance` reads from that list, filling the whole list on
  a miss, unless `allow_individual_instance_caching = True`, which lets it
  fill single rows into the same hash (a partial list, which
  `get_cached_list` does not trust until it has filled the whole list).

The key is `{ModelName}_CentreId{lab_id}_List` (or the model's `cache_key`
template, formatted with `lab_id`), the TTL `default_cache_ttl` (7 days) on
the hash. A row is only ever read from, and stored under, the key of the lab
passed in: another lab's row is not found, exactly as in the database.

A read makes one Redis call at most when Redis does not answer: a lookup
that got no answer reads the database and does not fill (the fill would wait
for a second socket timeout before the breaker opens).

Saves and deletes invalidate after commit (a tombstone carrying the committed
version); a rolled-back save leaves the cache as it was. A read inside a
transaction defers its fill to the commit (and drops it on rollback), so
uncommitted data never reaches the cache; rows read with select_for_update
are never cached because these methods never lock.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.db import models, router, transaction
from django.db.models import JSONField

from core.cache import CachedValue, HashCache
from core.utils.clients import get_client


class CacheType(StrEnum):
    """What a model keeps in the instance cache; see the module docstring."""

    NONE = "none"
    INSTANCE = "instance"
    LIST = "list"


#: Seven days, as the architecture note sets.
DEFAULT_CACHE_TTL_SECONDS = 7 * 24 * 60 * 60
#: Fields whose values JSON carries exactly, so they need no conversion.
_JSON_NATIVE = (
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.IntegerField,
    models.FloatField,
    JSONField,
)
#: Tombstone version for a row that no longer exists: refuses every fill.
_GONE_VERSION = 2**62


class CachingMixin(models.Model):
    """Adds `get_cached_instance`, `get_cached_instances`, `get_cached_list`,
    `reset_cache_instance` and the after-commit invalidation BaseModel calls.
    Needs `version` (BaseModel's) and, for lab-scoped models, `lab_id`."""

    default_cache_ttl: ClassVar[int] = DEFAULT_CACHE_TTL_SECONDS
    #: Optional key template, e.g. "Catalogue_Lab{lab_id}"; default is the seed's.
    cache_key: ClassVar[str | None] = None

    cache_type: ClassVar[CacheType] = CacheType.NONE
    allow_individual_instance_caching: ClassVar[bool] = False

    if TYPE_CHECKING:
        version: int

    class Meta:
        abstract = True

    # -- keys ---------------------------------------------------------------

    @classmethod
    def get_cache_key(cls, lab_id: int | None) -> str:
        """`{ModelName}_CentreId{lab_id}_List`, e.g. `Patient_CentreId42_List`."""
        if cls.cache_key is not None:
            return cls.cache_key.format(lab_id=lab_id)
        # Proxies share their concrete model's hash: one row, one entry.
        name = (cls._meta.concrete_model or cls).__name__
        if _is_lab_scoped(cls):
            if lab_id is None:
                raise ValueError(f"{name} is lab-scoped: pass the lab_id of the row.")
            return f"{name}_CentreId{int(lab_id)}_List"
        return f"{name}_List"

    @classmethod
    def _lab_filter(cls, lab_id: int | None) -> dict[str, Any]:
        return {"lab_id": lab_id} if _is_lab_scoped(cls) else {}

    # -- reads --------------------------------------------------------------

    @classmethod
    def get_cached_instance(
        cls,
        instance_id: Any,
        lab_id: int | None = None,
        exception_to_raise: type[Exception] | Exception | None = None,
    ) -> Self:
        """The row `instance_id` of `lab_id`, from the cache or the database.

        Raises like `BaseModel.get` when the lab has no such row.
        """
        if cls.cache_type == CacheType.NONE:
            return cls._get_row(instance_id, lab_id, exception_to_raise)
        key = cls.get_cache_key(lab_id)
        cache = _cache()
        found = cache.lookup(key, [str(instance_id)])
        if found is None:  # no answer: the database, and no second call
            return cls._get_row(instance_id, lab_id, exception_to_raise)
        if found[0] is not None:
            return cls._from_cache(found[0])
        if (
            cls.cache_type == CacheType.LIST
            and not cls.allow_individual_instance_caching
        ):
            row = cls._load_list(cache, key, lab_id).get(str(instance_id))
            if row is not None:
                return row
            return cls._get_row(instance_id, lab_id, exception_to_raise)
        instance = cls._get_row(instance_id, lab_id, exception_to_raise)
        _fill_when_committed(cache, key, [instance], cls.default_cache_ttl)
        return instance

    @classmethod
    def get_cached_instances(
        cls, instance_ids: Iterable[Any], lab_id: int | None = None
    ) -> dict[Any, Self]:
        """The rows of `lab_id` among `instance_ids`, keyed by id (missing
        ids are left out): one HMGET, one query for the misses."""
        ids = list(dict.fromkeys(instance_ids))
        if cls.cache_type == CacheType.NONE:
            return {row.pk: row for row in cls._rows(ids, lab_id)}
        key = cls.get_cache_key(lab_id)
        cache = _cache()
        found: dict[Any, Self] = {}
        misses = []
        values = cache.lookup(key, [str(i) for i in ids])
        answered = values is not None
        for instance_id, cached in zip(ids, values or [None] * len(ids), strict=True):
            if cached is None:
                misses.append(instance_id)
            else:
                found[instance_id] = cls._from_cache(cached)
        if misses:
            loaded = list(cls._rows(misses, lab_id))
            if answered:  # no answer: no second call in the same read
                _fill_when_committed(cache, key, loaded, cls.default_cache_ttl)
            by_key = {str(row.pk): row for row in loaded}
            for instance_id in misses:
                if str(instance_id) in by_key:
                    found[instance_id] = by_key[str(instance_id)]
        return found

    @classmethod
    def get_cached_list(cls, lab_id: int | None = None) -> list[Self]:
        """Every row of `lab_id`, ordered by primary key (LIST models)."""
        if cls.cache_type != CacheType.LIST:
            raise TypeError(
                f"{cls.__name__}.cache_type is {cls.cache_type!r}; "
                "get_cached_list needs CacheType.LIST."
            )
        rows = cls._load_list(_cache(), cls.get_cache_key(lab_id), lab_id)
        return sorted(rows.values(), key=lambda row: row.pk)

    @classmethod
    def _load_list(
        cls, cache: HashCache, key: str, lab_id: int | None
    ) -> dict[str, Self]:
        generation, cached = cache.get_list(key)
        if cached is not None:
            return {field: cls._from_cache(value) for field, value in cached.items()}
        rows = list(cls._default_manager.filter(**cls._lab_filter(lab_id)))
        if generation is not None:
            payload = [_row(row) for row in rows]
            ttl = cls.default_cache_ttl
            _when_committed(lambda: cache.fill_list(key, generation, payload, ttl))
        return {str(row.pk): row for row in rows}

    @classmethod
    def _get_row(cls, instance_id: Any, lab_id: int | None, exc: Any) -> Self:
        return cls.get(exc, pk=instance_id, **cls._lab_filter(lab_id))  # type: ignore[attr-defined]

    @classmethod
    def _rows(cls, ids: list[Any], lab_id: int | None) -> models.QuerySet[Self]:
        return cls._default_manager.filter(pk__in=ids, **cls._lab_filter(lab_id))

    @classmethod
    def _from_cache(cls, cached: CachedValue) -> Self:
        data = json.loads(cached.payload)
        values = [
            raw if (raw := data[attname]) is None or convert is None else convert(raw)
            for attname, convert in _decoding_plan(cls)
        ]
        return cls.from_db(router.db_for_read(cls), (), values)

    # -- invalidation ----------------------------------------------------

    @classmethod
    def reset_cache_instance(cls, instance_id: Any, lab_id: int | None = None) -> None:
        """Evict one row now (an operator's fix-up). It is tombstoned at the
        database's current version whatever version is cached, even a newer
        one (after a restore from backup the cache can be ahead of the
        database), so a reader racing with the reset cannot put an older copy
        back. Raises if the cache is unreachable."""
        versions = cls._default_manager.filter(pk=instance_id).values_list(
            "version",  # type: ignore[misc]  # BaseModel's field; the mixin has none
            flat=True,
        )
        current = versions.first()
        version = _GONE_VERSION if current is None else current
        _cache().evict(
            cls.get_cache_key(lab_id), str(instance_id), version, cls.default_cache_ttl
        )

    @classmethod
    def purge_cache(cls, lab_id: int | None = None) -> int:
        """Drop this model's cached hashes, of lab `lab_id` or of every lab,
        however new their rows (after a restore from backup). Returns how
        many hashes went. Raises if the cache is unreachable."""
        if lab_id is not None or not _is_lab_scoped(cls):
            pattern = _glob_escape(cls.get_cache_key(lab_id))
        else:
            pattern = cls._cache_key_pattern()
        return _cache().purge(pattern)

    @classmethod
    def _cache_key_pattern(cls) -> str:
        """A glob matching the key of every lab (`Patient_CentreId*_List`)."""
        if cls.cache_key is not None:
            marker = "\x00lab\x00"
            key = cls.cache_key.format(lab_id=marker)
            return _glob_escape(key).replace(_glob_escape(marker), "*")
        name = (cls._meta.concrete_model or cls).__name__
        return f"{_glob_escape(name)}_CentreId*_List"

    def invalidate_cache_on_commit(self, pk: Any, version: int) -> None:
        """After commit, tombstone row `pk` at `version` under its lab's key,
        and under the lab it was loaded with if it moved. Called by BaseModel
        from inside the save or delete transaction."""
        cls = type(self)
        if cls.cache_type == CacheType.NONE:
            return
        if _is_lab_scoped(cls):
            # The lab the row was loaded with: LoadedStateMixin's snapshot
            # (BaseModel's), when the model keeps one.
            initial = getattr(self, "initial_value", None)
            loaded_lab = initial("lab_id") if initial else None
            lab_ids = {self.__dict__.get("lab_id"), loaded_lab} - {None}
        else:
            lab_ids = {None}
        keys = {cls.get_cache_key(lab_id) for lab_id in lab_ids}
        field, ttl = str(pk), self.default_cache_ttl

        def invalidate() -> None:
            cache = _cache()
            for key in keys:
                cache.invalidate(key, field, version, ttl)

        self.on_commit(invalidate)  # type: ignore[attr-defined]


def _glob_escape(text: str) -> str:
    """`text` matched literally by a Redis/fnmatch glob."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def _cache() -> HashCache:
    cache: HashCache = get_client("cache")
    return cache


_LAB_SCOPED: dict[type[models.Model], bool] = {}


def _is_lab_scoped(model: type[models.Model]) -> bool:
    """Whether rows of `model` carry a lab_id (memoised per model)."""
    if model not in _LAB_SCOPED:
        _LAB_SCOPED[model] = any(
            f.attname == "lab_id" for f in model._meta.concrete_fields
        )
    return _LAB_SCOPED[model]


def _row(instance: models.Model) -> tuple[str, int, str]:
    """(field, version, JSON) of an instance, as the cache stores it."""
    data = {}
    for field in instance._meta.concrete_fields:
        value = field.value_from_object(instance)
        if value is not None and not _json_native(field):
            value = field.value_to_string(instance)
        data[field.attname] = value
    return str(instance.pk), instance.version, json.dumps(data, separators=(",", ":"))  # type: ignore[attr-defined]


_PLANS: dict[type[models.Model], list[tuple[str, Any]]] = {}


def _decoding_plan(model: type[models.Model]) -> list[tuple[str, Any]]:
    """(attname, converter or None) per concrete field, in column order;
    JSON-native fields need no conversion. Memoised per model."""
    if model not in _PLANS:
        _PLANS[model] = [
            (field.attname, _converter(field)) for field in model._meta.concrete_fields
        ]
    return _PLANS[model]


#: Exact inverses of `value_to_string` for common types, several times faster
#: than `to_python` (which also parses the many forms a user may type).
_FAST_CONVERTERS: dict[type[models.Field[Any, Any]], Callable[[str], Any]] = {
    models.DateTimeField: dt.datetime.fromisoformat,
    models.DateField: dt.date.fromisoformat,
    models.DecimalField: Decimal,
    models.UUIDField: uuid.UUID,
}


def _converter(field: Any) -> Callable[[Any], Any] | None:
    """How to turn a cached JSON value back into the field's Python value."""
    value_field = _value_field(field)
    if isinstance(value_field, _JSON_NATIVE):
        return None
    converter: Callable[[Any], Any] = _FAST_CONVERTERS.get(
        type(value_field), value_field.to_python
    )
    return converter


def _value_field(field: Any) -> Any:
    """The field that decides a column's Python type (a key's target field)."""
    return field.target_field if field.is_relation else field


def _json_native(field: Any) -> bool:
    return isinstance(_value_field(field), _JSON_NATIVE)


def _fill_when_committed(
    cache: HashCache, key: str, instances: list[Any], ttl: int
) -> None:
    if instances:
        rows = [_row(instance) for instance in instances]
        _when_committed(lambda: cache.fill(key, rows, ttl))


def _when_committed(fill: Any) -> None:
    """Fill now in autocommit; inside a transaction, only once it commits
    (what was read may be this transaction's own uncommitted write)."""
    transaction.on_commit(fill, robust=True)
