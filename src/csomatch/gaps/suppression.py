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

from collections.abc import Hashable, Mapping
from typing import Final, TypeVar

#: Counts below this (and above 0) are hidden.
THRESHOLD: Final = 5

#: The label of the total row and of the total column.
TOTAL: Final = "*"

R = TypeVar("R", bound=Hashable)
C = TypeVar("C", bound=Hashable)
Key = tuple[object, object]
Node = tuple[str, object]


def with_margins(interior: Mapping[tuple[R, C], int]) -> dict[Key, int]:
    """The table with its row totals ``(r, TOTAL)``, column totals and grand total added."""
    table: dict[Key, int] = {}
    for (r, c), n in interior.items():
        if n < 0:
            raise ValueError(f"count of {(r, c)!r} is negative")
        if r == TOTAL or c == TOTAL:
            raise ValueError(f"{TOTAL!r} is reserved for totals")
        table[(r, c)] = table.get((r, c), 0) + n
        table[(r, TOTAL)] = table.get((r, TOTAL), 0) + n
        table[(TOTAL, c)] = table.get((TOTAL, c), 0) + n
        table[(TOTAL, TOTAL)] = table.get((TOTAL, TOTAL), 0) + n
    return table


def suppress(interior: Mapping[tuple[R, C], int], threshold: int = THRESHOLD) -> set[Key]:
    """The cells of the table (totals included) to hide; a missing cell is a published 0."""
    table = {key: n for key, n in with_margins(interior).items() if n > 0}
    hidden = {key for key, n in table.items() if n < threshold}
    lines = _lines(table)
    while hidden:
        if _complete_lines(table, lines, hidden):
            continue
        bridge = _first_bridge(hidden)
        if bridge is None:
            break
        if not _close_cycle(table, hidden, bridge):
            # No nonzero cell closes a cycle through the bridge: hide every nonzero cell.
            # Each interior cell then lies on the cycle it forms with its three totals.
            hidden = set(table)
            break
    return hidden


def _lines(table: Mapping[Key, int]) -> dict[Node, list[Key]]:
    lines: dict[Node, list[Key]] = {}
    for key in sorted(table, key=_order):
        r, c = key
        lines.setdefault(("r", r), []).append(key)
        lines.setdefault(("c", c), []).append(key)
    return lines


def _order(key: Key) -> tuple[str, str]:
    """A deterministic order of cells (labels are compared as text)."""
    return (str(key[0]), str(key[1]))


def _nodes(key: Key) -> tuple[Node, Node]:
    return ("r", key[0]), ("c", key[1])


def _complete_lines(
    table: Mapping[Key, int], lines: Mapping[Node, list[Key]], hidden: set[Key]
) -> bool:
    """Give every line with exactly one hidden cell a second one; return whether any changed."""
    changed = False
    for node, keys in lines.items():
        if len(hidden.intersection(keys)) != 1:
            continue
        candidates = [key for key in keys if key not in hidden]
        if not candidates:
            continue

        def cost(key: Key, node: Node = node) -> tuple[int, int, str, str]:
            # Prefer a cell whose other line already has a hidden cell: it closes a cycle.
            other = next(n for n in _nodes(key) if n != node)
            lonely = int(not any(k in hidden for k in lines[other]))
            return (lonely, table[key], *_order(key))

        hidden.add(min(candidates, key=cost))
        changed = True
    return changed


def _adjacency(hidden: set[Key]) -> dict[Node, list[tuple[Node, Key]]]:
    adj: dict[Node, list[tuple[Node, Key]]] = {}
    for key in sorted(hidden, key=_order):
        a, b = _nodes(key)
        adj.setdefault(a, []).append((b, key))
        adj.setdefault(b, []).append((a, key))
    return adj


def _first_bridge(hidden: set[Key]) -> Key | None:
    """A hidden cell on no cycle of hidden cells (iterative Tarjan), or None."""
    adj = _adjacency(hidden)
    order: dict[Node, int] = {}
    low: dict[Node, int] = {}
    for root in adj:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack: list[tuple[Node, Key | None, int]] = [(root, None, 0)]
        while stack:
            node, via, i = stack[-1]
            if i < len(adj[node]):
                stack[-1] = (node, via, i + 1)
                nxt, key = adj[node][i]
                if key == via:
                    continue
                if nxt in order:
                    low[node] = min(low[node], order[nxt])
                else:
                    order[nxt] = low[nxt] = len(order)
                    stack.append((nxt, key, 0))
                continue
            stack.pop()
            if stack and via is not None:
                parent = stack[-1][0]
                low[parent] = min(low[parent], low[node])
                if low[node] > order[parent]:
                    return via
    return None


def _side(hidden: set[Key], start: Node, without: Key) -> set[Node]:
    """Nodes reachable from ``start`` through hidden cells other than ``without``."""
    adj = _adjacency(hidden - {without})
    seen = {start}
    todo = [start]
    while todo:
        for nxt, _ in adj.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _close_cycle(table: Mapping[Key, int], hidden: set[Key], bridge: Key) -> bool:
    """Hide the smallest nonzero cell that puts ``bridge`` on a cycle; False if none does."""
    row_node, col_node = _nodes(bridge)
    row_side = _side(hidden, row_node, bridge)
    col_side = _side(hidden, col_node, bridge)
    candidates = [
        key
        for key, n in table.items()
        if key not in hidden
        and n > 0
        and (
            (("r", key[0]) in row_side and ("c", key[1]) in col_side)
            or (("r", key[0]) in col_side and ("c", key[1]) in row_side)
        )
    ]
    if not candidates:
        return False
    hidden.add(min(candidates, key=lambda key: (table[key], *_order(key))))
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
