"""Signed checkpoints of the audit chain's head, appended to a file outside the database.

A signature on each event stops anyone without the key from editing the chain, but not from
cutting off its newest events: the chain that is left is still valid. So one server process
writes, every ``CSOMATCH_AUDIT_CHECKPOINT_INTERVAL_S`` (60 s), a line to
``$CSOMATCH_HOME/audit-checkpoints.log``::

    {"seq":18342,"head":"9f2c…","unsigned_until":0,"at":"2026-12-01T20:01:00.000000+00:00","mac":"…"}

the newest event's ``seq`` and hash, where signing began, the time, and an HMAC-SHA-256 of
those under the audit key. ``csomatch audit verify`` then requires the chain to still hold
that event, unchanged, and everything after it to chain from it.

Before it appends, the writer verifies the events since the previous checkpoint, so it never
vouches for a chain that was altered since (it logs an error and writes nothing instead).
Several processes on one ``CSOMATCH_HOME`` take turns through a lock file: the one holding
``audit-checkpoints.lock`` writes, the others wait for it to go.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import logging
import os
from pathlib import Path

import asyncpg
import msgspec

from csomatch.audit.key import AuditKeyError, key_path
from csomatch.db.audit import (
    EVENT_PURPOSE,
    Anchor,
    AuditKey,
    ChainBreak,
    head_mac,
    verify_chain,
)
from csomatch.db.errors import CONNECTION_ERRORS
from csomatch.db.pool import Pool
from csomatch.errors import CsomatchError
from csomatch.settings import Settings

log = logging.getLogger(__name__)

#: What a checkpoint's signature covers, kept apart from the events' signatures.
CHECKPOINT_PURPOSE = b"csomatch audit checkpoint v1"
#: The newest checkpoint is the last line; lines are short, so the file's tail holds it.
_TAIL_BYTES = 64 * 1024


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the checkpoint log: the head the chain had at ``at``, signed."""

    seq: int
    head: str
    unsigned_until: int
    at: dt.datetime
    mac: str = ""

    def anchor(self) -> Anchor:
        """What ``verify_chain`` checks the chain against."""
        return Anchor(
            seq=self.seq, head=bytes.fromhex(self.head), unsigned_until=self.unsigned_until
        )


class CheckpointInvalid(Exception):
    """The newest line of the checkpoint log is damaged or not signed with this key."""


def log_path(settings: Settings) -> Path:
    """The checkpoint log of this ``CSOMATCH_HOME``."""
    return settings.home.expanduser() / "audit-checkpoints.log"


def _message(cp: Checkpoint) -> bytes:
    return msgspec.json.encode(
        [cp.seq, cp.head, cp.unsigned_until, cp.at.astimezone(dt.UTC).isoformat()]
    )


def signed(key: AuditKey, *, anchor: Anchor, at: dt.datetime) -> Checkpoint:
    """A checkpoint of ``anchor`` at ``at``, signed with ``key``."""
    draft = Checkpoint(
        seq=anchor.seq, head=anchor.head.hex(), unsigned_until=anchor.unsigned_until, at=at
    )
    return msgspec.structs.replace(draft, mac=key.sign(CHECKPOINT_PURPOSE, _message(draft)).hex())


def newest(path: Path, key: AuditKey) -> Checkpoint | None:
    """The last checkpoint of the log (None: no log, or no line yet), its signature checked.

    Raises CheckpointInvalid when that line does not parse or its signature does not match.
    """
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - _TAIL_BYTES))
            tail = f.read()
    except FileNotFoundError:
        return None
    lines = [line for line in tail.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        cp = msgspec.json.decode(lines[-1], type=Checkpoint)
        valid = key.signs(CHECKPOINT_PURPOSE, _message(cp), bytes.fromhex(cp.mac))
        bytes.fromhex(cp.head)
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError):
        raise CheckpointInvalid(f"the last line of {path} is not a checkpoint") from None
    if not valid:
        raise CheckpointInvalid(
            f"the last checkpoint in {path} is not signed with this key: it was forged, or"
            " CSOMATCH_AUDIT_KEY_FILE is not the key of the server that wrote it"
        )
    return cp


def append(path: Path, cp: Checkpoint) -> None:
    """Add one line at the end of the log (one write, then fsync: lines never interleave)."""
    line = msgspec.json.encode(cp) + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


class WriterLock:
    """The lock file that makes one process of a ``CSOMATCH_HOME`` the checkpoint writer.

    ``flock`` is released by the kernel when the process dies, so another one takes over.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock if it is free (or already ours); never waits."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock up (closing the file releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Round(msgspec.Struct, frozen=True, kw_only=True):
    """What one checkpoint round did: ``written``, ``unchanged`` or ``broken`` (its ``outcome``).

    ``written``: a checkpoint of the head was written; ``unchanged``: the head had not moved;
    ``broken``: the chain was found broken (then nothing is written).
    """

    outcome: str
    seq: int
    problem: ChainBreak | None = None


async def checkpoint_once(
    conn: asyncpg.Connection, key: AuditKey, path: Path, *, now: dt.datetime | None = None
) -> Round:
    """Verify the events since the last checkpoint, then checkpoint the head if it has moved.

    Raises CheckpointInvalid when the last checkpoint cannot be trusted.
    """
    last = newest(path, key)
    anchor = None if last is None else last.anchor()
    report = await verify_chain(conn, key, anchor=anchor, since_anchor=True)
    if report.first_break is not None:
        return Round(outcome="broken", seq=report.first_break.seq, problem=report.first_break)
    if last is not None and report.last_seq == last.seq:
        return Round(outcome="unchanged", seq=last.seq)
    head = Anchor(seq=report.last_seq, head=report.last_hash, unsigned_until=report.unsigned_until)
    append(path, signed(key, anchor=head, at=now or dt.datetime.now(dt.UTC)))
    return Round(outcome="written", seq=head.seq)


async def run_checkpointer(
    pool: Pool, key: AuditKey, path: Path, interval_s: float, lock: WriterLock
) -> None:
    """Write checkpoints while this process holds ``lock``: now, then every ``interval_s``.

    Without the lock it tries again each interval (the writer may stop). A broken chain or an
    untrustworthy log is logged as an error at each round and nothing is written.
    """
    while True:
        if lock.acquire():
            try:
                async with pool.acquire() as conn:
                    done = await checkpoint_once(conn, key, path)  # type: ignore[arg-type]
                if done.problem is not None:
                    log.error(
                        "audit chain broken at event seq %d (%s); no checkpoint written:"
                        " run csomatch audit verify",
                        done.problem.seq,
                        done.problem.problem,
                    )
            except CheckpointInvalid as exc:
                log.error("audit checkpoints: %s; no checkpoint written", exc)
            except (
                *CONNECTION_ERRORS,
                CsomatchError,
                OSError,
                TimeoutError,
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
            ) as exc:
                log.warning(
                    "audit checkpoint round failed (%s); next as scheduled", type(exc).__name__
                )
        await asyncio.sleep(interval_s)


async def check_key(conn: asyncpg.Connection, key: AuditKey, settings: Settings) -> None:
    """Refuse a key that did not sign the newest event (another server's, or a new one).

    Raises AuditKeyError: signing on with another key would make the log unverifiable.
    """
    head, mac = await head_mac(conn)
    if mac is not None and not key.signs(EVENT_PURPOSE, head.hash, mac):
        raise AuditKeyError(
            f"the audit key {key_path(settings)} did not sign this database's newest audit"
            f" event (seq {head.seq}): give every server of one database the same key file"
            " (CSOMATCH_AUDIT_KEY_FILE), or run csomatch audit verify if the event was altered"
        )
