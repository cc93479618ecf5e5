"""Numbered SQL migrations, applied in order, each once and in its own transaction."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from importlib import resources

import asyncpg
import msgspec

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any constant works; it only has to be the same for every csomatch process.
_LOCK_KEY = 0x63736F6D


class Migration(msgspec.Struct, frozen=True, kw_only=True):
    """One migration file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file, to detect a landed migration that was edited."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    """Return the migrations shipped in ``csomatch/db/migrations``, by version."""
    found = []
    for entry in resources.files("csomatch.db").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(
                Migration(
                    version=int(match.group(1)), name=match.group(2), sql=entry.read_text("utf-8")
                )
            )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    # Each engineer's work has its own block of numbers (0010-0019, 0020-0024...), so numbers
    # may skip; two files with the same number would be ambiguous.
    if len(set(versions)) != len(versions) or (versions and versions[0] < 1):
        raise RuntimeError(f"migration versions must be unique and >= 1, found {versions}")
    return found


async def migrate(
    conn: asyncpg.Connection, *, before: Callable[[Migration], bool] | None = None
) -> list[Migration]:
    """Apply the migrations not yet recorded in ``schema_migration``; return those applied.

    A session advisory lock makes concurrent starts safe: the second process waits, then
    finds nothing left to do. ``before`` stops at the first migration it is true of, which
    stays unapplied (a migration's test builds the database as it was just before it).
    """
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migration (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        applied = {
            r["version"]: r["checksum"]
            for r in await conn.fetch("SELECT version, checksum FROM schema_migration")
        }
        done = []
        for migration in available_migrations():
            if before is not None and before(migration):
                break
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    log.warning(
                        "migration %04d_%s changed after it was applied",
                        migration.version,
                        migration.name,
                    )
                continue
            log.info("applying migration %04d_%s", migration.version, migration.name)
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migration (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            done.append(migration)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def applied_versions(conn: asyncpg.Connection) -> list[int]:
    """Return the versions recorded as applied (empty if none)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migration') IS NOT NULL")
    if not exists:
        return []
    return [
        r["version"] for r in await conn.fetch("SELECT version FROM schema_migration ORDER BY 1")
    ]
