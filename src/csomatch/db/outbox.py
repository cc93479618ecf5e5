"""The transactional outbox: state changes for notifications, written with the change."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from csomatch.db.errors import translated


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A state change to announce: ids and states only, never person data."""

    event_type: str
    object_type: str
    object_id: uuid.UUID
    state: str | None = None
    organization_ids: list[uuid.UUID] = []
    jurisdictions: list[str] = []


class OutboxEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A stored outbox event."""

    id: int
    created_at: dt.datetime
    event_type: str
    object_type: str
    object_id: uuid.UUID
    state: str | None
    organization_ids: list[uuid.UUID]
    jurisdictions: list[str]


_COLUMNS = (
    "id, created_at, event_type, object_type, object_id, state, organization_ids, jurisdictions"
)


async def emit(conn: asyncpg.Connection, event: NewEvent) -> int:
    """Write an event in the caller's transaction; return its id."""
    async with translated():
        event_id: int = await conn.fetchval(
            "INSERT INTO outbox_event (event_type, object_type, object_id, state,"
            " organization_ids, jurisdictions) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            event.event_type,
            event.object_type,
            event.object_id,
            event.state,
            event.organization_ids,
            event.jurisdictions,
        )
    return event_id


async def events_after(
    conn: asyncpg.Connection, after_id: int, limit: int = 200
) -> list[OutboxEvent]:
    """Events with an id above ``after_id``, oldest first."""
    async with translated():
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM outbox_event WHERE id > $1 ORDER BY id LIMIT $2",
            after_id,
            limit,
        )
    return msgspec.convert(rows, list[OutboxEvent], from_attributes=True)
