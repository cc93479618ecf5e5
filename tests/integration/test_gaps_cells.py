"""Funded capacity and gap cells on a real PostgreSQL, on a small fictional registry."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import asyncpg
import pytest

from csomatch.db import areas as area_db
from csomatch.db import funding as funding_db
from csomatch.db import gaps as gaps_db
from csomatch.db import organizations as org_db
from csomatch.db import services as svc_db
from csomatch.db.signals import NewSignal, record_signals
from csomatch.domain import Area, TaxonomyTerm
from csomatch.gaps.analysis import GapQuery, cell_evidence, list_cells
from csomatch.gaps.cells import GapCell

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
NIS = Area(
    code="RS-787657", participant_code="RS", name="Niš", kind="city", population=250000,
    latitude=43.32472, longitude=21.90333,
)  # fmt: skip
BELGRADE = Area(
    code="RS-792680", participant_code="RS", name="Belgrade", kind="city", population=1273651,
    latitude=44.80401, longitude=20.46513,
)  # fmt: skip


async def _world(conn: asyncpg.Connection) -> None:
    await area_db.upsert_areas(conn, [NIS, BELGRADE])
    await area_db.upsert_taxonomy(
        conn,
        [
            TaxonomyTerm(code="ACC", parent_code=None, name="Accommodation", accommodation=True),
            TaxonomyTerm(code="ACC.EMERG", parent_code="ACC", name="Emergency", accommodation=True),
            TaxonomyTerm(code="LEGAL", parent_code=None, name="Legal", accommodation=False),
            TaxonomyTerm(code="LEGAL.AID", parent_code="LEGAL", name="Aid", accommodation=False),
        ],
    )


async def _service(
    conn: asyncpg.Connection,
    area: Area,
    *,
    code: str = "ACC.EMERG",
    maximum: int | None = 10,
    available: int = 5,
    updated: dt.datetime = NOW,
) -> uuid.UUID:
    org = uuid.uuid4()
    await org_db.insert_organization(
        conn,
        org_db.NewOrganization(
            id=org, participant_code="RS", name=f"Fictional CSO {org.hex[:6]}", kind="cso",
            registration_number=None, survivor_led=False, email=None, website=None,
            accepting_referrals=True,
        ),
    )  # fmt: skip
    loc = uuid.uuid4()
    await org_db.insert_location(
        conn,
        org_db.NewLocation(
            id=loc, organization_id=org, name="Site", area_code=area.code, address=None,
            latitude=area.latitude, longitude=area.longitude, accessibility=[], confidential=True,
        ),
    )  # fmt: skip
    svc = uuid.uuid4()
    await svc_db.insert_service(
        conn,
        svc_db.NewService(
            id=svc, organization_id=org, location_id=loc, taxonomy_code=code,
            name="Shelter" if code.startswith("ACC") else "Legal aid", description="",
            genders=["female"], age_bands=["25-59"], accepts_accompanied_children=False,
            serves_unaccompanied_minors=False, child_only=False,
            accepts_families=False, max_group_size=1, languages=["sr"], accessibility=[],
            security_level="standard", intake_24_7=True, cross_border=False,
            licence_required=False, accepting_referrals=True,
        ),
    )  # fmt: skip
    if maximum is not None:
        await svc_db.insert_capacity(
            conn,
            svc_db.NewCapacity(
                service_id=svc, unit="bed", maximum=maximum, available=available,
                updated_at=updated, verified_at=None,
            ),
        )  # fmt: skip
    return svc


async def _funder(conn: asyncpg.Connection, ref: str) -> uuid.UUID:
    return await funding_db.upsert_funder(
        conn,
        funding_db.NewFunder(
            id=uuid.uuid4(), ref=ref, name=f"{ref.title()} Fund", kind="donor",
            participant_code=None,
        ),
    )  # fmt: skip


async def _grant(
    conn: asyncpg.Connection,
    funder: uuid.UUID,
    services: list[uuid.UUID],
    *,
    start: int,
    end: int,
    units: int | None,
    status: str = "committed",
) -> None:
    await funding_db.insert_funding(
        conn,
        funding_db.NewFunding(
            id=uuid.uuid4(), funder_id=funder, recipient_organization_id=None,
            recipient_name="Fictional CSO", amount=Decimal("1000.00"), currency="EUR",
            period_start=TODAY + dt.timedelta(days=start),
            period_end=TODAY + dt.timedelta(days=end), status=status, source="api",
            external_id=uuid.uuid4().hex, funded_units=units, unit="bed" if units else None,
            service_ids=services,
        ),
    )  # fmt: skip


async def _supply(conn: asyncpg.Connection, on: dt.date) -> dict[str, gaps_db.ServiceSupply]:
    rows = await gaps_db.services_of_cell(
        conn, period=("p", on), stale_before=NOW - dt.timedelta(hours=72), participant="RS",
        area_code=None, taxonomy_code="ACC.EMERG",
    )  # fmt: skip
    return {r.service_name + str(r.maximum): r for r in rows}


async def test_funded_capacity_follows_the_published_rules(conn: asyncpg.Connection) -> None:
    await _world(conn)
    a = await _service(conn, BELGRADE, maximum=10)
    b = await _service(conn, BELGRADE, maximum=20)
    c = await _service(conn, NIS, maximum=5)
    one, two, three = [await _funder(conn, r) for r in ("one", "two", "three")]
    # one funder's renewal overlaps its grant: counted once, at the larger number
    await _grant(conn, one, [a], start=-100, end=60, units=6)
    await _grant(conn, one, [a], start=50, end=400, units=4)
    # a grant without a number pays for the places left: 10 - 6 = 4 (estimated)
    await _grant(conn, two, [a], start=-10, end=30, units=None)
    # planned and cancelled grants never count
    await _grant(conn, three, [a, b], start=-10, end=300, units=50, status="planned")
    await _grant(conn, three, [b], start=-10, end=300, units=50, status="cancelled")
    # 30 units over b (max 20) and c (max 5) in proportion to their places: 24 and 6, capped
    await _grant(conn, three, [b, c], start=-10, end=20, units=30)

    rows = {r.service_id: r for r in (await _supply(conn, TODAY)).values()}
    assert rows[a].funded_units == 10
    assert rows[a].estimated_units == 4
    assert rows[a].funded_through == TODAY + dt.timedelta(days=400)  # the runs chain
    assert rows[b].funded_units == 20  # 24 capped at its 20 places
    assert rows[c].funded_units == 5  # 6 capped at 5
    assert rows[b].funded_through == TODAY + dt.timedelta(days=20)

    # 70 days on: only the renewal (4 units) and nothing else pays
    later = {r.service_id: r for r in (await _supply(conn, TODAY + dt.timedelta(days=70))).values()}
    assert later[a].funded_units == 4
    assert later[a].estimated_units == 0
    assert later[b].funded_units == 0
    assert later[b].funded_through is None

    supply = await gaps_db.supply_by_cell(
        conn, periods=[("now", TODAY)], stale_before=NOW - dt.timedelta(hours=72),
        participants=["RS"],
    )  # fmt: skip
    belgrade = next(r for r in supply if r.area_code == BELGRADE.code)
    assert belgrade.services == 2
    assert belgrade.capacity == 30
    assert belgrade.funded_units == 30
    assert belgrade.funded_through == TODAY + dt.timedelta(days=20)
    assert belgrade.units_ending == 20
    # shares before capping: three 24, one 6, two 4
    assert belgrade.funder_refs == ["three", "one", "two"]
    assert belgrade.funder_units == [24, 6, 4]


def _cell(cells: list[GapCell], area: str, code: str) -> GapCell:
    return next(c for c in cells if c.area_code == area and c.taxonomy_code == code)


async def _signals(
    conn: asyncpg.Connection, area: Area | None, code: str, month: int = 11, **kinds: int
) -> None:
    at = dt.datetime(2026, month, 5, 10, tzinfo=dt.UTC)
    signals = []
    for kind, n in kinds.items():
        name, _, reason = kind.partition("__")
        signals += [
            NewSignal(
                kind=name,  # type: ignore[arg-type]
                source="suggestion",
                participant_code="RS",
                area_code=area.code if area else None,
                taxonomy_code=code,
                reason=reason or None,
                occurred_at=at,
            )
            for _ in range(n)
        ]
    await record_signals(conn, signals)


async def test_cells_flag_gaps_with_their_numbers_and_hide_small_counts(
    conn: asyncpg.Connection,
) -> None:
    await _world(conn)
    shelter = await _service(conn, BELGRADE, maximum=10, available=0)
    stale = await _service(conn, NIS, maximum=8, updated=NOW - dt.timedelta(days=10))
    donor = await _funder(conn, "solo")
    await _grant(conn, donor, [shelter], start=-200, end=40, units=3)
    await _grant(conn, donor, [stale], start=-200, end=300, units=8)
    await _signals(conn, BELGRADE, "ACC.EMERG", need=12, unmet__no_capacity=5, unmet__language=1)
    await _signals(conn, NIS, "LEGAL.AID", need=7)
    await _signals(conn, NIS, "ACC.EMERG", month=10, need=2)

    cells = await list_cells(
        conn, GapQuery(participants=["RS"], period="2026-11"), now=NOW, stale_hours=72
    )
    bel = _cell(cells, BELGRADE.code, "ACC.EMERG")
    assert (bel.needs, bel.unmet, bel.unmet_capacity) == (12, 6, 5)
    assert bel.unmet_share == 0.5
    assert bel.utilisation == 1.0
    assert bel.funding_coverage == 0.3
    assert bel.runway_days == 40
    assert bel.severity == 5
    flags = {f.code: f.why for f in bel.flags}
    assert set(flags) == {"under_capacity", "underfunded", "funding_cliff", "single_donor"}
    assert "5 of 12 needs" in flags["under_capacity"]
    assert "3 of 10 places" in flags["underfunded"]
    assert "in 40 days (within 3 months)" in flags["funding_cliff"]
    assert "Solo Fund pays for 100%" in flags["single_donor"]

    legal = _cell(cells, NIS.code, "LEGAL.AID")
    assert legal.services == 0
    assert [f.code for f in legal.flags] == ["uncovered"]
    assert "7 needs" in legal.flags[0].why
    # uncovered (no legal aid within 100 km of Niš: Belgrade is 200 km away), none unmet: 4
    assert legal.severity == 4
    assert legal.sentence_template == "uncovered"
    assert legal.sentence.startswith("Aid in Niš: 7 needs in November 2026")

    october = await list_cells(
        conn, GapQuery(participants=["RS"], period="2026-10"), now=NOW, stale_hours=72
    )
    small = _cell(october, NIS.code, "ACC.EMERG")
    assert small.needs is None
    assert "needs" in small.suppressed
    why = {f.code: f.why for f in small.flags}
    # its grant ends 320 days after the end of October: a cliff within 12 months
    assert set(why) == {"stale_data", "funding_cliff", "single_donor"}
    assert "1 of 1 services" in why["stale_data"]
    assert "within 12 months" in why["funding_cliff"]
    # a cliff within 12 months of places whose use is unknown (stale) and serve a hidden
    # number of needs: it weighs little (gaps/severity.py), class 2
    assert small.severity == 2
    # the participant-wide total would give the hidden count away: it is hidden too
    total = _cell(october, "ALL", "ACC.EMERG")
    assert total.needs is None
    assert total.services == 2
    assert total.capacity == 18
    # the same month as a quarter: hidden too (a quarter publishes nothing its months hide)
    quarter = await list_cells(
        conn, GapQuery(participants=["RS"], period="2026-Q4"), now=NOW, stale_hours=72
    )
    assert _cell(quarter, NIS.code, "ACC.EMERG").needs is None
    assert _cell(quarter, BELGRADE.code, "ACC.EMERG").needs == 12
    # filters select after suppression; flag filter keeps only flagged cells
    only = await list_cells(
        conn,
        GapQuery(participants=["RS"], period="2026-11", flag="uncovered"),
        now=NOW,
        stale_hours=72,
    )
    assert {c.key for c in only} == {f"RS:{NIS.code}:LEGAL.AID:2026-11", "RS:ALL:LEGAL.AID:2026-11"}

    evidence = await cell_evidence(conn, bel.key, allowed=["RS"], now=NOW, stale_hours=72)
    assert [s.service_id for s in evidence.services] == [shelter]
    assert [g.funder_ref for g in evidence.grants] == ["solo"]
    assert evidence.area_name == "Belgrade"


async def test_unit_costs_read_every_grant_at_its_eur_amount(conn: asyncpg.Connection) -> None:
    await _world(conn)
    a = await _service(conn, BELGRADE, maximum=10)
    b = await _service(conn, NIS, maximum=10)
    funder = await _funder(conn, "mixed")
    year = dict(period_start=TODAY, period_end=TODAY + dt.timedelta(days=364))
    for service, amount, currency in ((a, "10000", "EUR"), (b, "1171000", "RSD")):
        await funding_db.insert_funding(
            conn,
            funding_db.NewFunding(
                id=uuid.uuid4(), funder_id=funder, recipient_organization_id=None,
                recipient_name="Fictional CSO", amount=Decimal(amount), currency=currency,
                status="committed", source="api", external_id=uuid.uuid4().hex,
                funded_units=2, unit="bed", service_ids=[service], **year,
            ),
        )  # fmt: skip
    rate = float(await conn.fetchval("SELECT eur_rate('RSD', $1)", TODAY))
    eur = await conn.fetchval(
        "SELECT amount_eur::float8 FROM funding WHERE currency = 'RSD'"
    )  # 1,171,000 RSD at the ledger's rate: about 10,000 EUR
    per_year = 365 / 365.25
    [in_eur] = await gaps_db.unit_costs(conn, "EUR", on=TODAY)
    # both grants count, the RSD one at its EUR amount: the median of 5,000 and eur / 2
    assert in_eur.grants == 2
    assert in_eur.cost_per_year == pytest.approx((5000 + eur / 2) / 2 / per_year)
    [in_rsd] = await gaps_db.unit_costs(conn, "RSD", on=TODAY)
    assert in_rsd.cost_per_year == pytest.approx(in_eur.cost_per_year / rate)
    assert await gaps_db.unit_costs(conn, "XYZ", on=TODAY) == []
