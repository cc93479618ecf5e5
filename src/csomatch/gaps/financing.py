"""Who pays (issue 15, item 4): public against donor money, donor dependence, runway, equity.

Three use cases, all aggregates of money and counts (no person data):

- ``organization_funding``: one organisation's funding mix, its runway and the cells its
  services serve; its own provider may read it, as may coordinators, admins and funders of its
  participant;
- ``cell_financing``: the same mix for the services behind one gap cell (the cell evidence);
- ``equity_view``: per participant and service code, the CSOs' share of the cases (placements)
  against their share of the public money, and the public EUR per case paid to state
  providers and to CSOs; case counts from 1 to 4 are hidden with complementary suppression
  (``gaps.suppression``), and every figure derived from a hidden count with them.

The rules are in docs/funding.md, "Who pays".
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Final

import asyncpg
import msgspec

from csomatch.db import financing as db
from csomatch.db.financing import PUBLIC_FUNDER_KINDS, GrantMoney
from csomatch.domain import Principal
from csomatch.errors import NotFound
from csomatch.gaps.cells import ALL_AREAS
from csomatch.gaps.periods import Period, last_closed
from csomatch.gaps.suppression import TOTAL, suppress
from csomatch.i18n import _

#: Days in an average month: the runway in months is its days over this, to one decimal.
DAYS_PER_MONTH: Final = 30.44
#: The organisation kinds the equity view sets against each other (io: neither).
CSO: Final = "cso"
STATE: Final = "state"


class FunderMoney(msgspec.Struct, frozen=True, kw_only=True):
    """One funder's money running on the reference date, in EUR a year, and its share."""

    ref: str
    name: str
    kind: str
    public: bool
    eur_per_year: float
    share: float


class FundingMix(msgspec.Struct, frozen=True, kw_only=True):
    """Who pays, on a reference date: public against donor money, dependence and runway.

    Money is the EUR a year of the committed and disbursed grants running on the date (each
    grant's EUR amount over its days, times 365). ``top_share`` is the largest funder's share,
    ``hhi`` the Herfindahl index of the shares (1.0: a single funder). ``funded_through`` is
    the last day of the unbroken run of grants that contains the date; ``runway_days`` the days
    from the date to it, ``runway_months`` the same in months. None: no grant runs on the date.
    """

    reference_date: dt.date
    public_eur_per_year: float
    donor_eur_per_year: float
    public_share: float | None
    top_share: float | None
    hhi: float | None
    funded_through: dt.date | None
    runway_days: int | None
    runway_months: float | None
    funders: list[FunderMoney]


def _per_year(grant: GrantMoney) -> float:
    days = (grant.period_end - grant.period_start).days + 1
    return grant.amount_eur * 365 / days


def _funded_through(grants: Sequence[GrantMoney], ref: dt.date) -> dt.date | None:
    """The last day of the unbroken run (adjacent or overlapping grants) that contains ``ref``."""
    through: dt.date | None = None
    for grant in sorted(grants, key=lambda g: g.period_start):
        if through is None:
            if grant.period_start <= ref <= grant.period_end:
                through = grant.period_end
        elif grant.period_start <= through + dt.timedelta(days=1):
            through = max(through, grant.period_end)
    return through


