"""Queries of the gap analysis: demand per cell and month, capacity and funded capacity per cell.

The rules of funded capacity (which grants count, how overlapping grants and grants without a
number of units are read) are stated in ``docs/gaps.md`` and in the comments of
``_SUPPLY_SQL``; they live in SQL so that every cell is computed in one round trip.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TypeVar

import asyncpg
import msgspec

from csomatch.db.errors import translated

_S = TypeVar("_S", bound=msgspec.Struct)

# The gap rows are read by the tens of thousands and never form a reference cycle: gc=False
# keeps Python's cyclic garbage collector from tracking (and re-traversing) them.


class DemandRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Demand signals of one cell in one calendar month (UTC)."""

    participant_code: str
    area_code: str | None
    taxonomy_code: str
    month: dt.date
    needs: int
    unmet: int
    #: Unmet needs whose reason is a lack of places (``no_capacity``).
    unmet_capacity: int
    declines: int
    searches: int


class ReasonRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Unmet needs of one participant, service code and month with one reason."""

    participant_code: str
    taxonomy_code: str
    month: dt.date
    reason: str
    n: int


class SupplyRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Capacity and funded capacity of one cell on the reference date of one period."""

    period: str
    participant_code: str
    area_code: str
    taxonomy_code: str
    services: int
    #: Services whose capacity was never reported or is older than the stale limit.
    stale_services: int
    capacity: int
    #: Maximum and free places of the services whose number is not stale.
    known_capacity: int
    known_free: int
    funded_units: float
    #: The part of ``funded_units`` estimated for grants that state no number of units.
    estimated_units: float
    funded_services: int
    #: Earliest date on which a funded service's continuous funding ends.
    funded_through: dt.date | None
    #: Places whose funding ends on ``funded_through``.
    units_ending: float
    funder_refs: list[str]
    funder_names: list[str]
    funder_units: list[float]
    #: Places and funded places of survivor-led organisations' services.
    survivor_led_capacity: int = 0
    survivor_led_funded: float = 0.0
    #: EUR a year of the grants running on the reference date: public (ministry and
    #: municipality funders) and all (docs/funding.md, "Who pays").
    public_eur: float = 0.0
    money_eur: float = 0.0


class ServiceSupply(msgspec.Struct, frozen=True, kw_only=True):
    """One service of a cell on a reference date: the evidence behind a cell's figures."""

    service_id: uuid.UUID
    service_name: str
    organization_name: str
    area_code: str
    unit: str | None
    maximum: int | None
    free: int | None
    stale: bool
    funded_units: float
    estimated_units: float
    funded_through: dt.date | None


class GrantEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """A grant that pays for a service of a cell on a reference date."""

    funder_ref: str
    funder_name: str
    service_id: uuid.UUID
    status: str
    amount: float
    currency: str
    period_start: dt.date
    period_end: dt.date
    funded_units: int | None
    unit: str | None


async def demand_by_month(
    conn: asyncpg.Connection,
    *,
    since: dt.date,
    until: dt.date,
    participants: list[str] | None,
) -> list[DemandRow]:
    """Demand signals per participant, area, service code and UTC month in ``[since, until)``.

    Reads the monthly counts ``demand_month`` (kept by triggers in step with
    ``demand_signal``, migration 0060), so ``since`` and ``until`` are first days of months.
    Its rows are the (participant, area, code, month) groups: no aggregation is left to do.
    """
    async with translated():
        rows = await conn.fetch(
            "SELECT participant_code, area_code, taxonomy_code, month, needs, unmet,"
            " unmet_capacity, declines, searches"
            " FROM demand_month WHERE month >= $1 AND month < $2"
            " AND ($3::text[] IS NULL OR participant_code = ANY($3::text[]))",
            _month(since),
            _month(until),
            participants,
        )
    return _structs(rows, DemandRow)


async def unmet_reasons(
    conn: asyncpg.Connection,
    *,
    since: dt.date,
    until: dt.date,
    participants: list[str] | None,
) -> list[ReasonRow]:
    """Unmet needs per participant, service code, UTC month and reason in ``[since, until)``.

    Reads ``unmet_month`` (migration 0060): ``since`` and ``until`` are first days of months.
    A NULL reason and ``unknown`` are one group, as before.
    """
    async with translated():
        rows = await conn.fetch(
            "SELECT participant_code, taxonomy_code, month,"
            " coalesce(reason, 'unknown') AS reason, sum(n) AS n"
            " FROM unmet_month WHERE month >= $1 AND month < $2"
            " AND ($3::text[] IS NULL OR participant_code = ANY($3::text[]))"
            " GROUP BY 1, 2, 3, 4",
            _month(since),
            _month(until),
            participants,
        )
    return _structs(rows, ReasonRow)


