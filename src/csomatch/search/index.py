"""The registry search answered from memory, kept equal to the database by notifications.

The search statement (``db.services.search_services``) costs a round trip and about a
millisecond of PostgreSQL per call. The server instead keeps every service's search row and
full record in numpy arrays and answers from them, exactly as the statement would: the same
filters, the same chord distances computed from the same stored unit vectors (bit for bit),
the same order (distance, then service id), the same totals. A property test compares the
two on random searches.

**Staying equal to the tables.** Migration 0045 notifies channel ``csomatch_search`` of
every committed change (which service, organisation, location, area; a truncation). The
index listens on a connection of its own and, before every search, makes one round trip on
that connection (a *barrier*): PostgreSQL delivers every notification committed before the
barrier's query ahead of its answer, so the services they name are read back before the
search is answered. A change committed before a search began is therefore always in its
answer, from whatever process or tool it came. Concurrent searches share a barrier.

**When it cannot.** If the listening connection is lost or a barrier fails, the index stops
answering (``sync`` says False and the caller runs the SQL statement), reconnects in the
background, listens, reloads everything, and answers again.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Iterable

import asyncpg
import numpy as np
import numpy.typing as npt

from csomatch.db import search_index as index_db
from csomatch.db.errors import CONNECTION_ERRORS
from csomatch.db.services import SearchFilter, SearchPage, SearchRow
from csomatch.domain import Service
from csomatch.geo import chord_of_km, km_of_chord2, unit_vector

log = logging.getLogger(__name__)

#: More changed services than this in one batch are read back by a full reload.
FULL_RELOAD_AT = 2000
#: Seconds a barrier or a read-back may take before the index gives up and the SQL answers.
BARRIER_TIMEOUT_S = 5.0

Bools = npt.NDArray[np.bool_]


def _free(e: index_db.Entry) -> int:
    """Free places as the filter compares them: no number counts as 0 (never > 0)."""
    return 0 if e.free is None else e.free


def _updated(e: index_db.Entry) -> float:
    """When the number was reported, in epoch seconds; no number is older than any time."""
    return -math.inf if e.updated_at is None else e.updated_at.timestamp()


class Arrays:
    """The search rows of every service as columns, and the search over them (pure)."""

    def __init__(self, entries: Iterable[index_db.Entry]) -> None:
        items = list(entries)
        n = len(items)
        self.pos = {e.service.id: i for i, e in enumerate(items)}
        self.entries = items
        self.services: list[Service] = [e.service for e in items]
        self.codes = [e.code for e in items]
        ints = [e.service.id.int for e in items]
        self.hi = np.array([v >> 64 for v in ints], dtype=np.uint64)
        self.lo = np.array([v & 0xFFFFFFFFFFFFFFFF for v in ints], dtype=np.uint64)
        # Column by column (a row at a time would clear every membership column per row).
        self.participants: dict[str, int] = {}
        self.participant = np.array(
            [self.participants.setdefault(e.participant, len(self.participants)) for e in items],
            dtype=np.int64,
        )
        rows_of: dict[str, list[int]] = {}
        for i, e in enumerate(items):
            for key in self._member_keys(e):
                rows_of.setdefault(key, []).append(i)
        self.members: dict[str, Bools] = {}
        for key, rows in rows_of.items():
            self.members[key] = np.zeros(n, dtype=np.bool_)
            self.members[key][rows] = True
        self.unaccompanied = np.array(
            [e.serves_unaccompanied_minors for e in items], dtype=np.bool_
        )
        self.accompanied = np.array([e.accepts_accompanied_children for e in items], dtype=np.bool_)
        self.accepting = np.array([e.accepting for e in items], dtype=np.bool_)
        self.survivor_led = np.array([e.survivor_led for e in items], dtype=np.bool_)
        self.free = np.array([_free(e) for e in items], dtype=np.int64)
        self.updated = np.array([_updated(e) for e in items], dtype=np.float64)
        self.shown = np.array([e.shown for e in items], dtype=np.float64).reshape(n, 3).T.copy()
        self.site = np.array([e.site for e in items], dtype=np.float64).reshape(n, 3).T.copy()
        by_code: dict[str, list[int]] = {}
        for i, code in enumerate(self.codes):
            by_code.setdefault(code, []).append(i)
        self.by_code = {c: np.array(p, dtype=np.int64) for c, p in by_code.items()}
        self.everything = np.arange(n, dtype=np.int64)

    def set_row(self, i: int, e: index_db.Entry) -> None:
        """Write one entry's columns at position ``i`` (its code must not change)."""
        self.entries[i] = e
        self.services[i] = e.service
        part = self.participants.setdefault(e.participant, len(self.participants))
        self.participant[i] = part
        for column in self.members.values():
            column[i] = False
        for key in self._member_keys(e):
            if key not in self.members:
                self.members[key] = np.zeros(len(self.services), dtype=np.bool_)
            self.members[key][i] = True
        self.unaccompanied[i] = e.serves_unaccompanied_minors
        self.accompanied[i] = e.accepts_accompanied_children
        self.accepting[i] = e.accepting
        self.survivor_led[i] = e.survivor_led
        self.free[i] = _free(e)
        self.updated[i] = _updated(e)
        self.shown[:, i] = e.shown
        self.site[:, i] = e.site

    @staticmethod
    def _member_keys(e: index_db.Entry) -> list[str]:
        return (
            ["language:" + v for v in e.languages]
            + ["gender:" + v for v in e.genders]
            + ["age_band:" + v for v in e.age_bands]
        )

    def search(
        self,
        f: SearchFilter,
        origin: tuple[float, float],
        unknown_codes: list[int],
        origin_participant: str | None,
        now: float,
    ) -> SearchPage:
        """The page the search statement gives for ``f`` from ``origin``, at time ``now``."""
        if f.codes:
            parts = [self.by_code[c] for c in dict.fromkeys(f.codes) if c in self.by_code]
            pos = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        else:
            pos = self.everything
        keep = np.ones(len(pos), dtype=np.bool_)
        if f.participant is not None:
            part = self.participants.get(f.participant, -1)
            keep &= self.participant[pos] == part
        for key, value in (
            ("language:", f.language),
            ("gender:", f.gender),
            ("age_band:", f.age_band),
        ):
            if value is not None:
                member = self.members.get(key + value)
                keep &= False if member is None else member[pos]
        if f.unaccompanied_minor is not None:
            keep &= self.unaccompanied[pos] == f.unaccompanied_minor
        if f.accompanied_child is not None:
            keep &= self.accompanied[pos] == f.accompanied_child
        if f.survivor_led is not None:
            keep &= self.survivor_led[pos] == f.survivor_led
        if f.available_only:
            oldest = now - f.stale_after_hours * 3600
            keep &= self.accepting[pos] & (self.free[pos] > 0) & (self.updated[pos] > oldest)
        pos = pos[keep]
        # As the statement: unit vectors of the origin in degrees, then chord distances.
        vx, vy, vz = unit_vector(*origin)
        x, y, z = self.shown[0][pos], self.shown[1][pos], self.shown[2][pos]
        revealed = f.address_scope.participant
        if revealed is not None:
            # As the statement: the site's own point where the caller's scope covers the
            # service's participant, the shown point everywhere else.
            own = self.participant[pos] == self.participants.get(revealed, -1)
            x = np.where(own, self.site[0][pos], x)
            y = np.where(own, self.site[1][pos], y)
            z = np.where(own, self.site[2][pos], z)
        if f.radius_km is not None:
            chord = chord_of_km(f.radius_km)
            box = (z >= vz - chord) & (z <= vz + chord)
            box &= (x >= vx - chord) & (x <= vx + chord)
            box &= (y >= vy - chord) & (y <= vy + chord)
            pos, x, y, z = pos[box], x[box], y[box], z[box]
        d2 = (x - vx) * (x - vx) + (y - vy) * (y - vy) + (z - vz) * (z - vz)
        if f.radius_km is not None:
            near = d2 <= chord * chord
            pos, d2 = pos[near], d2[near]
        order = np.lexsort((self.lo[pos], self.hi[pos], d2))[f.offset : f.offset + f.limit]
        rows = [
            SearchRow(
                service=self.services[p],
                distance_km=km_of_chord2(d),
            )
            for p, d in zip(pos[order].tolist(), d2[order].tolist(), strict=True)
        ]
        return SearchPage(
            rows=rows,
            total=len(pos),
            origin=origin,
            origin_participant=origin_participant,
            unknown_codes=unknown_codes,
        )


