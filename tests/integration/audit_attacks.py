"""What someone with full rights on the database, but without the audit key, can do to the
audit log: the two attacks `csomatch audit verify` must detect, written as a superuser would."""

from __future__ import annotations

import asyncpg

# The chain's hash (csomatch.db.audit.event_hash) in SQL: SHA-256 over the previous hash and
# the event's canonical JSON, a compact array in a fixed order, the time in UTC with
# microseconds. Anyone who can read the code (or the docs) can write it.
CANONICAL_JSON = """
    '[' || to_json(to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))::text
    || ',' || coalesce(to_json(e.token_id::text)::text, 'null')
    || ',' || coalesce(to_json(e.role)::text, 'null')
    || ',' || coalesce(to_json(e.jurisdiction)::text, 'null')
    || ',' || coalesce(to_json(e.organization_id::text)::text, 'null')
    || ',' || coalesce(to_json(e.agency)::text, 'null')
    || ',' || to_json(e.action)::text
    || ',' || to_json(e.object_type)::text
    || ',' || coalesce(to_json(e.object_id)::text, 'null')
    || ',' || to_json(e.outcome)::text || ']'
"""

RECOMPUTE_FROM = f"""
DO $$
DECLARE
    e audit_event%ROWTYPE;
    prev bytea;
BEGIN
    SELECT hash INTO prev FROM audit_event WHERE seq < {{first}} ORDER BY seq DESC LIMIT 1;
    prev := coalesce(prev, '\\x{"00" * 32}'::bytea);
    FOR e IN SELECT * FROM audit_event WHERE seq >= {{first}} ORDER BY seq LOOP
        UPDATE audit_event
           SET prev_hash = prev,
               hash = sha256(prev || convert_to({CANONICAL_JSON}, 'UTF8'))
         WHERE seq = e.seq
        RETURNING hash INTO prev;
    END LOOP;
END $$;
"""


async def switch_triggers_off(conn: asyncpg.Connection) -> None:
    """What the database owner can do: the append-only triggers stop nothing any more."""
    await conn.execute("ALTER TABLE audit_event DISABLE TRIGGER USER")
    await conn.execute("ALTER TABLE audit_signing DISABLE TRIGGER USER")


async def edit_and_rechain(conn: asyncpg.Connection, seq: int, *, outcome: str) -> None:
    """Attack 2: change one event, then recompute its hash and every later one in SQL."""
    await switch_triggers_off(conn)
    await conn.execute("UPDATE audit_event SET outcome = $1 WHERE seq = $2", outcome, seq)
    await conn.execute(RECOMPUTE_FROM.format(first=int(seq)))


async def delete_newest(conn: asyncpg.Connection, n: int) -> None:
    """Attack 1: cut the newest ``n`` events off; what is left is still a valid chain."""
    await switch_triggers_off(conn)
    await conn.execute(
        "DELETE FROM audit_event WHERE seq IN"
        " (SELECT seq FROM audit_event ORDER BY seq DESC LIMIT $1)",
        n,
    )
