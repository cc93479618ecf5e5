"""The equity view's case counts: an attacker with every published row recovers no hidden count.

The rows publish, per service code, the CSO and state case counts and their total, and
figures derived from them (shares, public EUR per case); the attack of
``test_suppression`` (two linear programmes per hidden count) runs on what the rows show.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.gaps.test_suppression import _attack

from csomatch.gaps.financing import CSO, STATE, equity_rows
from csomatch.gaps.suppression import THRESHOLD, TOTAL, with_margins

cases_tables = st.dictionaries(
    st.tuples(st.sampled_from(["ACC.EMERG", "LEG.AID", "PSY.COUNS", "SAFE.PLAN"]),
              st.sampled_from([CSO, STATE])),
    st.one_of(st.integers(0, 6), st.integers(0, 40)),
    max_size=8,
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(cases_tables)
def test_no_hidden_case_count_can_be_recovered_from_the_rows(
    cases: dict[tuple[str, str], int],
) -> None:
    money = {key: 1000.0 for key in cases}
    rows = equity_rows("RS", cases, money)
    table = {k: n for k, n in with_margins(cases).items() if n > 0}
    shown: dict[tuple[object, object], int | None] = {}
    for row in rows:
        code = row.taxonomy_code
        shown[(code, CSO)] = row.cases_cso
        shown[(code, STATE)] = row.cases_state
        shown[(code, TOTAL)] = row.cases_total
        # what is derived from a hidden count is hidden with it
        if row.cases_cso is None:
            assert row.unit_cost_cso is None
            assert row.cso_case_share is None
        if row.cases_state is None:
            assert row.unit_cost_state is None
        if row.cases_total is None:
            assert row.cso_case_share is None
    for key, n in table.items():
        if key in shown and shown[key] is not None:
            assert shown[key] == n
        if 0 < n < THRESHOLD and key[0] != TOTAL:
            assert shown.get(key) is None, f"{key} = {n} published"
    # the column totals and the grand total are not published: unknown to the attacker too
    hidden = {k for k in table if k not in shown or shown[k] is None}
    for key, (low, high) in _attack(table, hidden).items():
        if key[0] == TOTAL:
            continue
        assert high - low >= 1 - 1e-6, f"{key} = {table[key]} recovered: [{low}, {high}]"
