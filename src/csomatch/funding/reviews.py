"""Recipients not matched with confidence: a person confirms the organisation, or rejects."""

from __future__ import annotations

import uuid

import asyncpg
import msgspec

from csomatch.db import funding as funding_db
from csomatch.db.funding import ReviewRow
from csomatch.db.organizations import get_organization
from csomatch.domain import Principal
from csomatch.errors import Forbidden, InvalidInput, NotFound
from csomatch.i18n import _


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """A decided review and how many funding rows it linked to the organisation."""

    review: ReviewRow
    linked_rows: int


async def list_reviews(conn: asyncpg.Connection, *, status: str | None) -> list[ReviewRow]:
    """Recipients to review (``status`` None: every one), most recently seen first."""
    return await funding_db.list_reviews(conn, status=status)


async def decide(
    conn: asyncpg.Connection,
    principal: Principal,
    review_id: uuid.UUID,
    status: str,
    organization_id: uuid.UUID | None,
) -> Decision:
    """Confirm a recipient as an organisation and link its funding rows, or reject it.

    A confirmed recipient is the organisation given, else the proposed candidate, and it must
    be of the caller's jurisdiction. Rejected (``status`` ``rejected``), it stays unmatched
    and is not proposed again.
    """
    review = await funding_db.get_review(conn, review_id)
    if review is None:
        raise NotFound(_("no review {review_id}", review_id=review_id))
    if status == "confirmed":
        org_id = organization_id or review.candidate_organization_id
        if org_id is None:
            raise InvalidInput(
                _("this review has no candidate: name one"), field="$.organization_id"
            )
        org = await get_organization(conn, org_id)
        if org is None:
            raise InvalidInput(
                _("no organisation {org_id}", org_id=org_id), field="$.organization_id"
            )
        if principal.jurisdiction not in ("MARRI", org.participant_code):
            raise Forbidden(
                _(
                    "a {jurisdiction} token cannot link funding to {org_name}",
                    jurisdiction=principal.jurisdiction,
                    org_name=org.name,
                )
            )
        organization_id = org_id
    linked = await funding_db.decide_review(
        conn, review_id, status=status, organization_id=organization_id
    )
    decided = await funding_db.get_review(conn, review_id)
    assert decided is not None
    return Decision(review=decided, linked_rows=linked)