def _structs(rows: list[asyncpg.Record], into: type[_S]) -> list[_S]:
    """Records as Structs: the first checked by ``msgspec.convert``, every one built by name.

    ``msgspec.convert`` of a whole result took longer than the query (tens of thousands of
    rows for every gap computation). Each column's type is fixed by the query (casts,
    ``coalesce`` where a Struct field is not optional), so checking one row checks the
    columns; the others are built directly from their names.
    """
    if rows:
        msgspec.convert(dict(rows[0]), into)
    return [into(**row) for row in rows]


def _month(day: dt.date) -> dt.date:
    """``day`` itself; a ValueError unless it is the first of a month (what the counts hold)."""
    if day.day != 1 or isinstance(day, dt.datetime):
        raise ValueError(f"{day!r} is not the first day of a month")
    return day


# Per service and reference date: capacity, funded units (by funder) and funded_through.
# Rules (docs/gaps.md, "Funded capacity"):
# - only grants with status committed or disbursed count; planned and cancelled never do;
# - a grant counts on a date within [period_start, period_end];
# - a grant's funded_units pays for its services in proportion to their maximum capacity
#   (equally when none is known);
# - one funder's overlapping grants to one service count once, at the largest of them (a
#   renewal booked before the old grant ended is not twice the places); different funders add;
# - a grant without funded_units pays for the places no grant with a number covers, shared
#   equally by the funders whose grants state no number (an estimate, reported as such);
# - a service's funded units never exceed its maximum capacity;
# - funded_through is the last day of the unbroken run of counted grants (adjacent or
#   overlapping) that contains the date.
# A service that needs a licence counts only while its organisation holds one in force today
# (active, valid today, listing the service's code): capacity behind an expired, suspended
# or revoked licence is not supply (docs/gaps.md, "Who is left out").
_SVC_CTE_HEAD = """
p AS (SELECT * FROM unnest($1::text[], $2::date[]) AS p(period, ref)),
svc AS (
    SELECT s.id, s.name, o.name AS organization_name, a.participant_code, l.area_code,
           s.taxonomy_code, c.unit, c.maximum,
           CASE WHEN c.service_id IS NOT NULL THEN greatest(c.available - c.held, 0) END AS free,
           (c.updated_at IS NULL OR c.updated_at < $3::timestamptz) AS stale,
           o.survivor_led
    FROM service s
    JOIN organization o ON o.id = s.organization_id
    JOIN location l ON l.id = s.location_id
    JOIN area a ON a.code = l.area_code
    LEFT JOIN service_capacity c ON c.service_id = s.id
    WHERE ($4::text[] IS NULL OR a.participant_code = ANY($4::text[]))
      AND (NOT s.licence_required OR (s.organization_id, s.taxonomy_code) IN (
          SELECT lic.organization_id, code FROM licence lic, unnest(lic.service_codes) AS code
          WHERE lic.status = 'active' AND lic.valid_from <= (now() AT TIME ZONE 'UTC')::date
            AND (lic.valid_to IS NULL OR lic.valid_to >= (now() AT TIME ZONE 'UTC')::date)))
"""
# The end of the ``svc`` CTE and the CTEs after it; a group split adds its eligibility test
# between the two (db/gap_groups.py).
_SVC_CTE_TAIL = """),
counted AS (
    SELECT f.id, f.funder_id, f.funded_units, f.period_start, f.period_end, fs.service_id
    FROM funding f JOIN funding_service fs ON fs.funding_id = f.id
    WHERE f.status IN ('committed', 'disbursed')
),
live AS (
    SELECT p.period, k.service_id, k.id AS funding_id, k.funder_id, k.funded_units,
           coalesce(svc.maximum, 0) AS maximum, svc.maximum AS cap,
           sum(coalesce(svc.maximum, 0)) OVER (PARTITION BY p.period, k.id) AS grant_max,
           count(*) OVER (PARTITION BY p.period, k.id) AS grant_services
    FROM p
    JOIN counted k ON k.period_start <= p.ref AND k.period_end >= p.ref
    JOIN svc ON svc.id = k.service_id
),
by_funder AS (
    SELECT period, service_id, funder_id, max(maximum) AS maximum, max(cap) AS cap,
           max(CASE WHEN grant_max > 0 THEN funded_units * maximum::float8 / grant_max
                    ELSE funded_units::float8 / grant_services END) AS known,
           bool_and(funded_units IS NULL) AS estimated
    FROM live GROUP BY period, service_id, funder_id
),
per_service AS (
    SELECT period, service_id, coalesce(sum(known), 0) AS known,
           count(*) FILTER (WHERE estimated) AS estimating_funders
    FROM by_funder GROUP BY period, service_id
),
funder_units AS (
    SELECT b.period, b.service_id, b.funder_id, b.estimated, b.cap,
           CASE WHEN b.estimated
                THEN greatest(b.maximum - ps.known, 0) / ps.estimating_funders
                ELSE b.known END AS units
    FROM by_funder b JOIN per_service ps USING (period, service_id)
),
service_units AS (
    SELECT period, service_id,
           -- LEAST ignores NULL: a service without a reported capacity is not capped.
           least(sum(units), max(cap)) AS funded,
           least(coalesce(sum(units) FILTER (WHERE estimated), 0), max(cap)) AS estimated
    FROM funder_units
    GROUP BY period, service_id
),
ordered AS (
    SELECT service_id, period_start, period_end,
           max(period_end) OVER (PARTITION BY service_id ORDER BY period_start, period_end
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before_end
    FROM counted
),
runs AS (
    SELECT service_id, period_start, period_end,
           count(*) FILTER (WHERE before_end IS NULL OR period_start > before_end + 1)
               OVER (PARTITION BY service_id ORDER BY period_start, period_end) AS run
    FROM ordered
),
merged AS (
    SELECT service_id, min(period_start) AS run_start, max(period_end) AS run_end
    FROM runs GROUP BY service_id, run
),
service_period AS (
    SELECT p.period, svc.*, coalesce(su.funded, 0) AS funded,
           coalesce(su.estimated, 0) AS estimated_units, m.run_end AS funded_through
    FROM p CROSS JOIN svc
    LEFT JOIN service_units su ON su.period = p.period AND su.service_id = svc.id
    LEFT JOIN merged m ON m.service_id = svc.id AND m.run_start <= p.ref AND m.run_end >= p.ref
)
"""
_SERVICE_SUPPLY_CTES = _SVC_CTE_HEAD + _SVC_CTE_TAIL

