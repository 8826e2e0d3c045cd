"""What each request must know about its labs, at the cost of one Redis call.

Every request acting for a lab is re-authorised (core.tenancy.access), which
needs, for the session's lab and the user's home lab: does it exist, is it
active, its session epoch (bumped when it is deactivated, ending the
sessions signed in before), and its descendants. `lab_facts()` answers from
Redis when the cache service has one, with the same race-free scheme as the
signed-in user cache (core/auth/signed_in_users.py):

- Keys: `{tenancy}:generation` and `{tenancy}:lab:<id>`. The braces put
  every key in one slot of a Redis Cluster, so one MGET reads the
  generation and every entry a request needs.
- Invalidation: any change to a lab or to the hierarchy increments the one
  generation after commit (`forget_lab_facts`). An entry is used only if it
  was filled at the current generation, so a fill that raced with a change
  is never used. Labs and links change rarely; one generation for all keeps
  a hierarchy change (which alters many labs' descendants) one increment.
- Entries live ENTRY_TTL_SECONDS, the longest a missed invalidation (Redis
  down at that moment) can leave a stale entry. The generation never
  expires: were it to vanish while entries live, an old entry could match.
- Redis down (or its breaker open): read from the database, as the
  embedded default (no Redis) always does: one query for the labs and one
  per lab for its descendants.
"""

import json
import logging
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from core.cache.shared_redis import CacheRedis, StoreUnavailable, cache_redis
from core.tenancy.hierarchy import descendant_lab_ids, lab_states

logger = logging.getLogger(__name__)

#: How long a lab's facts stay cached.
ENTRY_TTL_SECONDS = 60
GENERATION_KEY = "{tenancy}:generation"


@dataclass(frozen=True)
class LabFacts:
    """A lab as authorisation sees it.

    Example: `LabFacts(lab_id=1, exists=True, active=True, session_epoch=0,
    descendants=(2, 3))`.
    """

    lab_id: int
    exists: bool
    active: bool
    session_epoch: int
    descendants: tuple[int, ...]


def lab_facts(lab_ids: Iterable[int]) -> dict[int, LabFacts]:
    """The facts of each of `lab_ids` (a missing lab: `exists=False`)."""
    wanted = list(dict.fromkeys(lab_ids))
    redis = cache_redis()
    if redis is None or not wanted:
        return _from_database(wanted)
    keys = [_entry_key(lab_id) for lab_id in wanted]
    try:
        generation, *cached = redis.call(lambda r: r.mget([GENERATION_KEY, *keys]))
    except StoreUnavailable:
        return _from_database(wanted)
    current = int(generation or 0)
    found = {}
    for lab_id, raw in zip(wanted, cached, strict=True):
        facts = _decode(raw, current) if raw is not None else None
        if facts is not None:
            found[lab_id] = facts
    missing = [lab_id for lab_id in wanted if lab_id not in found]
    if missing:
        loaded = _from_database(missing)
        _store(redis, loaded.values(), current)
        found.update(loaded)
    return found


def forget_lab_facts() -> None:
    """Make every cached entry unusable (call after a lab or link change
    commits)."""
    redis = cache_redis()
    if redis is None:
        return
    try:
        redis.call(lambda r: r.incr(GENERATION_KEY))
    except StoreUnavailable as exc:
        logger.warning(
            "lab facts not invalidated (cached entries expire within %s s): %s",
            ENTRY_TTL_SECONDS, exc,
        )  # fmt: skip


def _entry_key(lab_id: int) -> str:
    return f"{{tenancy}}:lab:{lab_id}"


def _from_database(lab_ids: list[int]) -> dict[int, LabFacts]:
    states = lab_states(lab_ids) if lab_ids else {}
    facts = {}
    for lab_id in lab_ids:
        if lab_id not in states:
            facts[lab_id] = LabFacts(lab_id, False, False, 0, ())
            continue
        active, epoch = states[lab_id]
        descendants = tuple(descendant_lab_ids(lab_id))
        facts[lab_id] = LabFacts(lab_id, True, active, epoch, descendants)
    return facts


def _store(redis: CacheRedis, facts: Iterable[LabFacts], generation: int) -> None:
    documents = {
        _entry_key(f.lab_id): json.dumps({"generation": generation, **_fields(f)})
        for f in facts
    }

    def write(client: Any) -> None:
        pipeline = client.pipeline(transaction=False)
        for key, document in documents.items():
            pipeline.set(key, document, ex=ENTRY_TTL_SECONDS)
        pipeline.execute()

    # If Redis fails here the facts were read from the database anyway; the
    # next request tries again.
    with suppress(StoreUnavailable):
        redis.call(write)


def _fields(facts: LabFacts) -> dict[str, Any]:
    return {
        "lab_id": facts.lab_id,
        "exists": facts.exists,
        "active": facts.active,
        "session_epoch": facts.session_epoch,
        "descendants": list(facts.descendants),
    }


def _decode(raw: bytes, generation: int) -> LabFacts | None:
    """The facts in an entry filled at `generation`, else None (also for an
    entry this code cannot read)."""
    try:
        entry = json.loads(raw)
        if entry["generation"] != generation:
            return None
        return LabFacts(
            lab_id=int(entry["lab_id"]),
            exists=bool(entry["exists"]),
            active=bool(entry["active"]),
            session_epoch=int(entry["session_epoch"]),
            descendants=tuple(int(i) for i in entry["descendants"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
