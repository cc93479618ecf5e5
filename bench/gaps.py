"""Benchmark of the gap analysis: every gap cell of 1,000,000 demand signals and 5,000 services.

Not a test: it prints figures and asserts nothing about time. Run from the repository root:

    .venv/bin/python bench/gaps.py                     # 1,000,000 signals, 5,000 services
    .venv/bin/python bench/gaps.py --signals 200000 --repeat 5
    .venv/bin/python bench/gaps.py --data /tmp/gaps-bench   # keep the data, reuse it next time

What it does:

1. starts an embedded PostgreSQL in a fresh temporary directory under /tmp (or in ``--data``,
   kept afterwards: a later run with the same ``--data`` reuses the data and its "now", and
   only applies the migrations added since) and migrates it; loads the taxonomy and gazetteer;
2. generates, in SQL and deterministically (``setseed``), a fictional registry: 1,000
   organisations in the largest towns of the six participants, 5,000 services with capacity
   (a few stale), 40 funders and 6,000 grants (some planned or cancelled, a third without a
   number of units), and ``--signals`` demand signals over the last 12 months (70 % needs,
   15 % unmet with a reason, 8 % declines for no capacity, 7 % empty searches), mostly where
   services are, some in towns with none, in one INSERT (whose statement trigger also fills
   the monthly counts ``demand_month`` and ``unmet_month``, as every write of signals does);
   then ANALYZE. The time this setup took is printed;
3. measures, ``--repeat`` times each, in the same run on the same data:
   - the baseline: one plain SQL ``GROUP BY`` of the same signals per participant, area,
     service code and month;
   - every gap cell of the last 12 months for all participants (``compute_cells``, what the
     API and ``csomatch gaps`` run: demand and reasons from the monthly counts, the supply
     query, then suppression, flags and severity in Python), and the same split into its SQL
     and Python parts;
4. prints the best and median wall time of each, the number of cells, and the target
   (every cell in <= 2 s), then the early warning of every kind of place (the last three
   closed months' needs and the free places; docs/early-warnings.md); stops the database
   and removes the directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import msgspec

from csomatch.db import gaps as gaps_db
from csomatch.db.embedded import EmbeddedPostgres, ensure_database
from csomatch.db.migrate import migrate
from csomatch.db.signals import PopulationGroup
from csomatch.gaps.analysis import compute_cells
from csomatch.gaps.cells import build_cells
from csomatch.gaps.early_warnings import DEFAULT_THRESHOLDS, list_warnings
from csomatch.gaps.groups import GROUPS, compute_split
from csomatch.gaps.periods import Period, last_periods
from csomatch.registry import seeding

TARGET_S = 2.0
STALE_HOURS = 72.0

# Generation statements: constants only, never input. $1 is "now", $2 the number of signals.
_REGISTRY_SQL = [
    "SELECT setseed(0.42)",
    """CREATE TEMP TABLE town AS
       SELECT code, participant_code, latitude, longitude,
              row_number() OVER (PARTITION BY participant_code ORDER BY population DESC, code) AS rn
       FROM area""",
    """INSERT INTO organization (id, participant_code, name, kind)
       SELECT md5('org' || i)::uuid, (ARRAY['AL','BA','XK','ME','MK','RS'])[1 + i % 6],
              'Bench organisation ' || i, 'cso'
       FROM generate_series(1, 1000) AS i""",
    """INSERT INTO location (id, organization_id, name, area_code, latitude, longitude,
                             confidential)
       SELECT md5('loc' || i)::uuid, md5('org' || i)::uuid, 'Site ' || i, t.code,
              t.latitude, t.longitude, i % 4 = 0
       FROM generate_series(1, 1000) AS i
       JOIN town t ON t.participant_code = (ARRAY['AL','BA','XK','ME','MK','RS'])[1 + i % 6]
                  AND t.rn = 1 + (i * 7919) % 40""",
    """INSERT INTO service (id, organization_id, location_id, taxonomy_code, name, genders,
                            age_bands)
       SELECT md5('svc' || j)::uuid, md5('org' || (1 + j % 1000))::uuid,
              md5('loc' || (1 + j % 1000))::uuid, c.code, 'Bench service ' || j,
              ARRAY['female', 'male'], ARRAY['18-24', '25-59']
       FROM generate_series(1, 5000) AS j
       JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS k
             FROM taxonomy_term WHERE parent_code IS NOT NULL) c
         ON c.k = (j * 31) % 21""",
    # Eligibility and licences vary, so that each group's split has its own supply: a
    # service in five serves unaccompanied minors, one in four families, one in three speaks
    # a second language, one in six women only; one in ten needs a licence, held by most.
    """UPDATE service SET
           serves_unaccompanied_minors =
               (('x' || substr(md5(id::text), 1, 4))::bit(16)::int % 5 = 0),
           accepts_families = (('x' || substr(md5(id::text), 5, 4))::bit(16)::int % 4 = 0),
           accepts_accompanied_children =
               (('x' || substr(md5(id::text), 5, 4))::bit(16)::int % 4 = 0),
           languages = CASE WHEN ('x' || substr(md5(id::text), 9, 4))::bit(16)::int % 3 = 0
                            THEN ARRAY['sr', 'en'] ELSE ARRAY['sr'] END,
           genders = CASE WHEN ('x' || substr(md5(id::text), 13, 4))::bit(16)::int % 6 = 0
                          THEN ARRAY['female'] ELSE genders END,
           licence_required = (('x' || substr(md5(id::text), 17, 4))::bit(16)::int % 10 = 0)""",
    """INSERT INTO licence (id, organization_id, authority, number, service_codes, valid_from,
                            valid_to)
       SELECT md5('licence' || s.id)::uuid, s.organization_id, 'Bench authority',
              substr(md5(s.id::text), 1, 12), ARRAY[s.taxonomy_code], $1::date - 400,
              $1::date + CASE WHEN ('x' || substr(md5(s.id::text), 21, 4))::bit(16)::int % 4 = 0
                              THEN -10 ELSE 300 END
       FROM service s WHERE s.licence_required""",
    """INSERT INTO service_capacity (service_id, unit, maximum, available, updated_at)
       SELECT md5('svc' || j)::uuid, 'place', 1 + j % 20, (1 + j % 20) / 2,
              $1::timestamptz
                  - make_interval(hours => CASE WHEN j % 25 = 0 THEN 200 ELSE j % 48 END)
       FROM generate_series(1, 5000) AS j""",
    """INSERT INTO funder (id, ref, name, kind)
       SELECT md5('funder' || f)::uuid, 'BENCH-' || f, 'Bench funder ' || f, 'donor'
       FROM generate_series(1, 40) AS f""",
    """INSERT INTO funding (id, funder_id, recipient_name, amount, currency, period_start,
                            period_end, status, source, external_id, funded_units, unit)
       SELECT md5('grant' || g)::uuid, md5('funder' || (1 + g % 40))::uuid, 'Bench', 10000,
              'EUR', $1::date + s, $1::date + s + 90 + (g * 13) % 600,
              (ARRAY['committed','disbursed','committed','disbursed','planned','cancelled'])
                  [1 + g % 6],
              'api', 'bench-' || g,
              CASE WHEN g % 3 = 0 THEN NULL ELSE 1 + g % 8 END,
              CASE WHEN g % 3 = 0 THEN NULL ELSE 'place' END
       FROM generate_series(1, 6000) AS g, LATERAL (SELECT -700 + (g * 37) % 1000 AS s) x""",
    """INSERT INTO funding_service (funding_id, service_id)
       SELECT md5('grant' || g)::uuid, md5('svc' || (1 + (g * 7) % 5000))::uuid
       FROM generate_series(1, 6000) AS g""",
]

_SIGNALS_SQL = """
WITH svc AS (
    SELECT row_number() OVER (ORDER BY s.id) - 1 AS k, a.participant_code, l.area_code,
           s.taxonomy_code
    FROM service s JOIN location l ON l.id = s.location_id JOIN area a ON a.code = l.area_code
),
draw AS (
    SELECT i, random() AS r_svc, random() AS r_kind, random() AS r_t, random() AS r_far,
           random() AS r_reason, random() AS r_group
    FROM generate_series(1, $2::int) AS i
)
INSERT INTO demand_signal (occurred_at, kind, source, participant_code, area_code,
                           taxonomy_code, reason, population_group, language)