# Capacity is the registry's current number: one figure per cell, whatever the period; only
# funding depends on the period, and only services with funded places contribute to it. So
# capacity is aggregated once per cell and funding per (period, cell) over the funded
# service-periods, instead of aggregating every service for every period.
_SUPPLY_CELLS = """,
capacity AS (
    SELECT participant_code, area_code, taxonomy_code,
           count(*) AS services,
           count(*) FILTER (WHERE stale) AS stale_services,
           coalesce(sum(maximum), 0) AS capacity,
           coalesce(sum(maximum) FILTER (WHERE NOT stale), 0) AS known_capacity,
           coalesce(sum(free) FILTER (WHERE NOT stale), 0) AS known_free,
           coalesce(sum(maximum) FILTER (WHERE survivor_led), 0) AS survivor_led_capacity
    FROM svc
    GROUP BY participant_code, area_code, taxonomy_code
),
funded AS (
    SELECT su.period, svc.participant_code, svc.area_code, svc.taxonomy_code, su.funded,
           su.estimated, m.run_end AS funded_through, svc.survivor_led,
           -- the cell's funded_through, to find the places whose funding ends on it
           min(m.run_end) FILTER (WHERE su.funded > 0) OVER (
               PARTITION BY su.period, svc.participant_code, svc.area_code, svc.taxonomy_code
           ) AS cell_through
    FROM service_units su
    JOIN p ON p.period = su.period
    JOIN svc ON svc.id = su.service_id
    LEFT JOIN merged m ON m.service_id = su.service_id AND m.run_start <= p.ref
                      AND m.run_end >= p.ref
),
cell_funding AS (
    SELECT period, participant_code, area_code, taxonomy_code,
           sum(funded) AS funded_units,
           sum(estimated) AS estimated_units,
           count(*) FILTER (WHERE funded > 0) AS funded_services,
           min(funded_through) FILTER (WHERE funded > 0) AS funded_through,
           sum(funded) FILTER (WHERE funded > 0 AND funded_through = cell_through)
               AS units_ending,
           sum(funded) FILTER (WHERE survivor_led) AS survivor_led_funded
    FROM funded
    GROUP BY period, participant_code, area_code, taxonomy_code
),
shares AS (
    SELECT u.period, svc.participant_code, svc.area_code, svc.taxonomy_code,
           fr.ref, fr.name, sum(u.units) AS units
    FROM funder_units u
    JOIN svc ON svc.id = u.service_id
    JOIN funder fr ON fr.id = u.funder_id
    GROUP BY 1, 2, 3, 4, 5, 6
),
share_lists AS (
    SELECT period, participant_code, area_code, taxonomy_code,
           array_agg(ref ORDER BY units DESC, ref) AS funder_refs,
           array_agg(name ORDER BY units DESC, ref) AS funder_names,
           array_agg(units ORDER BY units DESC, ref) AS funder_units
    FROM shares WHERE units > 0
    GROUP BY 1, 2, 3, 4
),
-- Who pays, in money (docs/funding.md, "Who pays"): each counted grant with an EUR amount,
-- as EUR a year, shared equally among the services it names; public are the funders of kind
-- ministry and municipality (db.financing.PUBLIC_FUNDER_KINDS).
grant_eur AS (
    SELECT fs.service_id, f.period_start, f.period_end,
           fr.kind IN ('ministry', 'municipality') AS public,
           f.amount_eur::float8 * 365 / (f.period_end - f.period_start + 1)
               / count(*) OVER (PARTITION BY f.id) AS eur
    FROM funding f JOIN funding_service fs ON fs.funding_id = f.id
    JOIN funder fr ON fr.id = f.funder_id
    WHERE f.status IN ('committed', 'disbursed') AND f.amount_eur IS NOT NULL
),
money AS (
    SELECT p.period, svc.participant_code, svc.area_code, svc.taxonomy_code,
           coalesce(sum(g.eur) FILTER (WHERE g.public), 0) AS public_eur,
           sum(g.eur) AS money_eur
    FROM grant_eur g
    JOIN p ON g.period_start <= p.ref AND g.period_end >= p.ref
    JOIN svc ON svc.id = g.service_id
    GROUP BY 1, 2, 3, 4
)
SELECT p.period, c.participant_code, c.area_code, c.taxonomy_code, c.services,
       c.stale_services, c.capacity, c.known_capacity, c.known_free,
       coalesce(f.funded_units, 0) AS funded_units,
       coalesce(f.estimated_units, 0) AS estimated_units,
       coalesce(f.funded_services, 0) AS funded_services, f.funded_through,
       coalesce(f.units_ending, 0) AS units_ending,
       coalesce(sl.funder_refs, '{}') AS funder_refs,
       coalesce(sl.funder_names, '{}') AS funder_names,
       coalesce(sl.funder_units, '{}') AS funder_units,
       c.survivor_led_capacity, coalesce(f.survivor_led_funded, 0) AS survivor_led_funded,
       coalesce(m.public_eur, 0) AS public_eur, coalesce(m.money_eur, 0) AS money_eur
FROM p CROSS JOIN capacity c
LEFT JOIN cell_funding f ON f.period = p.period AND f.participant_code = c.participant_code
                        AND f.area_code = c.area_code AND f.taxonomy_code = c.taxonomy_code
LEFT JOIN share_lists sl ON sl.period = p.period AND sl.participant_code = c.participant_code
                        AND sl.area_code = c.area_code AND sl.taxonomy_code = c.taxonomy_code
LEFT JOIN money m ON m.period = p.period AND m.participant_code = c.participant_code
                 AND m.area_code = c.area_code AND m.taxonomy_code = c.taxonomy_code
"""
_SUPPLY_SQL = "WITH" + _SERVICE_SUPPLY_CTES + _SUPPLY_CELLS

