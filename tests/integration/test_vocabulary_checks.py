"""The database's CHECK lists say what ``csomatch.domain.vocabulary`` says.

A migration cannot import Python, so each closed set is spelled again in SQL; this test reads
the CHECK constraints of a migrated database (as PostgreSQL keeps them, after every later
migration) and compares each list with the domain's tuple, value for value and in order.
"""

from __future__ import annotations

import re
from typing import get_args

import asyncpg
import pytest

from csomatch.domain import vocabulary as v

#: (table, column) -> the values its CHECK allows, as the domain declares them.
CLOSED_SETS: dict[tuple[str, str], tuple[str, ...]] = {
    ("participant", "code"): v.PARTICIPANTS,
    ("organization", "kind"): v.ORG_KINDS,
    ("service", "genders"): v.GENDERS,
    ("service", "age_bands"): v.AGE_BANDS,
    ("service", "security_level"): v.SECURITY_LEVELS,
    ("service_capacity", "unit"): v.CAPACITY_UNITS,
    ("funding", "unit"): v.CAPACITY_UNITS,
    ("funding", "status"): v.FUNDING_STATUSES,
    ("api_token", "role"): v.ROLES,
    ("api_token", "jurisdiction"): v.JURISDICTIONS,
    ("webhook_subscription", "jurisdiction"): v.JURISDICTIONS,
    ("referral", "outcome"): v.OUTCOMES,
    ("referral", "urgency"): v.URGENCIES,
    ("referral_need", "priority"): ("must", "should"),
    ("referral_profile", "age_band"): v.AGE_BANDS,
    ("referral_profile", "gender"): v.GENDERS,
    ("referral_hold", "decline_reason"): v.DECLINE_REASONS,
    ("referral_profile", "guardian_status"): v.GUARDIAN_STATUSES,
    ("licence", "status"): v.LICENCE_STATUSES,
    ("licence", "status_reason"): v.LICENCE_REASONS,
    ("licence_reminder", "kind"): v.LICENCE_REMINDERS,
}
#: (table, column) -> the regular expression its CHECK matches, as the domain builds it.
PATTERNS: dict[tuple[str, str], str] = {
    ("area", "code"): v.AREA_CODE_PATTERN,
}
#: Sets whose Literal the domain declares without a tuple: the CHECK lists its values in the
#: Literal's order.
LITERALS = {
    "risk_level": v.RiskLevel,
    "group_children_age_bands": v.ChildAgeBand,
    "consent_method": v.ConsentMethod,
    "consent_scope": v.ConsentScope,
    "override_reason": v.OverrideReason,
    "override_scope": v.ConsentScope,
}


async def _checks(conn: asyncpg.Connection) -> dict[tuple[str, str], list[str]]:
    """Every single-column CHECK of the schema: (table, column) -> its definitions."""
    rows = await conn.fetch(
        "SELECT c.conrelid::regclass::text AS tbl, a.attname AS col,"
        " pg_get_constraintdef(c.oid) AS def"
        " FROM pg_constraint c JOIN pg_attribute a"
        "   ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
        " WHERE c.contype = 'c' AND cardinality(c.conkey) = 1"
    )
    found: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        found.setdefault((r["tbl"], r["col"]), []).append(r["def"])
    return found


def _listed(definitions: list[str]) -> tuple[str, ...]:
    """The quoted values of the one definition that lists them (``= ANY (ARRAY[...])`` or
    ``<@ ARRAY[...]``)."""
    lists = [d for d in definitions if "ARRAY[" in d]
    assert len(lists) == 1, definitions
    inside = lists[0][lists[0].index("ARRAY[") :]
    return tuple(re.findall(r"'([^']*)'::text", inside))


async def test_every_closed_set_of_the_schema_is_the_domain_s(conn: asyncpg.Connection) -> None:
    checks = await _checks(conn)
    for (table, column), expected in CLOSED_SETS.items():
        assert _listed(checks[(table, column)]) == tuple(expected), (table, column)


@pytest.mark.parametrize("column", sorted(LITERALS))
async def test_referral_profile_literals_are_the_domain_s(
    conn: asyncpg.Connection, column: str
) -> None:
    checks = await _checks(conn)
    tables = [key for key in checks if key[1] == column and key[0].startswith("referral")]
    assert tables, column
    for key in tables:
        assert _listed(checks[key]) == get_args(LITERALS[column]), key


async def test_every_pattern_of_the_schema_is_the_domain_s(conn: asyncpg.Connection) -> None:
    checks = await _checks(conn)
    for (table, column), pattern in PATTERNS.items():
        quoted = [
            m.group(1)
            for d in checks[(table, column)]
            if (m := re.search(r"~ '([^']*)'::text", d)) is not None
        ]
        assert quoted == [pattern], (table, column)


async def test_the_answering_roles_are_roles(conn: asyncpg.Connection) -> None:
    checks = await _checks(conn)
    answering = _listed(checks[("referral_hold", "answered_by_role")])
    assert answering == ("provider", *v.COORDINATING)
    assert set(answering) <= set(v.ROLES)
