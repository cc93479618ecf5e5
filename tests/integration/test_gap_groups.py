"""The group split of the gap cells on a real PostgreSQL: eligibility, licences, suppression."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import pytest

from csomatch.db import areas as area_db
from csomatch.db import organizations as org_db
from csomatch.db import services as svc_db
from csomatch.db.signals import NewSignal, PopulationGroup, record_signals
from csomatch.domain import Area, TaxonomyTerm
from csomatch.errors import InvalidInput
from csomatch.gaps.analysis import GapQuery, list_cells
from csomatch.gaps.cells import GapCell

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
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
        ],
    )


async def _service(
    conn: asyncpg.Connection,
    area: Area,
    *,
    maximum: int = 10,
    survivor_led: bool = False,
    reported_at: dt.datetime = NOW,
    **fields: Any,
) -> uuid.UUID:
    """An emergency shelter with ``maximum`` places; ``fields`` override its eligibility."""
    org = uuid.uuid4()
    await org_db.insert_organization(
        conn,
        org_db.NewOrganization(
            id=org, participant_code="RS", name=f"Fictional CSO {org.hex[:6]}", kind="cso",
            registration_number=None, survivor_led=survivor_led, email=None, website=None,
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
    values: dict[str, Any] = {
        "genders": ["female"], "age_bands": ["25-59"], "accepts_accompanied_children": False,
        "serves_unaccompanied_minors": False, "child_only": False, "accepts_families": False,
        "max_group_size": 1, "languages": ["sr"], "licence_required": False,
    }  # fmt: skip
    values.update(fields)
    svc = uuid.uuid4()
    await svc_db.insert_service(
        conn,
        svc_db.NewService(
            id=svc, organization_id=org, location_id=loc, taxonomy_code="ACC.EMERG",
            name="Shelter", description="", accessibility=[], security_level="standard",
            intake_24_7=True, cross_border=False, accepting_referrals=True, **values,
        ),
    )  # fmt: skip
    await svc_db.insert_capacity(
        conn,
        svc_db.NewCapacity(
            service_id=svc, unit="bed", maximum=maximum, available=maximum,
            updated_at=reported_at,
            verified_at=None,
        ),
    )  # fmt: skip
    return svc


async def _licence(
    conn: asyncpg.Connection, service: uuid.UUID, *, days: int, status: str = "active"
) -> None:
    """A licence for the service's code, valid from a year ago until ``days`` from today."""
    today = dt.datetime.now(dt.UTC).date()
    await conn.execute(
        "INSERT INTO licence (id, organization_id, authority, number, service_codes, valid_from,"
        " valid_to, status, status_reason, suspended_at)"
        " SELECT $1, organization_id, 'Ministry', $2, ARRAY[taxonomy_code], $3, $4, $5,"
        " CASE WHEN $5 = 'active' THEN NULL ELSE 'inspection_failed' END,"
        " CASE WHEN $5 = 'active' THEN NULL ELSE now() END FROM service WHERE id = $6",
        uuid.uuid4(), uuid.uuid4().hex[:8], today - dt.timedelta(days=365),
        today + dt.timedelta(days=days), status, service,
    )  # fmt: skip


async def _signals(
    conn: asyncpg.Connection,
    area: Area,
    group: PopulationGroup,
    n: int,
    kind: str = "need",
    language: str | None = None,
) -> None:
    await record_signals(
        conn,
        [
            NewSignal(
                kind=kind,  # type: ignore[arg-type]
                source="referral",
                participant_code="RS",
                area_code=area.code,
                taxonomy_code="ACC.EMERG",
                population_group=group,
                language=language,
                occurred_at=dt.datetime(2026, 11, 5, 10, tzinfo=dt.UTC),
            )
            for _ in range(n)
        ],
    )


async def _cells(conn: asyncpg.Connection, group: str | None) -> dict[str, GapCell]:
    cells = await list_cells(
        conn, GapQuery(participants=["RS"], period="2026-11", group=group), now=NOW,
        stale_hours=72,
    )  # fmt: skip
    return {c.area_code: c for c in cells}


async def test_each_group_counts_only_the_capacity_eligible_for_it(
    conn: asyncpg.Connection,
) -> None:
    await _world(conn)
    await _service(conn, BELGRADE, maximum=10)  # women only, Serbian
    await _service(conn, BELGRADE, maximum=4, genders=["male"], languages=["sr", "ar"])
    await _service(
        conn, BELGRADE, maximum=3, genders=["female", "male"], age_bands=["14-17"],
        serves_unaccompanied_minors=True, child_only=True,
    )  # fmt: skip
    await _service(
        conn, BELGRADE, maximum=6, accepts_families=True, accepts_accompanied_children=True,
        max_group_size=4,
    )  # fmt: skip
    # the language group needed Arabic: only the service speaking it counts
    await _signals(conn, BELGRADE, "language_not_served", 5, language="ar")
    expected = {
        None: 23, "women": 19, "men": 7, "unaccompanied_children": 3, "families": 6,
        "language_not_served": 4, "unknown": 23,
    }  # fmt: skip
    for group, capacity in expected.items():
        cells = await _cells(conn, group)
        assert cells[BELGRADE.code].capacity == capacity, group
        assert cells["ALL"].capacity == capacity, group