_SERVICE_EVIDENCE_SQL = (
    "WITH"
    + _SERVICE_SUPPLY_CTES
    + """
SELECT id AS service_id, name AS service_name, organization_name, area_code, unit, maximum,
       CASE WHEN stale THEN NULL ELSE free END AS free, stale,
       funded AS funded_units, estimated_units, funded_through
FROM service_period
WHERE ($5::text IS NULL OR area_code = $5) AND taxonomy_code = $6
ORDER BY organization_name, service_name, id
"""
)


async def supply_by_cell(
    conn: asyncpg.Connection,
    *,
    periods: list[tuple[str, dt.date]],
    stale_before: dt.datetime,
    participants: list[str] | None,
) -> list[SupplyRow]:
    """Capacity and funded capacity per cell for each ``(period label, reference date)``.

    Capacity is the registry's current number (no history is kept); a number reported before
    ``stale_before`` (or never) counts as unknown. ``participants`` None means all.
    """
    async with translated():
        rows = await conn.fetch(
            _SUPPLY_SQL,
            [label for label, _ in periods],
            [ref for _, ref in periods],
            stale_before,
            participants,
        )
    return _structs(rows, SupplyRow)


async def services_of_cell(
    conn: asyncpg.Connection,
    *,
    period: tuple[str, dt.date],
    stale_before: dt.datetime,
    participant: str,
    area_code: str | None,
    taxonomy_code: str,
) -> list[ServiceSupply]:
    """The services of one cell (``area_code`` None: every area) on the reference date."""
    async with translated():
        rows = await conn.fetch(
            _SERVICE_EVIDENCE_SQL,
            [period[0]],
            [period[1]],
            stale_before,
            [participant],
            area_code,
            taxonomy_code,
        )
    return msgspec.convert(rows, list[ServiceSupply], from_attributes=True)


