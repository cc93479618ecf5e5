"""The batch use case: place many people at once against the registry as it stands now.

The joint placement itself is ``matching.batch.place`` (pure); this reads the registry for
it, solves in a worker thread and records each need left unmet as demand (source ``batch``).
"""

from __future__ import annotations

import datetime as dt
import functools

import anyio.to_thread
import asyncpg

from csomatch.db.signals import record_signals
from csomatch.domain import Principal
from csomatch.errors import InvalidInput
from csomatch.i18n import _
from csomatch.matching.batch import MAX_BATCH_PEOPLE, BatchRequest, BatchResult, place
from csomatch.matching.snapshot import check_code, load_snapshot, service_codes
from csomatch.matching.suggest import solve_params
from csomatch.matching.suggestions import check_jurisdiction, named_areas
from csomatch.matching.terms import weights_from_settings
from csomatch.matching.unmet import profile_hash, unmet_signal
from csomatch.registry.addresses import address_scope
from csomatch.settings import Settings


def check_batch(data: BatchRequest, known: frozenset[str]) -> None:
    """Bound the size, and name the field of the first unknown code or repeated key."""
    if len(data.people) > MAX_BATCH_PEOPLE:
        raise InvalidInput(
            _(
                "a batch places at most {max_batch_people} people (got {people}); "
                "split it into several batches",
                max_batch_people=MAX_BATCH_PEOPLE,
                people=len(data.people),
            ),
            field="$.people",
        )
    seen: set[str] = set()
    for i, person in enumerate(data.people):
        if person.key in seen:
            raise InvalidInput(
                _("key {key} is used twice", key=repr(person.key)), field=f"$.people[{i}].key"
            )
        seen.add(person.key)
        for j, need in enumerate(person.needs):
            check_code(need.code, known, f"$.people[{i}].needs[{j}].code")


async def place_batch(
    conn: asyncpg.Connection, principal: Principal, data: BatchRequest, settings: Settings
) -> BatchResult:
    """Place every need of every person jointly and optimally, families in one provider."""
    check_batch(data, await service_codes(conn))
    for i, person in enumerate(data.people):
        check_jurisdiction(principal, person.jurisdiction, f"$.people[{i}].jurisdiction")
    now = dt.datetime.now(dt.UTC)
    snap = await load_snapshot(
        conn,
        codes={n.code for p in data.people for n in p.needs},
        areas=[
            area for i, p in enumerate(data.people) for area in named_areas(p, f"$.people[{i}]")
        ],
        now=now,
        stale_hours=settings.stale_hours,
        address_scope=address_scope(principal),
    )
    run = functools.partial(
        place, data.people, snap, weights_from_settings(settings), solve_params(settings)
    )
    result = await anyio.to_thread.run_sync(run)
    signals = []
    for person, placed in zip(data.people, result.people, strict=True):
        digest = profile_hash(person)
        signals += [
            unmet_signal(
                person,
                need.code,
                need.unmet_reason,
                source="batch",
                token_id=principal.id,
                now=now,
                profile_digest=digest,
            )
            for need in placed.needs
            if need.unmet_reason is not None
        ]
    await record_signals(conn, signals)
    return result
