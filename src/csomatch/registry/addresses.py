"""The one rule of confidential addresses: who sees a shelter's street address and point."""

from __future__ import annotations

from csomatch.domain import AddressScope, Principal, Service


def address_scope(principal: Principal) -> AddressScope:
    """Which confidential sites this caller sees in full (street address and exact point).

    The one rule of confidential addresses: only the coordinators and admins of the site's
    own jurisdiction (the participant of its location); a region-wide ``MARRI`` token,
    another participant's coordinator or admin, officers, providers and funders see the
    municipality only. (A later rule adds the referring officer of an active placement at
    the site: it belongs here, and nowhere else.)
    """
    participant = principal.participant()
    if principal.is_coordinating() and participant is not None:
        return AddressScope(participant=participant)
    return AddressScope()


def may_see_address(principal: Principal, site: Service) -> bool:
    """Whether this caller sees this site's street address and exact point."""
    return not site.confidential or address_scope(principal).covers(site.participant_code)