async def grants_of_services(
    conn: asyncpg.Connection, service_ids: list[uuid.UUID], *, on: dt.date
) -> list[GrantEvidence]:
    """Committed and disbursed grants paying for ``service_ids`` on ``on`` or later."""
    async with translated():
        rows = await conn.fetch(
            "SELECT fr.ref AS funder_ref, fr.name AS funder_name, fs.service_id, f.status,"
            " f.amount::float8 AS amount, f.currency, f.period_start, f.period_end,"
            " f.funded_units, f.unit"
            " FROM funding f JOIN funding_service fs ON fs.funding_id = f.id"
            " JOIN funder fr ON fr.id = f.funder_id"
            " WHERE fs.service_id = ANY($1::uuid[]) AND f.status IN ('committed', 'disbursed')"
            " AND f.period_end >= $2"
            " ORDER BY f.period_start, fr.ref, fs.service_id",
            service_ids,
            on,
        )
    return msgspec.convert(rows, list[GrantEvidence], from_attributes=True)


class NeedBucket(msgspec.Struct, frozen=True, kw_only=True):
    """Needs recorded for one service code in one area (the what-if's demand)."""

    participant_code: str
    area_code: str
    taxonomy_code: str
    n: int


async def needs_by_area(
    conn: asyncpg.Connection, *, since: dt.datetime, until: dt.datetime
) -> list[NeedBucket]:
    """Need signals with an area per participant, area and service code in ``[since, until)``."""
    async with translated():
        rows = await conn.fetch(
            "SELECT participant_code, area_code, taxonomy_code, count(*) AS n"
            " FROM demand_signal WHERE kind = 'need' AND area_code IS NOT NULL"
            " AND occurred_at >= $1 AND occurred_at < $2"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            since,
            until,
        )
    return msgspec.convert(rows, list[NeedBucket], from_attributes=True)


async def shortfall_by_area(
    conn: asyncpg.Connection, *, since: dt.datetime, until: dt.datetime
) -> list[NeedBucket]:
    """Needs that found no free place (unmet for ``no_capacity``, or declined for it)."""
    async with translated():
        rows = await conn.fetch(
            "SELECT participant_code, area_code, taxonomy_code, count(*) AS n"
            " FROM demand_signal WHERE area_code IS NOT NULL"
            " AND (kind = 'decline_no_capacity' OR (kind = 'unmet' AND reason = 'no_capacity'))"
            " AND occurred_at >= $1 AND occurred_at < $2"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            since,
            until,
        )
    return msgspec.convert(rows, list[NeedBucket], from_attributes=True)


class ServicePoint(msgspec.Struct, frozen=True, kw_only=True):
    """A service where it is shown to everyone (its area's centre) with its places."""

    service_id: uuid.UUID
    service_name: str
    organization_name: str
    participant_code: str
    area_code: str
    taxonomy_code: str
    cross_border: bool
    accepting_referrals: bool
    unit: str | None
    maximum: int | None
    latitude: float
    longitude: float
    #: False for a service that needs a licence its organisation does not hold in force today.
    licensed: bool = True
    #: When its capacity was last reported (None: never).
    reported_at: dt.datetime | None = None