SELECT $1::timestamptz - make_interval(secs => d.r_t * 364 * 86400),
       k.kind, 'suggestion', svc.participant_code,
       CASE WHEN d.r_far < 0.1 AND t.code IS NOT NULL THEN t.code ELSE svc.area_code END,
       svc.taxonomy_code,
       CASE WHEN k.kind = 'unmet' THEN (ARRAY['no_capacity', 'no_capacity', 'language',
           'gender', 'age'])[1 + floor(d.r_reason * 5)::int] END,
       (ARRAY['women', 'women', 'women', 'women', 'men', 'unaccompanied_children', 'families',
              'language_not_served', 'unknown', 'unknown'])[1 + floor(d.r_group * 10)::int],
       -- a language-group signal needs English (which one service in three speaks) or Arabic
       CASE WHEN floor(d.r_group * 10)::int = 7 THEN
           CASE WHEN d.i % 2 = 0 THEN 'en' ELSE 'ar' END END
FROM draw d
JOIN svc ON svc.k = floor(d.r_svc * 5000)::int
LEFT JOIN town t ON t.participant_code = svc.participant_code AND t.rn = 41 + (d.i % 30)
CROSS JOIN LATERAL (SELECT CASE WHEN d.r_kind < 0.70 THEN 'need'
                                WHEN d.r_kind < 0.85 THEN 'unmet'
                                WHEN d.r_kind < 0.93 THEN 'decline_no_capacity'
                                ELSE 'search_empty' END AS kind) k
