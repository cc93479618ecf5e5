"""Small-cell suppression with complementary suppression, for every count a funder sees.

A table is a set of counts indexed by (row, column) — areas by service codes — with its row
totals, column totals and grand total, all considered published. Counts from 1 to
``threshold - 1`` are hidden (primary suppression); more cells are then hidden
(complementary suppression) until no hidden count can be worked out from the published ones.

Why the result is safe: think of the table with its totals as a graph whose nodes are its
lines (rows and columns, the total row and column included) and whose edges are its cells.
Each line's cells add up to its total. A hidden cell can be worked out exactly if and only if
it is a *bridge* of the graph of hidden cells (it lies on no cycle of hidden cells); a hidden
cell on a cycle can move by +1 and -1 around the cycle without changing any published figure
and, because every hidden count is at least 1 (zeros are never hidden, only nonzero cells are
chosen as complements), without going negative. So the algorithm hides cells until the hidden
graph has no bridge.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable, Mapping, Sequence
from typing import Final, TypeVar

#: Counts below this (and above 0) are hidden.
THRESHOLD: Final = 5

#: The label of the total row and of the total column.
TOTAL: Final = "*"

R = TypeVar("R", bound=Hashable)
C = TypeVar("C", bound=Hashable)
Key = tuple[object, object]


def with_margins(interior: Mapping[tuple[R, C], int]) -> dict[Key, int]:
    """The table with its row totals ``(r, TOTAL)``, column totals and grand total added."""
    table: dict[Key, int] = {}
    row_totals: dict[object, int] = {}
    col_totals: dict[object, int] = {}
    grand = 0
    for (r, c), n in interior.items():
        if n < 0:
            raise ValueError(f"count of {(r, c)!r} is negative")
        if r == TOTAL or c == TOTAL:
            raise ValueError(f"{TOTAL!r} is reserved for totals")
        table[(r, c)] = n
        row_totals[r] = row_totals.get(r, 0) + n
        col_totals[c] = col_totals.get(c, 0) + n
        grand += n
    for row, n in row_totals.items():
        table[(row, TOTAL)] = n
    for col, n in col_totals.items():
        table[(TOTAL, col)] = n
    if interior:
        table[(TOTAL, TOTAL)] = grand
    return table


def suppress(interior: Mapping[tuple[R, C], int], threshold: int = THRESHOLD) -> set[Key]:
    """The cells of the table (totals included) to hide; a missing cell is a published 0."""
    table = {key: n for key, n in with_margins(interior).items() if n > 0}
    if all(type(r) is str and type(c) is str for r, c in table):
        keys: list[Key] = sorted(table)  # the same order as _order, faster
    else:
        keys = sorted(table, key=_order)
    grid = _Grid(keys)
    return {keys[i] for i in grid.hide([table[key] for key in keys], threshold)}


def suppress_each(
    interior: Mapping[tuple[R, C], Sequence[int]], threshold: int = THRESHOLD
) -> list[set[Key]]:
    """``suppress`` of each of several tables with the same labels (several counts per cell).

    ``interior`` maps a cell to its count in each table; the result lists the cells to hide in
    each table, exactly as ``suppress`` of that table alone would. When every label is text
    that sorts after ``TOTAL`` (area and service codes do), the graph of lines is built once
    for all the tables: a cell with a 0 count is then absent from that table, and the order
    of the cells and lines that decides every choice is the order of the table alone.
    """
    if not interior:
        return []
    width = len(next(iter(interior.values())))
    labels = {label for key in interior for label in key}
    if not all(type(label) is str and label > TOTAL for label in labels):
        return [
            suppress({key: n[m] for key, n in interior.items()}, threshold) for m in range(width)
        ]
    table: dict[Key, Sequence[int]] = {}
    row_totals: dict[object, list[int]] = {}
    col_totals: dict[object, list[int]] = {}
    grand = [0] * width
    for (r, c), counts in interior.items():
        if len(counts) != width or min(counts) < 0:
            raise ValueError(f"counts of {(r, c)!r} are negative or not {width}")
        table[(r, c)] = counts
        for totals, label in ((row_totals, r), (col_totals, c)):
            total = totals.get(label)
            if total is None:
                totals[label] = list(counts)
            else:
                total[:] = map(operator.add, total, counts)
        grand[:] = map(operator.add, grand, counts)
    for row, total in row_totals.items():
        table[(row, TOTAL)] = total
    for col, total in col_totals.items():
        table[(TOTAL, col)] = total
    table[(TOTAL, TOTAL)] = grand
    keys: list[Key] = sorted(table)
    grid = _Grid(keys)
    columns = list(zip(*(table[key] for key in keys), strict=True))
    return [{keys[i] for i in grid.hide(list(column), threshold)} for column in columns]


def _order(key: Key) -> tuple[str, str]:
    """A deterministic order of cells (labels are compared as text)."""
    return (str(key[0]), str(key[1]))


class _Grid:
    """The table as a graph on integers: cell ``i`` (in ``_order``) joins two line nodes.

    Node ids follow the lines' first appearance in that order, a row's before its column's;
    every choice below (which line first, which cell, which bridge) follows these orders, so
    the result is a function of the table alone.
    """

    def __init__(self, keys: list[Key]) -> None:
        row_node: dict[object, int] = {}
        col_node: dict[object, int] = {}
        self.rows: list[int] = []
        self.cols: list[int] = []
        nodes = 0
        for r, c in keys:
            a = row_node.get(r)
            if a is None:
                a = row_node[r] = nodes
                nodes += 1
            b = col_node.get(c)
            if b is None:
                b = col_node[c] = nodes
                nodes += 1
            self.rows.append(a)
            self.cols.append(b)
        self.lines: list[list[int]] = [[] for _ in range(nodes)]
        for i, (a, b) in enumerate(zip(self.rows, self.cols, strict=True)):
            self.lines[a].append(i)
            self.lines[b].append(i)

    def hide(self, counts: list[int], threshold: int) -> list[int]:
        """Primary, then complementary suppression until no hidden cell is a bridge.

        A cell whose count is 0 is absent: never hidden, never a complement.
        """
        rows, cols = self.rows, self.cols
        self.counts = counts
        hidden = [0 < n < threshold for n in counts]
        self.hidden = hidden
        per_line = [0] * len(self.lines)
        for i, h in enumerate(hidden):
            if h:
                per_line[rows[i]] += 1
                per_line[cols[i]] += 1
        self.per_line = per_line
        while any(hidden):
            if self._complete_lines():
                continue
            bridge = self._first_bridge()
            if bridge is None:
                break
            if not self._close_cycle(bridge):
                # No nonzero cell closes a cycle through the bridge: hide every nonzero cell.
                # Each interior cell then lies on the cycle it forms with its three totals.
                return [i for i, n in enumerate(counts) if n > 0]
        return [i for i, h in enumerate(hidden) if h]

    def _add(self, i: int) -> None:
        """Hide cell ``i`` and count it on its two lines."""
        self.hidden[i] = True
        self.per_line[self.rows[i]] += 1
        self.per_line[self.cols[i]] += 1

    def _complete_lines(self) -> bool:
        """Give every line with exactly one hidden cell a second one; return whether any changed."""
        counts, rows, cols, hidden, per_line = (
            self.counts,
            self.rows,
            self.cols,
            self.hidden,
            self.per_line,
        )
        changed = False
        for node, keys in enumerate(self.lines):
            if per_line[node] != 1:
                continue
            # Prefer a cell whose other line already has a hidden cell: it closes a cycle;
            # then the smallest count, then the first in order.
            best, best_cost = -1, (True, 0)
            for i in keys:
                if hidden[i] or not counts[i]:
                    continue
                other = cols[i] if rows[i] == node else rows[i]
                cost = (per_line[other] == 0, counts[i])
                if best < 0 or cost < best_cost:
                    best, best_cost = i, cost
            if best >= 0:
                self._add(best)
                changed = True
        return changed

    def _adjacency(self, without: int = -1) -> dict[int, list[tuple[int, int]]]:
        """The hidden cells but ``without`` as a graph: each node's (neighbour, cell) pairs."""
        adj: dict[int, list[tuple[int, int]]] = {}
        rows, cols = self.rows, self.cols
        for i, h in enumerate(self.hidden):
            if h and i != without:
                a, b = rows[i], cols[i]
                adj.setdefault(a, []).append((b, i))
                adj.setdefault(b, []).append((a, i))
        return adj

    def _hidden_graph(self) -> tuple[list[list[int]], list[int]]:
        """The hidden cells as a graph: each node's ``[neighbour, cell, ...]``, and the roots.

        The roots are the nodes in the order they first meet a hidden cell (in cell order).
        """
        rows, cols = self.rows, self.cols
        adj: list[list[int]] = [[] for _ in self.lines]
        roots: list[int] = []
        for i, h in enumerate(self.hidden):
            if h:
                a, b = rows[i], cols[i]
                if not adj[a]:
                    roots.append(a)
                adj[a] += (b, i)
                if not adj[b]:
                    roots.append(b)
                adj[b] += (a, i)
        return adj, roots

    def _first_bridge(self) -> int | None:
        """A hidden cell on no cycle of hidden cells (iterative Tarjan), or None.

        Nodes are visited from the lines in the order they first meet a hidden cell, and
        each node's hidden cells in cell order.
        """
        adj, roots = self._hidden_graph()
        order = [-1] * len(adj)
        low = [0] * len(adj)
        seen = 0
        for root in roots:
            if order[root] >= 0:
                continue
            order[root] = low[root] = seen
            seen += 1
            stack: list[tuple[int, int, int]] = [(root, -1, 0)]
            while stack:
                node, via, i = stack[-1]
                edges = adj[node]
                if i < len(edges):
                    stack[-1] = (node, via, i + 2)
                    nxt, key = edges[i], edges[i + 1]
                    if key == via:
                        continue
                    if order[nxt] >= 0:
                        if order[nxt] < low[node]:
                            low[node] = order[nxt]
                    else:
                        order[nxt] = low[nxt] = seen
                        seen += 1
                        stack.append((nxt, key, 0))
                    continue
                stack.pop()
                if stack and via >= 0:
                    parent = stack[-1][0]
                    if low[node] < low[parent]:
                        low[parent] = low[node]
                    if low[node] > order[parent]:
                        return via
        return None

    def _side(self, adj: dict[int, list[tuple[int, int]]], start: int) -> set[int]:
        """Nodes reachable from ``start`` in ``adj``."""
        seen = {start}
        todo = [start]
        while todo:
            for nxt, _ in adj.get(todo.pop(), []):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def _close_cycle(self, bridge: int) -> bool:
        """Hide the smallest nonzero cell that puts ``bridge`` on a cycle; False if none does."""
        adj = self._adjacency(without=bridge)
        row_side = self._side(adj, self.rows[bridge])
        col_side = self._side(adj, self.cols[bridge])
        best, best_count = -1, 0
        for i, h in enumerate(self.hidden):
            if h or not self.counts[i]:
                continue
            a, b = self.rows[i], self.cols[i]
            if ((a in row_side and b in col_side) or (a in col_side and b in row_side)) and (
                best < 0 or self.counts[i] < best_count
            ):
                best, best_count = i, self.counts[i]
        if best < 0:
            return False
        self._add(best)
        return True


def suppress_line(counts: Mapping[str, int], total_hidden: bool) -> set[str]:
    """Which parts of one published total to hide (a breakdown, such as reasons).

    All parts are hidden when the total is; otherwise parts from 1 to ``THRESHOLD - 1`` and,
    when that leaves a single one hidden, the smallest other nonzero part too.
    """
    nonzero = {name: n for name, n in counts.items() if n > 0}
    if total_hidden:
        return set(nonzero)
    hidden = {name for name, n in nonzero.items() if n < THRESHOLD}
    if len(hidden) == 1:
        others = sorted((n, name) for name, n in nonzero.items() if name not in hidden)
        if others:
            hidden.add(others[0][1])
    return hidden
