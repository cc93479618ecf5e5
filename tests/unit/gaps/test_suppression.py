"""Small-cell suppression: an attacker with the published figures cannot recover a hidden cell.

The attacker knows every published count, that every line adds up to its total, and that
counts are never negative. For each hidden cell, two linear programmes find the smallest and
the largest value it can take; the cell is recovered when they are equal.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from csomatch.gaps.suppression import (
    THRESHOLD,
    TOTAL,
    suppress,
    suppress_each,
    suppress_line,
    with_margins,
)

Key = tuple[object, object]


def _attack(table: dict[Key, int], hidden: set[Key]) -> dict[Key, tuple[float, float]]:
    """The range each hidden cell can take given everything published."""
    unknown = sorted(hidden, key=repr)
    index = {key: i for i, key in enumerate(unknown)}
    rows = {r for r, _ in table}
    cols = {c for _, c in table}
    equations: list[np.ndarray] = []
    rhs: list[float] = []
    for line_of, lines in ((0, rows), (1, cols)):
        for line in lines:
            if line == TOTAL:
                continue
            coef = np.zeros(len(unknown))
            known = 0.0
            for key, n in table.items():
                if key[line_of] != line:
                    continue
                # interior cells add up to the line's total: sum(interior) - total = 0
                sign = -1.0 if key[1 - line_of] == TOTAL else 1.0
                if key in index:
                    coef[index[key]] += sign
                else:
                    known += sign * n
            if coef.any():
                equations.append(coef)
                rhs.append(-known)
    # the total row and column add up to the grand total as well
    for line_of in (0, 1):
        coef = np.zeros(len(unknown))
        known = 0.0
        for key, n in table.items():
            if key[line_of] != TOTAL:
                continue
            sign = -1.0 if key[1 - line_of] == TOTAL else 1.0
            if key in index:
                coef[index[key]] += sign
            else:
                known += sign * n
        if coef.any():
            equations.append(coef)
            rhs.append(-known)
    ranges: dict[Key, tuple[float, float]] = {}
    a_eq = np.array(equations) if equations else None
    b_eq = np.array(rhs) if equations else None
    for key, i in index.items():
        c = np.zeros(len(unknown))
        c[i] = 1.0
        low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert low.status == 0
        top = float("inf") if high.status == 3 else -high.fun
        ranges[key] = (low.fun, top)
    return ranges


tables = st.dictionaries(
    st.tuples(st.sampled_from("abcdef"), st.sampled_from(["X", "Y", "Z", "W"])),
    st.one_of(st.integers(0, 6), st.integers(0, 40)),
    max_size=24,
)


@settings(max_examples=150, deadline=None)
@given(tables)
def test_no_hidden_cell_can_be_recovered_from_the_published_totals(
    interior: dict[tuple[str, str], int],
) -> None:
    table = {k: n for k, n in with_margins(interior).items() if n > 0}
    hidden = suppress(interior)
    # every small count is hidden, and only nonzero cells are
    assert {k for k, n in table.items() if n < THRESHOLD} <= hidden
    assert hidden <= set(table)
    for key, (low, high) in _attack(table, hidden).items():
        assert high - low >= 1 - 1e-6, f"{key} = {table[key]} recovered: [{low}, {high}]"


def test_one_small_cell_takes_a_complement_in_its_row_and_column() -> None:
    interior = {("a", "X"): 3, ("a", "Y"): 20, ("b", "X"): 30, ("b", "Y"): 40}
    hidden = suppress(interior)
    assert ("a", "X") in hidden
    assert len(hidden) >= 4  # the small cell, one in its row, one in its column, and a fourth
    table = {k: n for k, n in with_margins(interior).items() if n > 0}
    assert all(high > low for low, high in _attack(table, hidden).values())


def test_without_small_counts_nothing_is_hidden() -> None:
    assert suppress({("a", "X"): 5, ("b", "X"): 0, ("b", "Y"): 12}) == set()


def test_a_small_total_is_hidden_with_its_parts() -> None:
    hidden = suppress({("a", "X"): 2, ("b", "X"): 1})
    assert {("a", "X"), ("b", "X"), (TOTAL, "X")} <= hidden


def test_a_breakdown_never_hides_a_single_part_of_a_published_total() -> None:
    assert suppress_line({"language": 3, "gender": 9, "age": 0}, total_hidden=False) == {
        "language",
        "gender",
    }
    assert suppress_line({"language": 7, "gender": 9}, total_hidden=False) == set()
    assert suppress_line({"language": 7, "gender": 0}, total_hidden=True) == {"language"}


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.sampled_from(["RS-1", "RS-2", "RS-3", "UNKNOWN"]), st.sampled_from("ABCD")),
        st.lists(st.integers(0, 12), min_size=3, max_size=3),
        max_size=16,
    )
)
def test_several_tables_at_once_hide_what_each_table_alone_hides(
    interior: dict[tuple[str, str], list[int]],
) -> None:
    each = suppress_each(interior)
    for m, hidden in enumerate(each):
        assert hidden == suppress({key: counts[m] for key, counts in interior.items()})


def test_several_tables_with_labels_before_the_total_mark_are_suppressed_one_by_one() -> None:
    interior = {(" a", "X"): [3, 0], ("b", "X"): [30, 2], ("b", "Y"): [40, 9]}
    assert suppress_each(interior) == [
        suppress({key: counts[m] for key, counts in interior.items()}) for m in range(2)
    ]