"""

_PLAIN_GROUP_BY = (
    "SELECT participant_code, area_code, taxonomy_code,"
    " date_trunc('month', occurred_at AT TIME ZONE 'UTC') AS month, count(*) AS n"
    " FROM demand_signal WHERE occurred_at >= $1 AND occurred_at < $2"
    " GROUP BY 1, 2, 3, 4"
)
# The baseline of the group split: the same GROUP BY with the group, for some participants.
_PLAIN_GROUP_BY_GROUPS = (
    "SELECT participant_code, area_code, taxonomy_code, population_group,"
    " date_trunc('month', occurred_at AT TIME ZONE 'UTC') AS month, count(*) AS n"
    " FROM demand_signal WHERE occurred_at >= $1 AND occurred_at < $2"
    " AND participant_code = ANY($3::text[])"
    " GROUP BY 1, 2, 3, 4, 5"
)


async def _build(conn: asyncpg.Connection, now: dt.datetime, signals: int) -> None:
    await migrate(conn)
    await seeding.load_reference(conn, seeding.default_seed_dir())
    for statement in _REGISTRY_SQL:
        args = (now,) if "$1" in statement else ()
        await conn.execute(statement, *args)
    await conn.execute(_SIGNALS_SQL, now, signals)
    await conn.execute("ANALYZE")


async def _timed(repeat: int, run: Callable[[], Awaitable[object]]) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await run()
        times.append(time.perf_counter() - started)
    return times, result


async def _built_at(conn: asyncpg.Connection) -> dt.datetime | None:
    """The "now" of data an earlier run built and kept, or None."""
    if not await conn.fetchval("SELECT to_regclass('bench_meta') IS NOT NULL"):
        return None
    found: dt.datetime | None = await conn.fetchval("SELECT now_ FROM bench_meta")
    return found


async def bench(url: str, signals: int, repeat: int, dump: Path | None) -> None:
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        kept = await _built_at(conn)
        if kept is None:
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            await _build(conn, now, signals)
            await conn.execute("CREATE TABLE bench_meta AS SELECT $1::timestamptz AS now_", now)
            how = "built"
        else:
            now = kept
            applied = await migrate(conn)
            await conn.execute("ANALYZE")
            how = f"reused, {len(applied)} new migrations applied,"
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM demand_signal) AS signals,"
            " (SELECT count(*) FROM service) AS services,"
            " (SELECT count(*) FROM funding) AS grants"
        )
        assert counts is not None
        print(
            f"data: {counts['signals']:,} demand signals, {counts['services']:,} services, "
            f"{counts['grants']:,} grants ({how} in {time.perf_counter() - started:.1f} s)"
        )
        periods = last_periods(now.date(), "month", 12)
        since = dt.datetime.combine(periods[0].start, dt.time(), dt.UTC)
        until = dt.datetime.combine(periods[-1].end, dt.time(), dt.UTC)
        await conn.fetch(_PLAIN_GROUP_BY, since, until)  # warm the cache

        plain, groups = await _timed(repeat, lambda: conn.fetch(_PLAIN_GROUP_BY, since, until))

        async def every_cell() -> object:
            return await compute_cells(
                conn, periods=periods, participants=None, now=now, stale_hours=STALE_HOURS
            )

        full, cells = await _timed(repeat, every_cell)
        if dump is not None:
            # To compare two versions of the code cell by cell on the same data.
            await asyncio.to_thread(dump.write_bytes, msgspec.json.encode(cells))
        demand_t, demand = await _timed(
            repeat,
            lambda: gaps_db.demand_by_month(
                conn, since=periods[0].start, until=periods[-1].end, participants=None
            ),
        )
        reasons_t, reasons = await _timed(
            repeat,
            lambda: gaps_db.unmet_reasons(
                conn, since=periods[0].start, until=periods[-1].end, participants=None
            ),
        )
        refs = [(p.label, p.reference_date(now.date())) for p in periods]
        stale_before = now - dt.timedelta(hours=STALE_HOURS)
        supply_t, supply = await _timed(
            repeat,
            lambda: gaps_db.supply_by_cell(
                conn, periods=refs, stale_before=stale_before, participants=None
            ),
        )

        async def python_part() -> object:
            return build_cells(
                demand_rows=demand,  # type: ignore[arg-type]
                reason_rows=reasons,  # type: ignore[arg-type]
                supply_rows=supply,  # type: ignore[arg-type]
                periods=periods,
                today=now.date(),
                stale_hours=STALE_HOURS,
            )

        python_t, _ = await _timed(repeat, python_part)
        split = await _split_figures(conn, repeat, periods, now, since, until)

        async def early_warning() -> object:
            return await list_warnings(
                conn, participants=None, now=now, stale_hours=STALE_HOURS,
                thresholds=DEFAULT_THRESHOLDS,
            )  # fmt: skip

        warning_t, warnings_ = await _timed(repeat, early_warning)
    finally:
        await conn.close()

    def row(name: str, times: list[float], note: str = "") -> None:
        print(f"  {name:<44} {min(times):7.3f} {statistics.median(times):8.3f}  {note}")

    n_cells = len(cells) if isinstance(cells, list) else 0
    n_groups = len(groups) if isinstance(groups, list) else 0
    print(f"\n{'':2}{'what (12 months, all participants)':<44} {'best s':>7} {'median s':>8}")
    row("plain SQL GROUP BY of the same signals", plain, f"{n_groups:,} groups")
    row("every gap cell (compute_cells)", full, f"{n_cells:,} cells; target <= {TARGET_S:g} s")
    row("  of which: demand per cell and month (SQL)", demand_t)
    row("  of which: unmet reasons (SQL)", reasons_t)
    row("  of which: capacity and funded capacity (SQL)", supply_t)
    row("  of which: suppression, flags, severity (Python)", python_t)
    print(
        "  (compute_cells counts the demand in a worker thread while PostgreSQL computes the\n"
        "  capacity: the parts, each timed alone, add up to more than the whole)"
    )
    verdict = "met" if min(full) <= TARGET_S else "NOT met"
    print(
        f"\nevery gap cell: best {min(full):.3f} s, target <= {TARGET_S:g} s: {verdict}; "
        f"{min(full) / min(plain):.1f}x the plain GROUP BY"
    )
    _print_split(split)
    n_warnings = len(warnings_) if isinstance(warnings_, list) else 0
    print(
        f"\nearly warning of every kind of place (last 3 closed months, all participants): "
        f"best {min(warning_t):.3f} s, median {statistics.median(warning_t):.3f} s, "
        f"{n_warnings:,} kinds of place"
    )


Figures = list[tuple[str, list[float], list[float], int]]


async def _split_figures(
    conn: asyncpg.Connection,
    repeat: int,
    periods: list[Period],
    now: dt.datetime,
    since: dt.datetime,
    until: dt.datetime,
) -> Figures:
    """The group split (every group) of one participant and of all six, and their baselines."""
    figures: Figures = []
    for name, scope, groups in (
        ("every group, one participant (RS)", ["RS"], GROUPS),
        ("one group (women), one participant (RS)", ["RS"], ("women",)),
        ("every group, all six participants", None, GROUPS),
    ):
        codes = scope or ["AL", "BA", "XK", "ME", "MK", "RS"]

        async def baseline(codes: list[str] = codes) -> object:
            return await conn.fetch(_PLAIN_GROUP_BY_GROUPS, since, until, codes)

        plain, _ = await _timed(repeat, baseline)

        async def split(
            scope: list[str] | None = scope, groups: tuple[PopulationGroup, ...] = groups
        ) -> object:
            return await compute_split(
                conn, groups, periods=periods, participants=scope, now=now,
                stale_hours=STALE_HOURS,
            )  # fmt: skip

        times, cells = await _timed(repeat, split)
        n = sum(len(c.cells) for c in cells.values()) if isinstance(cells, dict) else 0
        figures.append((name, plain, times, n))
    return figures


def _print_split(figures: Figures) -> None:
    print(f"\n{'':2}{'group split, 12 months':<44} {'best s':>7} {'median s':>8}")
    for name, plain, times, n in figures:
        print(
            f"  {name:<44} {min(times):7.3f} {statistics.median(times):8.3f}  {n:,} cells; "
            f"{min(times) / min(plain):.1f}x its plain GROUP BY ({min(plain):.3f} s)"
        )
    for name, _, times, _ in figures[:2]:
        best = min(times)
        verdict = "met" if best <= TARGET_S else "NOT met"
        print(f"group split, {name}: best {best:.3f} s, target <= {TARGET_S:g} s: {verdict}")


def main() -> int:
    """Build the data, run the measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--data",
        type=Path,
        help="keep the database in this directory and reuse it on the next run "
        "(--signals is then ignored); default: a temporary directory, removed",
    )
    parser.add_argument(
        "--dump", type=Path, help="write every gap cell to this file as JSON (to compare runs)"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    with contextlib.ExitStack() as stack:
        if args.data is None:
            home = Path(
                stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="csomatch-bench-gaps-", dir="/tmp")
                )
            )
        else:
            home = args.data.resolve()
            home.mkdir(parents=True, exist_ok=True)
        home.chmod(0o755)
        server = EmbeddedPostgres(home)
        try:
            url = asyncio.run(ensure_database(server.start()))
            asyncio.run(bench(url, args.signals, args.repeat, args.dump))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