async def test_demand_of_a_group_is_split_off_and_uncovered_when_no_place_fits(
    conn: asyncpg.Connection,
) -> None:
    await _world(conn)
    await _service(conn, BELGRADE, maximum=10)  # women only
    await _signals(conn, BELGRADE, "women", 20)
    await _signals(conn, BELGRADE, "men", 8)
    await _signals(conn, BELGRADE, "unaccompanied_children", 2)
    unsplit = await _cells(conn, None)
    assert unsplit["ALL"].needs == 30
    assert not any(f.code == "uncovered" for f in unsplit[BELGRADE.code].flags)
    women = await _cells(conn, "women")
    # participant-wide: the women's part of a published total, published (20 >= 5)
    assert women["ALL"].needs == 20
    assert women[BELGRADE.code].capacity == 10
    # 2 children: hidden, and the smallest other part (the 8 men) with it, so that neither
    # can be subtracted from the published total
    children = await _cells(conn, "unaccompanied_children")
    assert children["ALL"].needs is None
    men = await _cells(conn, "men")
    assert men["ALL"].needs is None
    assert men["ALL"].services == 0
    assert [f.code for f in men["ALL"].flags] == ["uncovered"]
    # one area's split demand is always withheld; its flag still says nobody serves men there
    assert men[BELGRADE.code].needs is None
    assert "needs" in men[BELGRADE.code].suppressed
    assert [f.code for f in men[BELGRADE.code].flags] == ["uncovered"]
    assert men[BELGRADE.code].severity >= 4  # uncovered, its demand hidden (gaps/severity.py)


async def test_capacity_behind_a_licence_not_in_force_is_not_supply(
    conn: asyncpg.Connection,
) -> None:
    await _world(conn)
    await _service(conn, BELGRADE, maximum=10, licence_required=True)  # no licence at all
    expired = await _service(conn, BELGRADE, maximum=5, licence_required=True)
    await _licence(conn, expired, days=-3)
    suspended = await _service(conn, NIS, maximum=7, licence_required=True)
    await _licence(conn, suspended, days=200, status="suspended")
    valid = await _service(conn, NIS, maximum=4, licence_required=True)
    await _licence(conn, valid, days=200)
    await _service(conn, NIS, maximum=2)  # needs no licence
    await _signals(conn, BELGRADE, "women", 9)
    for group in (None, "women"):
        cells = await _cells(conn, group)
        assert cells[NIS.code].capacity == 6, group
        assert cells[NIS.code].services == 2, group
        belgrade = cells[BELGRADE.code]
        assert belgrade.services == 0, group
        assert "uncovered" in [f.code for f in belgrade.flags], group


async def test_an_unknown_group_is_refused_naming_the_parameter(conn: asyncpg.Connection) -> None:
    with pytest.raises(InvalidInput) as err:
        await _cells(conn, "syrians")
    assert err.value.field == "group"


async def test_survivor_led_providers_share_of_places_is_shown_per_cell(
    conn: asyncpg.Connection,
) -> None:
    await _world(conn)
    await _service(conn, BELGRADE, maximum=6, survivor_led=True)
    await _service(conn, BELGRADE, maximum=4)
    await _service(conn, NIS, maximum=5, genders=["male"])
    cells = await _cells(conn, None)
    assert cells[BELGRADE.code].survivor_led_capacity_share == 0.6
    assert cells[NIS.code].survivor_led_capacity_share == 0.0
    assert cells["ALL"].survivor_led_capacity_share == 0.4
    # no funded places: no funding share
    assert cells["ALL"].survivor_led_funding_share is None
    women = await _cells(conn, "women")
    assert women["ALL"].survivor_led_capacity_share == 0.6


