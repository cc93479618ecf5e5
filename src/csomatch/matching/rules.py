"""Hard rules: a service that breaks one is not suggested for that need.

Each rule is a function that answers True when the service may serve the need, with a
docstring a caseworker can check against practice. `RULES` lists them in the order they are
applied, each with the reason code reported when it excludes a service.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Final

import msgspec

from csomatch.domain import CHILD_AGE_BANDS, Service, may_serve
from csomatch.geo import Point, at_least_km
from csomatch.i18n import N_
from csomatch.matching.profile import Need, NeedsProfile

INTERPRETATION_CODE: Final = "LANG.INTERP"

#: What each rule means when it refuses one named service, in a sentence (English msgids,
#: said in the request's language with ``_()``).
RULE_DETAILS: Final[dict[str, str]] = {
    "service_code": N_("it does not offer a service this referral needs"),
    "gender": N_("it does not accept people of the referral's placement gender"),
    "age": N_(
        "it does not accept the person's age band, or the person is a child (or of "
        "uncertain age) and it is not child-appropriate care: a child without an accompanying "
        "adult only where unaccompanied minors are served, an accompanied child only where "
        "accompanied children are accepted; a child-only service only children"
    ),
    "group": N_(
        "it does not place the referral's group (adults and accompanying children) together"
    ),
    "not_accepting": N_("it is not accepting referrals now"),
    "licence": N_(
        "it needs a licence, and its organisation holds none valid today for this "
        "service (expired, suspended, revoked or missing)"
    ),
    "no_capacity": N_("its free places are unknown, stale or too few for the group"),
    "language": N_(
        "it speaks none of the person's languages, and no interpretation service "
        "accepting referrals covers them"
    ),
    "excluded_area": N_(
        "it is in an area the referral excludes, or nearer to one than the minimum distance"
    ),
    "security": N_("a person at high risk is accommodated only where the security level is high"),
    "jurisdiction": N_("it is not where this need is served"),
}


class MatchContext(msgspec.Struct, frozen=True, kw_only=True):
    """Facts shared by all rules of one matching run."""

    now: dt.datetime
    stale_hours: float
    #: Centres of the excluded areas the profile names.
    excluded_points: tuple[Point, ...]
    #: An interpretation service accepting referrals covers one of the person's languages.
    interpretation_available: bool
    #: Services whose organisation holds a licence in force and valid today that lists the
    #: service's code (a suspended or revoked licence counts for nothing).
    licensed: frozenset[uuid.UUID]


def is_accommodation(code: str) -> bool:
    """Accommodation codes (ACC.*) place people in beds or places."""
    return code.startswith("ACC.")


def free_places(service: Service) -> int | None:
    """Free places reported (available minus held, never below 0), or None without a number."""
    if service.available is None or service.held is None:
        return None
    return max(service.available - service.held, 0)


def capacity_is_stale(service: Service, ctx: MatchContext) -> bool:
    """Whether the capacity number is missing or older than the stale threshold."""
    if service.capacity_updated_at is None:
        return True
    age_h = (ctx.now - service.capacity_updated_at).total_seconds() / 3600
    return age_h >= ctx.stale_hours


def offers_service(profile: NeedsProfile, need: Need, service: Service, ctx: MatchContext) -> bool:
    """The service offers exactly the taxonomy code that is needed."""
    return service.taxonomy_code == need.code


def serves_gender(profile: NeedsProfile, need: Need, service: Service, ctx: MatchContext) -> bool:
    """The service accepts people of the person's gender."""
    return profile.gender in service.genders


def serves_age(profile: NeedsProfile, need: Need, service: Service, ctx: MatchContext) -> bool:
    """The service accepts the person's age band; a child only in child-appropriate care.

    A person under 18, or whose age is uncertain (presumed a child), who is not accompanied
    by a parent or carer placed with them is matched, for every kind of service, only to a
    service that serves unaccompanied minors: never to an adult shelter. An accompanied child
    is placed (accommodation) only where accompanied children are accepted, and served
    elsewhere where children are served, alone or accompanied. An uncertain age needs the
    stated band or any child band. A child-only service takes only children.
    """
    if not profile.is_child:
        return not service.child_only and profile.age_band in service.age_bands
    if profile.age_uncertain:
        band_ok = profile.age_band in service.age_bands or any(
            b in CHILD_AGE_BANDS for b in service.age_bands
        )
    else:
        band_ok = profile.age_band in service.age_bands
    if not band_ok:
        return False
    if not profile.accompanied:
        return service.serves_unaccompanied_minors
    if is_accommodation(need.code):
        return service.accepts_accompanied_children
    return service.accepts_accompanied_children or service.serves_unaccompanied_minors


def fits_group(profile: NeedsProfile, need: Need, service: Service, ctx: MatchContext) -> bool:
    """Accommodation only: a group (adults and accompanying children) stays together.

    The service must accept families and take a group of at least that size, and accept
    accompanied children when children come with the group. Counselling, legal aid and
    every other non-accommodation service serve the person whatever the group's size.
    """
    if not is_accommodation(need.code):
        return True
    size = profile.group_size
    if size == 1:
        return True
    if profile.group_children_age_bands and not service.accepts_accompanied_children:
        return False
    return service.accepts_families and service.max_group_size >= size


def accepts_referrals(
    profile: NeedsProfile, need: Need, service: Service, ctx: MatchContext
) -> bool:
    """The service and its organisation are accepting referrals now."""
    return service.accepting_referrals