class SearchIndex:
    """Every service's search row in memory, refreshed by notifications (see the module)."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._conn: asyncpg.Connection | None = None
        self._arrays = Arrays([])
        self._areas: dict[str, index_db.Area] = {}
        self._codes: frozenset[str] = frozenset()
        self._ready = False
        self._closed = False
        # Changes heard and not yet read back.
        self._dirty: set[uuid.UUID] = set()
        self._dirty_owners: set[str] = set()
        self._reload_all = False
        # The barrier searches wait for next; the task that sends barriers.
        self._next: asyncio.Future[bool] | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._connect_task: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        """Whether the index answers searches (False: use the SQL statement)."""
        return self._ready and not self._closed

    async def start(self) -> None:
        """Connect, listen and load; on failure, keep trying in the background."""
        try:
            await self._connect()
        except (*CONNECTION_ERRORS, asyncpg.PostgresError, TimeoutError):
            log.warning("search index not loaded yet; searches use SQL", exc_info=True)
            self._reconnect_later()

    async def close(self) -> None:
        """Stop listening and close the connection."""
        self._closed = True
        self._ready = False
        for task in (self._connect_task, self._pump_task):
            if task is not None:
                task.cancel()
        if self._conn is not None:
            await self._conn.close(timeout=2)

    def search(self, f: SearchFilter) -> SearchPage:
        """Answer ``f`` from memory (only after ``sync`` returned True)."""
        unknown = [i for i, c in enumerate(f.codes or []) if c not in self._codes]
        if f.latitude is not None and f.longitude is not None:
            origin, participant = (f.latitude, f.longitude), None
        else:
            area = self._areas.get(f.area or "")
            if area is None:
                return SearchPage(
                    rows=[], total=0, origin=None, origin_participant=None, unknown_codes=unknown
                )
            origin, participant = (area.latitude, area.longitude), area.participant
        return self._arrays.search(f, origin, unknown, participant, time.time())

    async def sync(self) -> bool:
        """Wait until every change committed before this call is in the index.

        True when it is; False when the index cannot say (then use the SQL statement).
        """
        if not self.ready:
            return False
        waiter = self._next
        if waiter is None:
            waiter = self._next = asyncio.get_running_loop().create_future()
            if self._pump_task is None or self._pump_task.done():
                self._pump_task = asyncio.create_task(self._pump())
        return await asyncio.shield(waiter)

    # --- keeping up --------------------------------------------------------------------

    async def _connect(self) -> None:
        conn = await asyncpg.connect(
            self._url,
            timeout=BARRIER_TIMEOUT_S,
            server_settings={"application_name": "csomatch-search-index", "timezone": "UTC"},
        )
        try:
            conn.add_termination_listener(self._lost)
            await conn.add_listener(index_db.CHANNEL, self._heard)
            # Listening first: a change committed during the load is heard and read again.
            self._dirty.clear()
            self._dirty_owners.clear()
            self._reload_all = False
            self._conn = conn
            await self._load_everything(conn)
        except BaseException:
            self._conn = None
            await conn.close(timeout=2)
            raise
        self._ready = True
        log.info("search index loaded: %d services", len(self._arrays.services))

    async def _load_everything(self, conn: asyncpg.Connection) -> None:
        entries = await index_db.load_entries(conn)
        self._areas = await index_db.load_areas(conn)
        self._codes = await index_db.load_service_codes(conn)
        self._arrays = Arrays(entries)

    def _heard(self, conn: object, pid: int, channel: str, payload: object) -> None:
        kind, _, key = str(payload).partition(":")
        if kind == "s":
            self._dirty.add(uuid.UUID(key))
        elif kind in ("o", "l", "a"):
            self._dirty_owners.add(str(payload))
        else:  # "t", "*" and anything unexpected
            self._reload_all = True

    def _lost(self, conn: object) -> None:
        if self._closed:
            return
        log.warning("search index lost its database connection; searches use SQL")
        self._ready = False
        self._conn = None
        self._reconnect_later()

    def _reconnect_later(self) -> None:
        if self._closed or (self._connect_task is not None and not self._connect_task.done()):
            return
        self._connect_task = asyncio.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = 0.2
        while not self._closed and not self._ready:
            await asyncio.sleep(delay)
            try:
                await self._connect()
            except (*CONNECTION_ERRORS, asyncpg.PostgresError, TimeoutError):
                delay = min(delay * 2, 5.0)

    async def _pump(self) -> None:
        """Send barriers while searches wait for one, and read back what they brought."""
        while self._next is not None:
            waiter, self._next = self._next, None
            ok = False
            conn = self._conn
            try:
                if conn is not None and self._ready:
                    try:
                        await conn.execute("SELECT 1", timeout=BARRIER_TIMEOUT_S)
                        await asyncio.sleep(0)  # let the notifications' callbacks run
                        await self._catch_up(conn)
                        ok = True
                    except (*CONNECTION_ERRORS, asyncpg.PostgresError, TimeoutError):
                        log.warning("search index barrier failed; reconnecting", exc_info=True)
                        self._ready = False
                        self._conn = None
                        conn.terminate()
                        self._reconnect_later()
            finally:
                # Whatever happened, the searches waiting for this barrier get an answer
                # (False: they run the SQL statement) instead of waiting for ever.
                if not waiter.done():
                    waiter.set_result(ok)

    async def _catch_up(self, conn: asyncpg.Connection) -> None:
        while self._reload_all or self._dirty or self._dirty_owners:
            if self._dirty_owners:
                owners, self._dirty_owners = self._dirty_owners, set()
                if any(o.startswith("a:") for o in owners):
                    self._areas = await index_db.load_areas(conn)
                self._dirty.update(
                    await index_db.services_of(
                        conn,
                        organizations=[uuid.UUID(o[2:]) for o in owners if o[0] == "o"],
                        locations=[uuid.UUID(o[2:]) for o in owners if o[0] == "l"],
                        areas=[o[2:] for o in owners if o[0] == "a"],
                    )
                )
            if self._reload_all or len(self._dirty) > FULL_RELOAD_AT:
                self._reload_all = False
                self._dirty.clear()
                await self._load_everything(conn)
                continue
            ids, self._dirty = self._dirty, set()
            if ids:
                self._apply(ids, await index_db.load_entries(conn, list(ids)))

    def _apply(self, ids: set[uuid.UUID], entries: list[index_db.Entry]) -> None:
        arrays = self._arrays
        found = {e.service.id: e for e in entries}
        in_place = all(
            i in arrays.pos and arrays.codes[arrays.pos[i]] == found[i].code for i in found
        ) and all(i in found for i in ids if i in arrays.pos)
        if in_place:
            for sid, entry in found.items():
                arrays.set_row(arrays.pos[sid], entry)
            return
        # A service came, went or changed its code: rebuild the columns.
        kept = [e for e in arrays.entries if e.service.id not in ids]
        self._arrays = Arrays(kept + entries)
