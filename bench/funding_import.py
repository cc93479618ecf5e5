"""Import time of large funding feeds: a 100,000-row CSV and a 1,000-activity IATI file.

Not a test: it prints figures and asserts nothing about time. Run from the repository root:

    .venv/bin/python bench/funding_import.py                 # 100,000 CSV rows, 1,000 activities
    .venv/bin/python bench/funding_import.py --rows 20000 --activities 200

It starts an embedded PostgreSQL in a temporary directory under /tmp, migrates it and loads
the demo registry, then generates (seeded) against the demo organisations:

- a CSV of ``--rows`` rows: 90 % name their recipient by registration number, 5 % by exact
  name, 5 % by an unknown name (review), each with one service code of its recipient, a
  currency among EUR, ALL, BAM, MKD, RSD and an external id;
- an IATI 2.03 file of ``--activities`` activities, each with two budgets (one revised),
  three transactions (commitment, disbursement, expenditure) and a csomatch sector.

Each file is imported twice: the first import adds every line, the second finds every line
unchanged. It prints parse and import seconds (parsing includes IATI schema validation) and
rows per second. The embedded PostgreSQL is stopped and the directory removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import os
import random
import tempfile
import time
import warnings
from pathlib import Path
from xml.sax.saxutils import escape

import asyncpg

from csomatch.db.embedded import EmbeddedPostgres, ensure_database
from csomatch.db.migrate import migrate
from csomatch.funding import parse
from csomatch.funding.ledger import OPERATOR, run_import
from csomatch.registry import seeding

CURRENCIES = ["EUR", "ALL", "BAM", "MKD", "RSD"]


async def _orgs(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT o.id, o.name, o.registration_number, o.participant_code,"
            " min(s.taxonomy_code) AS code FROM organization o"
            " JOIN service s ON s.organization_id = o.id GROUP BY o.id ORDER BY o.id"
        )
    )


def make_csv(orgs: list[asyncpg.Record], rows: int, rng: random.Random) -> bytes:
    """A CSV funding file of ``rows`` rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["funder", "recipient", "registration number", "service codes", "amount", "currency",
         "start", "end", "status", "funded units", "unit", "external id"]
    )  # fmt: skip
    funders = ["Marigold Foundation", "Kestrel Family Foundation", "Alpine Partnership"]
    for n in range(rows):
        org = rng.choice(orgs)
        kind = rng.random()
        name, reg = org["name"], org["registration_number"]
        if kind >= 0.9:
            reg = ""
            if kind >= 0.95:
                name = f"Unlisted Association {rng.randrange(200)}"
        start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))
        writer.writerow(
            [rng.choice(funders), name, reg, org["code"], rng.randrange(1000, 500000),
             rng.choice(CURRENCIES), start, start + dt.timedelta(days=364), "committed",
             rng.randrange(1, 20), "place", f"BENCH-{n}"]
        )  # fmt: skip
    return out.getvalue().encode()


def make_iati(orgs: list[asyncpg.Record], activities: int, rng: random.Random) -> bytes:
    """An IATI 2.03 file of ``activities`` activities."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="2.03">']
    for n in range(activities):
        org = rng.choice(orgs)
        ident = f"XM-DAC-99-1-BENCH-{n}"
        parts.append(
            f"""<iati-activity default-currency="EUR">
 <iati-identifier>{ident}</iati-identifier>
 <reporting-org ref="XM-DAC-99-1" type="10"><narrative>Northwind Development Cooperation Agency</narrative></reporting-org>
 <title><narrative>Activity {n}</narrative></title>
 <description><narrative>Synthetic benchmark activity</narrative></description>
 <participating-org ref="XM-DAC-99-1" role="1" type="10"><narrative>Northwind Development Cooperation Agency</narrative></participating-org>
 <participating-org ref="{org["registration_number"]}" role="4" type="22"><narrative>{escape(org["name"])}</narrative></participating-org>
 <activity-status code="2"/>
 <activity-date iso-date="2025-01-01" type="1"/>
 <activity-date iso-date="2026-12-31" type="3"/>
 <recipient-country code="{org["participant_code"]}"/>
 <sector vocabulary="99" vocabulary-uri="urn:csomatch:taxonomy" code="{org["code"]}"/>
 <budget type="1" status="1"><period-start iso-date="2025-01-01"/><period-end iso-date="2025-12-31"/><value value-date="2025-01-01">100000</value></budget>
 <budget type="2" status="2"><period-start iso-date="2025-01-01"/><period-end iso-date="2025-12-31"/><value value-date="2025-03-01">90000</value></budget>
 <budget type="1" status="1"><period-start iso-date="2026-01-01"/><period-end iso-date="2026-12-31"/><value currency="USD" value-date="2026-01-01">80000</value></budget>
 <transaction><transaction-type code="2"/><transaction-date iso-date="2025-01-10"/><value value-date="2025-01-10">170000</value></transaction>
 <transaction><transaction-type code="3"/><transaction-date iso-date="2025-02-10"/><value value-date="2025-02-10">45000</value></transaction>
 <transaction><transaction-type code="4"/><transaction-date iso-date="2025-03-10"/><value value-date="2025-03-10">12000</value></transaction>
</iati-activity>"""  # noqa: E501
        )
    parts.append("</iati-activities>\n")
    return "\n".join(parts).encode()


async def _measure(url: str, label: str, data: bytes, fmt: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for attempt in ("first", "again"):
            t0 = time.perf_counter()
            parsed = await asyncio.to_thread(parse, data, fmt)
            t1 = time.perf_counter()

            def stage(name: str, done: int, total: int, t1: float = t1) -> None:
                print(f"    {name} {done:,}/{total:,} at {time.perf_counter() - t1:.2f} s")

            report = await run_import(conn, parsed, source=fmt, scope=OPERATOR, progress=stage)
            t2 = time.perf_counter()
            print(
                f"{label:<28} {attempt:<6} {parsed.rows_read:>8,} {t1 - t0:>8.2f} {t2 - t1:>9.2f}"
                f" {parsed.rows_read / (t2 - t0):>10,.0f}   imported {report.imported:,},"
                f" unchanged {report.unchanged:,}, skipped {report.skipped:,},"
                f" unmatched {len(report.unmatched)}"
            )
    finally:
        await conn.close()


async def _run(url: str, rows: int, activities: int, seed: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        print("loading the demo registry ...", flush=True)
        await seeding.load_demo(conn, seeding.default_seed_dir(), now=dt.datetime.now(dt.UTC))
        orgs = await _orgs(conn)
    finally:
        await conn.close()
    rng = random.Random(seed)
    csv_data = make_csv(orgs, rows, rng)
    iati_data = make_iati(orgs, activities, rng)
    print(f"CSV {len(csv_data) / 1e6:.1f} MB, IATI {len(iati_data) / 1e6:.1f} MB")
    print(
        f"{'file':<28} {'import':<6} {'records':>8} {'parse s':>8} {'import s':>9}"
        f" {'records/s':>10}"
    )
    await _measure(url, f"CSV, {rows:,} rows", csv_data, "csv")
    await _measure(url, f"IATI, {activities:,} activities", iati_data, "iati")


def main() -> None:
    """Parse arguments, run against a temporary embedded PostgreSQL, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    with tempfile.TemporaryDirectory(prefix="csomatch-bench-", dir="/tmp") as home:
        os.chmod(home, 0o755)  # noqa: S103 -- as root the embedded server runs as its own user
        server = EmbeddedPostgres(Path(home))
        try:
            url = asyncio.run(ensure_database(server.start()))
            asyncio.run(_run(url, args.rows, args.activities, args.seed))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
