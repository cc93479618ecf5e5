"""The one rule of confidential addresses: who sees a shelter's street address and point."""

from __future__ import annotations

from csomatch.domain import AddressScope, Principal, Service


def address_scope(principal: Principal) -> AddressScope:
    """Which confidential sites this caller sees in full (street address and exact point).

    The one rule of confidential addresses: only the coordinators and admins of the site's
    own jurisdiction (the participant of its location); a region-wide ``MARRI`` token,
    another participant's coordinator or admin, officers, providers and funders see the
    municipality only. The referring officer of an active placement at the site sees it too,
    for that placement only: `may_see_address` with ``referrer_of_active_placement``.
    """
    participant = principal.participant()
    if principal.is_coordinating() and participant is not None:
        return AddressScope(participant=participant)
    return AddressScope()


def may_see_address(
    principal: Principal, site: Service, *, referrer_of_active_placement: bool = False
) -> bool:
    """Whether this caller sees this site's street address, exact point and duty phone.

    A site that is not confidential is seen by everyone. A confidential one by the
    coordinators and admins of its jurisdiction (`address_scope`) and, for the escort, by the
    officer who referred a person placed there while that placement is active (confirmed or
    in service): ``referrer_of_active_placement``, which only ``referrals.handover`` decides.
    A confidential shelter's duty phone follows the same rule as its address.
    """
    if not site.confidential or referrer_of_active_placement:
        return True
    return address_scope(principal).covers(site.participant_code)
