"""The caller: a token's role and scope, and the rules of who may act where."""

from __future__ import annotations

import uuid

import msgspec

from csomatch.domain.vocabulary import COORDINATING, REGION, Jurisdiction, ParticipantCode, Role


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: the token's role, its jurisdiction, and its organisation or agency.

    The jurisdiction is one participant or the region. A provider has its organisation; an
    officer, the agency it refers for.

    Built by the HTTP layer from the token the database verified; use cases decide with it
    and never see the token record.
    """

    #: The token's id (the audit log's actor, the creator of what it creates).
    id: uuid.UUID
    role: Role
    jurisdiction: Jurisdiction
    organization_id: uuid.UUID | None = None
    agency: str | None = None
    #: The officer's agency is the guardianship authority (usually the centre for social
    #: work): its officers may sign off a child's placement as the second person.
    guardianship_authority: bool = False
    #: The agency record the token names (its duty phone reaches providers); None for a token
    #: made before agencies were records, which still works by its ``agency`` name.
    agency_id: uuid.UUID | None = None

    def is_coordinating(self) -> bool:
        """Whether the caller oversees a jurisdiction (a coordinator or an admin)."""
        return self.role in COORDINATING

    def is_region_wide(self) -> bool:
        """Whether the token speaks for the whole region (``MARRI``), not one participant."""
        return self.jurisdiction == REGION

    def participant(self) -> ParticipantCode | None:
        """The one participant the token is scoped to; None for a region-wide token."""
        if self.jurisdiction == REGION:
            return None
        return self.jurisdiction

    def covers(self, participant: str) -> bool:
        """Whether this participant is within the token's jurisdiction."""
        return self.jurisdiction in (REGION, participant)

    def may_manage(self, organization_id: uuid.UUID, participant: str) -> bool:
        """Whether the caller manages this organisation (of this participant).

        A provider manages its own, a coordinator or admin every one of their jurisdiction.
        """
        if self.role == "provider":
            return self.organization_id == organization_id
        return self.is_coordinating() and self.covers(participant)
