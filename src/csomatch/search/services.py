"""The registry search as one use case: services near a point or an area, nearest first.

It is answered from the in-memory index when the index is in step with the tables
(``search.index``), else by one statement on the stateless pool (no connection is taken
from the request pool, no reset round trip). A search by taxonomy code that finds nothing
is evidence of unmet demand: the answer carries the recording of its ``search_empty``
signals, which the caller runs after the answer has been sent (``search.demand``).

Unlike the other use cases it takes a pool, not a connection: most searches need none.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec

from csomatch.db.pool import Pool, acquire
from csomatch.db.services import SearchFilter, SearchPage
from csomatch.domain import AddressScope, Principal
from csomatch.errors import InvalidInput
from csomatch.i18n import _
from csomatch.registry.addresses import address_scope
from csomatch.search import demand
from csomatch.search.index import SearchIndex

#: The ``participant`` of a search that asks for every participant (the default is the
#: caller's own).
ANY_PARTICIPANT = "any"


class ServiceQuery(msgspec.Struct, frozen=True, kw_only=True):
    """What a search asks for; every filter narrows the result, None means any.

    It measures from ``latitude``/``longitude`` (both, or neither), else from the centre of
    ``area``. ``participant`` None means the caller's own participant (a region-wide token:
    every participant); ``ANY_PARTICIPANT`` means every participant.
    """

    codes: list[str] | None = None
    participant: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    area: str | None = None
    radius_km: float | None = None
    language: str | None = None
    gender: str | None = None
    age_band: str | None = None
    unaccompanied_minor: bool | None = None
    accompanied_child: bool | None = None
    available_only: bool = False
    #: Offered by a survivor-led organisation (True), or not (False).
    survivor_led: bool | None = None
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True, slots=True)
class SearchSources:
    """Where searches are answered from, and what this process remembers of them."""

    #: The stateless pool: one statement per search, returned without a reset.
    pool: Pool
    #: The in-memory index (None: every search is SQL).
    index: SearchIndex | None = None
    #: The empty searches this process recorded today (None: ask the database every time).
    recorded: demand.RecordedToday | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """A page of a search and what the caller needs to show it."""

    page: SearchPage
    #: Whose confidential sites the caller sees in full (the others at their municipality).
    scope: AddressScope
    #: The rows are the index's records, the same objects until they change: views of them
    #: may be kept.
    from_index: bool
    #: To run after the answer is sent: record the demand of a search that found nothing.
    after: Callable[[], Awaitable[None]] | None
    #: The participant a hit in another one is *abroad* from: the caller's, or for a
    #: region-wide caller the participant of the area searched from (None: no such thing).
    home: str | None = None

    def abroad(self, participant: str) -> bool:
        """Whether a service of ``participant`` is outside the caller's own participant."""
        return self.home is not None and participant != self.home


def searched_participant(principal: Principal, asked: str | None) -> str | None:
    """The participant filter: the one asked for, else the caller's (None: every one)."""
    if asked == ANY_PARTICIPANT:
        return None
    return asked if asked is not None else principal.participant()


def _filter(principal: Principal, q: ServiceQuery, stale_hours: float) -> SearchFilter:
    """The statement's filter of a query, or InvalidInput when it says not where from."""
    if (q.latitude is None) != (q.longitude is None):
        raise InvalidInput(
            _("give both lat and lon, or neither"), field="lat" if q.latitude is None else "lon"
        )
    if q.latitude is None and q.area is None:
        raise InvalidInput(
            _("say where to search from: lat and lon, or an area code (GET /api/v1/areas?q=...)"),
            field="area",
        )
    return SearchFilter(
        latitude=q.latitude, longitude=q.longitude,
        area=q.area if q.latitude is None else None, radius_km=q.radius_km,
        codes=q.codes or None, participant=searched_participant(principal, q.participant),
        language=q.language, gender=q.gender, age_band=q.age_band,
        unaccompanied_minor=q.unaccompanied_minor, accompanied_child=q.accompanied_child,
        available_only=q.available_only,
        stale_after_hours=stale_hours, address_scope=address_scope(principal), limit=q.limit,
        offset=q.offset, survivor_led=q.survivor_led,
    )  # fmt: skip


async def search_services(
    sources: SearchSources, principal: Principal, q: ServiceQuery, *, stale_hours: float
) -> Found:
    """Services matching ``q``, nearest first; InvalidInput naming the parameter if ``q`` is wrong.

    Wrong: an unknown code or area, or a query that says not where to search from.
    """
    f = _filter(principal, q, stale_hours)
    index = sources.index
    from_index = index is not None and await index.sync()
    if index is not None and from_index:
        # From memory, with every change committed before this call (search/index.py).
        page = demand.checked(index.search(f), f)
    else:
        conn = await acquire(sources.pool)
        try:
            page = await demand.search(conn, f)
        finally:
            await sources.pool.release(conn)  # type: ignore[arg-type]
    after = None
    if page.total == 0 and f.codes:
        after = functools.partial(
            demand.record_empty_search, sources.pool, principal.id, f, page.origin_participant,
            sources.recorded,
        )  # fmt: skip
    home = principal.participant() or page.origin_participant
    return Found(page=page, scope=f.address_scope, from_index=from_index, after=after, home=home)
