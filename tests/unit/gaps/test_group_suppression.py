"""The recovery attack on the group split: no hidden count can be worked out (docs/gaps.md).

The attacker knows every published figure of one month: the unsplit cells of each area and
the participant-wide ones, and each group's participant-wide count where it is published.
The unknowns are the counts per area, code and group (never published, all at least 0).
Two linear programmes give the smallest and largest value of every hidden figure, and of
every per-area group count from 1 to 4; none may be pinned down.
"""

from __future__ import annotations

import datetime as dt
from itertools import product

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from csomatch.db.gap_groups import GroupDemandRow
from csomatch.gaps.cells import ALL_AREAS, demand_counts
from csomatch.gaps.groups import _monthly, _unsplit_rows, group_demand_counts
from csomatch.gaps.periods import period_of
from csomatch.gaps.suppression import THRESHOLD

MONTH = dt.date(2026, 11, 1)
AREAS = ("RS-1", "RS-2", "RS-3")
CODES = ("X", "Y")
GROUPS = ("women", "men", "families")
Var = tuple[str, str, str]


def _rows(counts: dict[Var, int]) -> list[GroupDemandRow]:
    return [
        GroupDemandRow(
            participant_code="RS",
            area_code=area,
            taxonomy_code=code,
            month=MONTH,
            population_group=group,
            needs=n,
            unmet=0,
            unmet_capacity=0,
            declines=0,
            searches=0,
        )
        for (area, code, group), n in counts.items()
        if n > 0
    ]


def _range(
    coef: dict[Var, float], variables: list[Var], a_eq: np.ndarray, b_eq: np.ndarray
) -> tuple[float, float]:
    c = np.array([coef.get(v, 0.0) for v in variables])
    low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    assert low.status == 0
    return low.fun, float("inf") if high.status == 3 else -high.fun


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.sampled_from(AREAS), st.sampled_from(CODES), st.sampled_from(GROUPS)),
        st.one_of(st.integers(0, 6), st.integers(0, 30)),
        max_size=18,
    )
)
def test_no_hidden_count_of_the_split_cells_can_be_recovered(counts: dict[Var, int]) -> None:
    rows = _rows(counts)
    period = period_of(MONTH, "month")
    unsplit = demand_counts(_unsplit_rows(_monthly(rows)), [period])
    split = {g: group_demand_counts(rows, [period], g) for g in GROUPS}
    variables = list(product(AREAS, CODES, GROUPS))
    equations: list[dict[Var, float]] = []
    rhs: list[float] = []
    hidden: list[dict[Var, float]] = []
    # the unsplit cells: one area's cell sums its groups; the participant-wide one, all areas'
    for area, code in product((*AREAS, ALL_AREAS), CODES):
        found = unsplit.get((("RS", area, code), period.label))
        areas = AREAS if area == ALL_AREAS else (area,)
        coef: dict[Var, float] = {(a, code, g): 1.0 for a in areas for g in GROUPS}
        if found is None or "needs" not in found.hidden:
            equations.append(coef)
            rhs.append(found.values[0] if found else 0)
        else:
            hidden.append(coef)
    # each group's participant-wide count, where published
    for code, group in product(CODES, GROUPS):
        found = split[group].get((("RS", ALL_AREAS, code), period.label))
        coef = {(a, code, group): 1.0 for a in AREAS}
        if found is None or "needs" not in found.hidden:
            equations.append(coef)
            rhs.append(found.values[0] if found else 0)
        else:
            hidden.append(coef)
        # one area's group counts are never published
        for area in AREAS:
            key = (("RS", area, code), period.label)
            if key in split[group]:
                assert split[group][key].hidden >= {"needs"}
    a_eq = np.array([[e.get(v, 0.0) for v in variables] for e in equations])
    b_eq = np.array(rhs, dtype=float)
    for coef in hidden:
        low, high = _range(coef, variables, a_eq, b_eq)
        assert high - low >= 1 - 1e-6, f"hidden {sorted(coef)} recovered: [{low}, {high}]"
    for var in variables:
        if 0 < counts.get(var, 0) < THRESHOLD:
            low, high = _range({var: 1.0}, variables, a_eq, b_eq)
            assert high - low >= 1 - 1e-6, f"{var} = {counts[var]} recovered: [{low}, {high}]"