async def test_allocation_never_funds_an_unlicensed_service_and_lists_it_apart(
    conn: asyncpg.Connection,
) -> None:
    from csomatch.errors import NotFound
    from csomatch.gaps.whatif import Scope, add_budget, propose_allocation

    await _world(conn)
    now = dt.datetime.now(dt.UTC)
    licensed = await _service(conn, BELGRADE, maximum=2, reported_at=now)
    expired = await _service(conn, BELGRADE, maximum=10, licence_required=True, reported_at=now)
    await _licence(conn, expired, days=-1)
    at = now - dt.timedelta(days=20)
    signals = [
        NewSignal(
            kind=kind,
            source="suggestion",
            participant_code="RS",
            area_code=BELGRADE.code,
            taxonomy_code="ACC.EMERG",
            reason="no_capacity" if kind == "unmet" else None,
            occurred_at=at,
        )
        for kind, n in (("need", 30), ("unmet", 12))
        for _ in range(n)
    ]
    await record_signals(conn, signals)  # type: ignore[arg-type]
    result = await propose_allocation(
        conn, budget=50_000, currency="EUR", overrides={licensed: 1000.0, expired: 500.0},
        participants=["RS"], now=now, scope=Scope(stale_hours=72), time_limit_s=5,
    )  # fmt: skip
    assert result.purchases
    assert {p.service_id for p in result.purchases} == {licensed}
    assert [(s.service_id, s.shortfall_in_reach) for s in result.license_first] == [(expired, 12)]
    # the what-if cannot add money to it either: it is no provider until licensed
    with pytest.raises(NotFound):
        await add_budget(
            conn, expired, 10_000, "EUR", 500.0, participants=["RS"], now=now,
            scope=Scope(stale_hours=72),
        )  # fmt: skip


async def test_stale_capacity_is_no_supply_of_a_group_but_is_counted_apart(
    conn: asyncpg.Connection,
) -> None:
    await _world(conn)
    await _service(conn, BELGRADE, maximum=10)  # fresh
    await _service(conn, BELGRADE, maximum=7, reported_at=NOW - dt.timedelta(days=10))
    await _service(conn, NIS, maximum=5, reported_at=NOW - dt.timedelta(days=10))
    await _signals(conn, NIS, "women", 6)
    unsplit = await _cells(conn, None)
    # the unsplit cells keep a stale service's places, as unknown (stale_data)
    assert unsplit[BELGRADE.code].capacity == 17
    women = await _cells(conn, "women")
    belgrade, nis = women[BELGRADE.code], women[NIS.code]
    assert (belgrade.capacity, belgrade.services, belgrade.stale_services) == (10, 2, 1)
    assert (nis.capacity, nis.services, nis.stale_services) == (0, 1, 1)
    assert "stale_data" in [f.code for f in nis.flags]
    # a town whose only eligible service is stale is not covered by it (Belgrade is 200 km
    # away, beyond the 100 km of emergency accommodation)
    assert "uncovered" in [f.code for f in nis.flags]
    assert women["ALL"].capacity == 10


async def test_a_groups_town_is_covered_by_an_eligible_service_within_the_catchment(
    conn: asyncpg.Connection,
) -> None:
    from csomatch.gaps.catchments import DEFAULT_CATCHMENTS, Catchment

    await _world(conn)
    await _service(conn, BELGRADE, maximum=10)  # women only
    await _service(conn, NIS, maximum=4, genders=["male"])  # in the town, but for men
    await _signals(conn, NIS, "women", 6)
    wide = {**DEFAULT_CATCHMENTS, "ACC.EMERG": Catchment(kind="regional", km=250)}
    for catchments, uncovered in ((DEFAULT_CATCHMENTS, True), (wide, False)):
        cells = await list_cells(
            conn, GapQuery(participants=["RS"], period="2026-11", group="women"), now=NOW,
            stale_hours=72, catchments=catchments,
        )  # fmt: skip
        nis = next(c for c in cells if c.area_code == NIS.code)
        assert ("uncovered" in [f.code for f in nis.flags]) is uncovered
        assert nis.capacity == 0  # the men's shelter in Niš is no women's supply
        assert nis.sentence  # a group's cells are explained too


async def test_the_language_group_counts_the_services_speaking_the_language_needed(
    conn: asyncpg.Connection,
) -> None:
    await _world(conn)
    await _service(conn, BELGRADE, maximum=10, languages=["sr", "ar"])
    await _service(conn, BELGRADE, maximum=6, languages=["sr", "en"])
    await _service(conn, NIS, maximum=3, languages=["sr", "en"])
    await _signals(conn, BELGRADE, "language_not_served", 6, language="ar")
    await _signals(conn, NIS, "language_not_served", 5, language="fa")
    cells = await _cells(conn, "language_not_served")
    # Arabic was needed: only the Arabic-speaking service counts, wherever it is
    assert cells[BELGRADE.code].capacity == 10
    assert NIS.code not in cells or cells[NIS.code].capacity == 0
    # nobody speaks Farsi: Niš is uncovered for the language group
    assert "uncovered" in [f.code for f in cells[NIS.code].flags]
    assert cells["ALL"].needs == 11
    stored = await conn.fetch(
        "SELECT DISTINCT language FROM demand_signal WHERE population_group = $1",
        "language_not_served",
    )
    assert {r["language"] for r in stored} == {"ar", "fa"}