def licensed_if_required(
    profile: NeedsProfile, need: Need, service: Service, ctx: MatchContext
) -> bool:
    """A service that needs a licence is offered only under a licence valid today.

    The organisation must hold a licence from an authority, in force (neither suspended nor
    revoked) and valid today (from its first day to its last, or without an end date), that
    lists the service's code. A service that needs no licence passes.
    """
    return not service.licence_required or service.id in ctx.licensed


def has_free_places(profile: NeedsProfile, need: Need, service: Service, ctx: MatchContext) -> bool:
    """Accommodation only: the number of free places is known, not stale, and fits the group.

    A stale number counts as unknown, not as free. Other services are ranked by their
    capacity instead of being excluded.
    """
    if not is_accommodation(need.code):
        return True
    free = free_places(service)
    return free is not None and not capacity_is_stale(service, ctx) and free >= profile.group_size


def language_ok(profile: NeedsProfile, need: Need, service: Service, ctx: MatchContext) -> bool:
    """The person can be understood.

    If the person needs an interpreter, an interpretation service covering one of their
    languages must be available. Otherwise the service must speak one of their languages.
    """
    if profile.interpreter_needed:
        return ctx.interpretation_available
    return any(lang in service.languages for lang in profile.languages)


def away_from_excluded(
    profile: NeedsProfile, need: Need, service: Service, ctx: MatchContext
) -> bool:
    """The service is not in an excluded area, and at least the minimum distance from each."""
    if service.area_code in profile.excluded_areas:
        return False
    if profile.min_distance_km <= 0:
        return True
    site = (service.latitude, service.longitude)
    return all(at_least_km(site, p, profile.min_distance_km) for p in ctx.excluded_points)


def secure_if_high_risk(
    profile: NeedsProfile, need: Need, service: Service, ctx: MatchContext
) -> bool:
    """A person at high risk is accommodated only where the security level is high."""
    if profile.risk_level != "high" or not is_accommodation(need.code):
        return True
    return service.security_level == "high"


def within_jurisdiction(
    profile: NeedsProfile, need: Need, service: Service, ctx: MatchContext
) -> bool:
    """The service is where the need is served (`csomatch.domain.may_serve`).

    Every need in the referral's own jurisdiction; the return and reintegration needs of a
    transnational referral with the receiving participant's cross-border services.
    """
    return may_serve(
        need.code, profile.jurisdiction, profile.receiving_participant,
        service.participant_code, cross_border=service.cross_border,
    )  # fmt: skip


Rule = Callable[[NeedsProfile, Need, Service, MatchContext], bool]

#: The hard rules in the order they are applied, each with its reason code.
RULES: Final[tuple[tuple[str, Rule], ...]] = (
    ("service_code", offers_service),
    ("gender", serves_gender),
    ("age", serves_age),
    ("group", fits_group),
    ("not_accepting", accepts_referrals),
    ("licence", licensed_if_required),
    ("no_capacity", has_free_places),
    ("language", language_ok),
    ("excluded_area", away_from_excluded),
    ("security", secure_if_high_risk),
    ("jurisdiction", within_jurisdiction),
)
REASON_CODES: Final = tuple(code for code, _ in RULES)

#: The profile fields each rule reads, besides the need's code, the service and what the
#: context holds for the whole request (time, licences). The context's excluded points
#: come from ``excluded_areas`` and its interpretation flag from ``languages``; a derived
#: property (``group_size``) stands for the fields it is computed from (`DERIVED_FROM`).
#: The matcher evaluates a rule once per distinct value of these fields and code, so a rule
#: that starts reading another field must list it here; a test checks that changing any
#: other field never changes a rule's answer.
RULE_READS: Final[dict[str, tuple[str, ...]]] = {
    "service_code": (),
    "gender": ("gender",),
    "age": ("age_band", "age_uncertain", "accompanied"),
    "group": ("group_size", "group_children_age_bands"),
    "not_accepting": (),
    "licence": (),
    "no_capacity": ("group_size",),
    "language": ("languages", "interpreter_needed"),
    "excluded_area": ("excluded_areas", "min_distance_km"),
    "security": ("risk_level",),
    "jurisdiction": ("jurisdiction", "receiving_participant"),
}
#: Rules that look at the profile only for some codes; for any other code they pass every
#: service whatever the profile says, so they read nothing there.
RULE_SCOPE: Final[dict[str, Callable[[str], bool]]] = {
    "group": is_accommodation,
    "no_capacity": is_accommodation,
    "security": is_accommodation,
}
#: Profile properties the rules and terms may read, and the fields they are computed from.
DERIVED_FROM: Final[dict[str, tuple[str, ...]]] = {
    "group_size": ("group_adults", "group_children_age_bands"),
    "is_child": ("age_band", "age_uncertain"),
}


def rule_reads(reason: str, code: str) -> tuple[str, ...]:
    """The profile fields (or derived properties) rule ``reason`` reads for a need of ``code``."""
    applies = RULE_SCOPE.get(reason)
    return RULE_READS[reason] if applies is None or applies(code) else ()


def exclusion_reason(
    profile: NeedsProfile, need: Need, service: Service, ctx: MatchContext
) -> str | None:
    """The reason code of the first rule the service breaks for this need, or None."""
    for code, rule in RULES:
        if not rule(profile, need, service, ctx):
            return code
    return None


def interpretation_available(profile: NeedsProfile, services: list[Service]) -> bool:
    """Whether an interpretation service accepting referrals covers one of the languages."""
    return any(
        s.taxonomy_code == INTERPRETATION_CODE
        and s.accepting_referrals
        and any(lang in s.languages for lang in profile.languages)
        for s in services
    )
