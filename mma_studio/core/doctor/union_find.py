"""Disjoint sets with path halving: pairs of similar images become groups in near-linear time.

A chain of near-duplicates (a resized copy of a re-encoded copy) is one group even when its
ends are less similar than the threshold, which is what a user fixing the data wants to see.
"""

from __future__ import annotations

from collections.abc import Iterable


class UnionFind:
    def __init__(self, size: int) -> None:
        self._parent = list(range(size))
        self._rank = [0] * size

    def find(self, item: int) -> int:
        parent = self._parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return
        if self._rank[root_a] < self._rank[root_b]:
            root_a, root_b = root_b, root_a
        self._parent[root_b] = root_a
        if self._rank[root_a] == self._rank[root_b]:
            self._rank[root_a] += 1

    def groups(self, members: Iterable[int] | None = None) -> list[list[int]]:
        """Groups of two or more (each sorted), ordered by their first member."""
        by_root: dict[int, list[int]] = {}
        for item in range(len(self._parent)) if members is None else members:
            by_root.setdefault(self.find(item), []).append(item)
        return sorted((sorted(g) for g in by_root.values() if len(g) > 1), key=lambda g: g[0])