async def test_a_language_is_recorded_only_on_language_group_signals(
    conn: asyncpg.Connection,
) -> None:
    await _world(conn)
    with pytest.raises(InvalidInput, match="only on a language_not_served signal"):
        await _signals(conn, NIS, "women", 1, language="ar")


async def test_what_if_and_allocation_count_no_stale_capacity(conn: asyncpg.Connection) -> None:
    from csomatch.errors import NotFound
    from csomatch.gaps.whatif import Scope, add_budget, propose_allocation

    await _world(conn)
    now = dt.datetime.now(dt.UTC)
    fresh = await _service(conn, BELGRADE, maximum=2, reported_at=now)
    stale = await _service(conn, BELGRADE, maximum=10, reported_at=now - dt.timedelta(days=5))
    await _shortfall(conn, BELGRADE, now)
    result = await propose_allocation(
        conn, budget=50_000, currency="EUR", overrides={fresh: 1000.0, stale: 500.0},
        participants=["RS"], now=now, scope=Scope(stale_hours=72), time_limit_s=5,
    )  # fmt: skip
    assert {p.service_id for p in result.purchases} == {fresh}
    with pytest.raises(NotFound):
        await add_budget(
            conn, stale, 10_000, "EUR", 500.0, participants=["RS"], now=now,
            scope=Scope(stale_hours=72),
        )  # fmt: skip


async def test_allocation_reaches_and_weighs_by_the_configured_catchments(
    conn: asyncpg.Connection,
) -> None:
    from csomatch.gaps.catchments import DEFAULT_CATCHMENTS, Catchment
    from csomatch.gaps.whatif import Scope, _severity, propose_allocation

    await _world(conn)
    now = dt.datetime.now(dt.UTC)
    belgrade = await _service(conn, BELGRADE, maximum=2, reported_at=now)
    await _shortfall(conn, NIS, now)  # Niš: 200 km from the only shelter
    national = {**DEFAULT_CATCHMENTS, "ACC.EMERG": Catchment(kind="national")}
    bought = {}
    for name, table in (("default", DEFAULT_CATCHMENTS), ("national", national)):
        scope = Scope(stale_hours=72, catchments=table)
        result = await propose_allocation(
            conn, budget=50_000, currency="EUR", overrides={belgrade: 1000.0},
            participants=["RS"], now=now, scope=scope, time_limit_s=5,
        )  # fmt: skip
        bought[name] = [p.service_id for p in result.purchases]
        weights = await _severity(conn, ["RS"], now, scope, closed_only=False)
        # the severity weight of Niš reads the same catchments: uncovered (4) only when the
        # Belgrade shelter is out of reach
        uncovered = weights[("RS", NIS.code, "ACC.EMERG")] >= 4
        assert uncovered is (name == "default"), (name, weights)
    assert bought == {"default": [], "national": [belgrade]}


async def _shortfall(conn: asyncpg.Connection, area: Area, now: dt.datetime) -> None:
    """30 needs in ``area`` 20 days ago, 6 of them unmet for lack of places (20 %)."""
    await record_signals(
        conn,
        [
            NewSignal(
                kind=kind,  # type: ignore[arg-type]
                source="suggestion",
                participant_code="RS",
                area_code=area.code,
                taxonomy_code="ACC.EMERG",
                reason="no_capacity" if kind == "unmet" else None,
                occurred_at=now - dt.timedelta(days=20),
            )
            for kind, n in (("need", 30), ("unmet", 6))
            for _ in range(n)
        ],
    )


async def test_cells_show_the_public_share_of_the_money(conn: asyncpg.Connection) -> None:
    from decimal import Decimal

    from csomatch.db import funding as funding_db

    await _world(conn)
    shelters = [await _service(conn, BELGRADE, maximum=10) for _ in range(2)]
    today = NOW.date()
    for kind, amount in (("ministry", "3000.00"), ("donor", "1000.00")):
        funder = await funding_db.upsert_funder(
            conn,
            funding_db.NewFunder(
                id=uuid.uuid4(), ref=kind, name=f"Fictional {kind}", kind=kind,
                participant_code=None,
            ),
        )  # fmt: skip
        await funding_db.insert_funding(
            conn,
            funding_db.NewFunding(
                id=uuid.uuid4(), funder_id=funder, recipient_organization_id=None,
                recipient_name="Fictional CSO", amount=Decimal(amount), currency="EUR",
                period_start=today - dt.timedelta(days=100),
                period_end=today + dt.timedelta(days=264), status="committed", source="api",
                external_id=uuid.uuid4().hex, funded_units=4, unit="bed", service_ids=shelters,
            ),
        )  # fmt: skip
    for group in (None, "women"):
        cells = await _cells(conn, group)
        assert cells[BELGRADE.code].public_share == 0.75, group
        assert cells["ALL"].public_share == 0.75, group