def funding_mix(grants: Iterable[GrantMoney], ref: dt.date) -> FundingMix:
    """The funding mix of ``grants`` on ``ref`` (pure)."""
    grants = list(grants)
    running = [g for g in grants if g.period_start <= ref <= g.period_end]
    by_funder: dict[tuple[str, str, str], float] = defaultdict(float)
    for grant in running:
        by_funder[(grant.funder_ref, grant.funder_name, grant.funder_kind)] += _per_year(grant)
    total = sum(by_funder.values())
    funders = [
        FunderMoney(
            ref=ref_,
            name=name,
            kind=kind,
            public=kind in PUBLIC_FUNDER_KINDS,
            eur_per_year=round(eur, 2),
            share=round(eur / total, 4) if total else 0.0,
        )
        for (ref_, name, kind), eur in sorted(by_funder.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    public = sum(f.eur_per_year for f in funders if f.public)
    donor = sum(f.eur_per_year for f in funders if not f.public)
    through = _funded_through(grants, ref)
    runway = None if through is None else (through - ref).days
    return FundingMix(
        reference_date=ref,
        public_eur_per_year=round(public, 2),
        donor_eur_per_year=round(donor, 2),
        public_share=round(public / (public + donor), 4) if total else None,
        top_share=funders[0].share if total else None,
        hhi=round(sum(f.share**2 for f in funders), 4) if total else None,
        funded_through=through,
        runway_days=runway,
        runway_months=None if runway is None else round(runway / DAYS_PER_MONTH, 1),
        funders=funders,
    )


class ServedCell(msgspec.Struct, frozen=True, kw_only=True):
    """A service of the organisation, the gap cell it served last month, and its own mix."""

    service_id: uuid.UUID
    service_name: str
    participant_code: str
    area_code: str
    taxonomy_code: str
    cell: str
    funding: FundingMix


class OrganizationFunding(msgspec.Struct, frozen=True, kw_only=True):
    """One organisation's funding: the mix of the grants it receives and its services' cells."""

    organization_id: uuid.UUID
    organization_name: str
    kind: str
    participant_code: str
    survivor_led: bool
    funding: FundingMix
    services: list[ServedCell]


def may_read_organization(principal: Principal, org: db.OrganizationBrief) -> bool:
    """Whether ``principal`` may read ``org``'s funding: its own provider, or its participant's.

    Admins read every organisation; coordinators and funders those of their jurisdiction (a
    region-wide token: all); a provider its own organisation only.
    """
    if principal.role == "admin":
        return True
    if principal.role == "provider":
        return principal.organization_id == org.id
    return principal.role in ("coordinator", "funder") and principal.covers(org.participant_code)


async def provider_scope(
    conn: asyncpg.Connection, principal: Principal, key: str
) -> frozenset[uuid.UUID] | None:
    """The services whose evidence a caller may see in a gap cell; None: every service.

    A provider reads a cell one of its organisation's services serves (the participant, area
    and code of one of them, or the participant-wide cell of that code), and in its evidence
    its own services, grants and money only (it may not read the funding ledger); NotFound
    for any other cell. Other roles are decided by the route's scope.
    """
    if principal.role != "provider":
        return None
    parts = key.split(":")
    own = (
        []
        if principal.organization_id is None or len(parts) != 4
        else await db.services_of_organization(conn, principal.organization_id)
    )
    serving = [
        s.service_id
        for s in own
        if s.participant_code == parts[0]
        and s.taxonomy_code == parts[2]
        and parts[1] in (s.area_code, ALL_AREAS)
    ]
    if not serving:
        raise NotFound(_("no gap cell {cell} served by this organisation", cell=repr(key)))
    return frozenset(s.service_id for s in own)


async def organization_funding(
    conn: asyncpg.Connection, principal: Principal, org_id: uuid.UUID, today: dt.date
) -> OrganizationFunding:
    """The funding of ``org_id`` on ``today``; NotFound when absent or not the caller's to see."""
    org = await db.organization_brief(conn, org_id)
    if org is None or not may_read_organization(principal, org):
        raise NotFound(_("organisation {org_id} not found", org_id=org_id), field="path.org_id")
    grants = await db.organization_grants(conn, org_id, on=today)
    # The last closed month: a cell its provider may open (providers, like funders, see
    # closed periods only: GET /api/v1/gaps/{cell}).
    month = last_closed(today, "month").label
    services = []
    for s in await db.services_of_organization(conn, org_id):
        mix = funding_mix(await db.service_grants(conn, [s.service_id], on=today), today)
        services.append(
            ServedCell(
                service_id=s.service_id,
                service_name=s.service_name,
                participant_code=s.participant_code,
                area_code=s.area_code,
                taxonomy_code=s.taxonomy_code,
                cell=f"{s.participant_code}:{s.area_code}:{s.taxonomy_code}:{month}",
                funding=mix,
            )
        )
    return OrganizationFunding(
        organization_id=org.id,
        organization_name=org.name,
        kind=org.kind,
        participant_code=org.participant_code,
        survivor_led=org.survivor_led,
        funding=funding_mix(grants, today),
        services=services,
    )


async def cell_financing(
    conn: asyncpg.Connection, service_ids: list[uuid.UUID], ref: dt.date
) -> FundingMix:
    """The funding mix of the services behind a cell on its reference date."""
    if not service_ids:
        return funding_mix([], ref)
    return funding_mix(await db.service_grants(conn, service_ids, on=ref), ref)


class EquityRow(msgspec.Struct, frozen=True, kw_only=True):
    """One participant and service code: CSOs' share of cases against their share of public money.

    Cases are placements (holds confirmed) with CSO and state services in the period; a hidden
    count is None, as is every ratio or unit cost that would reveal it. Public money is the EUR
    of ministry and municipality grants falling in the period; unit costs are public EUR per
    case.
    """

    participant_code: str
    taxonomy_code: str
    cases_cso: int | None
    cases_state: int | None
    cases_total: int | None
    cso_case_share: float | None
    public_eur_cso: float
    public_eur_state: float
    cso_public_share: float | None
    unit_cost_cso: float | None
    unit_cost_state: float | None
    suppressed: list[str]


class EquityView(msgspec.Struct, frozen=True, kw_only=True):
    """The equitable-financing view of one period."""

    period: str
    rows: list[EquityRow]


def _ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or whole is None or not whole:
        return None
    return round(part / whole, 4)


def equity_rows(
    participant: str,
    cases: dict[tuple[str, str], int],
    money: dict[tuple[str, str], float],
) -> list[EquityRow]:
    """The rows of one participant from exact cases and public EUR by (code, kind) (pure).

    Cases are suppressed as a table of codes × {cso, state} with its totals (k = 5).
    """
    hidden = suppress({key: n for key, n in cases.items() if n > 0})
    codes = sorted({code for code, _ in cases} | {code for code, _ in money})
    rows = []
    for code in codes:
        shown: dict[str, int | None] = {}
        for kind in (CSO, STATE, TOTAL):
            n = (
                cases.get((code, kind), 0)
                if kind != TOTAL
                else (cases.get((code, CSO), 0) + cases.get((code, STATE), 0))
            )
            shown[kind] = None if (code, kind) in hidden else n
        eur_cso = round(money.get((code, CSO), 0.0), 2)
        eur_state = round(money.get((code, STATE), 0.0), 2)
        rows.append(
            EquityRow(
                participant_code=participant,
                taxonomy_code=code,
                cases_cso=shown[CSO],
                cases_state=shown[STATE],
                cases_total=shown[TOTAL],
                cso_case_share=_ratio(shown[CSO], shown[TOTAL]),
                public_eur_cso=eur_cso,
                public_eur_state=eur_state,
                cso_public_share=_ratio(eur_cso, eur_cso + eur_state),
                unit_cost_cso=None if not shown[CSO] else round(eur_cso / shown[CSO], 2),
                unit_cost_state=None if not shown[STATE] else round(eur_state / shown[STATE], 2),
                suppressed=[
                    name
                    for name, kind in (
                        ("cases_cso", CSO),
                        ("cases_state", STATE),
                        ("cases_total", TOTAL),
                    )
                    if shown[kind] is None
                ],
            )
        )
    return rows


async def equity_view(
    conn: asyncpg.Connection,
    *,
    participants: list[str] | None,
    period: Period,
    code: str | None = None,
) -> EquityView:
    """The equitable-financing view of ``period`` for ``participants`` (None: all).

    Suppression runs over every code of a participant before ``code`` selects its row, so one
    code's answer is the same row as in the full view.
    """
    cases: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    money: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for fig in await db.placements_by_code(conn, participants, period.start, period.end):
        if fig.org_kind in (CSO, STATE):
            cases[fig.participant_code][(fig.taxonomy_code, fig.org_kind)] = int(fig.amount)
    for fig in await db.public_money_by_code(conn, participants, period.start, period.end):
        if fig.org_kind in (CSO, STATE):
            money[fig.participant_code][(fig.taxonomy_code, fig.org_kind)] = fig.amount
    rows = []
    for participant in sorted(set(cases) | set(money)):
        rows += equity_rows(participant, cases[participant], money[participant])
    if code is not None:
        rows = [r for r in rows if r.taxonomy_code == code]
    return EquityView(period=period.label, rows=rows)
