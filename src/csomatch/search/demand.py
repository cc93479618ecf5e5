"""The registry search as a use case: its input checks, and the demand that empty searches show.

The search is one statement (``db.services.search_services``); what it says about its own
input (an unknown taxonomy code, an unknown area) becomes an InvalidInput naming the query
parameter. A search filtered by taxonomy codes that finds nothing is evidence of unmet
demand: it is recorded as one ``search_empty`` demand signal per code, after the answer has
been sent, never slowing a search that found something.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid

import asyncpg
import msgspec

from csomatch.db import services as svc_db
from csomatch.db.pool import Pool
from csomatch.db.signals import NewSignal, record_signals
from csomatch.errors import CsomatchError, InvalidInput
from csomatch.i18n import _

log = logging.getLogger(__name__)

#: A point search is attributed to the participant of the nearest town within this distance.
SIGNAL_TOWN_KM = 100.0


async def search(conn: asyncpg.Connection, f: svc_db.SearchFilter) -> svc_db.SearchPage:
    """Run a search; InvalidInput naming the parameter for an unknown code or area."""
    return checked(await svc_db.search_services(conn, f), f)


def checked(page: svc_db.SearchPage, f: svc_db.SearchFilter) -> svc_db.SearchPage:
    """The page of a search (from SQL or the index), or InvalidInput for an unknown code or area.

    The InvalidInput names the parameter.
    """
    if page.unknown_codes and f.codes:
        i = page.unknown_codes[0]
        raise InvalidInput(
            _("invalid taxonomy code {codes2}", codes2=repr(f.codes[i])), field=f"code[{i}]"
        )
    if page.origin is None:
        raise InvalidInput(
            _("unknown area code {area}; look it up at /api/v1/areas", area=repr(f.area)),
            field="area",
        )
    return page


def normalised_query(f: svc_db.SearchFilter) -> bytes:
    """The search as canonical JSON: what it asked for, and nothing of how it was asked.

    The order and repetition of its codes and the page do not count; a point is rounded to
    0.01 degree (about 1 km).
    """
    where: object = (
        {"area": f.area}
        if f.latitude is None or f.longitude is None
        else {"point": [round(f.latitude, 2), round(f.longitude, 2)]}
    )
    return msgspec.json.encode(
        {
            "codes": sorted(set(f.codes or [])),
            "where": where,
            "radius_km": f.radius_km,
            "participant": f.participant,
            "language": f.language,
            "gender": f.gender,
            "age_band": f.age_band,
            "unaccompanied_minor": f.unaccompanied_minor,
            "accompanied_child": f.accompanied_child,
            "available": f.available_only,
        },
        order="sorted",
    )


def empty_search_signals(
    token_id: uuid.UUID,
    f: svc_db.SearchFilter,
    *,
    participant: str,
    area_code: str | None,
    today: dt.date,
) -> list[NewSignal]:
    """One ``search_empty`` signal per code of a search that found nothing.

    The dedup key (SHA-256 of token id, UTC date, normalised query and code) counts the
    same search by the same token once a day, however often it is repeated or paged.
    """
    query = normalised_query(f)
    signals = []
    for code in sorted(set(f.codes or [])):
        key = hashlib.sha256(
            b"|".join([str(token_id).encode(), today.isoformat().encode(), query, code.encode()])
        ).hexdigest()
        signals.append(
            NewSignal(
                kind="search_empty",
                source="search",
                participant_code=participant,
                area_code=area_code,
                taxonomy_code=code,
                dedup_key=key,
            )
        )
    return signals


class RecordedToday:
    """The dedup keys of the ``search_empty`` signals this process recorded today.

    The database keeps one signal per key whatever happens; this only spares it the
    statements of a search repeated (a page refreshed, a list paged) by the same token on
    the same day. Bounded: when full, it forgets the oldest keys.
    """

    def __init__(self, size: int = 100_000) -> None:
        self._size = size
        self._day: dt.date | None = None
        self._keys: dict[str, None] = {}

    def new(self, keys: list[str], today: dt.date) -> list[str]:
        """Those of ``keys`` not recorded today."""
        if today != self._day:
            self._day, self._keys = today, {}
        return [k for k in keys if k not in self._keys]

    def add(self, keys: list[str]) -> None:
        """Remember ``keys`` as recorded."""
        for key in keys:
            self._keys[key] = None
        while len(self._keys) > self._size:
            del self._keys[next(iter(self._keys))]


async def record_empty_search(
    pool: Pool,
    token_id: uuid.UUID,
    f: svc_db.SearchFilter,
    origin_participant: str | None,
    recorded: RecordedToday | None = None,
) -> None:
    """Record the demand signals of a search that found nothing (run after the answer).

    The participant is the searched area's, else the ``participant`` filter's, else that of
    the town nearest to the point; a point far from every town is not attributed. A failure
    is logged, never raised: the searcher already has the answer. With ``recorded``, a
    search this process already recorded today costs no statement.
    """
    by_area = f.latitude is None or f.longitude is None
    today = dt.datetime.now(dt.UTC).date()
    signals = empty_search_signals(token_id, f, participant="", area_code=None, today=today)
    keys = [s.dedup_key for s in signals if s.dedup_key is not None]
    if recorded is not None and not recorded.new(keys, today):
        return
    try:
        async with pool.acquire() as proxy:
            conn: asyncpg.Connection = proxy  # type: ignore[assignment]
            participant = origin_participant if by_area else None
            participant = participant or f.participant
            if participant is None and f.latitude is not None and f.longitude is not None:
                participant = await svc_db.participant_near(
                    conn, f.latitude, f.longitude, SIGNAL_TOWN_KM
                )
            if participant is None:
                return
            await record_signals(
                conn,
                empty_search_signals(
                    token_id,
                    f,
                    participant=participant,
                    area_code=f.area if by_area else None,
                    today=today,
                ),
            )
        if recorded is not None:
            recorded.add(keys)
    except (CsomatchError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        log.warning("could not record the demand signals of an empty search", exc_info=True)
