"""The event feed of web pages: the published events a caller may see, in feed order.

A provider sees the events that name its organisation (its current offers'); a coordinator or
admin the events of their jurisdiction (``MARRI``: of every participant); an officer only the
events of the referrals it may read (``GET /api/v1/referrals/{id}``: its agency's, or its
own, in its jurisdiction), and of their offers. Positions (``seq``) come from
the publisher, which numbers events in the order they became visible, so a reader that asks
for "everything after N" never misses an event that committed late.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import asyncpg
import msgspec

from csomatch.db import webhooks as wh_db
from csomatch.domain import COORDINATING, Principal, Role
from csomatch.errors import Forbidden
from csomatch.i18n import _
from csomatch.referrals.access import referrals_visible_to

#: Roles that may read the event feed (funders see aggregates only).
READERS: Final[tuple[Role, ...]] = ("officer", "provider", *COORDINATING)


class FeedPage(msgspec.Struct, frozen=True, kw_only=True):
    """Events after a position, and the position to ask from next."""

    events: list[wh_db.PublishedEvent]
    next_after: int


async def read_feed(
    conn: asyncpg.Connection, principal: Principal, *, after: int | None, limit: int
) -> FeedPage:
    """The caller's events after ``after`` (None: from now on, so none yet)."""
    if principal.role not in READERS:
        raise Forbidden(_("the {role} role does not receive events", role=principal.role))
    async with conn.transaction():
        await wh_db.publish_pending(conn, now=dt.datetime.now(dt.UTC), limit=500)
    last = await wh_db.last_published_seq(conn)
    if after is None or after >= last:
        # From now on; a position beyond the end (a restored database) restarts at the end.
        return FeedPage(events=[], next_after=last)
    events = await wh_db.published_events(
        conn,
        after_seq=after,
        up_to_seq=last,
        organization_id=principal.organization_id if principal.role == "provider" else None,
        jurisdiction=None if principal.role == "provider" else principal.jurisdiction,
        referrals=referrals_visible_to(principal) if principal.role == "officer" else None,
        limit=limit,
    )
    next_after = events[-1].seq if len(events) == limit else last
    return FeedPage(events=events, next_after=next_after)