async def service_points(conn: asyncpg.Connection) -> list[ServicePoint]:
    """Every service with its area's centre (never a site's own point), capacity and licence."""
    async with translated():
        rows = await conn.fetch(
            "SELECT s.id AS service_id, s.name AS service_name, o.name AS organization_name,"
            " a.participant_code, l.area_code, s.taxonomy_code,"
            " s.cross_border, s.accepting_referrals AND o.accepting_referrals"
            "  AS accepting_referrals, c.unit, c.maximum, a.latitude, a.longitude,"
            " (NOT s.licence_required OR (s.organization_id, s.taxonomy_code) IN ("
            "  SELECT lic.organization_id, code FROM licence lic,"
            "  unnest(lic.service_codes) AS code WHERE lic.status = 'active'"
            "  AND lic.valid_from <= (now() AT TIME ZONE 'UTC')::date AND (lic.valid_to IS NULL"
            "  OR lic.valid_to >= (now() AT TIME ZONE 'UTC')::date))) AS licensed,"
            " c.updated_at AS reported_at"
            " FROM service s JOIN organization o ON o.id = s.organization_id"
            " JOIN location l ON l.id = s.location_id JOIN area a ON a.code = l.area_code"
            " LEFT JOIN service_capacity c ON c.service_id = s.id"
            " ORDER BY s.id"
        )
    return msgspec.convert(rows, list[ServicePoint], from_attributes=True)


class AreaPoint(msgspec.Struct, frozen=True, kw_only=True):
    """An area's centre and population."""

    code: str
    participant_code: str
    population: int
    latitude: float
    longitude: float


async def area_points(conn: asyncpg.Connection) -> list[AreaPoint]:
    """Every area of the gazetteer with its centre and population."""
    async with translated():
        rows = await conn.fetch(
            "SELECT code, participant_code, population, latitude, longitude FROM area ORDER BY code"
        )
    return msgspec.convert(rows, list[AreaPoint], from_attributes=True)


class FunderUnits(msgspec.Struct, frozen=True, kw_only=True):
    """The places one funder pays for at one service on a date (before capping)."""

    service_id: uuid.UUID
    funder_ref: str
    units: float


async def funder_units_on(conn: asyncpg.Connection, on: dt.date) -> list[FunderUnits]:
    """Each funder's funded places per service on ``on``, by the funded-capacity rules."""
    async with translated():
        rows = await conn.fetch(
            "WITH"
            + _SERVICE_SUPPLY_CTES
            + " SELECT u.service_id, fr.ref AS funder_ref, u.units FROM funder_units u"
            " JOIN funder fr ON fr.id = u.funder_id WHERE u.units > 0",
            ["on"],
            [on],
            dt.datetime.combine(on, dt.time(), dt.UTC),
            None,
        )
    return msgspec.convert(rows, list[FunderUnits], from_attributes=True)


async def funder_exists(conn: asyncpg.Connection, ref: str) -> bool:
    """Whether a funder with this reference is known."""
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM funder WHERE ref = $1)", ref))


class UnitCost(msgspec.Struct, frozen=True, kw_only=True):
    """The median yearly cost of one funded unit of a service code, in one currency."""

    taxonomy_code: str
    cost_per_year: float
    grants: int


async def unit_costs(conn: asyncpg.Connection, currency: str, *, on: dt.date) -> list[UnitCost]:
    """Median yearly cost per funded unit per service code, in ``currency`` on ``on``.

    Every grant counts at its EUR amount (``amount_eur``: the ledger converts each grant at
    the rate of its date), whatever its currency; the median in EUR is then converted into
    ``currency`` at the rate of ``on``. No rate for ``currency``: no costs. Only committed or
    disbursed grants to one service with a number of units and a known EUR amount count; a
    grant of under three months counts as three months.
    """
    async with translated():
        rows = await conn.fetch(
            "SELECT s.taxonomy_code, percentile_cont(0.5) WITHIN GROUP (ORDER BY"
            "  f.amount_eur::float8 / f.funded_units"
            "  / greatest((f.period_end - f.period_start + 1) / 365.25, 0.25)) / x.rate"
            "  AS cost_per_year,"
            " count(*) AS grants"
            " FROM funding f JOIN funding_service fs ON fs.funding_id = f.id"
            " JOIN service s ON s.id = fs.service_id"
            " CROSS JOIN (SELECT eur_rate($1, $2)::float8 AS rate) x"
            " WHERE x.rate > 0 AND f.amount_eur IS NOT NULL AND f.funded_units > 0"
            " AND f.status IN ('committed', 'disbursed')"
            " AND (SELECT count(*) FROM funding_service y WHERE y.funding_id = f.id) = 1"
            " GROUP BY s.taxonomy_code, x.rate ORDER BY s.taxonomy_code",
            currency,
            on,
        )
    return msgspec.convert(rows, list[UnitCost], from_attributes=True)
